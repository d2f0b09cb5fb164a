"""Create an ingestion source and print its write key, which is shown only now."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from patron.accounts.services.keys import source_create
from patron.core.actors import Actor
from patron.core.errors import PatronError


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            created = source_create(name=options["name"], actor=Actor.system("cli"))
        except PatronError as error:
            raise CommandError(error.message) from error
        if options["json"]:
            self.stdout.write(
                json.dumps({"id": created.id, "name": created.name, "write_key": created.secret})
            )
        else:
            self.stdout.write(
                f"Source {created.name!r} created. Write key (shown once): {created.secret}"
            )
