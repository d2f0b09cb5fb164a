"""Reads of orders, lines, refunds and carts."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from patron.core.errors import NotFound, ValidationFailed
from patron.customers.validation import clean_datetime
from patron.orders.models import Order, OrderLine, OrderStatus, Refund


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
