"""Columns served by another index carry no index of their own, in the database itself."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def _indexes(table: str) -> dict[str, dict[str, Any]]:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, table)


def _single_column_indexes(table: str, column: str) -> list[str]:
    return [
        name
        for name, details in _indexes(table).items()
        if details["index"]
        and not details["unique"]
        and not details["primary_key"]
        and details["columns"] == [column]
    ]


def _led_by(table: str, column: str) -> list[str]:
    """Indexes and unique constraints on more than one column whose first column is `column`."""
    return [
        name
        for name, details in _indexes(table).items()
        if (details["index"] or details["unique"])
        and len(details["columns"] or []) > 1
        and details["columns"][0] == column
    ]


@pytest.mark.django_db
def test_no_column_has_an_index_that_another_index_makes_redundant() -> None:
    redundant = []
    checked = 0
    for model in apps.get_models():
        if not model.__module__.startswith("patron."):
            continue
        table = model._meta.db_table
        for field in model._meta.local_fields:
            if not _led_by(table, field.column):
                continue
            checked += 1
            redundant += [f"{table}.{name}" for name in _single_column_indexes(table, field.column)]
    assert checked >= 20  # events, orders, lines, identities, customers … all have such a column
    assert redundant == []


@pytest.mark.django_db(transaction=True)
def test_the_migration_drops_the_index_and_puts_it_back_when_reversed() -> None:
    table, column = "events_event", "customer_id"
    assert _single_column_indexes(table, column) == []
    executor = MigrationExecutor(connection)
    executor.migrate([("events", "0002_import_runs")])
    try:
        assert len(_single_column_indexes(table, column)) == 1
        assert _led_by(table, column) == ["events_event_customer_time"]
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert _single_column_indexes(table, column) == []
