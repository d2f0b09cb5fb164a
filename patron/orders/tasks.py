"""Queue entry points for orders: the abandoned-cart sweep and the dashboard rollups' refresh."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from patron.core import clock
from patron.core.actors import Actor
from patron.orders.services.abandonment import carts_mark_abandoned
from patron.orders.services.rollups import rollups_refresh


@db_periodic_task(crontab(minute="*/5"))
def carts_abandoned_sweep() -> int:
    return carts_mark_abandoned(now=clock.now(), actor=Actor.system("abandoned-cart sweep"))


@db_periodic_task(crontab(minute="*/10"))
def dashboard_rollups_refresh() -> None:
    """The dashboard's figures, at most ten minutes behind the orders."""
    rollups_refresh()


@db_periodic_task(crontab(minute="17", hour="3"))
def dashboard_rollups_rebuild() -> None:
    """Nightly rebuild from scratch: catches what the incremental refresh cannot see (an
    order moved to another day, orders moved between customers by a merge)."""
    rollups_refresh(full=True)
