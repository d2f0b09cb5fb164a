"""Writing the order figures kept on each customer (count, spend, first and last order).

Orders sits above customers, so it computes the figures and hands them here as SQL; this
module owns the UPDATE of the customer table. The figures are derivations of the orders (they
can be recomputed at any time), so writing them is not audited and does not touch updated_at.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection

from patron.customers.models import Customer

# The figures a FiguresQuery must give, in this order, after the customer id.
FIGURE_COLUMNS = ("order_count", "total_spent", "first_order_at", "last_order_at")


def customer_order_figures_write(
    *,
    figures_sql: str,
    figures_params: Sequence[Any],
    customer_ids: Sequence[int] | None = None,
    id_range: tuple[int, int] | None = None,
) -> int:
    """Set the figures of the chosen customers from a query; returns the rows changed.

    figures_sql selects (customer_id, order_count, total_spent, first_order_at, last_order_at)
    grouped by customer; a chosen customer missing from it has no orders and gets zero and
    NULLs. Customers are chosen by a list of ids or by a half-open id range [low, high), so a
    whole-table refresh walks the primary key in batches. One UPDATE … FROM for the batch;
    rows whose figures are already right are not written.
    """
    if (customer_ids is None) == (id_range is None):
        raise ValueError("give customer_ids or id_range")
    quote = connection.ops.quote_name
    table = quote(Customer._meta.db_table)
    if customer_ids is not None:
        if not customer_ids:
            return 0
        chosen = f"chosen.id IN ({', '.join(['%s'] * len(customer_ids))})"
        chosen_params: list[Any] = list(customer_ids)
    else:
        assert id_range is not None
        chosen = "chosen.id >= %s AND chosen.id < %s"
        chosen_params = list(id_range)
    distinct = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    columns = ", ".join(f"{name} = fresh.{name}" for name in FIGURE_COLUMNS)
    changed = " OR ".join(f"{table}.{name} {distinct} fresh.{name}" for name in FIGURE_COLUMNS)
    # On SQLite the sum of decimals is a float; rounding to cents keeps it equal to the sum of
    # the stored amounts, so an unchanged customer compares equal and is not rewritten.
    statement = (
        f"UPDATE {table} SET {columns} FROM ("  # noqa: S608 - names come from the model
        "SELECT chosen.id AS customer_id, "
        "COALESCE(figures.order_count, 0) AS order_count, "
        "ROUND(COALESCE(figures.total_spent, 0), 2) AS total_spent, "
        "figures.first_order_at AS first_order_at, "
        "figures.last_order_at AS last_order_at "
        f"FROM {table} AS chosen LEFT JOIN ({figures_sql}) AS figures "
        f"ON figures.customer_id = chosen.id WHERE {chosen}"
        f") AS fresh WHERE {table}.id = fresh.customer_id AND ({changed})"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [*figures_params, *chosen_params])
        return int(cursor.rowcount)


def customer_id_bounds() -> tuple[int, int] | None:
    """The lowest and highest customer id (None without customers), for walking in batches."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT min(id), max(id) FROM {connection.ops.quote_name(Customer._meta.db_table)}"  # noqa: S608 - names come from the model
        )
        low, high = cursor.fetchone()
    return None if low is None else (int(low), int(high))
