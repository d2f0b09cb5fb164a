"""Bulk writing of generated rows with explicit ids: SQLite through an in-memory staging copy
(or executemany inside a caller's transaction), PostgreSQL through COPY.

Rows arrive column-wise in a canonical form (datetimes as int64 UTC epoch seconds, dates as
int64 days since 1970-01-01, money as int64 cents, JSON as text) and are turned into what each
database takes. Table and column names come from the models' _meta, never written out here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
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


def _pending_path() -> Path:
    """Where dropped index definitions wait, so an interrupted load can restore them next time."""
    name = str(connection.settings_dict["NAME"]) + str(connection.settings_dict.get("HOST"))
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return Path(settings.DATA_DIR) / f"demo-data-indexes-{digest}.json"


def _secondary_indexes(model_list: Sequence[type[models.Model]]) -> list[tuple[str, str]]:
    tables = [model._meta.db_table for model in model_list]
    with connection.cursor() as cursor:
        if is_postgresql():
            cursor.execute(
                """
                SELECT i.relname, pg_get_indexdef(i.oid)
                FROM pg_index x
                JOIN pg_class i ON i.oid = x.indexrelid
                JOIN pg_class t ON t.oid = x.indrelid
                WHERE t.relname = ANY(%s) AND NOT x.indisunique AND NOT x.indisprimary
                  AND t.relnamespace = to_regnamespace(current_schema())::oid
                ORDER BY t.relname, i.relname
                """,
                [tables],
            )
        else:
            placeholders = ", ".join(["%s"] * len(tables))
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "  # noqa: S608
                f"AND sql NOT LIKE 'CREATE UNIQUE%%' AND tbl_name IN ({placeholders}) "
                "ORDER BY tbl_name, name",
                tables,
            )
        return [(str(name), str(sql)) for name, sql in cursor.fetchall()]


def _index_columns(model_list: Sequence[type[models.Model]]) -> dict[str, list[str | None]]:
    """Each index's columns by name (None for an expression)."""
    with connection.cursor() as cursor:
        return {
            name: list(constraint["columns"] or [None])
            for model in model_list
            for name, constraint in connection.introspection.get_constraints(
                cursor, model._meta.db_table
            ).items()
            if constraint["index"]
        }


def indexes_drop(
    model_list: Sequence[type[models.Model]],
    *,
    is_kept: Callable[[list[str | None]], bool] = lambda columns: False,
) -> int:
    """Drop the tables' non-unique indexes but those `is_kept(columns)` keeps.

    The definitions are remembered on disk first; returns how many were dropped.
    """
    columns = _index_columns(model_list)
    indexes = [
        (name, definition)
        for name, definition in _secondary_indexes(model_list)
        if not is_kept(columns.get(name, [None]))
    ]
    if not indexes:
        return 0
    path = _pending_path()
    path.write_text(json.dumps(indexes))
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {quote(name)}")
    return len(indexes)


def indexes_restore() -> int:
    """Rebuild indexes dropped by indexes_drop (also after an interrupted load); returns count."""
    path = _pending_path()
    if not path.exists():
        return 0
    indexes = json.loads(path.read_text())
    with connection.cursor() as cursor, _index_building(cursor):
        for name, definition in indexes:
            statement = definition
            for prefix in ("CREATE INDEX ", "CREATE UNIQUE INDEX "):
                if statement.startswith(prefix) and "IF NOT EXISTS" not in statement:
                    statement = prefix + "IF NOT EXISTS " + statement[len(prefix) :]
            logger.debug("rebuilding index %s", name)
            cursor.execute(statement)
    path.unlink()
    return len(indexes)


@contextmanager
def _index_building(cursor: Any) -> Iterator[None]:
    """Prepare the connection for CREATE INDEX on freshly loaded tables.

    SQLite: sort with a helper thread and spill to disk, not memory.

    The settings keep temporary storage in memory, which would hold a whole index's sort of
    a large table in RAM; on disk the peak stays flat.
    """
    if is_postgresql():
        if connection.in_atomic_block:
            # Inside a caller's transaction, deferred foreign-key checks must fire first:
            # PostgreSQL will not index a table with pending trigger events.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        yield
        return
    if connection.in_atomic_block:
        # SQLite cannot change temporary storage inside a transaction; small loads need not.
        yield
        return
    cursor.execute("PRAGMA temp_store")
    temp_store = int(cursor.fetchone()[0])
    cursor.execute("PRAGMA threads = 2")
    cursor.execute("PRAGMA temp_store = FILE")
    try:
        yield
    finally:
        cursor.execute(f"PRAGMA temp_store = {temp_store}")
        cursor.execute("PRAGMA threads = 0")
