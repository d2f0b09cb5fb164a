"""Progress reporting for long jobs: services take a callback, the CLI draws a Rich bar."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

# done, total (total may be None when unknown, e.g. a CSV before it is counted)
ProgressCallback = Callable[[int, int | None], None]


def ignore_progress(done: int, total: int | None) -> None:
    """The default callback for callers that show no progress (API, tests)."""


@contextmanager
def progress_bar(description: str, *, enabled: bool = True) -> Iterator[ProgressCallback]:
    """A Rich progress bar on standard error, so --json output on standard out stays clean."""
    if not enabled:
        yield ignore_progress
        return
    console = Console(file=sys.stderr)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update
