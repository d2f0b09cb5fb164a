"""Write every customer's insights as CSV or Parquet to a file or standard output."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from patron.core.errors import PatronError
from patron.core.progress import progress_bar
from patron.insights.services.export import ExportFormat, insights_export


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--format", default="csv", choices=[item.value for item in ExportFormat]
        )
        parser.add_argument("--output", help="File to write; standard output when not given.")

    def handle(self, *args: Any, **options: Any) -> None:
        output = options["output"]
        is_shown = options["verbosity"] > 0 and output is not None
        try:
            with progress_bar("Export", enabled=is_shown) as progress:
                if output is None:
                    count = insights_export(
                        sys.stdout.buffer, format_name=options["format"], progress=progress
                    )
                    sys.stdout.flush()
                    return
                path = Path(output)
                # Written beside the target and renamed, so a failed export leaves no half file.
                partial = path.with_name(path.name + ".partial")
                with partial.open("wb") as stream:
                    count = insights_export(
                        stream, format_name=options["format"], progress=progress
                    )
                partial.replace(path)
        except PatronError as error:
            raise CommandError(error.message) from error
        except BrokenPipeError:
            # The reader stopped early (`| head`): not an error of the export. Point standard
            # output at nothing so the interpreter's final flush does not complain again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return
        except OSError as error:
            raise CommandError(f"cannot write {output}: {error.strerror}") from error
        self.stderr.write(f"{count:,} customers written to {output}.")
