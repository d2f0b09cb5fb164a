"""Reads of the dashboard rollups: sales by day and period, top products, cohorts, stages.

Each function is one query over the small rollup tables (never over the orders), so the
dashboard costs the same at a thousand orders as at ten million. The figures are as fresh
as RollupState.refreshed_at; patron.orders.services.rollups defines what each one counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from django.db import connection

from patron.orders.models import CohortMonth, RollupState, SalesDay, StageCount

ZERO = Decimal("0")
CENT = Decimal("0.01")


class Grain(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


# Daily points up to a quarter, weekly up to a year (53 points), monthly beyond: a chart
# stays between about 13 and 90 points, readable at a laptop's width.
DAILY_LIMIT_DAYS = 90
WEEKLY_LIMIT_DAYS = 366


def grain_for(start: date, end: date) -> Grain:
    days = (end - start).days + 1
    if days <= DAILY_LIMIT_DAYS:
        return Grain.DAY
    if days <= WEEKLY_LIMIT_DAYS:
        return Grain.WEEK
    return Grain.MONTH


@dataclass(frozen=True)
class Freshness:
    refreshed_at: datetime
    currency: str
    first_day: date | None
    last_day: date | None


@dataclass(frozen=True)
class SalesPeriod:
    """Sales of one day, week (starting Monday) or month, clipped to the chosen range."""

    start: date
    orders: int = 0
    revenue: Decimal = ZERO
    revenue_orders: int = 0
    new_customers: int = 0
    new_customers_returned: int = 0

    @property
    def returning_orders(self) -> int:
        """Orders from customers who had ordered before: every order but the first ones."""
        return self.orders - self.new_customers

    @property
    def average_order_value(self) -> Decimal | None:
        if not self.revenue_orders:
            return None
        return (self.revenue / self.revenue_orders).quantize(CENT)

    @property
    def repeat_purchase_rate(self) -> float | None:
        if not self.new_customers:
            return None
        return self.new_customers_returned / self.new_customers

    def plus(self, other: SalesPeriod) -> SalesPeriod:
        return SalesPeriod(
            start=self.start,
            orders=self.orders + other.orders,
            revenue=self.revenue + other.revenue,
            revenue_orders=self.revenue_orders + other.revenue_orders,
            new_customers=self.new_customers + other.new_customers,
            new_customers_returned=self.new_customers_returned + other.new_customers_returned,
        )


@dataclass(frozen=True)
class ProductSales:
    product_id: int
    sku: str
    name: str
    units: int
    revenue: Decimal


@dataclass(frozen=True)
class CohortRow:
    """Customers who first ordered in `month`, and how many ordered again k months later."""

    month: date
    customers: int
    retained: tuple[int, ...]  # index k: customers with an order k months after their first

    def rate(self, months_after: int) -> float:
        return self.retained[months_after] / self.customers if self.customers else 0.0


def freshness_get() -> Freshness | None:
    """When the rollups were last refreshed; None before the first refresh."""
    state = RollupState.objects.order_by("pk").first()
    if state is None:
        return None
    return Freshness(state.refreshed_at, state.currency, state.first_day, state.last_day)


def sales_days(start: date, end: date) -> list[SalesPeriod]:
    """One SalesPeriod per day with orders in [start, end] (inclusive), oldest first."""
    rows = SalesDay.objects.filter(day__gte=start, day__lte=end).order_by("day")
    return [
        SalesPeriod(
            start=row.day,
            orders=row.orders,
            revenue=row.revenue,
            revenue_orders=row.revenue_orders,
            new_customers=row.new_customers,
            new_customers_returned=row.new_customers_returned,
        )
        for row in rows
    ]


def period_start(day: date, grain: Grain) -> date:
    if grain is Grain.WEEK:
        return day - timedelta(days=day.weekday())
    if grain is Grain.MONTH:
        return day.replace(day=1)
    return day


def _following(start: date, grain: Grain) -> date:
    if grain is Grain.DAY:
        return start + timedelta(days=1)
    if grain is Grain.WEEK:
        return start + timedelta(days=7)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def sales_periods(
    days: Sequence[SalesPeriod], *, start: date, end: date, grain: Grain
) -> list[SalesPeriod]:
    """Every period from start to end (empty ones too, so a chart's gaps are real zeros).

    The first period starts at `start` even mid-week or mid-month: figures never include days
    outside the chosen range.
    """
    by_start: dict[date, SalesPeriod] = {}
    for day in days:
        key = max(period_start(day.start, grain), start)
        previous = by_start.get(key)
        by_start[key] = day if previous is None else previous.plus(day)
    periods = []
    cursor = start
    while cursor <= end:
        found = by_start.get(cursor)
        periods.append(SalesPeriod(start=cursor) if found is None else _restart(found, cursor))
        cursor = _following(period_start(cursor, grain), grain)
    return periods


def _restart(period: SalesPeriod, start: date) -> SalesPeriod:
    return SalesPeriod(start=start).plus(period)


def sales_total(days: Sequence[SalesPeriod], *, start: date) -> SalesPeriod:
    total = SalesPeriod(start=start)
    for day in days:
        total = total.plus(day)
    return total


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def product_sales_top(start: date, end: date, *, limit: int) -> list[ProductSales]:
    """The products with the most line revenue in [start, end], then the most units.

    Whole calendar months inside the range are read from ProductSalesMonth and only the
    days at either end from ProductSalesDay: at most about 60 days of rows whatever the range.
    """
    first_full = start if start.day == 1 else _next_month(start)
    after = end + timedelta(days=1)
    full_end = max(after if after.day == 1 else end.replace(day=1), first_full)
    adapt = connection.ops.adapt_datefield_value
    sql = """
        SELECT top.product_id, product.sku, product.name, top.units, top.revenue
        FROM (
            SELECT part.product_id, SUM(part.units) AS units, SUM(part.revenue) AS revenue
            FROM (
                SELECT product_id, units, revenue FROM orders_productsalesmonth
                WHERE month >= %s AND month < %s
                UNION ALL
                SELECT product_id, units, revenue FROM orders_productsalesday
                WHERE (day >= %s AND day < %s) OR (day >= %s AND day < %s)
            ) part
            GROUP BY part.product_id
            ORDER BY revenue DESC, units DESC, part.product_id
            LIMIT %s
        ) top
        JOIN catalog_product product ON product.id = top.product_id
        ORDER BY top.revenue DESC, top.units DESC, top.product_id
    """
    bounds = [first_full, full_end, start, min(first_full, after), full_end, after]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*(adapt(bound) for bound in bounds), limit])
        rows = cursor.fetchall()
    return [
        ProductSales(
            product_id=product_id,
            sku=sku,
            name=name,
            units=int(units),
            revenue=Decimal(revenue).quantize(CENT),
        )
        for product_id, sku, name, units, revenue in rows
    ]


def _months_between(first: date, second: date) -> int:
    return (second.year - first.year) * 12 + second.month - first.month


def cohort_rows(first_month: date, last_month: date) -> list[CohortRow]:
    """Cohorts from first_month to last_month (month starts), each with its monthly retention
    up to last_month: the later the cohort, the fewer months it has had."""
    cells = CohortMonth.objects.filter(
        cohort_month__gte=first_month, cohort_month__lte=last_month, activity_month__lte=last_month
    ).order_by("cohort_month", "activity_month")
    retained: dict[date, list[int]] = {}
    for cell in cells:
        counts = retained.setdefault(
            cell.cohort_month, [0] * (_months_between(cell.cohort_month, last_month) + 1)
        )
        counts[_months_between(cell.cohort_month, cell.activity_month)] = cell.customers
    return [
        CohortRow(month=month, customers=counts[0], retained=tuple(counts))
        for month, counts in sorted(retained.items())
        if counts[0]
    ]


def stage_counts() -> dict[str, int]:
    """Customers per lifecycle stage as of the last refresh."""
    return dict(StageCount.objects.values_list("stage", "customers"))
