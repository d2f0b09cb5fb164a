"""Reading Segment messages: each raw item becomes a checked Message or a reason it was dropped.

Pure Python with no database, so the rules are fast and testable on their own. Only the
fields of the Segment spec are kept; any other top-level field is ignored, as Segment does.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from patron.events.models import EventType

MAXIMUM_EVENT_BYTES = 32 * 1024  # Segment's own per-message limit, which its clients enforce
MAXIMUM_BATCH_EVENTS = 2500  # Segment's per-batch limit
MAXIMUM_ID_LENGTH = 255  # the size of the id and name columns
FUTURE_TOLERANCE = timedelta(days=1)  # beyond this a client clock is wrong, not early
EXCERPT_LENGTH = 500

# Top-level fields with no column of their own, kept under context["message"].
_EXTRA_FIELDS = ("groupId", "previousId", "category", "integrations", "channel", "version")
# EventType.values builds a new list on every access; this is read once per message.
_EVENT_TYPES = frozenset(EventType.values)
# The encoder that measures an event's size exactly, built once: json.dumps with options
# builds a new encoder on every call, which cost more than the encoding of a small event.
_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# orjson measures a typical event ten times faster but writes some numbers shorter than the
# exact encoder (1e-7 for 1e-07, null for -Infinity: never under a third of its length), so an
# event it measures above this is measured again exactly.
_APPROXIMATE_SIZE_TRUSTED_BELOW = MAXIMUM_EVENT_BYTES // 3
# JSON decodes a surrogate pair into one character, so any surrogate left is unpaired.
_UNSAFE_CHARACTERS = re.compile("[\x00\ud800-\udfff]")


class WarningCode:
    """The codes of ingestion warnings; stable, for filters and documentation."""

    INVALID_EVENT = "invalid_event"
    MISSING_IDENTITY = "missing_identity"
    MISSING_EVENT_NAME = "missing_event_name"
    EVENT_TOO_LARGE = "event_too_large"
    INVALID_TIMESTAMP = "invalid_timestamp"
    CHARACTERS_REMOVED = "characters_removed"
    INVALID_TRAIT = "invalid_trait"
    INVALID_PROPERTY = "invalid_property"
    ORDER_NOT_FOUND = "order_not_found"
    NUMBER_OUT_OF_RANGE = "number_out_of_range"


@dataclass(frozen=True)
class Problem:
    """An ingestion warning before it is stored; is_dropped says the event was not kept."""

    message_id: str
    code: str
    field: str
    message: str
    excerpt: str
    is_dropped: bool = False


@dataclass(frozen=True)
class Message:
    type: str
    message_id: str
    user_id: str
    anonymous_id: str
    name: str
    properties: dict[str, Any]  # traits for identify and group
    context: dict[str, Any]
    group_id: str
    previous_id: str
    original_timestamp: datetime | None
    sent_at: datetime | None
    timestamp: datetime
    is_timestamp_clamped: bool


@dataclass(frozen=True)
class ParsedBatch:
    messages: list[Message]
    problems: list[Problem]


class _Dropped(Exception):
    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(message)
        self.code, self.field, self.message = code, field, message


def excerpt_of(item: Any) -> str:
    # ASCII escapes keep NUL characters and lone surrogates out of the stored text.
    try:
        text = json.dumps(item, default=str)
    except (TypeError, ValueError):
        text = repr(item)
    return text[:EXCERPT_LENGTH]


def _encoded_size(item: dict[str, Any]) -> int:
    """The event's compact JSON in UTF-8 bytes, as Segment's clients measure it."""
    try:
        size = len(orjson.dumps(item))
    except orjson.JSONEncodeError:  # an integer over 64 bits, or nested deeper than orjson goes
        size = MAXIMUM_EVENT_BYTES
    if size >= _APPROXIMATE_SIZE_TRUSTED_BELOW:
        text = _COMPACT_JSON.encode(item)
        size = len(text) if text.isascii() else len(text.encode())
    return size


# Fields named in one event's number_out_of_range warnings; a hostile event may hold thousands.
_OUT_OF_RANGE_FIELDS_NAMED = 3


def _non_finite_fields(value: Any, path: str) -> list[str]:
    """Where the value holds a number read as infinity, as dotted paths, at most a few.

    A loop rather than recursion: JSON nested nearly as deep as json.loads allows must not
    exhaust the stack here.
    """
    found: list[str] = []
    pending = [(value, path)]
    while pending and len(found) < _OUT_OF_RANGE_FIELDS_NAMED:
        item, where = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            found.append(where)
        elif isinstance(item, dict):
            pending.extend((child, f"{where}.{key}") for key, child in reversed(item.items()))
        elif isinstance(item, list):
            pending.extend(
                (child, f"{where}[{index}]") for index, child in reversed(list(enumerate(item)))
            )
    return found


def _clean_text(value: Any) -> tuple[Any, bool]:
    """The value with NUL characters and lone surrogates removed; True if any were.

    PostgreSQL refuses both in text and JSON, and neither carries meaning in a name or a
    trait, so they are removed rather than the event refused.
    """
    if isinstance(value, str):
        if _UNSAFE_CHARACTERS.search(value):
            return _UNSAFE_CHARACTERS.sub("", value), True
        return value, False
    if isinstance(value, dict):
        changed = False
        result = {}
        for key, item in value.items():
            clean_key, key_changed = _clean_text(key)
            clean_item, item_changed = _clean_text(item)
            result[clean_key] = clean_item
            changed = changed or key_changed or item_changed
        return result, changed
    if isinstance(value, list):
        changed = False
        items = []
        for item in value:
            clean_item, item_changed = _clean_text(item)
            items.append(clean_item)
            changed = changed or item_changed
        return items, changed
    return value, False


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time in UTC; None when absent. ValueError when unreadable."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"must be an ISO 8601 time, not {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as error:
        raise ValueError(f"{value[:40]!r} is not an ISO 8601 time") from error
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _identifier(item: Mapping[str, Any], name: str) -> str:
    value = item.get(name)
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Dropped(
            WarningCode.INVALID_EVENT, name, f"must be text or a number, not {type(value).__name__}"
        )
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAXIMUM_ID_LENGTH:
        raise _Dropped(
            WarningCode.INVALID_EVENT, name, f"must be at most {MAXIMUM_ID_LENGTH} characters"
        )
    return text


def _name(item: Mapping[str, Any], field: str, *, is_required: bool) -> str:
    value = item.get(field)
    if value is None or value == "":
        if is_required:
            raise _Dropped(WarningCode.MISSING_EVENT_NAME, field, "a track needs an event name")
        return ""
    if not isinstance(value, str):
        raise _Dropped(
            WarningCode.INVALID_EVENT, field, f"must be text, not {type(value).__name__}"
        )
    if len(value) > MAXIMUM_ID_LENGTH:
        raise _Dropped(
            WarningCode.INVALID_EVENT, field, f"must be at most {MAXIMUM_ID_LENGTH} characters"
        )
    return value


def _object(item: Mapping[str, Any], field: str) -> dict[str, Any]:
    value = item.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Dropped(
            WarningCode.INVALID_EVENT, field, f"must be an object, not {type(value).__name__}"
        )
    return value


def _times(
    item: Mapping[str, Any],
    *,
    batch_sent_at: Any,
    received_at: datetime,
    warn: Any,
) -> tuple[datetime | None, datetime | None, datetime, bool]:
    def read(field: str, value: Any) -> datetime | None:
        try:
            return parse_time(value)
        except ValueError as error:
            warn(WarningCode.INVALID_TIMESTAMP, field, f"{error}; ignored")
            return None

    original_field = "originalTimestamp" if item.get("originalTimestamp") else "timestamp"
    original = read(original_field, item.get(original_field))
    sent_field, sent_value = (
        ("sentAt", item["sentAt"]) if item.get("sentAt") else ("sentAt", batch_sent_at)
    )
    sent = read(sent_field, sent_value)
    timestamp = received_at
    if original is not None:
        timestamp = original
        if sent is not None:
            # Segment's correction for a client clock that is off: the delay between the
            # call and the send is the client's own, measured on one clock.
            try:
                timestamp = received_at - (sent - original)
            except OverflowError:
                warn(WarningCode.INVALID_TIMESTAMP, sent_field, "is too far from timestamp")
                timestamp = original
    is_clamped = timestamp > received_at + FUTURE_TOLERANCE
    if is_clamped:
        warn(
            WarningCode.INVALID_TIMESTAMP,
            original_field,
            "is more than a day in the future; the time received is used",
        )
        timestamp = received_at
    return original, sent, timestamp, is_clamped


def message_parse(
    item: Any,
    *,
    received_at: datetime,
    batch_sent_at: Any = None,
    forced_type: str | None = None,
    may_need_cleaning: bool = True,
    may_hold_huge_numbers: bool = True,
    problems: list[Problem],
) -> Message | None:
    """One raw item as a Message, or None when it must be dropped; problems collects why.

    may_need_cleaning=False skips the search for NUL characters and lone surrogates, and
    may_hold_huge_numbers=False the search for numbers read as infinity, for a caller that
    already knows the raw body holds none.
    """
    message_id = ""

    def warn(code: str, field: str, message: str, *, is_dropped: bool = False) -> None:
        problems.append(
            Problem(
                message_id=message_id,
                code=code,
                field=field,
                message=message,
                excerpt=excerpt_of(item),
                is_dropped=is_dropped,
            )
        )

    if not isinstance(item, dict):
        warn(
            WarningCode.INVALID_EVENT,
            "",
            f"an event must be an object, not {type(item).__name__}",
            is_dropped=True,
        )
        return None
    is_changed = False
    if may_need_cleaning:
        item, is_changed = _clean_text(item)
    raw_id = item.get("messageId")
    if isinstance(raw_id, str | int) and not isinstance(raw_id, bool):
        message_id = str(raw_id)[:MAXIMUM_ID_LENGTH]
    if is_changed:
        warn(
            WarningCode.CHARACTERS_REMOVED,
            "",
            "NUL characters or unpaired UTF-16 surrogates were removed from the event",
        )
    try:
        size = _encoded_size(item)
        if size > MAXIMUM_EVENT_BYTES:
            raise _Dropped(
                WarningCode.EVENT_TOO_LARGE,
                "",
                f"the event is {size:,} bytes; at most {MAXIMUM_EVENT_BYTES:,} are accepted",
            )
        type_ = forced_type or item.get("type")
        if type_ is None or type_ == "":
            raise _Dropped(WarningCode.INVALID_EVENT, "type", "is required")
        if type_ not in _EVENT_TYPES:
            raise _Dropped(
                WarningCode.INVALID_EVENT,
                "type",
                f"must be one of {', '.join(EventType.values)}, not {str(type_)[:40]!r}",
            )
        message_id = _identifier(item, "messageId") or f"patron-{uuid.uuid4()}"
        user_id = _identifier(item, "userId")
        anonymous_id = _identifier(item, "anonymousId")
        if not user_id and not anonymous_id:
            raise _Dropped(
                WarningCode.MISSING_IDENTITY, "userId", "needs a userId or an anonymousId"
            )
        name = ""
        group_id = previous_id = ""
        if type_ == EventType.TRACK:
            name = _name(item, "event", is_required=True)
        elif type_ in (EventType.PAGE, EventType.SCREEN):
            name = _name(item, "name", is_required=False)
        elif type_ == EventType.GROUP:
            group_id = _identifier(item, "groupId")
            if not group_id:
                raise _Dropped(WarningCode.INVALID_EVENT, "groupId", "a group needs a groupId")
        elif type_ == EventType.ALIAS:
            previous_id = _identifier(item, "previousId")
            if not previous_id or not user_id:
                raise _Dropped(
                    WarningCode.INVALID_EVENT,
                    "previousId" if not previous_id else "userId",
                    "an alias needs both previousId and userId",
                )
        payload_field = "traits" if type_ in (EventType.IDENTIFY, EventType.GROUP) else "properties"
        properties = _object(item, payload_field)
        context = dict(_object(item, "context"))
        extras = {field: item[field] for field in _EXTRA_FIELDS if item.get(field) is not None}
        if extras:
            context["message"] = extras
        original, sent, timestamp, is_clamped = _times(
            item, batch_sent_at=batch_sent_at, received_at=received_at, warn=warn
        )
        if may_hold_huge_numbers:
            # Traits have their own check (invalid_trait); the rest is stored as JSON, which
            # has no infinity: the number is kept as null, and the sender told where.
            stored = _non_finite_fields(context, "context")
            if payload_field == "properties":
                stored = _non_finite_fields(properties, "properties") + stored
            for field in stored[:_OUT_OF_RANGE_FIELDS_NAMED]:
                warn(
                    WarningCode.NUMBER_OUT_OF_RANGE,
                    field,
                    "is beyond the range of a double (about 1.8e308) and was stored as null",
                )
    except _Dropped as dropped:
        warn(dropped.code, dropped.field, dropped.message, is_dropped=True)
        return None
    return Message(
        type=type_,
        message_id=message_id,
        user_id=user_id,
        anonymous_id=anonymous_id,
        name=name,
        properties=properties,
        context=context,
        group_id=group_id,
        previous_id=previous_id,
        original_timestamp=original,
        sent_at=sent,
        timestamp=timestamp,
        is_timestamp_clamped=is_clamped,
    )


def messages_parse(
    items: Sequence[Any],
    *,
    received_at: datetime,
    batch_sent_at: Any = None,
    forced_type: str | None = None,
    may_need_cleaning: bool = True,
    may_hold_huge_numbers: bool = True,
) -> ParsedBatch:
    """Every item checked on its own; a message id seen twice is kept once (the first)."""
    problems: list[Problem] = []
    messages: list[Message] = []
    seen: set[str] = set()
    for item in items:
        message = message_parse(
            item,
            received_at=received_at,
            batch_sent_at=batch_sent_at,
            forced_type=forced_type,
            may_need_cleaning=may_need_cleaning,
            may_hold_huge_numbers=may_hold_huge_numbers,
            problems=problems,
        )
        if message is None or message.message_id in seen:
            continue
        seen.add(message.message_id)
        messages.append(message)
    return ParsedBatch(messages=messages, problems=problems)
