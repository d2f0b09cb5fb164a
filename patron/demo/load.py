"""Bulk writing of generated rows with explicit ids: SQLite through an in-memory staging copy
(or executemany inside a caller's transaction), PostgreSQL through COPY.

Rows arrive column-wise in a canonical form (datetimes as int64 UTC epoch seconds, dates as
int64 days since 1970-01-01, money as int64 cents, JSON as text) and are turned into what each
database takes. Table and column names come from the models' _meta, never written out here.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, models, transaction

from patron.core.bulk import PreparedRows, is_postgresql, sqlite_literal

logger = logging.getLogger(__name__)

# SQLite staging: the generator thread writes a chunk into a private in-memory database with
# plain tables (the Python-side binding, the costly part, happens there, on the other core);
# the main thread then copies each table with one INSERT ... SELECT that runs entirely inside
# SQLite, with the real table's constraints. Measured on the events table: about 350,000 rows
# a second against 120,000 for executemany into the same table.


@dataclass
class StagedChunk:
    """A chunk's rows staged in a named in-memory SQLite database (memdb VFS)."""

    uri: str
    database: sqlite3.Connection
    tables: list[tuple[PreparedRows, str]]  # metadata of the rows and their staging table

    def close(self) -> None:
        # The memdb database lives while a connection to it is open.
        self.database.close()


def rows_stage(prepared: Sequence[PreparedRows]) -> StagedChunk:
    """Write prepared rows into a fresh in-memory database; safe off the main thread."""
    uri = f"file:/patron-demo-{uuid.uuid4().hex}?vfs=memdb"
    database = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    tables: list[tuple[PreparedRows, str]] = []
    database.execute("BEGIN")
    for number, rows in enumerate(prepared):
        name = f"stage_{number}"
        columns = ", ".join(f"c{index}" for index in range(len(rows.arrays)))
        placeholders = ", ".join(["?"] * len(rows.arrays))
        database.execute(f"CREATE TABLE {name} ({columns})")
        for batch in rows.array_batches():
            database.executemany(f"INSERT INTO {name} VALUES ({placeholders})", batch)  # noqa: S608
        tables.append((dataclasses.replace(rows, arrays=[]), name))
    database.execute("COMMIT")
    return StagedChunk(uri=uri, database=database, tables=tables)


def staged_write(staged: StagedChunk) -> None:
    """Copy a staged chunk into the real tables in one transaction; then free the staging."""
    quote = connection.ops.quote_name
    try:
        with connection.cursor() as cursor:
            # ATTACH is refused inside a transaction, so it comes before the chunk's atomic block.
            cursor.execute("ATTACH DATABASE %s AS demo_staging", [staged.uri])
            try:
                with transaction.atomic():
                    for rows, name in staged.tables:
                        if rows.count == 0:
                            continue
                        columns = ", ".join(quote(column) for column in rows.column_names)
                        values = ", ".join(
                            sqlite_literal(constant) if index is None else f"c{index}"
                            for index, constant in zip(
                                rows.column_array, rows.constants, strict=True
                            )
                        )
                        cursor.execute(
                            f"INSERT INTO {quote(rows.model._meta.db_table)} ({columns}) "  # noqa: S608 - names from _meta
                            f"SELECT {values} FROM demo_staging.{name} ORDER BY rowid"
                        )
            finally:
                cursor.execute("DETACH DATABASE demo_staging")
    finally:
        staged.close()


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


# Secondary indexes: dropped before a large load and rebuilt after it, because building an
# index once from sorted data is several times faster than updating it row by row (measured
# in bench/demo_data.py). Unique and primary-key indexes stay, so constraints hold throughout.
