"""Keeping each customer's order figures equal to its orders, set-based, after every order write.

Definitions (docs/workspace.md repeats them): an order counts unless it is cancelled;
total_spent is the sum over counted orders of total minus refunded_total; first_order_at and
last_order_at are the earliest and latest placed_at of counted orders (NULL without any).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Max, Min, QuerySet, Sum

from patron.core import hooks
from patron.core.progress import ProgressCallback, ignore_progress
from patron.customers.services.figures import customer_id_bounds, customer_order_figures_write
from patron.orders.models import Order, OrderStatus

# Customers recomputed per UPDATE. Each batch reads their orders through the (customer_id,
# placed_at) index and writes one statement; 5,000 ids stay far below SQLite's 32,766 bound
# parameters, and a batch of a whole-table refresh (about 50,000 demo orders) takes well
# under a second, so a long refresh shows steady progress and holds no lock for long.
BATCH_CUSTOMERS = 5_000
# Told with the customers whose orders changed (after their figures); higher apps rescore them.
CUSTOMER_ORDERS_CHANGED = "orders.customer_orders_changed"


def order_figures(customer_filter: dict[str, object]) -> QuerySet[Order, tuple[Any, ...]]:
    """Per-customer aggregates of the counted orders matching the filter, as one grouped query."""
    return (
        Order.objects.filter(**customer_filter)
        .exclude(status=OrderStatus.CANCELLED)
        .order_by()
        .values("customer_id")
        .annotate(
            order_count=Count("id"),
            total_spent=Sum(
                ExpressionWrapper(
                    F("total") - F("refunded_total"),
                    output_field=DecimalField(max_digits=14, decimal_places=2),
                ),
                default=Decimal("0"),
            ),
            first_order_at=Min("placed_at"),
            last_order_at=Max("placed_at"),
        )
        .values_list("customer_id", "order_count", "total_spent", "first_order_at", "last_order_at")
    )


def _write(queryset: QuerySet[Order, tuple[Any, ...]], **chosen: Any) -> int:
    sql, params = queryset.query.sql_with_params()
    return customer_order_figures_write(figures_sql=sql, figures_params=params, **chosen)


def is_order_customer_index_present() -> bool:
    """Whether orders can be read customer by customer through an index.

    A large CSV import on SQLite drops the plain indexes of the tables it fills and builds
    them again before it commits; meanwhile a refresh per batch would read the whole orders
    table every batch.
    """
    if connection.vendor != "sqlite":
        return True
    names = [
        index.name
        for index in Order._meta.indexes
        if index.fields and index.fields[0] in ("customer", "customer_id")
    ]
    placeholders = ", ".join(["%s"] * len(names))
    statement = (
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "  # noqa: S608 - placeholders only
        f"AND name IN ({placeholders})"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [Order._meta.db_table, *names])
        return bool(cursor.fetchone()[0])


def customer_order_figures_refresh(
    customer_ids: Iterable[int] | None = None, *, progress: ProgressCallback = ignore_progress
) -> int:
    """Recompute the figures of these customers (all customers when None); returns rows changed.

    Call it inside the transaction that wrote the orders, so the figures commit with them.
    """
    changed = 0
    if customer_ids is not None:
        wanted = sorted(set(customer_ids))
        for start in range(0, len(wanted), BATCH_CUSTOMERS):
            batch = wanted[start : start + BATCH_CUSTOMERS]
            changed += _write(order_figures({"customer_id__in": batch}), customer_ids=batch)
        hooks.dispatch(CUSTOMER_ORDERS_CHANGED, customer_ids=set(wanted))
        return changed
    bounds = customer_id_bounds()
    if bounds is None:
        return 0
    low, high = bounds
    for start in range(low, high + 1, BATCH_CUSTOMERS):
        end = start + BATCH_CUSTOMERS
        changed += _write(
            order_figures({"customer_id__gte": start, "customer_id__lt": end}),
            id_range=(start, end),
        )
        progress(min(end, high + 1) - low, high + 1 - low)
    return changed
