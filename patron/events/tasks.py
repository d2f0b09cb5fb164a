"""Queue entry points for events: checking or importing a CSV file uploaded in the workspace."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from patron.events.services.imports import import_run_execute


@db_task()
def import_run_execute_task(run_id: int) -> None:
    # No retries: a failed import records its error on the run; running it again is the
    # user's choice, from the page.
    import_run_execute(run_id=run_id)
