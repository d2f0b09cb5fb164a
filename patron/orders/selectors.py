"""Reads of orders, lines, refunds and carts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Prefetch,
    QuerySet,
    Sum,
)

from patron.core.errors import NotFound, ValidationFailed
from patron.core.panels import TimelinePosition
from patron.customers.selectors import CustomerFilters, customer_list
from patron.customers.validation import clean_datetime, normalise_email
from patron.orders.models import ZERO, Cart, Order, OrderLine, OrderStatus, Refund


def order_count() -> int:
    return Order.objects.count()


def order_line_count() -> int:
    return OrderLine.objects.count()


def order_find(*, source_id: int, external_id: str) -> Order | None:
    """The order a source knows by this id (Segment's order_id), if it was recorded."""
    return Order.objects.filter(source_id=source_id, external_id=external_id).first()


@dataclass(frozen=True)
class OrderFilters:
    """What an order list is narrowed by; timestamps as ISO 8601 text, checked by order_list."""

    customer_id: int | None = None
    status: str | None = None
    placed_since: str | None = None
    placed_before: str | None = None


def orders_for_display() -> QuerySet[Order]:
    """Orders with source, lines and refunds loaded in three queries per page, not per row."""
    return Order.objects.select_related("source").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("position")),
        Prefetch("refunds", queryset=Refund.objects.order_by("refunded_at", "pk")),
    )


def order_get(order_id: int) -> Order:
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound(f"no order with id {order_id}", field="id")
    return order


def order_get_for_display(order_id: int) -> Order:
    order = orders_for_display().filter(pk=order_id).first()
    if order is None:
        raise NotFound(f"no order with id {order_id}", field="id")
    return order


def order_list(*, filters: OrderFilters) -> QuerySet[Order]:
    queryset = orders_for_display()
    if filters.customer_id is not None:
        queryset = queryset.filter(customer_id=filters.customer_id)
    if filters.status is not None:
        if filters.status not in OrderStatus.values:
            raise ValidationFailed(
                f"must be one of {', '.join(OrderStatus.values)}", field="status"
            )
        queryset = queryset.filter(status=filters.status)
    if filters.placed_since is not None:
        since = clean_datetime(filters.placed_since, field="placed_since")
        queryset = queryset.filter(placed_at__gte=since)
    if filters.placed_before is not None:
        before = clean_datetime(filters.placed_before, field="placed_before")
        queryset = queryset.filter(placed_at__lt=before)
    return queryset


SECONDS_PER_DAY = 86_400


def _days_between(first: datetime | None, last: datetime | None, count: int) -> float | None:
    """The average gap between `count` purchases spread from first to last; None under two."""
    if first is None or last is None or count < 2:
        return None
    return (last - first).total_seconds() / SECONDS_PER_DAY / (count - 1)


@dataclass(frozen=True)
class PurchaseFigures:
    """One customer's buying, counted from the orders themselves (cancelled orders left out)."""

    order_count: int
    total_spent: Decimal
    average_order_value: Decimal | None
    first_order_at: datetime | None
    last_order_at: datetime | None
    average_days_between_orders: float | None
    currency: str  # empty when the orders are in more than one currency


def customer_purchase_figures(*, customer_id: int) -> PurchaseFigures:
    """Order count, money spent net of refunds, and the rhythm of buying: one aggregate query."""
    row = (
        Order.objects.filter(customer_id=customer_id)
        .exclude(status=OrderStatus.CANCELLED)
        .aggregate(
            count=Count("pk"),
            spent=Sum(
                F("total") - F("refunded_total"),
                output_field=DecimalField(max_digits=16, decimal_places=2),
            ),
            first=Min("placed_at"),
            last=Max("placed_at"),
            lowest_currency=Min("currency"),
            highest_currency=Max("currency"),
        )
    )
    count = int(row["count"] or 0)
    spent = Decimal(row["spent"] or 0).quantize(Decimal("0.01"))
    return PurchaseFigures(
        order_count=count,
        total_spent=spent,
        average_order_value=(spent / count).quantize(Decimal("0.01")) if count else None,
        first_order_at=row["first"],
        last_order_at=row["last"],
        average_days_between_orders=_days_between(row["first"], row["last"], count),
        currency=row["lowest_currency"]
        if row["lowest_currency"] == row["highest_currency"]
        else "",
    )


MAXIMUM_PRODUCTS_SHOWN = 20  # what fits beside a timeline; the most bought come first


@dataclass(frozen=True)
class ProductPurchases:
    """How one customer buys one product (by sku, so lines without a catalogue product count)."""

    sku: str
    name: str
    times_bought: int
    units: int
    first_bought_at: datetime
    last_bought_at: datetime
    average_days_between: float | None


def customer_product_purchases(
    *, customer_id: int, limit: int = MAXIMUM_PRODUCTS_SHOWN
) -> list[ProductPurchases]:
    """Per product: orders it was in, units, first and last purchase; one grouped query."""
    rows = (
        OrderLine.objects.filter(order__customer_id=customer_id)
        .exclude(order__status=OrderStatus.CANCELLED)
        .values("sku")
        .annotate(
            name=Max("name"),
            times=Count("order_id", distinct=True),
            units=Sum("quantity"),
            first=Min("order__placed_at"),
            last=Max("order__placed_at"),
        )
        .order_by("-times", "-last", "sku")[:limit]
    )
    return [
        ProductPurchases(
            sku=row["sku"],
            name=row["name"] or row["sku"],
            times_bought=row["times"],
            units=row["units"],
            first_bought_at=row["first"],
            last_bought_at=row["last"],
            average_days_between=_days_between(row["first"], row["last"], row["times"]),
        )
        for row in rows
    ]


def order_timeline(
    *, customer_id: int, kind: str, before: TimelinePosition | None, limit: int
) -> list[Order]:
    """One customer's orders newest first after `before`: one query on (customer, placed_at)."""
    queryset = Order.objects.filter(customer_id=customer_id).annotate(line_count=Count("lines"))
    if before is not None:
        queryset = queryset.filter(before.older(kind, at_field="placed_at"))
    return list(queryset.order_by("-placed_at", "-pk")[:limit])


def refund_timeline(
    *, customer_id: int, kind: str, before: TimelinePosition | None, limit: int
) -> list[Refund]:
    """One customer's refunds newest first after `before`, each with its order: one query."""
    queryset = Refund.objects.select_related("order").filter(order__customer_id=customer_id)
    if before is not None:
        queryset = queryset.filter(before.older(kind, at_field="refunded_at"))
    return list(queryset.order_by("-refunded_at", "-pk")[:limit])


# The workspace's order and product pages: typed searches, sorted keyset pages, sales figures.


@dataclass(frozen=True)
class OrderSearch:
    """What the workspace order list is narrowed by, already parsed by the page's form.

    `text` is an order id (exact or prefix) or, when it holds an @, a customer's email.
    """

    text: str = ""
    status: str | None = None
    source_id: int | None = None
    placed_from: datetime | None = None
    placed_before: datetime | None = None
    total_min: Decimal | None = None
    total_max: Decimal | None = None
    currency: str | None = None


def order_search(search: OrderSearch) -> QuerySet[Order]:
    """Orders matching every given condition, with customer and source joined in."""
    queryset = Order.objects.select_related("customer", "source")
    text = search.text.strip()
    if "@" in text:
        try:
            email = normalise_email(text, field="q")
        except ValidationFailed:
            return queryset.none()
        queryset = queryset.filter(
            customer_id__in=customer_list(filters=CustomerFilters(email=email)).values("pk")
        )
    elif text:
        # The range lets an index on external_id serve the prefix; startswith keeps it exact
        # under any collation.
        queryset = queryset.filter(
            external_id__gte=text,
            external_id__lt=text + _LAST_CHARACTER,
            external_id__startswith=text,
        )
    if search.status:
        queryset = queryset.filter(status=search.status)
    if search.source_id is not None:
        queryset = queryset.filter(source_id=search.source_id)
    if search.placed_from is not None:
        queryset = queryset.filter(placed_at__gte=search.placed_from)
    if search.placed_before is not None:
        queryset = queryset.filter(placed_at__lt=search.placed_before)
    if search.total_min is not None:
        queryset = queryset.filter(total__gte=search.total_min)
    if search.total_max is not None:
        queryset = queryset.filter(total__lte=search.total_max)
    if search.currency:
        queryset = queryset.filter(currency=search.currency.upper())
    return queryset


_LAST_CHARACTER = "\U0010ffff"


def order_units(order_ids: Sequence[int]) -> dict[int, int]:
    """Units bought in each of these orders: one aggregate over their lines, for a page.

    A page's orders get it after the page is chosen, so a sort never computes it per row.
    """
    return dict(
        OrderLine.objects.filter(order_id__in=order_ids)
        .values("order_id")
        .annotate(units=Sum("quantity"))
        .values_list("order_id", "units")
    )


def order_get_for_page(order_id: int) -> Order:
    """One order with customer, source, lines (with their products) and refunds: four queries."""
    order = (
        Order.objects.select_related("customer", "source")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=OrderLine.objects.select_related("product").order_by("position"),
            ),
            Prefetch("refunds", queryset=Refund.objects.order_by("refunded_at", "pk")),
        )
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        raise NotFound(f"no order with id {order_id}", field="id")
    return order


def orders_with_product(product_id: int) -> QuerySet[Order]:
    """Orders holding at least one line of this product, customers joined in."""
    return Order.objects.select_related("customer").filter(
        Exists(OrderLine.objects.filter(order=OuterRef("pk"), product_id=product_id))
    )


CENT = Decimal("0.01")


@dataclass(frozen=True)
class Revenue:
    currency: str
    amount: Decimal


@dataclass(frozen=True)
class ProductSales:
    """What one product sold, cancelled orders left out; revenue is before refunds."""

    order_count: int
    units: int
    revenue: tuple[Revenue, ...]
    buyer_count: int
    repeat_buyer_count: int
    median_days_between_repeats: float | None

    @property
    def repeat_share(self) -> float | None:
        return self.repeat_buyer_count / self.buyer_count if self.buyer_count else None


def product_sales(product_id: int) -> ProductSales:
    """Sales figures for one product from its order lines, in one statement.

    It starts from the (product, order) index on lines, so the cost follows this product's
    sales, not the size of the table: one pass over its lines gives one row per order, from
    which every figure is aggregated (per currency, per buyer, gaps between a buyer's orders).
    """
    days = (
        "julianday({})" if connection.vendor == "sqlite" else "(EXTRACT(EPOCH FROM {}) / 86400.0)"
    )
    previous = "LAG(placed_at) OVER (PARTITION BY customer_id ORDER BY placed_at, order_id)"
    gap = f"{days.format('placed_at')} - {days.format(previous)}"
    line_table, order_table = OrderLine._meta.db_table, Order._meta.db_table
    sql = f"""
        WITH purchases AS (
            SELECT o.customer_id AS customer_id, o.id AS order_id, o.placed_at AS placed_at,
                   o.currency AS currency, SUM(l.quantity) AS units,
                   SUM(l.line_total) AS revenue
            FROM {line_table} l JOIN {order_table} o ON o.id = l.order_id
            WHERE l.product_id = %s AND o.status <> %s
            GROUP BY o.id, o.customer_id, o.placed_at, o.currency
        ),
        per_buyer AS (
            SELECT customer_id, COUNT(*) AS purchases FROM purchases GROUP BY customer_id
        ),
        gaps AS (
            SELECT {gap} AS gap FROM purchases
        ),
        ranked AS (
            SELECT gap, ROW_NUMBER() OVER (ORDER BY gap) AS position,
                   COUNT(*) OVER () AS gap_count
            FROM gaps WHERE gap IS NOT NULL
        ),
        buyers AS (
            SELECT (SELECT COUNT(*) FROM per_buyer) AS buyer_count,
                   (SELECT COUNT(*) FROM per_buyer WHERE purchases >= 2) AS repeat_count,
                   (SELECT AVG(gap) FROM ranked
                    WHERE position IN ((gap_count + 1) / 2, (gap_count + 2) / 2)) AS median_gap
        )
        SELECT c.currency, c.orders, c.units, c.revenue,
               b.buyer_count, b.repeat_count, b.median_gap
        FROM (
            SELECT currency, COUNT(*) AS orders, SUM(units) AS units, SUM(revenue) AS revenue
            FROM purchases GROUP BY currency
        ) c CROSS JOIN buyers b
        ORDER BY c.revenue DESC, c.currency
    """  # noqa: S608 - table names come from the models, values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [product_id, OrderStatus.CANCELLED.value])
        rows = cursor.fetchall()
    if not rows:
        return ProductSales(
            order_count=0,
            units=0,
            revenue=(),
            buyer_count=0,
            repeat_buyer_count=0,
            median_days_between_repeats=None,
        )
    _, _, _, _, buyers, repeat_buyers, median_gap = rows[0]
    return ProductSales(
        order_count=sum(int(row[1]) for row in rows),
        units=sum(int(row[2] or 0) for row in rows),
        # SQLite sums decimals as floats; cents are exact again once rounded to them.
        revenue=tuple(
            Revenue(currency=row[0], amount=Decimal(str(row[3] or 0)).quantize(CENT))
            for row in rows
        ),
        buyer_count=int(buyers),
        repeat_buyer_count=int(repeat_buyers),
        median_days_between_repeats=None if median_gap is None else float(median_gap),
    )


@dataclass(frozen=True)
class CustomerOrderCounts:
    """A customer's orders and carts: what a merge would move to the surviving customer."""

    orders: int
    carts: int


def customer_order_counts(*, customer_id: int) -> CustomerOrderCounts:
    return CustomerOrderCounts(
        orders=Order.objects.filter(customer_id=customer_id).count(),
        carts=Cart.objects.filter(customer_id=customer_id).count(),
    )


def orders_of_customers(customer_ids: QuerySet[Any, int]) -> QuerySet[Order]:
    """Orders of a set of customers (a subquery, e.g. a company's contacts) with the buyer."""
    return Order.objects.filter(customer_id__in=customer_ids).select_related("customer")


@dataclass(frozen=True)
class CurrencyTotal:
    """Orders and their value in one currency; amounts in different currencies never add up."""

    currency: str
    orders: int
    total: Decimal
    refunded: Decimal


def order_totals_by_currency(customer_ids: QuerySet[Any, int]) -> list[CurrencyTotal]:
    """One aggregate query: per currency, how many orders these customers placed and their sum."""
    rows = (
        Order.objects.filter(customer_id__in=customer_ids)
        .exclude(status=OrderStatus.CANCELLED)
        .values("currency")
        .annotate(orders=Count("pk"), total=Sum("total"), refunded=Sum("refunded_total"))
        .order_by("-orders", "currency")
    )
    return [
        CurrencyTotal(
            currency=row["currency"],
            orders=row["orders"],
            total=row["total"] or ZERO,
            refunded=row["refunded"] or ZERO,
        )
        for row in rows
    ]


def order_count_by_customer(customer_ids: Sequence[int]) -> dict[int, int]:
    """How many orders each of these customers placed, in one grouped query."""
    rows = (
        Order.objects.filter(customer_id__in=list(customer_ids))
        .values("customer_id")
        .annotate(orders=Count("pk"))
        .order_by()
    )
    return {row["customer_id"]: row["orders"] for row in rows}
