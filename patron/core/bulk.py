"""Bulk writing of rows given column-wise as numpy arrays: executemany on SQLite, COPY on
PostgreSQL, inside the caller's transaction; on SQLite also through a staging database that
another thread or process fills, copied in with one INSERT ... SELECT per table.

Rows arrive in a canonical form (datetimes as int64 UTC epoch seconds, dates as int64 days
since 1970-01-01, money as int64 cents, JSON as text) and are turned into what each database
takes. Table and column names come from the models' _meta, never written out here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import OperationalError, connection, models

logger = logging.getLogger(__name__)

# Marks a missing datetime, date or amount of money in an int64 column.
NULL_TIME = np.iinfo(np.int64).min
# Rows handed to one executemany or COPY call: big enough to amortise the call, small enough
# that the Python tuples of one call stay a few tens of megabytes.
WRITE_BATCH_ROWS = 50_000


@dataclass(frozen=True)
class Rows:
    """Column-wise rows for one model: field name -> array, list, or one value for every row."""

    model: type[models.Model]
    count: int
    columns: dict[str, Any]


@dataclass(frozen=True)
class PreparedRows:
    """Rows converted for the current database, ready to write.

    Columns given the same array share one list (and on SQLite one bound parameter); a column
    with one value for every row is a constant.
    """

    model: type[models.Model]
    count: int
    column_names: list[str]
    arrays: list[Sequence[Any]]
    column_array: list[int | None]  # index into arrays, or None for a constant
    constants: list[Any]

    def _batches(self, columns: list[Any]) -> Iterator[Iterator[tuple[Any, ...]]]:
        for start in range(0, self.count, WRITE_BATCH_ROWS):
            stop = min(start + WRITE_BATCH_ROWS, self.count)
            yield zip(
                *(
                    repeat(column, stop - start) if index is None else column[start:stop]
                    for column, index in columns
                ),
                strict=False,
            )

    def array_batches(self) -> Iterator[Iterator[tuple[Any, ...]]]:
        """Batches of tuples holding each distinct array once."""
        return self._batches([(array, 0) for array in self.arrays])

    def row_batches(self) -> Iterator[Iterator[tuple[Any, ...]]]:
        """Batches of whole rows, one value per column."""
        return self._batches(
            [
                (constant, None) if index is None else (self.arrays[index], index)
                for index, constant in zip(self.column_array, self.constants, strict=True)
            ]
        )


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _datetime_text(seconds: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DD HH:MM:SS' in UTC: the form Django stores in SQLite, so text comparison works."""
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    characters = text.view(np.uint32).reshape(text.size, -1)
    characters[:, 10] = ord(" ")
    return text.astype("U19")


def _money_text(cents: np.ndarray) -> list[str]:
    # A formatted Decimal string, exact; faster in plain Python than numpy's string functions.
    return [f"{value // 100}.{value % 100:02d}" for value in cents.tolist()]


def _convert(field: models.Field[Any, Any], values: Any, count: int) -> Sequence[Any]:
    if isinstance(values, list):
        return values
    array = np.asarray(values)
    if array.size == 0:
        return []
    if isinstance(field, models.DateTimeField):
        missing = array == NULL_TIME
        text = _datetime_text(np.where(missing, 0, array))
        if is_postgresql():
            text = np.strings.add(text, "+00")
        if missing.any():
            objects = text.astype(object)
            objects[missing] = None
            return list(objects.tolist())
        return list(text.tolist())
    if isinstance(field, models.DateField):
        return list(np.datetime_as_string(array.astype("datetime64[D]")).tolist())
    if isinstance(field, models.DecimalField):
        cents = array.astype(np.int64)
        amounts: list[Any] = _money_text(cents)
        if field.null:
            for position in np.flatnonzero(cents == NULL_TIME).tolist():
                amounts[position] = None
        return amounts
    if array.dtype.kind == "f" and field.null:
        # NaN is "unknown": NULL on both databases (PostgreSQL would store a float NaN).
        unknown = array.astype(object)
        unknown[np.isnan(array)] = None
        return list(unknown.tolist())
    return list(array.tolist())


def _scalar(field: models.Field[Any, Any], value: Any) -> Any:
    if isinstance(value, str | bool | int | float) or value is None:
        if isinstance(field, models.DateTimeField) and isinstance(value, int):
            return _convert(field, np.array([value], dtype=np.int64), 1)[0]
        return value
    raise TypeError(f"unsupported constant {value!r} for {field.name}")


def rows_prepare(rows: Rows) -> PreparedRows:
    """Convert canonical columns for this database; pure CPU work, safe off the main thread."""
    meta = rows.model._meta
    column_names: list[str] = []
    arrays: list[Sequence[Any]] = []
    seen: dict[int, int] = {}  # id of a raw array -> index in arrays
    column_array: list[int | None] = []
    constants: list[Any] = []
    for name, raw in rows.columns.items():
        field = meta.get_field(name)
        assert isinstance(field, models.Field)
        column_names.append(field.column)
        if isinstance(raw, np.ndarray | list):
            if len(raw) != rows.count:
                raise ValueError(f"{meta.label}.{name}: {len(raw)} values for {rows.count} rows")
            if id(raw) not in seen:
                seen[id(raw)] = len(arrays)
                arrays.append(_convert(field, raw, rows.count))
            column_array.append(seen[id(raw)])
            constants.append(None)
        else:
            column_array.append(None)
            constants.append(_scalar(field, raw))
    return PreparedRows(rows.model, rows.count, column_names, arrays, column_array, constants)


def sqlite_literal(value: Any) -> str:
    """A constant written into the statement instead of bound on every row."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    # Quotes doubled as SQL requires; % doubled because Django's cursor reads %s placeholders.
    return "'" + str(value).replace("'", "''").replace("%", "%%") + "'"


def rows_write(prepared: PreparedRows) -> None:
    """Insert the rows with their explicit ids, in the caller's transaction."""
    if prepared.count == 0:
        return
    quote = connection.ops.quote_name
    table = quote(prepared.model._meta.db_table)
    columns = ", ".join(quote(name) for name in prepared.column_names)
    with connection.cursor() as cursor:
        if is_postgresql():
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for batch in prepared.row_batches():
                    for row in batch:
                        copy.write_row(row)
            return
        # Numbered parameters bind a shared array once; constants are literals.
        values = ", ".join(
            sqlite_literal(constant) if index is None else f"?{index + 1}"
            for index, constant in zip(prepared.column_array, prepared.constants, strict=True)
        )
        sql = f"INSERT INTO {table} ({columns}) VALUES ({values})"  # noqa: S608 - names from _meta
        for batch in prepared.array_batches():
            cursor.executemany(sql, list(batch))


# Staging (SQLite): binding Python values is the costly part of an SQLite insert. A helper
# thread or process writes the rows into a private database of plain tables (in memory, or a
# scratch file another process can open); the writer then copies each table with one
# INSERT ... SELECT that runs entirely inside SQLite, without the GIL, with the real table's
# constraints. Measured on the events table: about 350,000 rows a second against 120,000 for
# executemany into the same table.
_STAGING_SCHEMA = "patron_staging"


@dataclass
class StagedRows:
    """Prepared rows staged in a separate SQLite database, waiting to be copied in."""

    uri: str  # what ATTACH opens: a memdb URI or a file path
    tables: list[tuple[PreparedRows, str]]  # the rows' metadata (no arrays) and staging table
    database: sqlite3.Connection | None = None  # keeps an in-memory staging database alive
    path: Path | None = None  # a scratch file, removed by close()

    def close(self) -> None:
        if self.database is not None:
            self.database.close()  # a memdb database lives while a connection to it is open
            self.database = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def rows_stage(prepared: Sequence[PreparedRows], *, path: Path | None = None) -> StagedRows:
    """Write prepared rows into a fresh staging database: in memory (this process only), or in
    the scratch file `path` (any process). Needs no Django connection: safe off the main thread
    and in a forked worker."""
    uri = str(path) if path is not None else f"file:/patron-staging-{uuid.uuid4().hex}?vfs=memdb"
    database = sqlite3.connect(uri, uri=path is None, isolation_level=None, check_same_thread=False)
    if path is not None:
        # Scratch data: if the machine stops, the job starts again from the facts.
        database.execute("PRAGMA journal_mode = OFF")
        database.execute("PRAGMA synchronous = OFF")
    tables: list[tuple[PreparedRows, str]] = []
    database.execute("BEGIN")
    for number, rows in enumerate(prepared):
        name = f"stage_{number}"
        columns = ", ".join(f"c{index}" for index in range(len(rows.arrays)))
        placeholders = ", ".join(["?"] * len(rows.arrays))
        database.execute(f"CREATE TABLE {name} ({columns})")
        for batch in rows.array_batches():
            database.executemany(f"INSERT INTO {name} VALUES ({placeholders})", batch)  # noqa: S608
        tables.append((replace(rows, arrays=[]), name))
    database.execute("COMMIT")
    if path is None:
        return StagedRows(uri=uri, tables=tables, database=database)
    database.close()
    return StagedRows(uri=uri, tables=tables, path=path)


@contextmanager
def staging_attached(staged: StagedRows) -> Iterator[Callable[[], None]]:
    """Attach the staging database and give the function that copies its rows in.

    Enter this outside any transaction (SQLite refuses ATTACH inside one) and call the function
    inside the caller's transaction.
    """
    quote = connection.ops.quote_name

    def copy() -> None:
        with connection.cursor() as cursor:
            for rows, name in staged.tables:
                if rows.count == 0:
                    continue
                columns = ", ".join(quote(column) for column in rows.column_names)
                values = ", ".join(
                    sqlite_literal(constant) if index is None else f"c{index}"
                    for index, constant in zip(rows.column_array, rows.constants, strict=True)
                )
                cursor.execute(
                    f"INSERT INTO {quote(rows.model._meta.db_table)} ({columns}) "  # noqa: S608 - names from _meta
                    f"SELECT {values} FROM {_STAGING_SCHEMA}.{name} ORDER BY rowid"
                )

    with connection.cursor() as cursor:
        cursor.execute(f"ATTACH DATABASE %s AS {_STAGING_SCHEMA}", [staged.uri])
        try:
            yield copy
        finally:
            cursor.execute(f"DETACH DATABASE {_STAGING_SCHEMA}")


@contextmanager
def bulk_append_journal() -> Iterator[None]:
    """SQLite: a rollback journal instead of the write-ahead log while this connection alone
    appends millions of rows.

    Appended pages need no journal entry, while the log holds every page once more until it is
    copied into the database (measured on the 100,000-customer demo load: 40% fewer bytes
    written, 15% less time). SQLite refuses the switch while another connection has the
    database open (a running server or worker); the rows then go through the log as usual.
    Every new connection turns the log back on (the settings' init_command), so a job that
    stops half-way leaves nothing to undo.
    """
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    is_switched = False
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        busy_timeout = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA busy_timeout = 0")  # asking is enough: never wait for the others
        try:
            cursor.execute("PRAGMA journal_mode = DELETE")
            row = cursor.fetchone()
            is_switched = bool(row) and str(row[0]).lower() == "delete"
        except OperationalError:
            logger.info("another connection has the database open: appending through the log")
        finally:
            cursor.execute(f"PRAGMA busy_timeout = {busy_timeout}")
    try:
        yield
    finally:
        if is_switched:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA journal_mode = WAL")


# Dropping a table's plain indexes before writing most of its rows and building them once
# afterwards is faster than updating them row by row (measured: a third less time for the demo
# load, a quarter for an insights refresh). The definitions wait on disk meanwhile, so a job
# killed half-way gets them back at its next start.


def pending_indexes_path(purpose: str) -> Path:
    """Where dropped index definitions wait, so an interrupted job can restore them next time."""
    name = str(connection.settings_dict["NAME"]) + str(connection.settings_dict.get("HOST"))
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return Path(settings.DATA_DIR) / f"{purpose}-indexes-{digest}.json"


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
    purpose: str,
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
    path = pending_indexes_path(purpose)
    path.write_text(json.dumps(indexes))
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {quote(name)}")
    return len(indexes)


def indexes_restore(*, purpose: str) -> int:
    """Rebuild indexes dropped by indexes_drop (also after an interrupted job); returns count."""
    path = pending_indexes_path(purpose)
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
