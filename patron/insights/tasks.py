"""Queue entry points for insights: the nightly refresh, refreshes asked for in the workspace,
and rescoring customers whose orders or events just changed."""

from __future__ import annotations

from datetime import datetime

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from patron.core.actors import Actor
from patron.insights.services.holdout import holdout_check_execute
from patron.insights.services.runs import (
    customers_rescore_after_facts,
    refresh_options,
    run_busy,
    run_create,
    run_execute,
    run_execute_by_id,
)


@db_periodic_task(crontab(minute="40", hour="2"))
def insights_nightly_refresh() -> None:
    """Every customer rescored and the population refitted once a day, before the working day."""
    if run_busy() is not None:
        return
    options = refresh_options()
    run = run_create(options=options, actor=Actor.system("nightly insights refresh"))
    run_execute(run, options)


@db_task()
def insights_refresh_task(run_id: int) -> None:
    # No retries: a failed refresh records its error on the run; the page offers to start again.
    run_execute_by_id(run_id)


@db_task()
def customers_rescore_task(customer_ids: list[int], changed_at: str | None = None) -> None:
    # The moment travels as ISO text: task arguments are serialised.
    customers_rescore_after_facts(
        customer_ids,
        changed_at=datetime.fromisoformat(changed_at) if changed_at else None,
    )


@db_task()
def holdout_check_task(check_id: int) -> None:
    holdout_check_execute(check_id)
