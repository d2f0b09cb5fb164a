"""Import a CSV file of customers, products or orders: every row is checked, then all or none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from patron.core.actors import Actor
from patron.core.errors import PatronError
from patron.core.progress import progress_bar
from patron.core.tabular import ImportOutcome, table_import
from patron.events.models import ImportKind
from patron.events.services.imports import importer_for

KINDS = tuple(ImportKind.values)


def _rows(count: int, adjective: str = "") -> str:
    words = f"{adjective} row" if adjective else "row"
    return f"{count:,} {words}{'' if count == 1 else 's'}"


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("file")
        parser.add_argument("--source", default="import", help="Source the orders belong to.")
        parser.add_argument("--format", default="auto", choices=("auto", "generic", "shopify"))
        parser.add_argument("--dry-run", action="store_true", help="Check only; change nothing.")
        parser.add_argument(
            "--skip-bad-rows",
            action="store_true",
            help="Import the good rows; write the bad ones to <file>.rejected.csv.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        importer = importer_for(
            options["kind"], source_name=options["source"], actor=Actor.system("import")
        )
        is_shown = options["verbosity"] > 0
        try:
            outcome = table_import(
                path,
                importer,
                format_name=options["format"],
                is_dry_run=options["dry_run"],
                is_skipping_bad_rows=options["skip_bad_rows"],
                progress=lambda description: progress_bar(description, enabled=is_shown),
            )
        except PatronError as error:
            raise CommandError(f"{path.name}: {error.message}; nothing was imported") from error
        self._report(outcome, kind=options["kind"])

    def _report(self, outcome: ImportOutcome, *, kind: str) -> None:
        write = self.stdout.write
        write(f"{outcome.path.name}: {_rows(outcome.row_count)}, {outcome.format_name} format")
        if outcome.ignored_columns:
            write("Ignored columns: " + ", ".join(outcome.ignored_columns))
        if outcome.problem_count:
            write(f"{_rows(outcome.bad_row_count, 'bad')}:")
            for problem in outcome.problems:
                write(f"  {problem}")
            if outcome.report_path is not None:
                write(
                    f"  (the first {len(outcome.problems)} of {outcome.problem_count:,} problems; "
                    f"all of them are in {outcome.report_path})"
                )
        good = outcome.row_count - outcome.bad_row_count
        if outcome.is_dry_run:
            write(
                f"Dry run: nothing was changed. {_rows(good, 'good')}, "
                f"{_rows(outcome.bad_row_count, 'bad')}."
            )
            return
        if outcome.counts is None:
            if outcome.row_count == 0:
                write("The file has a header but no rows: nothing to import.")
                return
            raise CommandError(
                f"{_rows(outcome.bad_row_count, 'bad')}: nothing was imported. Correct them "
                "and run the import again, or import the good rows with --skip-bad-rows."
            )
        counts = outcome.counts
        write(
            f"Imported {kind}: {counts.created:,} created, {counts.updated:,} updated, "
            f"{counts.unchanged:,} unchanged."
        )
        if outcome.rejected_path is not None:
            write(
                f"Skipped {_rows(outcome.bad_row_count, 'bad')}; they are in "
                f"{outcome.rejected_path} with the reason of each."
            )
