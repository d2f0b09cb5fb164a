"""Storing a batch of Segment messages: set-based, deduplicated, attached to customers, atomic.

One batch costs a fixed handful of queries whatever its size: which customers the identities
belong to, one bulk insert of the customers and identities it introduces, one UPDATE of
first/last seen, one INSERT of the events that skips message ids already stored (on
PostgreSQL a COPY, and the batch again with that INSERT when a message id was stored
before). Only identify, group, alias and e-commerce messages do more, one by one, and only
in the request that stored their message id.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.db import IntegrityError, OperationalError, connection, transaction
from psycopg.types.json import set_json_dumps

from patron.accounts.models import Source
from patron.accounts.services.keys import actor_for_source
from patron.core import hooks
from patron.core.actors import Actor
from patron.core.errors import FieldProblem, PatronError, ValidationFailed
from patron.customers.services.identities import (
    IdentityClaim,
    datetime_adapter,
    identities_resolve,
)
from patron.events.models import Event, EventType, IngestionWarning
from patron.events.services import commerce, traits
from patron.events.services.messages import (
    Message,
    ParsedBatch,
    Problem,
    WarningCode,
    excerpt_of,
    messages_parse,
)

# SQLSTATEs with which PostgreSQL asks for a transaction to be run again (serialization
# failure, deadlock); three attempts make a repeat of the same collision very unlikely.
_RETRYABLE_SQLSTATES = {"40001", "40P01"}
_ATTEMPTS = 3

# The longest an ingestion warning's message and field may be (the columns' sizes).
_WARNING_MESSAGE_LENGTH = 1000
_WARNING_FIELD_LENGTH = 255

# Told with the customers whose new events a batch stored; higher apps rescore them.
EVENTS_STORED = "events.events_stored"


@dataclass(frozen=True)
class IngestResult:
    received: int
    stored: int
    duplicates: int
    dropped: int
    warnings: int


def _has_side_effects(message: Message) -> bool:
    if message.type in (EventType.IDENTIFY, EventType.GROUP):
        return True
    return message.type == EventType.TRACK and commerce.is_commerce_event(message.name)


def _claim(message: Message) -> IdentityClaim:
    return IdentityClaim(
        key=message.message_id,
        at=message.timestamp,
        user_id=message.user_id,
        anonymous_id=message.anonymous_id,
        email=traits.identify_email(message.properties)
        if message.type == EventType.IDENTIFY
        else "",
        previous_id=message.previous_id,
    )


_EVENT_COLUMNS = (
    "source_id",
    "message_id",
    "type",
    "name",
    "customer_id",
    "user_id",
    "anonymous_id",
    "properties",
    "context",
    "original_timestamp",
    "sent_at",
    "received_at",
    "timestamp",
    "is_timestamp_clamped",
)
# Rows per INSERT when the database sets no lower limit on bound parameters: a whole batch.
_ROWS_PER_INSERT_UNCAPPED = 2500


def _rows_per_insert(columns: int) -> int:
    maximum_parameters = connection.features.max_query_params
    if connection.vendor == "sqlite":
        # Django assumes SQLite's old default of 999 bound parameters; the library in use
        # says its own limit (32,766 since SQLite 3.32), which fits a whole batch.
        connection.ensure_connection()
        maximum_parameters = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    if not maximum_parameters:
        return _ROWS_PER_INSERT_UNCAPPED
    return max(1, min(maximum_parameters // columns, _ROWS_PER_INSERT_UNCAPPED))


# Where the customer goes in a row of _EVENT_COLUMNS: the one value known only once the
# batch's identities are resolved inside the transaction.
_CUSTOMER_COLUMN = _EVENT_COLUMNS.index("customer_id")
_MESSAGE_ID_COLUMN = _EVENT_COLUMNS.index("message_id")
# The unique constraint on (source, message_id) in patron/events/models.py.
_MESSAGE_ID_CONSTRAINT = "events_event_source_message_unique"


def _json_text(value: Any) -> str:
    """The JSON text of an event's objects, for a SQLite column or the PostgreSQL parameter.

    orjson writes it ten times faster than json.dumps (0.35 ms less of a 100-event batch on
    SQLite); json.dumps writes what orjson cannot (integers over 64 bits, nesting deeper than
    255). Both write a number too large for a double (1e400, which json.loads reads as
    infinity) as null, which every JSON column accepts.
    """
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(_finite(value), default=_iso_time)


def _iso_time(value: Any) -> str:
    """A time as orjson writes it (ISO 8601), for json.dumps."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _finite(value: Any) -> Any:
    """The value with infinite and NaN numbers as None, as orjson writes them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def _event_rows(
    source: Source, messages: Sequence[Message], received_at: datetime
) -> list[list[Any]]:
    """Each event's values in _EVENT_COLUMNS order, its customer left empty, for _events_insert.

    Built before the batch's transaction opens: on SQLite that transaction holds the one write
    lock of the database, and turning a batch into JSON text and times took a third of the time
    it was held, while the other web process waited to write.
    """
    time: Callable[[datetime | None], Any]
    document: Callable[[Any], Any]
    if connection.vendor == "postgresql":
        # Values for the JSON document of _events_insert_postgresql, which writes the times
        # (orjson, as ISO 8601) and objects that PostgreSQL then reads itself.
        def time(value: datetime | None) -> Any:
            return value

        def document(value: Any) -> Any:
            return value
    else:
        time, document = datetime_adapter(), _json_text
    received = time(received_at)
    return [
        [
            source.pk,
            message.message_id,
            message.type,
            message.name,
            None,
            message.user_id,
            message.anonymous_id,
            document(message.properties),
            document(message.context),
            time(message.original_timestamp),
            time(message.sent_at),
            received,
            time(message.timestamp),
            message.is_timestamp_clamped,
        ]
        for message in messages
    ]


def _events_insert(
    rows: Sequence[list[Any]], customer_ids: Mapping[str, int], *, skips_stored_ids: bool
) -> set[str]:
    """Insert the rows of _event_rows, skipping message ids already stored; returns the ids
    inserted.

    One INSERT … ON CONFLICT DO NOTHING RETURNING per chunk, written out because the ORM's
    bulk_create neither reports which rows it skipped nor builds the statement quickly. On
    PostgreSQL, unless skips_stored_ids, the rows are COPYed instead, which fails with
    IntegrityError on a message id stored before (_is_stored_message_id tells that failure).
    """
    if not rows:
        return set()
    for row in rows:
        row[_CUSTOMER_COLUMN] = customer_ids[row[_MESSAGE_ID_COLUMN]]
    if connection.vendor == "postgresql":
        if not skips_stored_ids:
            return _events_copy(rows)
        return _events_insert_postgresql(rows)
    operations = connection.ops
    table = operations.quote_name(Event._meta.db_table)
    columns = ", ".join(operations.quote_name(column) for column in _EVENT_COLUMNS)
    placeholders = "(" + ", ".join(["%s"] * len(_EVENT_COLUMNS)) + ")"
    rows_per_insert = _rows_per_insert(len(_EVENT_COLUMNS))
    inserted: set[str] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(rows), rows_per_insert):
            chunk = rows[start : start + rows_per_insert]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608 - values are bound
                + ", ".join([placeholders] * len(chunk))
                + ' ON CONFLICT ("source_id", "message_id") DO NOTHING RETURNING "message_id"',
                [value for row in chunk for value in row],
            )
            inserted.update(message_id for (message_id,) in cursor.fetchall())
    return inserted


# The SQL types of _EVENT_COLUMNS, for reading them back out of one JSON parameter.
_EVENT_COLUMN_TYPES = (
    "bigint",
    "varchar",
    "varchar",
    "varchar",
    "bigint",
    "varchar",
    "varchar",
    "jsonb",
    "jsonb",
    "timestamptz",
    "timestamptz",
    "timestamptz",
    "timestamptz",
    "boolean",
)


def _events_insert_postgresql(rows: Sequence[list[Any]]) -> set[str]:
    """_events_insert on PostgreSQL: the whole batch as one JSON parameter of one INSERT.

    psycopg binds parameters on the client by splitting the statement text in Python, which
    for a batch's thousand placeholders cost more than the rest of the request; one
    jsonb_to_recordset parameter costs one _json_text and leaves PostgreSQL the parsing.
    """
    quote = connection.ops.quote_name
    table = quote(Event._meta.db_table)
    columns = ", ".join(quote(column) for column in _EVENT_COLUMNS)
    definitions = ", ".join(
        f"{quote(column)} {kind}"
        for column, kind in zip(_EVENT_COLUMNS, _EVENT_COLUMN_TYPES, strict=True)
    )
    document = _json_text([dict(zip(_EVENT_COLUMNS, row, strict=True)) for row in rows])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} "  # noqa: S608 - values are bound
            f"FROM jsonb_to_recordset(%s::jsonb) AS batch ({definitions}) "
            'ON CONFLICT ("source_id", "message_id") DO NOTHING RETURNING "message_id"',
            [document],
        )
        return {message_id for (message_id,) in cursor.fetchall()}


def _events_copy(rows: Sequence[list[Any]]) -> set[str]:
    """_events_insert on PostgreSQL when no message id is expected to be stored already.

    A message id arrives twice only when a client sends a batch again (its first answer was
    lost) or two requests carry it at once. COPY writes the rows a page at a time where an
    INSERT writes them one by one, and skips the check and confirmation that ON CONFLICT
    costs each row; in binary, neither side turns times into text and back. A stored
    message id fails the whole COPY, and with it the transaction.
    """
    quote = connection.ops.quote_name
    table = quote(Event._meta.db_table)
    columns = ", ".join(quote(column) for column in _EVENT_COLUMNS)
    # Errors of the driver's own COPY become Django's, as the view and the retries expect.
    with connection.wrap_database_errors, connection.cursor() as cursor:
        set_json_dumps(_json_text, context=cursor.cursor)
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_EVENT_COLUMN_TYPES)
            for row in rows:
                copy.write_row(row)
    return {row[_MESSAGE_ID_COLUMN] for row in rows}


def _is_stored_message_id(error: IntegrityError) -> bool:
    """Whether the error is an event whose message id its source had stored already."""
    diagnostics = getattr(error.__cause__, "diag", None)
    return getattr(diagnostics, "constraint_name", None) == _MESSAGE_ID_CONSTRAINT


def _payload_field(message: Message) -> str:
    return "traits" if message.type in (EventType.IDENTIFY, EventType.GROUP) else "properties"


def _side_effects(
    source: Source, message: Message, customer_id: int, actor: Actor, received_at: datetime
) -> list[Problem]:
    """Apply what the message says beyond being an event; problems become its warnings."""
    found: list[tuple[str, FieldProblem]]
    try:
        # A savepoint per message: whatever one message cannot apply leaves no trace.
        with transaction.atomic():
            if message.type == EventType.IDENTIFY:
                found = [
                    (WarningCode.INVALID_TRAIT, problem)
                    for problem in traits.identify_apply(
                        customer_id=customer_id,
                        traits=message.properties,
                        context=message.context,
                        actor=actor,
                        at=received_at,
                    )
                ]
            elif message.type == EventType.GROUP:
                found = [
                    (WarningCode.INVALID_TRAIT, problem)
                    for problem in traits.group_apply(
                        customer_id=customer_id,
                        group_id=message.group_id,
                        traits=message.properties,
                        actor=actor,
                        at=received_at,
                    )
                ]
            else:
                found = commerce.commerce_apply(
                    source=source, customer_id=customer_id, message=message, actor=actor
                )
    except PatronError as error:
        # A rule no field check foresaw (a concurrent conflict): the event stays stored.
        prefix = _payload_field(message)
        code = WarningCode.INVALID_TRAIT if prefix == "traits" else WarningCode.INVALID_PROPERTY
        path = f"{prefix}.{error.field}" if error.field else prefix
        found = [(code, FieldProblem(path, error.message))]
    if not found:
        return []
    excerpt = excerpt_of(
        {"type": message.type, "event": message.name, _payload_field(message): message.properties}
    )
    return [
        Problem(
            message_id=message.message_id,
            code=code,
            field=problem.field,
            message=problem.message,
            excerpt=excerpt,
        )
        for code, problem in found
    ]


def _warnings_store(source: Source, problems: Sequence[Problem], received_at: datetime) -> None:
    IngestionWarning.objects.bulk_create(
        [
            IngestionWarning(
                source=source,
                message_id=problem.message_id,
                code=problem.code,
                field=problem.field[:_WARNING_FIELD_LENGTH],
                message=problem.message[:_WARNING_MESSAGE_LENGTH],
                excerpt=problem.excerpt,
                received_at=received_at,
            )
            for problem in problems
        ]
    )


def batch_ingest(
    *,
    source: Source,
    items: Sequence[Any],
    received_at: datetime,
    batch_sent_at: Any = None,
    forced_type: str | None = None,
    may_need_cleaning: bool = True,
    may_hold_huge_numbers: bool = True,
) -> IngestResult:
    """Store a batch whole or not at all; a bad message is dropped alone with a warning.

    forced_type marks a single-message endpoint (/v1/track …): its one message is the whole
    request, so a message that must be dropped is refused with ValidationFailed instead.
    Database errors (locked, unreachable) propagate, with nothing written.
    """
    parsed = messages_parse(
        items,
        received_at=received_at,
        batch_sent_at=batch_sent_at,
        forced_type=forced_type,
        may_need_cleaning=may_need_cleaning,
        may_hold_huge_numbers=may_hold_huge_numbers,
    )
    if forced_type is not None:
        dropped = next((problem for problem in parsed.problems if problem.is_dropped), None)
        if dropped is not None:
            raise ValidationFailed(
                f"{dropped.field}: {dropped.message}" if dropped.field else dropped.message,
                code="payload_too_large"
                if dropped.code == WarningCode.EVENT_TOO_LARGE
                else "invalid_request",
                field=dropped.field,
            )
    actor = actor_for_source(source)
    claims = [_claim(message) for message in parsed.messages]
    skips_stored_ids = False
    collisions = 0
    while True:
        try:
            # Fresh rows each attempt: _events_insert writes the customers into them.
            rows = _event_rows(source, parsed.messages, received_at)
            inserted, problems = _store(
                source, parsed, claims, rows, actor, received_at, skips_stored_ids=skips_stored_ids
            )
            break
        except IntegrityError as error:
            # A message id stored before failed the COPY (PostgreSQL): the batch again, with
            # the INSERT that skips stored message ids.
            if skips_stored_ids or not _is_stored_message_id(error):
                raise
            skips_stored_ids = True
        except OperationalError as error:
            # Two batches naming the same people can deadlock on PostgreSQL; the database
            # rolled this one back and asks for a retry, which then finds the rows committed.
            sqlstate = getattr(error.__cause__, "sqlstate", None)
            collisions += 1
            if collisions == _ATTEMPTS or sqlstate not in _RETRYABLE_SQLSTATES:
                raise
    dropped_count = sum(1 for problem in parsed.problems if problem.is_dropped)
    return IngestResult(
        received=len(items),
        stored=len(inserted),
        duplicates=len(items) - dropped_count - len(inserted),
        dropped=dropped_count,
        warnings=len(problems),
    )


def _store(
    source: Source,
    parsed: ParsedBatch,
    claims: Sequence[IdentityClaim],
    rows: Sequence[list[Any]],
    actor: Actor,
    received_at: datetime,
    *,
    skips_stored_ids: bool,
) -> tuple[set[str], list[Problem]]:
    """One attempt at the batch's transaction; returns the ids inserted and all problems.

    The claims and rows are prepared by the caller, so that the transaction (on SQLite, the
    database's write lock) lasts only as long as the queries need.
    """
    problems = list(parsed.problems)
    with transaction.atomic():
        # A retried message resolves to the customers it reached the first time (its
        # identities exist by now), so its identity needs no special case; only its insert
        # is skipped, and with it its side effects: they run once per message id, in the
        # request whose row went in, even when two requests carry it at the same moment.
        resolved = identities_resolve(claims, actor=actor, at=received_at)
        inserted = _events_insert(rows, resolved.customer_ids, skips_stored_ids=skips_stored_ids)
        for message in parsed.messages:
            if message.message_id in inserted and _has_side_effects(message):
                problems += _side_effects(
                    source, message, resolved.customer_ids[message.message_id], actor, received_at
                )
        if problems:
            _warnings_store(source, problems, received_at)
        if inserted:
            hooks.dispatch(
                EVENTS_STORED,
                customer_ids={resolved.customer_ids[message_id] for message_id in inserted},
            )
    return inserted, problems
