"""Recording orders, refunds and cancellations idempotently; API, import and events share these."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from patron.accounts.models import Source
from patron.accounts.services.audit import audit_record
from patron.catalog.services.products import (
    clean_currency,
    clean_money,
    clean_sku,
    product_clean,
    product_upsert,
)
from patron.core.actors import Actor
from patron.core.errors import Conflict, ProblemList, ValidationFailed
from patron.customers.models import Customer
from patron.customers.validation import clean_datetime
from patron.orders.models import ZERO, Order, OrderLine, OrderStatus, Refund
from patron.orders.services.figures import customer_order_figures_refresh

MAXIMUM_LINES = 500  # a larger order is almost certainly a broken export, not a basket
MAXIMUM_QUANTITY = 1_000_000
_LINE_PRODUCT_FIELDS = ("name", "brand", "category", "image_url", "url")


@dataclass(frozen=True)
class LineInput:
    sku: str
    quantity: int
    unit_price: Decimal
    discount: Decimal
    name: str
    product_fields: Mapping[str, Any]

    @property
    def line_total(self) -> Decimal:
        return max(self.unit_price * self.quantity - self.discount, ZERO)


@dataclass(frozen=True)
class OrderInput:
    external_id: str
    status: str
    currency: str
    placed_at: datetime
    lines: tuple[LineInput, ...]
    subtotal: Decimal
    discount_total: Decimal
    shipping_total: Decimal
    tax_total: Decimal
    total: Decimal
    coupon: str


def _quantity(value: Any, field: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAXIMUM_QUANTITY:
        raise ValidationFailed(
            f"must be a whole number from 1 to {MAXIMUM_QUANTITY:,}", field=field
        )
    return value


def line_clean(raw: Mapping[str, Any], *, position: int) -> LineInput:
    prefix = f"lines[{position}]."
    problems = ProblemList()
    values: dict[str, Any] = {}
    checks = {
        "sku": lambda: clean_sku(raw.get("sku"), field=prefix + "sku"),
        "quantity": lambda: _quantity(raw.get("quantity", 1), prefix + "quantity"),
        "unit_price": lambda: clean_money(raw.get("unit_price"), field=prefix + "unit_price"),
        "discount": lambda: clean_money(raw.get("discount") or 0, field=prefix + "discount"),
        "product_fields": lambda: product_clean(
            {name: raw[name] for name in _LINE_PRODUCT_FIELDS if raw.get(name) not in (None, "")},
            field_prefix=prefix,
        ),
    }
    for name, check in checks.items():
        try:
            values[name] = check()
        except ValidationFailed as error:
            problems.add(error.field or prefix + name, error.message)
    problems.raise_if_any()
    return LineInput(name=values["product_fields"].get("name", ""), **values)


def order_clean(raw: Mapping[str, Any]) -> OrderInput:
    """Validate an order with its lines; totals missing from the input are derived from lines.

    raw keys: external_id, status, currency, placed_at, lines (list of mappings with sku,
    quantity, unit_price, discount, name, brand, category, image_url, url), and optional
    subtotal, discount_total, shipping_total, tax_total, total, coupon.
    """
    problems = ProblemList()
    external_id = raw.get("external_id")
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    if not isinstance(external_id, str) or not external_id.strip() or len(external_id) > 255:
        problems.add("external_id", "is required: text of 1 to 255 characters")
    status = raw.get("status") or OrderStatus.COMPLETED
    if status not in OrderStatus.values:
        problems.add("status", f"must be one of {', '.join(OrderStatus.values)}")
    currency = ""
    try:
        currency = clean_currency(raw.get("currency"))
    except ValidationFailed as error:
        problems.add("currency", error.message)
    placed_at = None
    try:
        placed_at = clean_datetime(raw.get("placed_at"), field="placed_at")
    except ValidationFailed as error:
        problems.add("placed_at", error.message)
    raw_lines = raw.get("lines") or []
    lines: list[LineInput] = []
    if not isinstance(raw_lines, list | tuple) or not raw_lines:
        problems.add("lines", "an order needs at least one line")
    elif len(raw_lines) > MAXIMUM_LINES:
        problems.add("lines", f"at most {MAXIMUM_LINES} lines per order")
    else:
        for position, raw_line in enumerate(raw_lines, start=1):
            if not isinstance(raw_line, Mapping):
                problems.add(f"lines[{position}]", "must be an object")
                continue
            try:
                line = line_clean(raw_line, position=position)
            except ValidationFailed as error:
                for problem in error.problems:
                    problems.add(problem.field, problem.message)
                continue
            lines.append(line)
    amounts: dict[str, Decimal | None] = {}
    for name in ("subtotal", "discount_total", "shipping_total", "tax_total", "total"):
        try:
            amounts[name] = clean_money(raw.get(name), field=name, allow_none=True)
        except ValidationFailed as error:
            problems.add(name, error.message)
    coupon = raw.get("coupon") or ""
    if not isinstance(coupon, str) or len(coupon) > 200:
        problems.add("coupon", "must be text of at most 200 characters")
    problems.raise_if_any()
    assert placed_at is not None and isinstance(external_id, str)
    subtotal = (
        amounts["subtotal"]
        if amounts["subtotal"] is not None
        else sum((line.line_total for line in lines), ZERO)
    )
    discount_total = amounts["discount_total"] or ZERO
    shipping_total = amounts["shipping_total"] or ZERO
    tax_total = amounts["tax_total"] or ZERO
    total = amounts["total"]
    if total is None:
        total = max(subtotal - discount_total + shipping_total + tax_total, ZERO)
    return OrderInput(
        external_id=external_id.strip(),
        status=status,
        currency=currency,
        placed_at=placed_at,
        lines=tuple(lines),
        subtotal=subtotal,
        discount_total=discount_total,
        shipping_total=shipping_total,
        tax_total=tax_total,
        total=total,
        coupon=coupon.strip(),
    )


def order_values(order: OrderInput) -> dict[str, Any]:
    """An order's own columns, for creating the row or comparing it with a stored one."""
    return {
        "status": order.status,
        "currency": order.currency,
        "placed_at": order.placed_at,
        "subtotal": order.subtotal,
        "discount_total": order.discount_total,
        "shipping_total": order.shipping_total,
        "tax_total": order.tax_total,
        "total": order.total,
        "coupon": order.coupon,
    }


def _line_rows(order: Order, lines: Sequence[LineInput]) -> list[OrderLine]:
    rows = []
    for position, line in enumerate(lines, start=1):
        product, _ = product_upsert(sku=line.sku, fields=line.product_fields)
        rows.append(
            OrderLine(
                order=order,
                position=position,
                product=product,
                sku=line.sku,
                name=line.name or product.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
                line_total=line.line_total,
            )
        )
    return rows


def lines_same(existing: Sequence[OrderLine], new: Sequence[OrderLine]) -> bool:
    """Whether a resend's lines equal the stored ones, position by position."""

    def key(line: OrderLine) -> tuple[Any, ...]:
        return (
            line.position,
            line.sku,
            line.quantity,
            line.unit_price,
            line.discount,
            line.line_total,
        )

    return [key(line) for line in existing] == [key(line) for line in new]


def order_record(
    *, source: Source, customer: Customer, order: OrderInput, actor: Actor
) -> tuple[Order, bool]:
    """Create the order, or bring an existing one (same source and external id) up to date.

    Returns (order, changed). Sending the same order again changes nothing; a corrected
    resend replaces its values and lines and is audited. Products are created or updated from
    the line fields.
    """
    with transaction.atomic():
        existing = (
            Order.objects.select_for_update()
            .filter(source=source, external_id=order.external_id)
            .first()
        )
        values = order_values(order)
        if existing is None:
            try:
                with transaction.atomic():
                    created = Order.objects.create(
                        source=source, external_id=order.external_id, customer=customer, **values
                    )
                    OrderLine.objects.bulk_create(_line_rows(created, order.lines))
            except IntegrityError as error:
                raise Conflict(
                    f"order {order.external_id!r} was being recorded by another request",
                    field="external_id",
                ) from error
            audit_record(
                actor=actor,
                action="order.created",
                subject_type="order",
                subject_id=created.pk,
                customer_id=customer.pk,
                changes={
                    "external_id": order.external_id,
                    "total": str(order.total),
                    "currency": order.currency,
                },
                at=order.placed_at,
            )
            customer_order_figures_refresh([customer.pk])
            return created, True
        if existing.refunded_total > order.total:
            raise ValidationFailed("total is below what was already refunded", field="total")
        changes = {
            name: [getattr(existing, name), value]
            for name, value in values.items()
            if getattr(existing, name) != value
        }
        previous_customer_id = existing.customer_id
        if existing.customer_id != customer.pk:
            changes["customer_id"] = [existing.customer_id, customer.pk]
        new_lines = _line_rows(existing, order.lines)
        lines_changed = not lines_same(list(existing.lines.order_by("position")), new_lines)
        if not changes and not lines_changed:
            return existing, False
        for name, (_, value) in changes.items():
            setattr(existing, name, value)
        existing.save()
        if lines_changed:
            existing.lines.all().delete()
            OrderLine.objects.bulk_create(new_lines)
            changes["lines"] = ["replaced", len(new_lines)]
        audit_record(
            actor=actor,
            action="order.updated",
            subject_type="order",
            subject_id=existing.pk,
            customer_id=existing.customer_id,
            changes=changes,
        )
        customer_order_figures_refresh({previous_customer_id, existing.customer_id})
        return existing, True


def order_refund(
    *,
    order: Order,
    external_id: str,
    amount: Decimal | None,
    refunded_at: datetime,
    actor: Actor,
    reason: str = "",
) -> tuple[Refund, bool]:
    """Record a refund once per external id; amount None refunds whatever remains."""
    if not external_id or len(external_id) > 255:
        raise ValidationFailed("is required: text of 1 to 255 characters", field="refund_id")
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        existing = Refund.objects.filter(order=locked, external_id=external_id).first()
        if existing is not None:
            return existing, False
        remaining = locked.total - locked.refunded_total
        amount = remaining if amount is None else amount
        if amount <= 0:
            raise ValidationFailed("nothing left to refund on this order", field="amount")
        if amount > remaining:
            raise ValidationFailed(
                f"refund {amount} is more than the {remaining} left on this order", field="amount"
            )
        refund = Refund.objects.create(
            order=locked,
            external_id=external_id,
            amount=amount,
            reason=reason[:500],
            refunded_at=refunded_at,
        )
        locked.refunded_total += amount
        locked.status = (
            OrderStatus.REFUNDED
            if locked.refunded_total >= locked.total
            else OrderStatus.PARTIALLY_REFUNDED
        )
        locked.save(update_fields=["refunded_total", "status", "updated_at"])
        audit_record(
            actor=actor,
            action="order.refunded",
            subject_type="order",
            subject_id=locked.pk,
            customer_id=locked.customer_id,
            changes={"amount": str(amount), "refunded_total": str(locked.refunded_total)},
            at=refunded_at,
        )
        customer_order_figures_refresh([locked.customer_id])
    order.refunded_total, order.status = locked.refunded_total, locked.status
    return refund, True


def order_cancel(*, order: Order, cancelled_at: datetime, actor: Actor) -> bool:
    """Mark the order cancelled; returns False if it already was."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status == OrderStatus.CANCELLED:
            return False
        before = locked.status
        locked.status = OrderStatus.CANCELLED
        locked.cancelled_at = cancelled_at
        locked.save(update_fields=["status", "cancelled_at", "updated_at"])
        audit_record(
            actor=actor,
            action="order.cancelled",
            subject_type="order",
            subject_id=locked.pk,
            customer_id=locked.customer_id,
            changes={"status": [before, OrderStatus.CANCELLED]},
            at=cancelled_at,
        )
        customer_order_figures_refresh([locked.customer_id])
    order.status, order.cancelled_at = locked.status, locked.cancelled_at
    return True
