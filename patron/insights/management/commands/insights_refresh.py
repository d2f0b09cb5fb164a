"""Recompute every customer's insights now, or as of a past date for a backtest."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from patron.core.actors import Actor
from patron.core.errors import PatronError
from patron.core.progress import progress_bar
from patron.insights.services.runs import refresh_options, run_create, run_execute


def _as_of(text: str) -> datetime:
    """A date means the end of that day (UTC); a full ISO timestamp is taken as given."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"--as-of: {text!r} is not a date such as 2025-06-30") from error
    if len(text) <= len("YYYY-MM-DD"):
        moment = datetime.combine(moment.date(), time.max)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as-of", help="Compute as if today were this date (YYYY-MM-DD), ignoring later data."
        )
        parser.add_argument("--horizon-days", type=int, help="Prediction horizon (default 365).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            refresh = refresh_options(
                as_of=_as_of(options["as_of"]) if options["as_of"] else None,
                horizon_days=options["horizon_days"],
            )
            run = run_create(options=refresh, actor=Actor.system("insights refresh command"))
        except PatronError as error:
            field = f"{error.field}: " if error.field else ""
            raise CommandError(f"{field}{error.message}") from error
        with progress_bar("Insights", enabled=options["verbosity"] > 0) as progress:
            run = run_execute(run, refresh, progress=progress)
        seconds = (
            (run.finished_at - run.started_at).total_seconds()
            if run.finished_at and run.started_at
            else 0.0
        )
        fits = ", ".join(
            f"{fit.get_kind_display()} LL {fit.log_likelihood:,.1f}" for fit in run.fits.all()
        )
        self.stdout.write(
            f"Insights of {run.customer_count:,} customers as of {run.as_of:%Y-%m-%d %H:%M} UTC "
            f"computed in {seconds:.1f} s (horizon {run.horizon_days} days, values in "
            f"{run.reporting_currency})."
        )
        self.stdout.write(
            f"Fits: {fits}." if fits else "No fits: too few buyers to predict purchases yet."
        )
