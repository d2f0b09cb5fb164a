"""Queue entry points for orders: the periodic sweep that marks idle carts abandoned."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from patron.core import clock
from patron.core.actors import Actor
from patron.orders.services.abandonment import carts_mark_abandoned


@db_periodic_task(crontab(minute="*/5"))
def carts_abandoned_sweep() -> int:
    return carts_mark_abandoned(now=clock.now(), actor=Actor.system("abandoned-cart sweep"))
