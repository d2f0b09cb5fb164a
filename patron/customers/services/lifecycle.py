"""Writing the lifecycle stage that insights derive from each customer's orders."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

from patron.customers.models import Customer, LifecycleStage

# Ids per UPDATE: far below SQLite's 32,766 bound parameters.
_IDS_PER_STATEMENT = 10_000


def customer_lifecycle_stages_write(*, customer_ids: Sequence[int], stages: Sequence[str]) -> int:
    """Set each customer's stage; returns how many changed.

    The stage is a derivation (recomputed by every insights refresh), not a fact a person
    entered, so it is neither audited per customer nor does it touch updated_at.
    """
    if len(customer_ids) != len(stages):
        raise ValueError(f"{len(customer_ids)} customers but {len(stages)} stages")
    unknown = set(stages) - set(LifecycleStage.values)
    if unknown:
        raise ValueError(f"unknown lifecycle stages: {', '.join(sorted(unknown))}")
    by_stage: dict[str, list[int]] = {}
    for customer_id, stage in zip(customer_ids, stages, strict=True):
        by_stage.setdefault(stage, []).append(int(customer_id))
    table = connection.ops.quote_name(Customer._meta.db_table)
    changed = 0
    with connection.cursor() as cursor:
        for stage, ids in by_stage.items():
            for start in range(0, len(ids), _IDS_PER_STATEMENT):
                chunk = ids[start : start + _IDS_PER_STATEMENT]
                placeholders = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"UPDATE {table} SET lifecycle_stage = %s "  # noqa: S608 - name from _meta, placeholders only
                    f"WHERE id IN ({placeholders}) AND lifecycle_stage <> %s",
                    [stage, *chunk, stage],
                )
                changed += int(cursor.rowcount)
    return changed
