"""Keyset (cursor) pagination: stable under inserts and fast at any depth, unlike OFFSET."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import Case, F, Model, Q, QuerySet, Value, When
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.db.models.lookups import GreaterThan, LessThan

from patron.core.errors import ValidationFailed

MAXIMUM_PAGE_SIZE = (
    500  # large enough for syncing, small enough to keep one response under a few MB
)
DEFAULT_PAGE_SIZE = 50

ModelT = TypeVar("ModelT", bound=Model)


@dataclass(frozen=True)
class Page(Generic[ModelT]):
    items: list[ModelT]
    next_cursor: str | None


def encode_cursor(values: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise ValidationFailed("cursor is not one this API issued", field="cursor") from error
    if not isinstance(decoded, dict) or "id" not in decoded:
        raise ValidationFailed("cursor is not one this API issued", field="cursor")
    return decoded


def keyset_page(
    queryset: QuerySet[ModelT], *, cursor: str | None, limit: int, newest_first: bool = True
) -> Page[ModelT]:
    """One page ordered by primary key; newest_first walks ids downwards."""
    if not 1 <= limit <= MAXIMUM_PAGE_SIZE:
        raise ValidationFailed(f"limit must be between 1 and {MAXIMUM_PAGE_SIZE}", field="limit")
    if cursor:
        last_id = decode_cursor(cursor)["id"]
        if not isinstance(last_id, int):
            raise ValidationFailed("cursor is not one this API issued", field="cursor")
        queryset = queryset.filter(Q(pk__lt=last_id) if newest_first else Q(pk__gt=last_id))
    ordered = queryset.order_by("-pk" if newest_first else "pk")
    rows = list(ordered[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor({"id": rows[-1].pk}) if has_more and rows else None
    return Page(items=rows, next_cursor=next_cursor)


class _RowBelow(TupleLessThan):
    """(a, b, …) < (x, y, …) as a row value on every backend.

    Django writes it out as nested ORs where it doubts a backend's row values (SQLite),
    and SQLite then no longer seeks the index to the cursor: measured 1 s instead of 15 ms
    for a page deep in 100,000 customers. SQLite has compared row values since 3.15.
    """

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        return LessThan.as_sql(self, compiler, connection)


class _RowAbove(TupleGreaterThan):
    """(a, b, …) > (x, y, …) as a row value on every backend (see _RowBelow)."""

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        return GreaterThan.as_sql(self, compiler, connection)


def _cursor_value(value: Any) -> Any:
    """A sort value as JSON keeps it; the lookup converts it back through the field."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)  # Decimal: as text, never through a float


def keyset_page_sorted(
    queryset: QuerySet[ModelT],
    *,
    keys: Sequence[str],
    descending: bool,
    cursor: str | None,
    limit: int,
    is_seeking: bool = True,
) -> Page[ModelT]:
    """One page ordered by `keys` (fields or annotations) and then the primary key.

    The cursor is the last row's (key values, id), compared as one row value, which both
    SQLite and PostgreSQL answer by seeking an index on (keys…, id). Rows whose first key is
    NULL come last in either direction, ordered by id: the page that runs out of values goes
    on with them in a second query, so a page costs at most two queries at any depth.

    is_seeking=False hides the cursor from the planner, for a caller whose filters select
    few rows through their own indexes: seeking the sort's index would then walk past
    every row that fails them (measured: 15 ms became 400 ms on a rare search, page 2).
    """
    if not keys:
        raise ValueError("keyset_page_sorted needs at least one key")
    if not 1 <= limit <= MAXIMUM_PAGE_SIZE:
        raise ValidationFailed(f"limit must be between 1 and {MAXIMUM_PAGE_SIZE}", field="limit")
    after_values: list[Any] | None = None
    after_id: int | None = None
    is_in_nulls = False
    if cursor:
        decoded = decode_cursor(cursor)
        after_id, values = decoded["id"], decoded.get("values")
        if (
            not isinstance(after_id, int)
            or isinstance(after_id, bool)
            or not isinstance(values, list)
            or len(values) != len(keys)
            or not all(value is None or isinstance(value, str | int) for value in values)
        ):
            raise ValidationFailed("cursor is not one this API issued", field="cursor")
        is_in_nulls = values[0] is None
        after_values = values
    first = keys[0]
    id_order = "-pk" if descending else "pk"
    rows: list[ModelT] = []
    if not is_in_nulls:
        valued = queryset
        conditions: list[Any] = [Q(**{f"{first}__isnull": False})]
        if after_values is not None:
            columns = Tuple(*(F(key) for key in keys), F("pk"))
            bound = [*after_values, after_id]
            conditions.append(
                _RowBelow(columns, bound) if descending else _RowAbove(columns, bound)
            )
        for number, condition in enumerate(conditions):
            if is_seeking:
                valued = valued.filter(condition)
            else:
                hidden = f"_keyset_{number}"
                valued = valued.alias(
                    **{hidden: Case(When(condition, then=Value(1)), default=Value(0))}
                ).filter(**{hidden: 1})
        ordering = [F(key).desc() if descending else F(key).asc() for key in keys]
        rows = list(valued.order_by(*ordering, id_order)[: limit + 1])
    if len(rows) <= limit:
        nulls = queryset.filter(**{f"{first}__isnull": True})
        if is_in_nulls:
            nulls = nulls.filter(pk__lt=after_id) if descending else nulls.filter(pk__gt=after_id)
        rows += list(nulls.order_by(id_order)[: limit + 1 - len(rows)])
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        next_cursor = encode_cursor(
            {"values": [_cursor_value(getattr(last, key)) for key in keys], "id": last.pk}
        )
    return Page(items=rows, next_cursor=next_cursor)
