"""Create a REST API key with the given scopes and print its secret, which is shown only now."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from patron.accounts.services.keys import api_key_create
from patron.core.actors import Actor
from patron.core.errors import PatronError


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scope", action="append", required=True)
        parser.add_argument("--name", default="CLI key")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            created = api_key_create(
                name=options["name"], scopes=options["scope"], actor=Actor.system("cli")
            )
        except PatronError as error:
            raise CommandError(error.message) from error
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "id": created.id,
                        "name": created.name,
                        "key": created.secret,
                        "scopes": sorted(set(options["scope"])),
                    }
                )
            )
        else:
            self.stdout.write(
                f"API key {created.name!r} created. Secret (shown once): {created.secret}"
            )
