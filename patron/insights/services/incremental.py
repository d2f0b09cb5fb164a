"""Rescoring customers soon after their orders or events change, from the lower apps' hooks."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from patron.core import clock

# A change touching more customers than this (an import, a bulk load) waits for the nightly
# refresh: rescoring one customer costs a handful of queries, and a million-row import should
# not queue a million of them behind it.
RESCORE_LIMIT = 500


def on_customers_changed(*, customer_ids: Iterable[int], **_: object) -> None:
    """Queue a rescore of these customers once the transaction that changed them commits."""
    wanted = sorted({int(customer_id) for customer_id in customer_ids})
    if not wanted or len(wanted) > RESCORE_LIMIT:
        return
    from patron.insights.tasks import customers_rescore_task

    # The moment is taken once the change is committed: a rescore that starts later reads it,
    # so a task that finds the customer scored since then may skip them.
    transaction.on_commit(lambda: customers_rescore_task(wanted, clock.now().isoformat()))
