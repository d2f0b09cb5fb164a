"""How the demo loader writes: the journal it appends under on SQLite."""

from __future__ import annotations

import pytest
from django.db import connection, connections

from patron.core.bulk import bulk_append_journal
from patron.customers.models import Customer


def _journal_mode() -> str:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        return str(cursor.fetchone()[0]).lower()


@pytest.mark.django_db(transaction=True)
def test_a_bulk_load_appends_under_a_rollback_journal_and_then_returns_to_the_log() -> None:
    if connection.vendor != "sqlite":
        # PostgreSQL has no such switch: the rows are written as usual.
        with bulk_append_journal():
            Customer.objects.create(first_name="Ana")
        assert Customer.objects.count() == 1
        return
    assert _journal_mode() == "wal"

    with bulk_append_journal():
        during = _journal_mode()
        Customer.objects.create(first_name="Ana")

    assert during == "delete"
    assert _journal_mode() == "wal"
    assert Customer.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_with_another_connection_open_the_load_stays_on_the_log() -> None:
    if connection.vendor != "sqlite":
        return  # nothing to switch on PostgreSQL; the test above covers the no-op
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM customers_customer")
            cursor.fetchone()

        with bulk_append_journal():
            during = _journal_mode()
            Customer.objects.create(first_name="Ana")
    finally:
        other.close()

    assert during == "wal"
    assert _journal_mode() == "wal"
    assert Customer.objects.count() == 1
