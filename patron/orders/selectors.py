"""Reads of orders, lines, refunds and carts."""

from __future__ import annotations

from patron.orders.models import Order, OrderLine


def order_count() -> int:
    return Order.objects.count()


def order_line_count() -> int:
    return OrderLine.objects.count()
