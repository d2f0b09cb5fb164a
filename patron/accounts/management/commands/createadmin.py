"""Create the first admin with a generated password, printed once; running it again is safe."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from patron.accounts.services.users import admin_ensure
from patron.core.actors import Actor


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--email", default="admin@example.com")
        parser.add_argument(
            "--reset-password", action="store_true", help="Generate a new password."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        credentials = admin_ensure(
            username=options["username"],
            email=options["email"],
            actor=Actor.system("createadmin"),
            reset_password=options["reset_password"],
        )
        if credentials.password and not credentials.is_created:
            self.stdout.write(f"New password for {credentials.username}: {credentials.password}")
        elif credentials.is_created:
            self.stdout.write(
                f"Admin created. Username: {credentials.username}  Password: {credentials.password}"
            )
            self.stdout.write("The password is shown only now; change it after signing in.")
        else:
            self.stdout.write(
                f"Admin {credentials.username!r} already exists; its password is unchanged "
                "(patron createadmin --reset-password prints a new one)."
            )
