"""Load the demo skincare and wellness shop; skipped when the database already has customers."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from patron.core.progress import progress_bar
from patron.customers.selectors import customer_count
from patron.demo.services import demo_data_load


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=2000, help="How many customers.")
        parser.add_argument("--seed", type=int, default=7, help="The same seed, the same shop.")
        parser.add_argument(
            "--append",
            action="store_true",
            help="Add the customers even though the database already has some.",
        )
        parser.add_argument("--no-progress", action="store_true", help="Draw no progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        customers = options["customers"]
        if customers < 1:
            raise CommandError("--customers must be at least 1")
        existing = customer_count()
        if existing and not options["append"]:
            self.stdout.write(
                f"Skipping demo data: the database already has {existing:,} customers "
                "(use --append to add more)."
            )
            return
        with progress_bar("Demo shop", enabled=not options["no_progress"]) as progress:
            summary = demo_data_load(
                customers=customers,
                seed=options["seed"],
                is_append=options["append"],
                progress=progress,
            )
        self.stdout.write(
            f"Demo shop loaded in {summary.seconds:.1f} s: {summary.customers:,} customers, "
            f"{summary.companies:,} companies, {summary.orders:,} orders with "
            f"{summary.order_lines:,} lines, {summary.events:,} events."
        )
