"""Importing orders from CSV: rows grouped by order, buyers and products found or created."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from patron.accounts.models import AuditEntry, Source
from patron.catalog.models import Product
from patron.core import tabular
from patron.core.actors import Actor
from patron.core.tabular import ImportOutcome, RowProblem, WriteCounts, table_import
from patron.customers.models import Customer
from patron.customers.services.profile import customer_create
from patron.orders.importers import OrderImporter
from patron.orders.models import Order, OrderLine, OrderStatus
from patron.orders.services.orders import order_refund

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"
ACTOR = Actor.system("import")
GENERIC_HEADER = (
    "order_id,customer_email,placed_at,currency,sku,product_name,quantity,unit_price,total\n"
)


def fixture_copy(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copy(DATA / name, tmp_path / name))


def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    return path


def run(
    path: Path,
    source_name: str = "Shop import",
    *,
    is_dry_run: bool = False,
    is_skipping_bad_rows: bool = False,
) -> ImportOutcome:
    return table_import(
        path,
        OrderImporter(source_name=source_name, actor=ACTOR),
        is_dry_run=is_dry_run,
        is_skipping_bad_rows=is_skipping_bad_rows,
    )


def test_generic_file_groups_lines_and_creates_buyers_and_products(tmp_path):
    ana = customer_create(actor=ACTOR, fields={"email": "ana.silva@example.com"})

    outcome = run(fixture_copy(tmp_path, "orders_generic.csv"))

    assert outcome.counts == WriteCounts(created=3)
    source = Source.objects.get(name="Shop import")
    first = Order.objects.get(source=source, external_id="1001")
    assert first.customer_id == ana.pk
    assert (first.subtotal, first.shipping_total, first.total) == (
        Decimal("65.00"),
        Decimal("4.90"),
        Decimal("69.90"),
    )
    assert list(first.lines.order_by("position").values_list("sku", "quantity", "line_total")) == [
        ("MOIST-60", 2, Decimal("48.00")),
        ("SPF-50", 1, Decimal("17.00")),
    ]
    second = Order.objects.get(external_id="1002")
    assert second.placed_at == datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    assert second.coupon == "SPRING10"
    assert second.customer.email == "ben.okafor@example.com"
    assert set(second.customer.identities.values_list("kind", "value")) == {
        ("email", "ben.okafor@example.com"),
        ("external_id", "C-1002"),
    }
    assert Order.objects.get(external_id="1003").status == OrderStatus.REFUNDED
    assert Customer.objects.count() == 2
    assert Product.objects.count() == 4
    assert OrderLine.objects.count() == 4
    assert AuditEntry.objects.filter(action="order.created").count() == 3


def test_shopify_export_fills_order_fields_from_the_first_row(tmp_path):
    outcome = run(fixture_copy(tmp_path, "orders_shopify.csv"))

    assert outcome.format_name == "shopify"
    assert "Fulfillment Status" in outcome.ignored_columns
    assert outcome.counts == WriteCounts(created=3)
    first = Order.objects.get(external_id="#1001")
    assert (first.currency, first.total, first.coupon, first.discount_total) == (
        "GBP",
        Decimal("65.95"),
        "WELCOME5",
        Decimal("5.00"),
    )
    assert first.placed_at == datetime(2026, 2, 10, 14, 2, 58, tzinfo=UTC)
    assert first.lines.count() == 2
    assert first.lines.get(position=2).discount == Decimal("5.00")
    assert first.customer.email == "emma.clarke@example.co.uk"
    assert Order.objects.get(external_id="#1002").status == OrderStatus.REFUNDED
    assert Order.objects.get(external_id="#1003").status == OrderStatus.CANCELLED


def test_rerunning_the_same_file_changes_nothing(tmp_path):
    path = fixture_copy(tmp_path, "orders_shopify.csv")
    run(path)
    before = (
        Order.objects.count(),
        OrderLine.objects.count(),
        Customer.objects.count(),
        Product.objects.count(),
        AuditEntry.objects.count(),
    )

    outcome = run(path)

    assert outcome.counts == WriteCounts(unchanged=3)
    assert (
        Order.objects.count(),
        OrderLine.objects.count(),
        Customer.objects.count(),
        Product.objects.count(),
        AuditEntry.objects.count(),
    ) == before


def test_a_corrected_order_replaces_its_lines_and_is_audited(tmp_path):
    run(
        write_csv(
            tmp_path,
            GENERIC_HEADER
            + "7,a@example.com,2026-01-01,EUR,A,Thing,1,10.00,\n"
            + "7,a@example.com,2026-01-01,EUR,B,Other,1,5.00,\n",
        )
    )

    outcome = run(
        write_csv(tmp_path, GENERIC_HEADER + "7,a@example.com,2026-01-01,EUR,A,Thing,3,10.00,\n")
    )

    assert outcome.counts == WriteCounts(updated=1)
    order = Order.objects.get(external_id="7")
    assert list(order.lines.values_list("sku", "quantity")) == [("A", 3)]
    assert order.total == Decimal("30.00")
    assert AuditEntry.objects.get(action="order.updated").changes == {
        "subtotal": ["15.00", "30.00"],
        "total": ["15.00", "30.00"],
        "lines": ["replaced", 1],
    }


def test_a_bad_line_names_its_row_and_column_and_nothing_is_written(tmp_path):
    path = write_csv(
        tmp_path,
        GENERIC_HEADER
        + "1,a@example.com,2026-01-01,EUR,A,Thing,1,10.00,\n"
        + "2,b@example.com,2026-01-02,EUR,A,Thing,1,10.00,\n"
        + "2,b@example.com,2026-01-02,EUR,B,Other,0,x,\n",
    )

    outcome = run(path)

    assert [(problem.row, problem.column) for problem in outcome.problems] == [
        (4, "quantity"),
        (4, "unit_price"),
    ]
    assert outcome.bad_row_count == 2
    assert outcome.counts is None
    assert Order.objects.count() == 0
    assert Customer.objects.count() == 0
    assert Product.objects.count() == 0
    assert Source.objects.filter(name="Shop import").count() == 0


def test_rows_of_one_order_that_disagree_are_bad(tmp_path):
    path = write_csv(
        tmp_path,
        GENERIC_HEADER
        + "1,a@example.com,2026-01-01,EUR,A,Thing,1,10.00,\n"
        + "1,a@example.com,2026-01-01,USD,B,Other,1,5.00,\n",
    )

    outcome = run(path, is_dry_run=True)

    assert outcome.problems == (
        RowProblem(
            3, "currency", "'USD' differs from 'EUR' on row 2, an earlier row of the same order"
        ),
    )


def test_an_order_split_across_the_file_is_a_bad_row(tmp_path):
    path = write_csv(
        tmp_path,
        GENERIC_HEADER
        + "1,a@example.com,2026-01-01,EUR,A,Thing,1,10.00,\n"
        + "2,a@example.com,2026-01-01,EUR,A,Thing,1,10.00,\n"
        + "1,a@example.com,2026-01-01,EUR,B,Other,1,5.00,\n",
    )

    outcome = run(path, is_skipping_bad_rows=True)

    assert [(problem.row, problem.column) for problem in outcome.problems] == [(4, "order_id")]
    assert outcome.counts == WriteCounts(created=2)
    assert list(Order.objects.get(external_id="1").lines.values_list("sku", flat=True)) == ["A"]


def test_an_order_without_a_buyer_is_bad(tmp_path):
    path = write_csv(tmp_path, GENERIC_HEADER + "1,,2026-01-01,EUR,A,Thing,1,10.00,\n")

    outcome = run(path)

    assert outcome.problems == (
        RowProblem(2, "customer_email", "an order needs its buyer: customer_email is empty"),
    )


def test_an_invalid_buyer_email_names_the_column(tmp_path):
    path = write_csv(tmp_path, GENERIC_HEADER + "1,nobody,2026-01-01,EUR,A,Thing,1,10.00,\n")

    outcome = run(path)

    assert [(problem.row, problem.column) for problem in outcome.problems] == [
        (2, "customer_email")
    ]


def test_a_total_below_what_was_refunded_is_a_bad_row(tmp_path):
    path = write_csv(tmp_path, GENERIC_HEADER + "1,a@example.com,2026-01-01,EUR,A,T,1,10.00,\n")
    run(path)
    order_refund(
        order=Order.objects.get(external_id="1"),
        external_id="r-1",
        amount=Decimal("8.00"),
        refunded_at=datetime(2026, 1, 3, tzinfo=UTC),
        actor=ACTOR,
    )

    outcome = run(
        write_csv(tmp_path, GENERIC_HEADER + "1,a@example.com,2026-01-01,EUR,A,T,1,5.00,5.00\n")
    )

    assert outcome.problems == (
        RowProblem(2, "total", "5.00 is below the 8.00 already refunded on this order"),
    )
    assert Order.objects.get(external_id="1").total == Decimal("10.00")


def test_orders_of_different_sources_are_kept_apart(tmp_path):
    path = write_csv(tmp_path, GENERIC_HEADER + "1,a@example.com,2026-01-01,EUR,A,T,1,10.00,\n")

    run(path, source_name="Shop A")
    run(path, source_name="Shop B")

    assert Order.objects.filter(external_id="1").count() == 2
    assert Customer.objects.count() == 1


def test_many_orders_are_written_across_batches(tmp_path):
    rows = [
        f"{number // 2},buyer{number // 10}@example.com,2026-01-01,EUR,SKU-{number % 7},"
        f"Item,1,1.00,\n"
        for number in range(6_000)
    ]
    path = write_csv(tmp_path, GENERIC_HEADER + "".join(rows))

    outcome = run(path)

    assert outcome.counts == WriteCounts(created=3_000)
    assert OrderLine.objects.count() == 6_000
    assert Customer.objects.count() == 600
    assert Product.objects.count() == 7


def test_a_bad_order_in_a_later_batch_leaves_no_order_buyer_product_or_source(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(tabular, "BATCH_SIZE", 2)
    rows = [
        f"{number},b{number}@example.com,2026-01-01,EUR,S-{number},Item,1,2.00,\n"
        for number in range(1, 6)
    ]
    rows.append("6,b6@example.com,2026-01-01,EUR,S-6,Item,1,-1,\n")
    path = write_csv(tmp_path, GENERIC_HEADER + "".join(rows))

    outcome = run(path)

    assert [(problem.row, problem.column) for problem in outcome.problems] == [(7, "unit_price")]
    assert outcome.counts is None
    assert Order.objects.count() == 0
    assert Customer.objects.count() == 0
    assert Product.objects.count() == 0
    assert Source.objects.filter(name="Shop import").count() == 0
    assert AuditEntry.objects.count() == 0


def test_orders_cleaned_by_a_worker_process_keep_their_lines_together(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "BATCH_SIZE", 5)
    monkeypatch.setattr(tabular, "WORKER_MINIMUM_ROWS", 1)
    rows = [
        f"{number // 3},buyer{number // 3 % 4}@example.com,2026-01-01,EUR,SKU-{number % 5},I,1,1,\n"
        for number in range(60)
    ]
    path = write_csv(tmp_path, GENERIC_HEADER + "".join(rows))

    outcome = run(path)

    assert outcome.counts == WriteCounts(created=20)
    assert OrderLine.objects.count() == 60
    assert sorted(set(Order.objects.values_list("lines__position", flat=True))) == [1, 2, 3]
    assert Customer.objects.count() == 4
    assert Product.objects.count() == 5
