"""Carts from cart events: named and unnamed carts, lines by sku, checkout and conversion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from patron.accounts.models import AuditEntry, Source
from patron.catalog.models import Product
from patron.core.errors import Conflict
from patron.customers.models import Customer
from patron.customers.services.merge import customer_merge
from patron.orders.models import Cart, CartLine, CartStatus, Order
from patron.orders.services.carts import (
    IMPLICIT_CART_PREFIX,
    cart_convert,
    cart_lines_replace,
    cart_product_add,
    cart_product_remove,
)
from patron.orders.services.orders import line_clean

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def line(sku: str, quantity: int = 1, price: str = "10.00", **fields):
    return line_clean({"sku": sku, "quantity": quantity, "unit_price": price, **fields}, position=1)


@pytest.fixture
def shop(web_source):
    return Source.objects.get(pk=web_source.id)


@pytest.fixture
def ana():
    return Customer.objects.create(first_name="Ana")


def test_adding_to_a_named_cart_creates_it_with_the_line_and_product(shop, ana, system_actor):
    cart = cart_product_add(
        source=shop,
        customer=ana,
        cart_id="c-1",
        line=line("SERUM", 2, "24.50", name="Serum", brand="Glow"),
        currency="EUR",
        at=T0,
        actor=system_actor,
    )

    assert (cart.external_id, cart.status, cart.currency, cart.customer_id) == (
        "c-1",
        CartStatus.OPEN,
        "EUR",
        ana.pk,
    )
    assert list(CartLine.objects.values_list("sku", "name", "quantity", "unit_price")) == [
        ("SERUM", "Serum", 2, Decimal("24.50"))
    ]
    assert Product.objects.get(sku="SERUM").brand == "Glow"
    assert AuditEntry.objects.filter(action="cart.product_added", customer_id=ana.pk).count() == 1


def test_adding_the_same_sku_again_adds_to_its_quantity(shop, ana, system_actor):
    for minutes in (0, 5):
        cart_product_add(
            source=shop,
            customer=ana,
            cart_id="c-1",
            line=line("SERUM", 2),
            currency="",
            at=T0 + timedelta(minutes=minutes),
            actor=system_actor,
        )

    assert list(CartLine.objects.values_list("sku", "quantity")) == [("SERUM", 4)]
    cart = Cart.objects.get()
    assert cart.last_activity_at == T0 + timedelta(minutes=5)


def test_without_a_cart_id_each_customer_has_one_active_cart_per_source(shop, ana, system_actor):
    bruno = Customer.objects.create(first_name="Bruno")
    for customer, sku in ((ana, "A"), (ana, "B"), (bruno, "C")):
        cart_product_add(
            source=shop,
            customer=customer,
            cart_id=None,
            line=line(sku),
            currency="",
            at=T0,
            actor=system_actor,
        )

    carts = Cart.objects.order_by("pk")
    assert carts.count() == 2
    assert all(cart.external_id.startswith(IMPLICIT_CART_PREFIX) for cart in carts)
    assert sorted(CartLine.objects.filter(cart__customer=ana).values_list("sku", flat=True)) == [
        "A",
        "B",
    ]


def test_removing_takes_units_out_and_drops_an_empty_line(shop, ana, system_actor):
    cart_product_add(
        source=shop,
        customer=ana,
        cart_id="c-1",
        line=line("A", 3),
        currency="",
        at=T0,
        actor=system_actor,
    )
    cart_product_add(
        source=shop,
        customer=ana,
        cart_id="c-1",
        line=line("B", 1),
        currency="",
        at=T0,
        actor=system_actor,
    )

    cart_product_remove(
        source=shop, customer=ana, cart_id="c-1", sku="A", quantity=1, at=T0, actor=system_actor
    )
    cart_product_remove(
        source=shop, customer=ana, cart_id="c-1", sku="B", quantity=None, at=T0, actor=system_actor
    )

    assert list(CartLine.objects.values_list("sku", "quantity")) == [("A", 2)]


def test_removing_from_no_cart_creates_nothing(shop, ana, system_actor):
    result = cart_product_remove(
        source=shop, customer=ana, cart_id=None, sku="A", quantity=1, at=T0, actor=system_actor
    )

    assert result is None
    assert Cart.objects.count() == 0


def test_cart_viewed_replaces_the_lines_and_merges_repeated_skus(shop, ana, system_actor):
    cart_product_add(
        source=shop,
        customer=ana,
        cart_id="c-1",
        line=line("OLD"),
        currency="",
        at=T0,
        actor=system_actor,
    )

    cart_lines_replace(
        source=shop,
        customer=ana,
        cart_id="c-1",
        lines=[line("A", 1), line("B", 2), line("A", 2)],
        currency="EUR",
        at=T0,
        actor=system_actor,
    )

    assert sorted(CartLine.objects.values_list("sku", "quantity")) == [("A", 3), ("B", 2)]
    assert Cart.objects.get().status == CartStatus.OPEN


def test_a_view_without_a_product_list_keeps_the_lines(shop, ana, system_actor):
    cart_product_add(
        source=shop,
        customer=ana,
        cart_id="c-1",
        line=line("A"),
        currency="",
        at=T0,
        actor=system_actor,
    )

    cart_lines_replace(
        source=shop,
        customer=ana,
        cart_id="c-1",
        lines=None,
        currency="",
        at=T0,
        actor=system_actor,
    )

    assert list(CartLine.objects.values_list("sku", flat=True)) == ["A"]


def test_checkout_started_marks_the_cart_with_its_time(shop, ana, system_actor):
    cart = cart_lines_replace(
        source=shop,
        customer=ana,
        cart_id=None,
        lines=[line("A")],
        currency="EUR",
        at=T0,
        actor=system_actor,
        is_checkout=True,
    )

    cart.refresh_from_db()
    assert (cart.status, cart.checkout_started_at) == (CartStatus.CHECKOUT_STARTED, T0)


def test_an_abandoned_cart_reopens_when_the_person_returns(shop, ana, system_actor):
    Cart.objects.create(
        source=shop,
        external_id="c-1",
        customer=ana,
        status=CartStatus.ABANDONED,
        last_activity_at=T0,
    )

    cart_product_add(
        source=shop,
        customer=ana,
        cart_id=None,
        line=line("A"),
        currency="",
        at=T0 + timedelta(days=2),
        actor=system_actor,
    )

    cart = Cart.objects.get()
    assert (cart.external_id, cart.status) == ("c-1", CartStatus.OPEN)


def _order(shop, customer):
    return Order.objects.create(
        source=shop,
        external_id="o-1",
        customer=customer,
        currency="EUR",
        total=Decimal("10.00"),
        placed_at=T0,
    )


def test_converting_marks_the_active_cart_and_links_the_order(shop, ana, system_actor):
    cart_product_add(
        source=shop,
        customer=ana,
        cart_id=None,
        line=line("A"),
        currency="",
        at=T0,
        actor=system_actor,
    )
    order = _order(shop, ana)

    converted = cart_convert(
        source=shop, customer=ana, order=order, cart_id=None, at=T0, actor=system_actor
    )

    assert converted is not None
    converted.refresh_from_db()
    assert (converted.status, converted.order_id) == (CartStatus.CONVERTED, order.pk)
    assert AuditEntry.objects.filter(action="cart.converted").count() == 1


def test_converting_without_a_cart_changes_nothing(shop, ana, system_actor):
    order = _order(shop, ana)

    assert (
        cart_convert(
            source=shop, customer=ana, order=order, cart_id=None, at=T0, actor=system_actor
        )
        is None
    )
    assert Cart.objects.count() == 0


def test_a_converted_cart_is_closed_to_further_events(shop, ana, system_actor):
    cart_product_add(
        source=shop,
        customer=ana,
        cart_id="c-1",
        line=line("A"),
        currency="",
        at=T0,
        actor=system_actor,
    )
    cart_convert(
        source=shop, customer=ana, order=_order(shop, ana), cart_id="c-1", at=T0, actor=system_actor
    )

    with pytest.raises(Conflict) as raised:
        cart_product_add(
            source=shop,
            customer=ana,
            cart_id="c-1",
            line=line("B"),
            currency="",
            at=T0,
            actor=system_actor,
        )

    assert raised.value.field == "cart_id"
    assert list(CartLine.objects.values_list("sku", flat=True)) == ["A"]


def test_after_conversion_an_unnamed_cart_starts_afresh(shop, ana, system_actor):
    cart_product_add(
        source=shop,
        customer=ana,
        cart_id=None,
        line=line("A"),
        currency="",
        at=T0,
        actor=system_actor,
    )
    cart_convert(
        source=shop, customer=ana, order=_order(shop, ana), cart_id=None, at=T0, actor=system_actor
    )

    cart_product_add(
        source=shop,
        customer=ana,
        cart_id=None,
        line=line("B"),
        currency="",
        at=T0,
        actor=system_actor,
    )

    assert sorted(Cart.objects.values_list("status", flat=True)) == [
        CartStatus.CONVERTED,
        CartStatus.OPEN,
    ]


def test_a_merge_moves_orders_and_carts_to_the_target(shop, ana, system_actor):
    visitor = Customer.objects.create(is_identified=False)
    cart_product_add(
        source=shop,
        customer=visitor,
        cart_id=None,
        line=line("A"),
        currency="",
        at=T0,
        actor=system_actor,
    )
    _order(shop, visitor)

    customer_merge(source=visitor, target=ana, actor=system_actor)

    assert list(Cart.objects.values_list("customer_id", flat=True)) == [ana.pk]
    assert list(Order.objects.values_list("customer_id", flat=True)) == [ana.pk]
