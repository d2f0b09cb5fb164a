"""Recording orders idempotently, refunds and cancellations."""

from __future__ import annotations

from decimal import Decimal

import pytest

from patron.accounts.models import AuditEntry, Source
from patron.catalog.models import Product
from patron.core.errors import ValidationFailed
from patron.customers.services.profile import customer_create
from patron.orders.models import Order, OrderLine, OrderStatus
from patron.orders.services.orders import order_cancel, order_clean, order_record, order_refund

pytestmark = pytest.mark.django_db

RAW_ORDER = {
    "external_id": "1001",
    "currency": "eur",
    "placed_at": "2026-03-01T10:00:00Z",
    "shipping_total": "4.90",
    "lines": [
        {
            "sku": "MOIST-60",
            "name": "Hydra moisturiser",
            "quantity": 2,
            "unit_price": "24.00",
            "category": "Skincare > Moisturisers",
        },
        {"sku": "SPF-50", "quantity": "1", "unit_price": 19.5, "discount": "2.50"},
    ],
}


@pytest.fixture
def shop(web_source, system_actor):
    source = Source.objects.get(pk=web_source.id)
    customer = customer_create(actor=system_actor, fields={"email": "Ana@Example.com"})
    return source, customer


def test_clean_derives_totals_from_lines():
    order = order_clean(RAW_ORDER)

    assert order.currency == "EUR"
    assert [line.line_total for line in order.lines] == [Decimal("48.00"), Decimal("17.00")]
    assert order.subtotal == Decimal("65.00")
    assert order.total == Decimal("69.90")


def test_clean_names_every_bad_field_with_its_line():
    raw = {
        **RAW_ORDER,
        "placed_at": "yesterday",
        "lines": [{"sku": "", "quantity": 0, "unit_price": "x"}],
    }

    with pytest.raises(ValidationFailed) as raised:
        order_clean(raw)

    message = raised.value.message
    assert "placed_at:" in message
    assert "lines[1].sku:" in message
    assert "lines[1].quantity:" in message
    assert "lines[1].unit_price:" in message


def test_recording_twice_changes_nothing(shop, system_actor):
    source, customer = shop
    order = order_clean(RAW_ORDER)

    first, first_changed = order_record(
        source=source, customer=customer, order=order, actor=system_actor
    )
    second, second_changed = order_record(
        source=source, customer=customer, order=order, actor=system_actor
    )

    assert first_changed and not second_changed
    assert first.pk == second.pk
    assert Order.objects.count() == 1
    assert OrderLine.objects.count() == 2
    assert Product.objects.get(sku="MOIST-60").name == "Hydra moisturiser"
    assert AuditEntry.objects.filter(action__startswith="order.").count() == 1


def test_corrected_resend_replaces_lines_and_is_audited(shop, system_actor):
    source, customer = shop
    order_record(source=source, customer=customer, order=order_clean(RAW_ORDER), actor=system_actor)
    corrected = order_clean({**RAW_ORDER, "lines": RAW_ORDER["lines"][:1]})

    updated, changed = order_record(
        source=source, customer=customer, order=corrected, actor=system_actor
    )

    assert changed
    assert list(updated.lines.values_list("sku", flat=True)) == ["MOIST-60"]
    assert updated.total == Decimal("52.90")
    assert AuditEntry.objects.filter(action="order.updated").count() == 1


def test_refunds_are_idempotent_and_bounded(shop, system_actor):
    source, customer = shop
    order, _ = order_record(
        source=source, customer=customer, order=order_clean(RAW_ORDER), actor=system_actor
    )
    at = order.placed_at

    order_refund(
        order=order, external_id="r1", amount=Decimal("10.00"), refunded_at=at, actor=system_actor
    )
    _, created_again = order_refund(
        order=order, external_id="r1", amount=Decimal("10.00"), refunded_at=at, actor=system_actor
    )
    with pytest.raises(ValidationFailed):
        order_refund(
            order=order,
            external_id="r2",
            amount=Decimal("100.00"),
            refunded_at=at,
            actor=system_actor,
        )
    order_refund(order=order, external_id="r3", amount=None, refunded_at=at, actor=system_actor)

    order.refresh_from_db()
    assert not created_again
    assert order.refunded_total == order.total
    assert order.status == OrderStatus.REFUNDED
    assert order.refunds.count() == 2


def test_cancel_once(shop, system_actor):
    source, customer = shop
    order, _ = order_record(
        source=source, customer=customer, order=order_clean(RAW_ORDER), actor=system_actor
    )

    assert order_cancel(order=order, cancelled_at=order.placed_at, actor=system_actor)
    assert not order_cancel(order=order, cancelled_at=order.placed_at, actor=system_actor)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
