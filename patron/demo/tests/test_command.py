"""The demo_data command that `patron demo-data` and `make demo` run."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from patron.customers.models import Customer
from patron.events.models import Event
from patron.orders.models import Order
from patron.orders.services.figures import customer_order_figures_refresh


def _run(*arguments: str) -> str:
    output = StringIO()
    call_command("demo_data", *arguments, "--no-progress", stdout=output)
    return output.getvalue()


@pytest.mark.django_db
def test_running_twice_loads_once_and_then_says_it_skips() -> None:
    first = _run("--customers", "40", "--seed", "5")
    counts = (Customer.objects.count(), Order.objects.count(), Event.objects.count())

    second = _run("--customers", "40", "--seed", "5")

    assert first.startswith("Demo shop loaded in ")
    assert f"40 customers, 3 companies, {counts[1]:,} orders" in first
    assert second == (
        "Skipping demo data: the database already has 40 customers (use --append to add more).\n"
    )
    assert (Customer.objects.count(), Order.objects.count(), Event.objects.count()) == counts


@pytest.mark.django_db
def test_append_adds_to_an_existing_shop() -> None:
    _run("--customers", "30")

    output = _run("--customers", "20", "--append")

    assert "20 customers" in output
    assert Customer.objects.count() == 50


@pytest.mark.django_db
def test_refuses_a_customer_count_below_one() -> None:
    with pytest.raises(CommandError, match="--customers must be at least 1"):
        _run("--customers", "0")
    assert Customer.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_each_chunk_commits_on_its_own() -> None:
    # Outside a caller's transaction SQLite loads through the in-memory staging copy.
    output = _run("--customers", "120", "--seed", "9")

    orders = list(Order.objects.prefetch_related("lines"))
    assert "120 customers" in output
    assert Customer.objects.count() == 120
    assert len(orders) > 500
    for order in orders:
        lines = sorted(order.lines.all(), key=lambda line: line.position)
        assert [line.position for line in lines] == list(range(1, len(lines) + 1))
        assert order.subtotal == sum(line.line_total for line in lines)
        assert order.total == (
            order.subtotal - order.discount_total + order.shipping_total + order.tax_total
        )
    assert Event.objects.filter(name="Order Completed").count() == len(orders)


@pytest.mark.django_db
def test_the_loaded_customers_carry_the_order_figures_their_orders_give() -> None:
    # The generator writes the figures with the customers; the service that keeps them equal
    # to the orders must find nothing to change.
    _run("--customers", "300", "--seed", "4")

    changed = customer_order_figures_refresh()

    buyers = Customer.objects.filter(order_count__gt=0)
    assert changed == 0
    assert buyers.count() > 100
    assert not buyers.filter(first_order_at__isnull=True).exists()
    assert not Customer.objects.filter(order_count=0, last_order_at__isnull=False).exists()
