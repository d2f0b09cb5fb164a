"""Loading the demo shop into the database: consistent rows, safe to run twice, bulk mode."""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from email_validator import validate_email

from patron.accounts.models import AuditEntry, Source
from patron.catalog.models import Category, Product
from patron.core import clock
from patron.core.bulk import pending_indexes_path
from patron.customers.models import Company, CompanyContact, Customer, Identity, Milestone
from patron.demo import services
from patron.demo.services import INDEX_PURPOSE, DemoSummary, demo_data_load
from patron.events.models import Event
from patron.orders.models import Cart, CartLine, Order, OrderLine, OrderStatus
from patron.privacy.models import ConsentRecord

CUSTOMERS = 200
CENT = Decimal("0.01")


@pytest.fixture
def loaded(db: None) -> DemoSummary:
    return demo_data_load(customers=CUSTOMERS, seed=7)


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Customer,
            Identity,
            Milestone,
            ConsentRecord,
            Company,
            CompanyContact,
            Order,
            OrderLine,
            Cart,
            CartLine,
            Event,
            Product,
            Category,
            Source,
        )
    }


def test_the_summary_counts_what_was_written(loaded: DemoSummary) -> None:
    counts = _counts()

    assert not loaded.is_skipped
    assert counts["Customer"] == loaded.customers == CUSTOMERS
    assert counts["Order"] == loaded.orders > 1_000
    assert counts["OrderLine"] == loaded.order_lines > loaded.orders
    assert counts["Event"] == loaded.events > loaded.orders
    assert counts["Company"] == loaded.companies == 3
    assert counts["Product"] == 40
    assert counts["Category"] == 7
    assert set(Source.objects.values_list("name", flat=True)) == {"Web shop", "Back office"}


def test_order_totals_are_their_lines_minus_discount_plus_shipping_and_tax(
    loaded: DemoSummary,
) -> None:
    line_sums: dict[int, Decimal] = defaultdict(Decimal)
    positions: dict[int, list[int]] = defaultdict(list)
    for order_id, position, quantity, unit, total in OrderLine.objects.values_list(
        "order_id", "position", "quantity", "unit_price", "line_total"
    ):
        assert total == unit * quantity
        line_sums[order_id] += total
        positions[order_id].append(position)
    orders = list(Order.objects.all())

    assert len(orders) == loaded.orders
    for order in orders:
        assert isinstance(order.total, Decimal)
        assert order.total == order.total.quantize(CENT)
        assert order.subtotal == line_sums[order.pk]
        assert (
            order.total
            == order.subtotal - order.discount_total + order.shipping_total + order.tax_total
        )
        assert sorted(positions[order.pk]) == list(range(1, len(positions[order.pk]) + 1))
        assert order.refunded_total <= order.total
        assert order.currency == "EUR"
    statuses = {order.status for order in orders}
    assert OrderStatus.COMPLETED in statuses and OrderStatus.FULFILLED in statuses


def test_customers_are_valid_people_with_identities(loaded: DemoSummary) -> None:
    zones = zoneinfo.available_timezones()
    identities: dict[int, dict[str, str]] = defaultdict(dict)
    for customer_id, kind, value in Identity.objects.values_list("customer_id", "kind", "value"):
        identities[customer_id][kind] = value

    for customer in Customer.objects.all():
        assert customer.timezone in zones
        assert customer.email is not None
        assert validate_email(customer.email, check_deliverability=False).normalized.lower() == (
            customer.email
        )
        assert identities[customer.pk]["email"] == customer.email
        # A second record of somebody shares their phone; the phone identity stays theirs.
        assert identities[customer.pk].get("phone") in {customer.phone, None}
        assert "external_id" in identities[customer.pk]
        assert ("user_id" in identities[customer.pk]) != ("anonymous_id" in identities[customer.pk])
        assert customer.first_seen_at is not None and customer.last_seen_at is not None
        assert customer.first_seen_at <= customer.last_seen_at <= clock.now()
    assert Milestone.objects.filter(kind="birthday").count() > CUSTOMERS // 2


def test_history_spans_two_years_with_lapsed_and_active_customers(loaded: DemoSummary) -> None:
    now = clock.now()
    last_order: dict[int, datetime] = {}
    for customer_id, placed_at in Order.objects.order_by("placed_at").values_list(
        "customer_id", "placed_at"
    ):
        last_order[customer_id] = placed_at
    lapsed = [c for c, when in last_order.items() if when < now - timedelta(days=180)]
    active = [c for c, when in last_order.items() if when >= now - timedelta(days=60)]
    first = Order.objects.order_by("placed_at").first()
    last = Order.objects.order_by("placed_at").last()

    assert first is not None and last is not None
    assert now - timedelta(days=731) <= first.placed_at <= now - timedelta(days=700)
    assert now - timedelta(days=3) <= last.placed_at <= now
    assert len(lapsed) >= 20
    assert len(active) >= 40
    assert Event.objects.filter(timestamp__gt=now).count() == 0


def test_abandoned_carts_and_their_events_exist(loaded: DemoSummary) -> None:
    carts = Cart.objects.filter(status="abandoned")

    assert carts.count() > 5
    assert not carts.filter(lines__isnull=True).exists()
    assert Event.objects.filter(name="Product Added", properties__has_key="cart_id").exists()
    for name in ("Email Delivered", "Email Opened", "Email Link Clicked", "Order Completed"):
        assert Event.objects.filter(name=name).exists(), name
    assert Event.objects.filter(type="page", properties__has_key="url").exists()


def test_a_second_run_skips_and_changes_nothing(loaded: DemoSummary) -> None:
    before = _counts()

    again = demo_data_load(customers=CUSTOMERS, seed=7)

    assert again.is_skipped
    assert again.existing_customers == CUSTOMERS
    assert _counts() == before
    entry = AuditEntry.objects.get(action="demo_data.loaded")
    assert entry.actor_label == "demo data"
    assert entry.changes["customers"] == CUSTOMERS
    assert entry.changes["orders"] == loaded.orders


def test_append_adds_customers_beside_the_existing_ones(loaded: DemoSummary) -> None:
    more = demo_data_load(customers=50, seed=7, is_append=True)

    assert not more.is_skipped
    assert Customer.objects.count() == CUSTOMERS + 50
    assert Product.objects.count() == 40
    assert Order.objects.count() == loaded.orders + more.orders


def test_ids_continue_after_the_load(loaded: DemoSummary) -> None:
    highest = Customer.objects.order_by("-pk").values_list("pk", flat=True).first()

    created = Customer.objects.create(first_name="After", email="after@example.com")
    category = Category.objects.create(name="New", slug="new")

    assert highest is not None and created.pk > highest
    assert category.pk > 7


def test_a_bulk_load_rebuilds_every_index_it_dropped(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "BULK_INDEX_THRESHOLD", 1)
    tables = [model._meta.db_table for model in services.POPULATION_MODELS]

    def indexes() -> set[tuple[str, str]]:
        with connection.cursor() as cursor:
            return {
                (table, name)
                for table in tables
                for name in connection.introspection.get_constraints(cursor, table)
            }

    before = indexes()

    summary = demo_data_load(customers=60, seed=3)

    assert summary.customers == 60
    assert indexes() == before
    assert not pending_indexes_path(INDEX_PURPOSE).exists()


def test_the_smallest_shop_still_has_everything_it_references(db: None) -> None:
    summary = demo_data_load(customers=1, seed=11)

    assert Customer.objects.count() == 1
    assert Company.objects.count() == 3
    assert CompanyContact.objects.count() >= 3
    assert Order.objects.count() == summary.orders
    assert not Order.objects.filter(lines__isnull=True).exists()
