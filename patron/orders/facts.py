"""Reads of orders and their lines as numpy arrays, for set-based scoring over the population.

Only orders that count as purchases are read: not cancelled, not refunded in full, placed no
later than the as-of moment (a backtest, or a clock that runs behind the shop's). Values are
net of refunds, in integer cents of the order's own currency.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.db.models import BigIntegerField, Case, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Cast, Coalesce, Round

from patron.core.sql import EpochSeconds, raw_rows
from patron.orders.models import Order, OrderLine, OrderStatus

# Cancelled orders never count (as in the customers' order figures); an order refunded in
# full is no purchase either: the customer sent it back.
_NOT_PURCHASES = (OrderStatus.CANCELLED, OrderStatus.REFUNDED)


def _cents(expression: Any) -> Cast:
    return Cast(Round(expression * 100), BigIntegerField())


@dataclass(frozen=True)
class OrderFacts:
    """Purchases of a range of customers, in no particular order."""

    customer: np.ndarray  # int64 customer id
    placed_seconds: np.ndarray  # int64 UTC epoch seconds
    value_cents: np.ndarray  # int64, total minus refunded, in the order's currency
    is_in_currency: np.ndarray  # bool: in the currency asked for (values are not converted)
    has_discount: np.ndarray  # bool: a discount or a coupon

    def selected(self, mask: np.ndarray) -> OrderFacts:
        """The purchases where mask is true."""
        return OrderFacts(
            **{name.name: getattr(self, name.name)[mask] for name in dataclasses.fields(self)}
        )


@dataclass(frozen=True)
class LineFacts:
    """Lines of purchases of a range of customers, in no particular order."""

    customer: np.ndarray  # int64
    placed_seconds: np.ndarray  # int64
    product: np.ndarray  # int64 product id, -1 when the product is unknown
    quantity: np.ndarray  # int64
    unit_price_cents: np.ndarray  # int64, in the order's currency
    line_total_cents: np.ndarray  # int64
    is_in_currency: np.ndarray  # bool


def _purchases(customer_low: int, customer_high: int, as_of: datetime) -> QuerySet[Order]:
    return Order.objects.filter(
        customer_id__gte=customer_low, customer_id__lt=customer_high, placed_at__lte=as_of
    ).exclude(status__in=_NOT_PURCHASES)


def _flag(condition: Q) -> Case:
    return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())


def _integer_columns(rows: list[tuple[Any, ...]], count: int) -> np.ndarray:
    """Rows of integers as a (count, rows) array: converted in C, not value by value."""
    if not rows:
        return np.zeros((count, 0), dtype=np.int64)
    return np.array(rows, dtype=np.int64).T


def order_facts(
    *, customer_low: int, customer_high: int, as_of: datetime, currency: str
) -> OrderFacts:
    """Purchases of customers with ids in [customer_low, customer_high)."""
    rows = raw_rows(
        _purchases(customer_low, customer_high, as_of)
        .order_by()
        .values_list(
            "customer_id",
            EpochSeconds("placed_at"),
            _cents(F("total") - F("refunded_total")),
            _flag(Q(currency=currency)),
            _flag(Q(discount_total__gt=0) | ~Q(coupon="")),
        )
    )
    customer, seconds, value, in_currency, discounted = _integer_columns(rows, 5)
    return OrderFacts(
        customer=customer,
        placed_seconds=seconds,
        value_cents=value,
        is_in_currency=in_currency.astype(bool),
        has_discount=discounted.astype(bool),
    )


def order_line_facts(
    *, customer_low: int, customer_high: int, as_of: datetime, currency: str
) -> LineFacts:
    """Lines of the purchases of customers with ids in [customer_low, customer_high)."""
    rows = raw_rows(
        OrderLine.objects.filter(
            order__customer_id__gte=customer_low,
            order__customer_id__lt=customer_high,
            order__placed_at__lte=as_of,
        )
        .exclude(order__status__in=_NOT_PURCHASES)
        .order_by()
        .values_list(
            "order__customer_id",
            EpochSeconds("order__placed_at"),
            Coalesce("product_id", -1),
            "quantity",
            _cents(F("unit_price")),
            _cents(F("line_total")),
            _flag(Q(order__currency=currency)),
        )
    )
    customer, seconds, product, quantity, unit_price, line_total, in_currency = _integer_columns(
        rows, 7
    )
    return LineFacts(
        customer=customer,
        placed_seconds=seconds,
        product=product,
        quantity=quantity,
        unit_price_cents=unit_price,
        line_total_cents=line_total,
        is_in_currency=in_currency.astype(bool),
    )


# Recent purchases that decide the default reporting currency: enough to see which currency a
# shop sells in, read from the placed_at index in a few milliseconds at any size.
RECENT_PURCHASES = 10_000


def purchase_currency_counts(*, as_of: datetime) -> dict[str, int]:
    """Currencies of the latest purchases up to as_of, most used first."""
    recent = (
        Order.objects.filter(placed_at__lte=as_of)
        .exclude(status__in=_NOT_PURCHASES)
        .order_by("-placed_at")
        .values_list("currency", flat=True)[:RECENT_PURCHASES]
    )
    counts = Counter(recent)
    return dict(counts.most_common())
