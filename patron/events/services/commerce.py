"""Segment e-commerce spec events (Order Completed, Product Added …) applied to orders and carts.

Field problems are reported with the sender's names (properties.products[0].price), never
with the order service's (lines[1].unit_price).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from django.db import transaction

from patron.accounts.models import Source
from patron.catalog.services.products import clean_currency, clean_money
from patron.core.actors import Actor
from patron.core.errors import FieldProblem, PatronError, ValidationFailed
from patron.customers.models import Customer
from patron.events.services.messages import Message, WarningCode
from patron.orders import selectors as order_selectors
from patron.orders.services import carts
from patron.orders.services.orders import (
    LineInput,
    line_clean,
    order_cancel,
    order_clean,
    order_record,
    order_refund,
)

# Segment assumes US dollars when an event names no currency.
DEFAULT_CURRENCY = "USD"

_LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.?(.*)$")
_LINE_NAMES = {"unit_price": "price", "sku": "sku"}
_ORDER_NAMES = {
    "external_id": "order_id",
    "subtotal": "subtotal",
    "discount_total": "discount",
    "shipping_total": "shipping",
    "tax_total": "tax",
    "total": "total",
    "currency": "currency",
    "coupon": "coupon",
    "placed_at": "timestamp",
    "lines": "products",
}


class CommerceProblem(PatronError):
    """A commerce event that cannot be applied; `code` is an ingestion warning code."""

    code = WarningCode.INVALID_PROPERTY


def _products_path(position: int, rest: str, products_field: str) -> str:
    name = _LINE_NAMES.get(rest, rest)
    base = f"properties.{products_field}[{position - 1}]" if products_field else "properties"
    return f"{base}.{name}" if name else base


def translated(error: ValidationFailed, *, products_field: str = "products") -> list[FieldProblem]:
    """The service's field names turned into the event's; one problem per field."""
    problems = []
    for part in error.message.split("; "):
        field, separator, text = part.partition(": ")
        if not separator:
            field, text = error.field or "", part
        match = _LINE_FIELD.match(field)
        if match:
            path = _products_path(int(match.group(1)), match.group(2), products_field)
        else:
            path = f"properties.{_ORDER_NAMES.get(field, field)}"
        problems.append(FieldProblem(path, text))
    return problems


def _text(properties: Mapping[str, Any], name: str) -> str | None:
    value = properties.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise CommerceProblem("must be text", field=f"properties.{name}")
    return value


def _currency(properties: Mapping[str, Any]) -> str:
    value = properties.get("currency")
    if value in (None, ""):
        return ""
    try:
        return clean_currency(value)
    except ValidationFailed as error:
        raise CommerceProblem(error.message, field="properties.currency") from error


def _raw_line(product: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "sku": product.get("sku") or product.get("product_id"),
        "quantity": product.get("quantity", 1),
        "unit_price": product.get("price") if product.get("price") is not None else 0,
        "name": product.get("name"),
        "brand": product.get("brand"),
        "category": product.get("category"),
        "url": product.get("url"),
        "image_url": product.get("image_url"),
    }


def _products(properties: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    products = properties.get("products")
    if products is None:
        return None
    if not isinstance(products, list) or not all(isinstance(item, dict) for item in products):
        raise CommerceProblem("must be a list of objects", field="properties.products")
    return products


def _lines(properties: Mapping[str, Any]) -> list[LineInput] | None:
    products = _products(properties)
    if products is None:
        return None
    lines = []
    problems: list[FieldProblem] = []
    for position, product in enumerate(products, start=1):
        try:
            lines.append(line_clean(_raw_line(product), position=position))
        except ValidationFailed as error:
            problems += translated(error)
    if problems:
        raise _Problems(problems)
    return lines


def _single_line(properties: Mapping[str, Any]) -> LineInput:
    try:
        return line_clean(_raw_line(properties), position=1)
    except ValidationFailed as error:
        raise _Problems(translated(error, products_field="")) from error


class _Problems(Exception):
    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(problem.message for problem in problems))
        self.problems = problems


def _order_completed(source: Source, customer: Customer, message: Message, actor: Actor) -> None:
    properties = message.properties
    total = properties.get("total")
    if total is None and properties.get("revenue") is not None:
        # Segment's revenue leaves out shipping and tax; the order's total includes them.
        try:
            revenue = clean_money(properties["revenue"], field="revenue") or 0
            total = str(
                revenue
                + (clean_money(properties.get("shipping"), field="shipping", allow_none=True) or 0)
                + (clean_money(properties.get("tax"), field="tax", allow_none=True) or 0)
            )
        except ValidationFailed as error:
            raise CommerceProblem(error.message, field=f"properties.{error.field}") from error
    products = properties.get("products")
    if isinstance(products, list):
        # Anything but an object is passed on as it is, for order_clean to name its position.
        products = [_raw_line(item) if isinstance(item, dict) else item for item in products]
    raw = {
        "external_id": properties.get("order_id"),
        "currency": properties.get("currency") or DEFAULT_CURRENCY,
        "placed_at": message.timestamp,
        "lines": products,
        "subtotal": properties.get("subtotal"),
        "discount_total": properties.get("discount"),
        "shipping_total": properties.get("shipping"),
        "tax_total": properties.get("tax"),
        "total": total,
        "coupon": properties.get("coupon"),
    }
    try:
        order_input = order_clean(raw)
    except ValidationFailed as error:
        raise _Problems(translated(error)) from error
    order, _ = order_record(source=source, customer=customer, order=order_input, actor=actor)
    carts.cart_convert(
        source=source,
        customer=customer,
        order=order,
        cart_id=_text(properties, "cart_id"),
        at=message.timestamp,
        actor=actor,
    )


def _order_of(source: Source, properties: Mapping[str, Any]) -> Any:
    order_id = _text(properties, "order_id")
    if order_id is None:
        raise CommerceProblem("is required", field="properties.order_id")
    order = order_selectors.order_find(source_id=source.pk, external_id=order_id)
    if order is None:
        raise CommerceProblem(
            f"no order {order_id!r} was recorded from this source",
            code=WarningCode.ORDER_NOT_FOUND,
            field="properties.order_id",
        )
    return order


def _order_refunded(source: Source, customer: Customer, message: Message, actor: Actor) -> None:
    properties = message.properties
    order = _order_of(source, properties)
    amount_field = next(
        (name for name in ("total", "revenue", "value") if properties.get(name) is not None),
        "total",
    )
    try:
        amount = clean_money(properties.get(amount_field), field=amount_field, allow_none=True)
    except ValidationFailed as error:
        raise CommerceProblem(error.message, field=f"properties.{amount_field}") from error
    reason = properties.get("reason")
    try:
        order_refund(
            order=order,
            external_id=_text(properties, "refund_id") or message.message_id,
            amount=amount,
            refunded_at=message.timestamp,
            actor=actor,
            reason=reason if isinstance(reason, str) else "",
        )
    except ValidationFailed as error:
        field = amount_field if error.field == "amount" else error.field or amount_field
        raise CommerceProblem(error.message, field=f"properties.{field}") from error


def _order_cancelled(source: Source, customer: Customer, message: Message, actor: Actor) -> None:
    order_cancel(
        order=_order_of(source, message.properties), cancelled_at=message.timestamp, actor=actor
    )


def _product_added(source: Source, customer: Customer, message: Message, actor: Actor) -> None:
    properties = message.properties
    carts.cart_product_add(
        source=source,
        customer=customer,
        cart_id=_text(properties, "cart_id"),
        line=_single_line(properties),
        currency=_currency(properties),
        at=message.timestamp,
        actor=actor,
    )


def _product_removed(source: Source, customer: Customer, message: Message, actor: Actor) -> None:
    properties = message.properties
    sku = _text(properties, "sku") or _text(properties, "product_id")
    if sku is None:
        raise CommerceProblem("is required (or product_id)", field="properties.sku")
    quantity = properties.get("quantity")
    if quantity is not None:
        quantity = _single_line({"sku": sku, "quantity": quantity}).quantity
    carts.cart_product_remove(
        source=source,
        customer=customer,
        cart_id=_text(properties, "cart_id"),
        sku=sku,
        quantity=quantity,
        at=message.timestamp,
        actor=actor,
    )


def _cart_shown(is_checkout: bool) -> Callable[[Source, Customer, Message, Actor], None]:
    def apply(source: Source, customer: Customer, message: Message, actor: Actor) -> None:
        properties = message.properties
        carts.cart_lines_replace(
            source=source,
            customer=customer,
            cart_id=_text(properties, "cart_id"),
            lines=_lines(properties),
            currency=_currency(properties),
            at=message.timestamp,
            actor=actor,
            is_checkout=is_checkout,
        )

    return apply


_HANDLERS: dict[str, Callable[[Source, Customer, Message, Actor], None]] = {
    "order completed": _order_completed,
    "order refunded": _order_refunded,
    "order cancelled": _order_cancelled,
    "product added": _product_added,
    "product removed": _product_removed,
    "cart viewed": _cart_shown(is_checkout=False),
    "checkout started": _cart_shown(is_checkout=True),
}


def is_commerce_event(name: str) -> bool:
    return name.strip().lower() in _HANDLERS


def commerce_apply(
    *, source: Source, customer_id: int, message: Message, actor: Actor
) -> list[tuple[str, FieldProblem]]:
    """Apply one commerce track; returns (warning code, problem) pairs, empty on success."""
    handler = _HANDLERS[message.name.strip().lower()]
    try:
        with transaction.atomic():
            handler(source, Customer.objects.get(pk=customer_id), message, actor)
    except _Problems as problems:
        return [(WarningCode.INVALID_PROPERTY, problem) for problem in problems.problems]
    except CommerceProblem as error:
        return [(error.code, FieldProblem(error.field or "properties", error.message))]
    except PatronError as error:
        field = error.field or ""
        path = f"properties.{_ORDER_NAMES.get(field, field)}" if field else "properties"
        return [(WarningCode.INVALID_PROPERTY, FieldProblem(path, error.message))]
    return []
