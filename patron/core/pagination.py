"""Keyset (cursor) pagination: stable under inserts and fast at any depth, unlike OFFSET."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import Model, Q, QuerySet

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
