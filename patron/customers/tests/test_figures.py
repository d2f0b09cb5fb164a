"""customer_order_figures_write: the customers side of the order figures, given figures as SQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from patron.core.actors import Actor
from patron.customers.models import Customer
from patron.customers.services.figures import customer_id_bounds, customer_order_figures_write
from patron.customers.services.profile import customer_create

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("tests")
# Figures as orders would compute them, here as literal rows for two customer ids.
FIGURES = (
    "SELECT %s AS customer_id, 3 AS order_count, 120.5 AS total_spent, "
    "%s AS first_order_at, %s AS last_order_at"
)


def stored(customer: Customer) -> tuple[int, Decimal, datetime | None, datetime | None]:
    row = Customer.objects.get(pk=customer.pk)
    return (row.order_count, row.total_spent, row.first_order_at, row.last_order_at)


def moments() -> tuple[datetime, datetime]:
    return datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)


def test_the_chosen_customers_take_the_figures_and_others_are_untouched():
    ana = customer_create(actor=ACTOR, fields={"email": "ana@example.com"})
    ben = customer_create(actor=ACTOR, fields={"email": "ben@example.com"})
    first, last = moments()

    changed = customer_order_figures_write(
        figures_sql=FIGURES, figures_params=[ana.pk, first, last], customer_ids=[ana.pk]
    )

    assert changed == 1
    assert stored(ana) == (3, Decimal("120.50"), first, last)
    assert stored(ben) == (0, Decimal("0.00"), None, None)


def test_a_chosen_customer_missing_from_the_figures_is_reset_to_no_orders():
    ana = customer_create(actor=ACTOR, fields={"email": "ana@example.com"})
    Customer.objects.filter(pk=ana.pk).update(order_count=4, total_spent=Decimal("9.99"))

    changed = customer_order_figures_write(
        figures_sql=FIGURES + " WHERE 1 = 0",
        figures_params=[ana.pk, *moments()],
        id_range=(ana.pk, ana.pk + 1),
    )

    assert changed == 1
    assert stored(ana) == (0, Decimal("0.00"), None, None)


def test_writing_the_same_figures_again_changes_no_row_and_keeps_updated_at():
    ana = customer_create(actor=ACTOR, fields={"email": "ana@example.com"})
    first, last = moments()
    customer_order_figures_write(
        figures_sql=FIGURES, figures_params=[ana.pk, first, last], customer_ids=[ana.pk]
    )
    updated_at = Customer.objects.get(pk=ana.pk).updated_at

    changed = customer_order_figures_write(
        figures_sql=FIGURES, figures_params=[ana.pk, first, last], customer_ids=[ana.pk]
    )

    assert changed == 0
    assert Customer.objects.get(pk=ana.pk).updated_at == updated_at


def test_customers_are_chosen_by_ids_or_a_range_never_both():
    with pytest.raises(ValueError, match="customer_ids or id_range"):
        customer_order_figures_write(
            figures_sql=FIGURES, figures_params=[], customer_ids=[1], id_range=(1, 2)
        )
    assert (
        customer_order_figures_write(figures_sql=FIGURES, figures_params=[], customer_ids=[]) == 0
    )


def test_id_bounds_span_the_table():
    assert customer_id_bounds() is None
    ana = customer_create(actor=ACTOR, fields={"email": "ana@example.com"})
    ben = customer_create(actor=ACTOR, fields={"email": "ben@example.com"})

    assert customer_id_bounds() == (ana.pk, ben.pk)
