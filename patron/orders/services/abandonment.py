"""Marking idle carts abandoned, so abandoned-cart flows and reports have something to act on."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef

from patron.accounts.services.audit import audit_entry, audit_record_many
from patron.core.actors import Actor
from patron.orders.models import Cart, CartLine, CartStatus

# An hour without activity: long enough that the person has left the shop, short enough for a
# same-day reminder. A cart that sees activity again reopens (orders.services.carts).
CART_IDLE_BEFORE_ABANDONED = timedelta(hours=1)


def carts_mark_abandoned(
    *, now: datetime, actor: Actor, idle_for: timedelta = CART_IDLE_BEFORE_ABANDONED
) -> int:
    """Set-based: every open or checkout-started cart with lines and no activity since
    now - idle_for becomes abandoned; returns how many did."""
    with transaction.atomic():
        idle = list(
            Cart.objects.select_for_update()
            .filter(
                Exists(CartLine.objects.filter(cart=OuterRef("pk"))),
                status__in=(CartStatus.OPEN, CartStatus.CHECKOUT_STARTED),
                last_activity_at__lt=now - idle_for,
            )
            .values_list("pk", "customer_id", "status", "external_id")
        )
        if not idle:
            return 0
        Cart.objects.filter(pk__in=[cart_id for cart_id, *_ in idle]).update(
            status=CartStatus.ABANDONED, updated_at=now
        )
        audit_record_many(
            audit_entry(
                actor=actor,
                action="cart.abandoned",
                subject_type="cart",
                subject_id=cart_id,
                customer_id=customer_id,
                changes={"cart": external_id, "status": [status, CartStatus.ABANDONED]},
                at=now,
            )
            for cart_id, customer_id, status, external_id in idle
        )
    return len(idle)
