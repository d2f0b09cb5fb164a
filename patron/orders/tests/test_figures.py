"""Order figures on customers stay equal to their orders after every kind of order write."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.db.models import Count, F, Max, Min, Sum

from patron.accounts.models import Source
from patron.core.actors import Actor
from patron.core.tabular import table_import
from patron.customers.models import Customer
from patron.customers.services.merge import customer_merge
from patron.customers.services.profile import customer_create
from patron.orders.importers import OrderImporter
from patron.orders.models import Order, OrderStatus
from patron.orders.services import figures
from patron.orders.services.figures import customer_order_figures_refresh
from patron.orders.services.orders import (
    OrderInput,
    order_cancel,
    order_clean,
    order_record,
    order_refund,
)

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("tests")


def order_input(external_id: str, total: str, placed_at: str, **extra: object) -> OrderInput:
    return order_clean(
        {
            "external_id": external_id,
            "currency": "EUR",
            "placed_at": placed_at,
            "total": total,
            "lines": [{"sku": "SERUM-30", "quantity": 1, "unit_price": total}],
            **extra,
        }
    )


def figures_of(customer: Customer) -> tuple[int, Decimal, datetime | None, datetime | None]:
    stored = Customer.objects.get(pk=customer.pk)
    return (stored.order_count, stored.total_spent, stored.first_order_at, stored.last_order_at)


def computed(customer: Customer) -> tuple[int, Decimal, datetime | None, datetime | None]:
    """The definition, computed directly from the orders."""
    counted = Order.objects.filter(customer=customer).exclude(status=OrderStatus.CANCELLED)
    result = counted.aggregate(
        count=Count("id"),
        spent=Sum(F("total") - F("refunded_total")),
        first=Min("placed_at"),
        last=Max("placed_at"),
    )
    spent = Decimal(result["spent"] or 0).quantize(Decimal("0.01"))
    return (result["count"], spent, result["first"], result["last"])


@pytest.fixture
def shop(web_source):
    source = Source.objects.get(pk=web_source.id)
    ana = customer_create(actor=ACTOR, fields={"email": "ana@example.com"})
    ben = customer_create(actor=ACTOR, fields={"email": "ben@example.com"})
    return source, ana, ben


def test_a_customer_without_orders_has_zero_figures(shop):
    _, ana, _ = shop

    assert figures_of(ana) == (0, Decimal("0.00"), None, None)


def test_recording_orders_counts_them_and_sums_their_totals(shop):
    source, ana, ben = shop

    order_record(
        source=source,
        customer=ana,
        order=order_input("1", "20.00", "2026-03-01T10:00:00Z"),
        actor=ACTOR,
    )
    order_record(
        source=source,
        customer=ana,
        order=order_input("2", "15.50", "2026-01-05T08:00:00Z"),
        actor=ACTOR,
    )

    assert figures_of(ana) == (
        2,
        Decimal("35.50"),
        datetime(2026, 1, 5, 8, tzinfo=UTC),
        datetime(2026, 3, 1, 10, tzinfo=UTC),
    )
    assert figures_of(ana) == computed(ana)
    assert figures_of(ben) == (0, Decimal("0.00"), None, None)


def test_a_refund_lowers_total_spent_but_not_the_count(shop):
    source, ana, _ = shop
    order, _ = order_record(
        source=source,
        customer=ana,
        order=order_input("1", "40.00", "2026-03-01T10:00:00Z"),
        actor=ACTOR,
    )

    order_refund(
        order=order,
        external_id="r-1",
        amount=Decimal("12.25"),
        refunded_at=datetime(2026, 3, 2, tzinfo=UTC),
        actor=ACTOR,
    )

    assert figures_of(ana)[:2] == (1, Decimal("27.75"))
    assert figures_of(ana) == computed(ana)


def test_a_cancelled_order_no_longer_counts(shop):
    source, ana, _ = shop
    first, _ = order_record(
        source=source,
        customer=ana,
        order=order_input("1", "40.00", "2026-03-01T10:00:00Z"),
        actor=ACTOR,
    )
    order_record(
        source=source,
        customer=ana,
        order=order_input("2", "10.00", "2026-02-01T10:00:00Z"),
        actor=ACTOR,
    )

    order_cancel(order=first, cancelled_at=datetime(2026, 3, 3, tzinfo=UTC), actor=ACTOR)

    assert figures_of(ana) == (
        1,
        Decimal("10.00"),
        datetime(2026, 2, 1, 10, tzinfo=UTC),
        datetime(2026, 2, 1, 10, tzinfo=UTC),
    )
    assert figures_of(ana) == computed(ana)


def test_an_order_corrected_to_another_buyer_moves_its_figures(shop):
    source, ana, ben = shop
    order_record(
        source=source,
        customer=ana,
        order=order_input("1", "40.00", "2026-03-01T10:00:00Z"),
        actor=ACTOR,
    )

    order_record(
        source=source,
        customer=ben,
        order=order_input("1", "45.00", "2026-03-01T10:00:00Z"),
        actor=ACTOR,
    )

    assert figures_of(ana) == (0, Decimal("0.00"), None, None)
    assert figures_of(ben)[:2] == (1, Decimal("45.00"))
    assert figures_of(ben) == computed(ben)


def test_a_merge_gives_the_orders_figures_to_the_customer_kept(shop):
    source, ana, ben = shop
    order_record(
        source=source,
        customer=ana,
        order=order_input("1", "40.00", "2026-03-01T10:00:00Z"),
        actor=ACTOR,
    )
    order_record(
        source=source,
        customer=ben,
        order=order_input("2", "5.00", "2025-12-24T18:00:00Z"),
        actor=ACTOR,
    )

    customer_merge(source=ben, target=ana, actor=ACTOR)

    assert figures_of(ana) == (
        2,
        Decimal("45.00"),
        datetime(2025, 12, 24, 18, tzinfo=UTC),
        datetime(2026, 3, 1, 10, tzinfo=UTC),
    )
    assert figures_of(ana) == computed(ana)


def test_an_imported_file_leaves_every_buyer_with_true_figures(tmp_path: Path, shop):
    _, ana, _ = shop
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_email,placed_at,currency,sku,product_name,quantity,unit_price,total\n"
        "A-1,ana@example.com,2026-01-01T09:00:00Z,EUR,SERUM-30,Serum,1,10.00,10.00\n"
        "A-2,ana@example.com,2026-02-01T09:00:00Z,EUR,SERUM-30,Serum,2,10.00,20.00\n"
        "A-3,cleo@example.com,2026-02-03T09:00:00Z,EUR,SERUM-30,Serum,1,7.50,7.50\n",
        encoding="utf-8",
    )

    outcome = table_import(path, OrderImporter(source_name="Shop import", actor=ACTOR))

    assert outcome.problem_count == 0
    cleo = Customer.objects.get(email="cleo@example.com")
    assert figures_of(ana)[:2] == (2, Decimal("30.00"))
    assert figures_of(cleo)[:2] == (1, Decimal("7.50"))
    assert figures_of(ana) == computed(ana)
    assert figures_of(cleo) == computed(cleo)


def test_a_whole_table_refresh_walks_ids_in_batches_and_repairs_every_customer(shop, monkeypatch):
    source, ana, ben = shop
    order_record(
        source=source,
        customer=ana,
        order=order_input("1", "40.00", "2026-03-01T10:00:00Z"),
        actor=ACTOR,
    )
    order_record(
        source=source,
        customer=ben,
        order=order_input("2", "5.00", "2025-12-24T18:00:00Z"),
        actor=ACTOR,
    )
    # As a raw bulk loader leaves them: figures that do not match the orders.
    Customer.objects.update(order_count=9, total_spent=Decimal("1.00"), last_order_at=None)
    monkeypatch.setattr(figures, "BATCH_CUSTOMERS", 1)

    changed = customer_order_figures_refresh()

    assert changed == 2
    assert figures_of(ana) == computed(ana)
    assert figures_of(ben) == computed(ben)


def test_a_refresh_of_true_figures_writes_no_row(shop):
    source, ana, _ = shop
    order_record(
        source=source,
        customer=ana,
        order=order_input("1", "19.99", "2026-03-01T10:00:00Z"),
        actor=ACTOR,
    )

    assert customer_order_figures_refresh() == 0
    assert customer_order_figures_refresh([ana.pk]) == 0


def test_a_refresh_costs_one_statement_per_batch_whatever_the_order_count(
    shop, django_assert_num_queries
):
    source, ana, ben = shop
    for number in range(5):
        order_record(
            source=source,
            customer=ana,
            order=order_input(f"o-{number}", "10.00", f"2026-03-0{number + 1}T10:00:00Z"),
            actor=ACTOR,
        )
    Customer.objects.update(order_count=0)

    with django_assert_num_queries(1):
        customer_order_figures_refresh([ana.pk, ben.pk])

    assert figures_of(ana) == computed(ana)


def test_a_large_import_on_sqlite_refreshes_once_after_it_commits(
    tmp_path: Path, shop, monkeypatch, django_capture_on_commit_callbacks
):
    from django.db import connection

    from patron.core import tabular

    # As a file of at least 50,000 rows into a small table: its plain indexes are dropped.
    monkeypatch.setattr(tabular, "DEFERRED_INDEX_MINIMUM_ROWS", 2)
    _, ana, _ = shop
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_email,placed_at,currency,sku,product_name,quantity,unit_price,total\n"
        + "".join(
            f"B-{number},ana@example.com,2026-01-0{number}T09:00:00Z,EUR,SERUM-30,Serum,1,"
            f"5.00,5.00\n"
            for number in range(1, 6)
        ),
        encoding="utf-8",
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        outcome = table_import(path, OrderImporter(source_name="Shop import", actor=ACTOR))

    assert outcome.problem_count == 0
    refreshes = [callback for callback in callbacks if "_figures_refresh_pending" in repr(callback)]
    assert len(refreshes) == (1 if connection.vendor == "sqlite" else 0)
    assert figures_of(ana)[:2] == (5, Decimal("25.00"))
    assert figures_of(ana) == computed(ana)
