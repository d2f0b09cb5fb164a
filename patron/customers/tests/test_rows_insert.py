"""core.tabular.rows_insert skipping rows that clash, on the models that use it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from patron.catalog.models import Product
from patron.core.tabular import JsonText, rows_insert
from patron.customers.models import Customer, Identity, IdentityKind

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 30, 15, 250000, tzinfo=UTC)


def test_a_row_that_breaks_a_unique_constraint_is_left_out_and_the_rest_go_in():
    Product.objects.create(sku="A", name="Kept", price=Decimal("1.00"))

    rows_insert(
        Product,
        ("sku", "name", "price"),
        [("A", "Clash", Decimal("9.99")), ("B", "New", Decimal("12.50")), ("C", "Free", None)],
        conflicts_skipped=True,
    )

    assert sorted(Product.objects.values_list("sku", "name", "price", "stock_status")) == [
        ("A", "Kept", Decimal("1.00"), "unknown"),
        ("B", "New", Decimal("12.50"), "unknown"),
        ("C", "Free", None, "unknown"),
    ]


def test_times_json_and_foreign_keys_arrive_as_the_orm_would_store_them():
    owner = Customer.objects.create()

    rows_insert(
        Customer,
        ("first_name", "first_seen_at", "attributes"),
        [("<script>x</script>", T0, JsonText('{"plan": "gold", "seats": 3}')), ("Bo", None, {})],
        conflicts_skipped=True,
    )
    rows_insert(
        Identity,
        ("kind", "value", "customer_id", "last_seen_at"),
        [(IdentityKind.EMAIL, "a@example.com", owner.pk, T0)],
        conflicts_skipped=True,
    )

    created = Customer.objects.exclude(pk=owner.pk).order_by("pk")
    assert [(c.first_name, c.first_seen_at, c.attributes) for c in created] == [
        ("<script>x</script>", T0, {"plan": "gold", "seats": 3}),
        ("Bo", None, {}),
    ]
    assert all(c.created_at is not None and c.lifecycle_stage == "lead" for c in created)
    identity = Identity.objects.get()
    assert (identity.customer_id, identity.last_seen_at) == (owner.pk, T0)
