"""What the demo loader needs around core.bulk's writers: the tables' next free ids, the ids of
existing catalogue rows, and PostgreSQL's sequences moved past explicit ids.

Table and column names come from the models' _meta, never written out here.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models

from patron.core.bulk import is_postgresql


def next_ids(model_list: Sequence[type[models.Model]]) -> dict[type[models.Model], int]:
    """The first free id of each table, so generated rows can carry their ids and references."""
    quote = connection.ops.quote_name
    result: dict[type[models.Model], int] = {}
    with connection.cursor() as cursor:
        for model in model_list:
            table = quote(model._meta.db_table)
            column = quote(model._meta.pk.column)
            cursor.execute(f"SELECT MAX({column}) FROM {table}")  # noqa: S608 - names from _meta
            row = cursor.fetchone()
            result[model] = (row[0] or 0) + 1 if row else 1
    return result


def existing_ids(model: type[models.Model], key_field: str) -> dict[str, int]:
    """Ids of a small table's rows by a unique key (categories by slug, products by SKU)."""
    quote = connection.ops.quote_name
    field = model._meta.get_field(key_field)
    assert isinstance(field, models.Field)
    key_column = quote(field.column)
    table = quote(model._meta.db_table)
    column = quote(model._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {key_column}, {column} FROM {table}")  # noqa: S608 - from _meta
        return {str(key): int(value) for key, value in cursor.fetchall()}


def sequences_reset(model_list: Sequence[type[models.Model]]) -> None:
    """After explicit ids, move PostgreSQL's id sequences past them (SQLite needs nothing)."""
    if not is_postgresql():
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in model_list:
            table = model._meta.db_table
            column = model._meta.pk.column
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, %s), "  # noqa: S608 - names from _meta
                f"COALESCE((SELECT MAX({quote(column)}) FROM {quote(table)}), 0) + 1, false)",
                [table, column],
            )
