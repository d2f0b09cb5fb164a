"""Shopping carts kept from cart events (Product Added, Cart Viewed …) until they become orders.

A cart is found by (source, cart id). A sender that never names its carts gets one active
cart per customer and source, with an id of Patron's own (IMPLICIT_CART_PREFIX). A converted
cart is closed: later events for it change nothing and say so (Conflict).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from django.db import IntegrityError, transaction

from patron.accounts.models import Source
from patron.accounts.services.audit import audit_record
from patron.catalog.services.products import product_upsert
from patron.core.actors import Actor
from patron.core.errors import Conflict, ValidationFailed
from patron.customers.models import Customer
from patron.orders.models import Cart, CartLine, CartStatus, Order
from patron.orders.services.orders import LineInput

IMPLICIT_CART_PREFIX = "patron-cart-"
# Carts that can still change; an abandoned cart comes back to life when the person returns.
ACTIVE_STATUSES = (CartStatus.OPEN, CartStatus.CHECKOUT_STARTED, CartStatus.ABANDONED)
MAXIMUM_CART_ID_LENGTH = 255


def _clean_cart_id(cart_id: str | None) -> str | None:
    if cart_id is None or cart_id == "":
        return None
    if len(cart_id) > MAXIMUM_CART_ID_LENGTH:
        raise ValidationFailed(
            f"must be at most {MAXIMUM_CART_ID_LENGTH} characters", field="cart_id"
        )
    return cart_id


def _active_cart(*, source: Source, customer: Customer) -> Cart | None:
    return (
        Cart.objects.select_for_update()
        .filter(source=source, customer=customer, status__in=ACTIVE_STATUSES)
        .order_by("-last_activity_at", "-pk")
        .first()
    )


def _cart_find(*, source: Source, customer: Customer, cart_id: str | None) -> Cart | None:
    cart_id = _clean_cart_id(cart_id)
    if cart_id is None:
        return _active_cart(source=source, customer=customer)
    cart = Cart.objects.select_for_update().filter(source=source, external_id=cart_id).first()
    if cart is not None and cart.status == CartStatus.CONVERTED:
        raise Conflict(
            f"cart {cart_id!r} already became an order; it no longer changes", field="cart_id"
        )
    return cart


def _cart_get_or_create(
    *, source: Source, customer: Customer, cart_id: str | None, currency: str, at: datetime
) -> tuple[Cart, bool]:
    cart = _cart_find(source=source, customer=customer, cart_id=cart_id)
    if cart is not None:
        return cart, False
    external_id = cart_id or f"{IMPLICIT_CART_PREFIX}{uuid.uuid4().hex}"
    try:
        with transaction.atomic():
            return (
                Cart.objects.create(
                    source=source,
                    external_id=external_id,
                    customer=customer,
                    currency=currency,
                    last_activity_at=at,
                ),
                True,
            )
    except IntegrityError:
        # Created by a concurrent request for the same cart id.
        cart = _cart_find(source=source, customer=customer, cart_id=cart_id)
        if cart is None:
            raise
        return cart, False


def _touch(cart: Cart, *, customer: Customer, currency: str, at: datetime) -> None:
    """Record activity: the cart follows its latest owner, reopens, keeps the newest time."""
    cart.customer = customer
    if currency:
        cart.currency = currency
    if cart.status == CartStatus.ABANDONED:
        cart.status = CartStatus.OPEN
    cart.last_activity_at = max(cart.last_activity_at, at)
    cart.save()


def _audit(cart: Cart, action: str, actor: Actor, at: datetime, changes: dict[str, object]) -> None:
    audit_record(
        actor=actor,
        action=action,
        subject_type="cart",
        subject_id=cart.pk,
        customer_id=cart.customer_id,
        changes={"cart": cart.external_id, **changes},
        at=at,
    )


def cart_product_add(
    *,
    source: Source,
    customer: Customer,
    cart_id: str | None,
    line: LineInput,
    currency: str,
    at: datetime,
    actor: Actor,
) -> Cart:
    """Add the line's quantity to the cart (creating the cart and the product if new)."""
    with transaction.atomic():
        cart, _ = _cart_get_or_create(
            source=source, customer=customer, cart_id=cart_id, currency=currency, at=at
        )
        product, _ = product_upsert(sku=line.sku, fields=line.product_fields)
        existing = CartLine.objects.filter(cart=cart, sku=line.sku).first()
        if existing is None:
            CartLine.objects.create(
                cart=cart,
                product=product,
                sku=line.sku,
                name=line.name or product.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
            )
            quantity = line.quantity
        else:
            existing.quantity += line.quantity
            existing.unit_price = line.unit_price
            existing.name = line.name or existing.name
            existing.product = product
            existing.save()
            quantity = existing.quantity
        _touch(cart, customer=customer, currency=currency, at=at)
        _audit(cart, "cart.product_added", actor, at, {"sku": line.sku, "quantity": quantity})
    return cart


def cart_product_remove(
    *,
    source: Source,
    customer: Customer,
    cart_id: str | None,
    sku: str,
    quantity: int | None,
    at: datetime,
    actor: Actor,
) -> Cart | None:
    """Take quantity units (all of them when None) of the sku out; None if there is no cart."""
    with transaction.atomic():
        cart = _cart_find(source=source, customer=customer, cart_id=cart_id)
        if cart is None:
            return None
        line = CartLine.objects.filter(cart=cart, sku=sku).first()
        remaining = 0
        if line is not None:
            remaining = 0 if quantity is None else max(line.quantity - quantity, 0)
            if remaining:
                line.quantity = remaining
                line.save(update_fields=["quantity"])
            else:
                line.delete()
        _touch(cart, customer=customer, currency="", at=at)
        _audit(cart, "cart.product_removed", actor, at, {"sku": sku, "quantity": remaining})
    return cart


def cart_lines_replace(
    *,
    source: Source,
    customer: Customer,
    cart_id: str | None,
    lines: Sequence[LineInput] | None,
    currency: str,
    at: datetime,
    actor: Actor,
    is_checkout: bool = False,
) -> Cart:
    """What the sender shows as the cart's whole content (Cart Viewed, Checkout Started).

    lines None means the event did not list the products: the lines stay as they are.
    """
    with transaction.atomic():
        cart, _ = _cart_get_or_create(
            source=source, customer=customer, cart_id=cart_id, currency=currency, at=at
        )
        changes: dict[str, object] = {}
        if lines is not None:
            quantities: dict[str, LineInput] = {}
            for line in lines:
                known = quantities.get(line.sku)
                quantities[line.sku] = (
                    line
                    if known is None
                    else LineInput(
                        sku=line.sku,
                        quantity=known.quantity + line.quantity,
                        unit_price=line.unit_price,
                        discount=line.discount,
                        name=line.name or known.name,
                        product_fields=line.product_fields,
                    )
                )
            CartLine.objects.filter(cart=cart).delete()
            rows = []
            for line in quantities.values():
                product, _ = product_upsert(sku=line.sku, fields=line.product_fields)
                rows.append(
                    CartLine(
                        cart=cart,
                        product=product,
                        sku=line.sku,
                        name=line.name or product.name,
                        quantity=line.quantity,
                        unit_price=line.unit_price,
                    )
                )
            CartLine.objects.bulk_create(rows)
            changes["lines"] = len(rows)
        if is_checkout and cart.status != CartStatus.CHECKOUT_STARTED:
            cart.status = CartStatus.CHECKOUT_STARTED
            cart.checkout_started_at = at
            changes["status"] = CartStatus.CHECKOUT_STARTED
        _touch(cart, customer=customer, currency=currency, at=at)
        _audit(cart, "cart.checkout_started" if is_checkout else "cart.viewed", actor, at, changes)
    return cart


def cart_convert(
    *,
    source: Source,
    customer: Customer,
    order: Order,
    cart_id: str | None,
    at: datetime,
    actor: Actor,
) -> Cart | None:
    """Mark the cart (named, or the customer's active one) converted and link the order."""
    with transaction.atomic():
        cart_id = _clean_cart_id(cart_id)
        if cart_id is not None:
            cart = (
                Cart.objects.select_for_update().filter(source=source, external_id=cart_id).first()
            )
        else:
            cart = _active_cart(source=source, customer=customer)
        if cart is None or cart.status == CartStatus.CONVERTED:
            return None
        cart.status = CartStatus.CONVERTED
        cart.order = order
        cart.customer = customer
        cart.last_activity_at = max(cart.last_activity_at, at)
        cart.save()
        _audit(cart, "cart.converted", actor, at, {"order": order.external_id})
    return cart
