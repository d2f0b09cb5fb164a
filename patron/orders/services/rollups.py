"""Refreshing the dashboard's rollup tables from the orders, set-based and incrementally.

The rollups (SalesDay, ProductSalesDay/Month, CohortMonth, StageCount, RollupState) are derived
data: every row is an INSERT ... SELECT ... GROUP BY over the orders, so they can be rebuilt
from the facts at any time. An incremental refresh recomputes only the days and months that
the orders changed since the last run can have touched (found through the updated_at index).

Definitions (docs/workspace.md repeats them): an order counts unless it is cancelled;
revenue is total minus refunded_total of counted orders in the shop currency (the currency of
most orders), attributed to the day the order was placed; a customer's first order is their
earliest counted order; days and months are UTC.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Max, Min

from patron.core import clock
from patron.customers import selectors as customer_selectors
from patron.orders.models import (
    CohortMonth,
    Order,
    OrderStatus,
    ProductSalesDay,
    ProductSalesMonth,
    RollupState,
    SalesDay,
    StageCount,
)

# A write transaction that was open while a refresh read the orders commits later with an
# updated_at before the refresh's start; looking back this far again catches it.
CHANGE_OVERLAP = timedelta(minutes=5)
# Beyond this many changed orders (a big import) one rebuild of everything is cheaper than
# finding the days they touch: the rebuild reads each order once.
INCREMENTAL_LIMIT = 20_000

_COUNTED = f"o.status <> '{OrderStatus.CANCELLED.value}'"


@dataclass(frozen=True)
class RefreshResult:
    is_full: bool
    changed_orders: int
    days: int
    months: int
    seconds: float


def _day(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"(({column}) AT TIME ZONE 'UTC')::date"
    return f"date({column})"


def _month(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"date_trunc('month', ({column}) AT TIME ZONE 'UTC')::date"
    return f"date({column}, 'start of month')"


def _month_of_date(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"date_trunc('month', {column})::date"
    return f"date({column}, 'start of month')"


def _instant(day: date) -> object:
    """Midnight UTC of a day, as the database compares it with placed_at."""
    return connection.ops.adapt_datetimefield_value(
        datetime(day.year, day.month, day.day, tzinfo=UTC)
    )


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _runs(days: Iterable[date], step: str) -> Iterator[tuple[date, date]]:
    """Contiguous [start, end) runs of days (step "day") or month starts (step "month")."""
    following = _next_month if step == "month" else (lambda value: value + timedelta(days=1))
    start: date | None = None
    end: date | None = None
    for value in sorted(set(days)):
        if start is not None and value == end:
            end = following(value)
            continue
        if start is not None and end is not None:
            yield start, end
        start, end = value, following(value)
    if start is not None and end is not None:
        yield start, end


def _placed_between(start: date | None, end: date | None) -> tuple[str, list[Any]]:
    """The WHERE condition on o.placed_at for [start, end); none for a rebuild of everything,
    which reads the table once instead of going through the placed_at index row by row."""
    if start is None or end is None:
        return "", []
    return " AND o.placed_at >= %s AND o.placed_at < %s", [_instant(start), _instant(end)]


def _newcomers_sql(start: date | None, end: date | None) -> tuple[str, list[Any]]:
    """(customer_id, first_at, orders) of the customers whose first counted order is in range."""
    cancelled = OrderStatus.CANCELLED.value
    if start is None or end is None:
        # Everything: one pass over the (customer_id, placed_at) index.
        return (
            f"""SELECT o.customer_id, MIN(o.placed_at) AS first_at, COUNT(*) AS orders
                FROM orders_order o WHERE {_COUNTED} GROUP BY o.customer_id""",  # noqa: S608
            [],
        )
    # A few days: only the customers who ordered then, each looked up through the index.
    condition, params = _placed_between(start, end)
    return (
        f"""SELECT o.customer_id, MIN(o.placed_at) AS first_at,
                   (SELECT COUNT(*) FROM orders_order o2
                    WHERE o2.customer_id = o.customer_id AND o2.status <> '{cancelled}') AS orders
            FROM orders_order o
            WHERE {_COUNTED}{condition}
              AND NOT EXISTS (
                  SELECT 1 FROM orders_order p
                  WHERE p.customer_id = o.customer_id AND p.placed_at < %s
                    AND p.status <> '{cancelled}')
            GROUP BY o.customer_id""",  # noqa: S608
        [*params, params[0]],
    )


def _sales_days_write(start: date | None, end: date | None, currency: str) -> None:
    """SalesDay rows for [start, end) (all days if None): the day's totals, and the customers
    it brought in."""
    condition, params = _placed_between(start, end)
    newcomers, newcomer_params = _newcomers_sql(start, end)
    sql = f"""
        INSERT INTO orders_salesday
            (day, orders, revenue, revenue_orders, new_customers, new_customers_returned)
        SELECT totals.day, totals.orders, totals.revenue, totals.revenue_orders,
               COALESCE(firsts.customers, 0), COALESCE(firsts.returned, 0)
        FROM (
            SELECT {_day("o.placed_at")} AS day, COUNT(*) AS orders,
                   ROUND(SUM(CASE WHEN o.currency = %s THEN o.total - o.refunded_total
                                  ELSE 0 END), 2) AS revenue,
                   SUM(CASE WHEN o.currency = %s THEN 1 ELSE 0 END) AS revenue_orders
            FROM orders_order o
            WHERE {_COUNTED}{condition}
            GROUP BY {_day("o.placed_at")}
        ) totals
        LEFT JOIN (
            SELECT {_day("newcomer.first_at")} AS day, COUNT(*) AS customers,
                   SUM(CASE WHEN newcomer.orders > 1 THEN 1 ELSE 0 END) AS returned
            FROM ({newcomers}) newcomer
            GROUP BY {_day("newcomer.first_at")}
        ) firsts ON firsts.day = totals.day
    """  # noqa: S608 - only fixed SQL fragments are interpolated
    with connection.cursor() as cursor:
        cursor.execute(sql, [currency, currency, *params, *newcomer_params])


def _product_days_write(start: date | None, end: date | None, currency: str) -> None:
    condition, params = _placed_between(start, end)
    # SQLite plans this join from the lines' product index, then looks up each line's order
    # at random; CROSS JOIN makes it read the orders in order and each one's lines beside
    # it (measured at 1 M customers, 11.5 M lines: 23 s instead of 41 s for every day).
    join = "CROSS JOIN" if connection.vendor == "sqlite" else "JOIN"
    sql = f"""
        INSERT INTO orders_productsalesday (day, product_id, units, revenue)
        SELECT {_day("o.placed_at")}, line.product_id, SUM(line.quantity),
               ROUND(SUM(CASE WHEN o.currency = %s THEN line.line_total ELSE 0 END), 2)
        FROM orders_order o {join} orders_orderline line ON line.order_id = o.id
        WHERE {_COUNTED} AND line.product_id IS NOT NULL{condition}
        GROUP BY {_day("o.placed_at")}, line.product_id
    """  # noqa: S608 - only fixed SQL fragments are interpolated
    with connection.cursor() as cursor:
        cursor.execute(sql, [currency, *params])


def _product_months_write(start: date | None, end: date | None) -> None:
    """ProductSalesMonth of the months in [start, end) (all if None), from ProductSalesDay."""
    condition, params = "", []
    if start is not None and end is not None:
        condition = "WHERE day >= %s AND day < %s"
        params = [
            connection.ops.adapt_datefield_value(start),
            connection.ops.adapt_datefield_value(end),
        ]
    sql = f"""
        INSERT INTO orders_productsalesmonth (month, product_id, units, revenue)
        SELECT {_month_of_date("day")}, product_id, SUM(units), SUM(revenue)
        FROM orders_productsalesday {condition}
        GROUP BY {_month_of_date("day")}, product_id
    """  # noqa: S608 - only fixed SQL fragments are interpolated
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _cohort_months_write(start: date | None, end: date | None) -> None:
    """CohortMonth cells of the activity months in [start, end) (all if None), every cohort."""
    condition, params = _placed_between(start, end)
    if start is None:
        first_at = f"""(SELECT o.customer_id, MIN(o.placed_at) AS first_at FROM orders_order o
                        WHERE {_COUNTED} GROUP BY o.customer_id)"""  # noqa: S608
        join = f"JOIN {first_at} first_order ON first_order.customer_id = active.customer_id"
        first_column, first_select = "first_order.first_at", ""
    else:
        join, first_column = "", "active.first_at"
        first_select = f""", (SELECT MIN(f.placed_at) FROM orders_order f
                              WHERE f.customer_id = o.customer_id
                                AND f.status <> '{OrderStatus.CANCELLED.value}') AS first_at"""  # noqa: S608
    sql = f"""
        INSERT INTO orders_cohortmonth (cohort_month, activity_month, customers)
        SELECT {_month(first_column)}, active.activity_month, COUNT(*)
        FROM (
            SELECT o.customer_id, {_month("o.placed_at")} AS activity_month{first_select}
            FROM orders_order o
            WHERE {_COUNTED}{condition}
            GROUP BY o.customer_id, {_month("o.placed_at")}
        ) active
        {join}
        GROUP BY {_month(first_column)}, active.activity_month
    """  # noqa: S608 - only fixed SQL fragments are interpolated
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _days_recompute(days: Iterable[date], currency: str) -> None:
    for start, end in _runs(days, "day"):
        SalesDay.objects.filter(day__gte=start, day__lt=end).delete()
        ProductSalesDay.objects.filter(day__gte=start, day__lt=end).delete()
        _sales_days_write(start, end, currency)
        _product_days_write(start, end, currency)
    for start, end in _runs({day.replace(day=1) for day in days}, "month"):
        ProductSalesMonth.objects.filter(month__gte=start, month__lt=end).delete()
        _product_months_write(start, end)


def _months_recompute(months: Iterable[date]) -> None:
    for start, end in _runs(months, "month"):
        CohortMonth.objects.filter(activity_month__gte=start, activity_month__lt=end).delete()
        _cohort_months_write(start, end)


def _shop_currency() -> str:
    """The currency most orders are in: what the dashboard's money figures are reported in."""
    top = (
        Order.objects.order_by()
        .values_list("currency")
        .annotate(orders=Count("id"))
        .order_by("-orders", "currency")
        .first()
    )
    return top[0] if top else ""


def _touched(changed: list[tuple[int, int, datetime, str]]) -> tuple[set[date], set[date]]:
    """The days and months whose rollups the changed orders (id, customer, placed_at, status)
    can have altered.

    Besides the orders' own days: when a changed order is, or may have been, one of its
    customer's first two counted orders, the days of the current first two (who is new, and
    whether they came back, is recorded on the first order's day); when it is or may have been
    the first, every month of that customer (their cohort moved).
    """
    days = {placed_at.date() for _, _, placed_at, _ in changed}
    months = {day.replace(day=1) for day in days}
    customer_ids = {customer_id for _, customer_id, _, _ in changed}
    history: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    counted = (
        Order.objects.filter(customer_id__in=customer_ids)
        .exclude(status=OrderStatus.CANCELLED)
        .order_by("customer_id", "placed_at", "id")
        .values_list("customer_id", "id", "placed_at")
    )
    for customer_id, order_id, placed_at in counted.iterator(chunk_size=5_000):
        history[customer_id].append((order_id, placed_at))
    for order_id, customer_id, _, status in changed:
        orders = history.get(customer_id, [])
        first_two = [identifier for identifier, _ in orders[:2]]
        is_cancelled = status == OrderStatus.CANCELLED
        if is_cancelled or order_id in first_two:
            days.update(placed_at.date() for _, placed_at in orders[:2])
        if is_cancelled or first_two[:1] == [order_id]:
            months.update(placed_at.date().replace(day=1) for _, placed_at in orders)
    return days, months


def _stage_counts_write() -> None:
    StageCount.objects.all().delete()
    StageCount.objects.bulk_create(
        StageCount(stage=stage, customers=count)
        for stage, count in customer_selectors.customer_lifecycle_counts().items()
    )


def rollups_refresh(*, full: bool = False) -> RefreshResult:
    """Bring the dashboard rollups up to date with the orders, in one transaction.

    Incremental unless `full`, the first run, or more than INCREMENTAL_LIMIT orders changed.
    The page reads the previous figures until this commits.
    """
    started = clock.now()
    began = time.perf_counter()
    with transaction.atomic():
        state = RollupState.objects.select_for_update().first()
        changed: list[tuple[int, int, datetime, str]] = []
        if state is not None and not full:
            changed = list(
                Order.objects.filter(updated_at__gte=state.changes_since)
                .order_by()
                .values_list("id", "customer_id", "placed_at", "status")[: INCREMENTAL_LIMIT + 1]
            )
        # Without a currency (the last run saw no orders) every revenue figure needs one now.
        is_full = state is None or full or not state.currency or len(changed) > INCREMENTAL_LIMIT
        if is_full:
            currency = _shop_currency()
            SalesDay.objects.all().delete()
            ProductSalesDay.objects.all().delete()
            ProductSalesMonth.objects.all().delete()
            CohortMonth.objects.all().delete()
            _sales_days_write(None, None, currency)
            _product_days_write(None, None, currency)
            _product_months_write(None, None)
            _cohort_months_write(None, None)
            days: set[date] = set()
            months: set[date] = set()
        else:
            assert state is not None
            currency = state.currency
            days, months = _touched(changed)
            _days_recompute(days, currency)
            _months_recompute(months)
        _stage_counts_write()
        span = SalesDay.objects.aggregate(first=Min("day"), last=Max("day"))
        RollupState.objects.update_or_create(
            pk=1,
            defaults={
                "refreshed_at": started,
                "changes_since": started - CHANGE_OVERLAP,
                "currency": currency,
                "first_day": span["first"],
                "last_day": span["last"],
            },
        )
    return RefreshResult(
        is_full=is_full,
        changed_orders=len(changed),
        days=len(days),
        months=len(months),
        seconds=time.perf_counter() - began,
    )
