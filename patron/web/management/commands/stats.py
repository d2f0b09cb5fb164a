"""Counts of what this installation holds, for operators and for checks."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from patron.web.selectors import installation_stats


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        counts = installation_stats().as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(counts))
            return
        width = max(len(name) for name in counts)
        for name, value in counts.items():
            self.stdout.write(f"{name.replace('_', ' '):<{width}}  {value:>12,}")
