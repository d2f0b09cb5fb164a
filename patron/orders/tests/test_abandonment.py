"""Idle carts become abandoned; active, empty and converted ones do not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from patron.accounts.models import AuditEntry, Source
from patron.core.actors import Actor
from patron.customers.models import Customer
from patron.orders.models import Cart, CartStatus
from patron.orders.services.abandonment import CART_IDLE_BEFORE_ABANDONED, carts_mark_abandoned
from patron.orders.services.carts import cart_product_add
from patron.orders.services.orders import line_clean
from patron.orders.tasks import carts_abandoned_sweep

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def shop(web_source):
    return Source.objects.get(pk=web_source.id)


def cart_with_line(shop, *, cart_id: str, at: datetime, actor: Actor) -> Cart:
    customer = Customer.objects.create(first_name=cart_id)
    line = line_clean({"sku": "SER-90", "quantity": 1, "unit_price": "30.00"}, position=1)
    return cart_product_add(
        source=shop,
        customer=customer,
        cart_id=cart_id,
        line=line,
        currency="EUR",
        at=at,
        actor=actor,
    )


def test_only_idle_carts_with_lines_are_marked(shop, system_actor):
    idle = cart_with_line(
        shop,
        cart_id="idle",
        at=NOW - CART_IDLE_BEFORE_ABANDONED - timedelta(minutes=1),
        actor=system_actor,
    )
    cart_with_line(shop, cart_id="recent", at=NOW - timedelta(minutes=10), actor=system_actor)
    Cart.objects.create(
        source=shop,
        external_id="empty",
        customer=Customer.objects.create(),
        last_activity_at=NOW - timedelta(days=2),
    )

    marked = carts_mark_abandoned(now=NOW, actor=system_actor)

    assert marked == 1
    statuses = dict(Cart.objects.values_list("external_id", "status"))
    assert statuses == {
        "idle": CartStatus.ABANDONED,
        "recent": CartStatus.OPEN,
        "empty": CartStatus.OPEN,
    }
    entry = AuditEntry.objects.get(action="cart.abandoned")
    assert (entry.customer_id, entry.subject_id) == (idle.customer_id, str(idle.pk))


def test_sweeping_again_changes_nothing(shop, system_actor):
    cart_with_line(shop, cart_id="idle", at=NOW - timedelta(days=1), actor=system_actor)

    assert carts_mark_abandoned(now=NOW, actor=system_actor) == 1
    assert carts_mark_abandoned(now=NOW, actor=system_actor) == 0
    assert AuditEntry.objects.filter(action="cart.abandoned").count() == 1


def test_the_periodic_task_runs_the_sweep_now(shop, system_actor):
    cart_with_line(shop, cart_id="old", at=datetime(2020, 1, 1, tzinfo=UTC), actor=system_actor)

    result = carts_abandoned_sweep.call_local()

    assert result == 1
    assert Cart.objects.get(external_id="old").status == CartStatus.ABANDONED
