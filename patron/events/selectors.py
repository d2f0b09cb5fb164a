"""Reads of stored events, ingestion warnings (with what each code means) and import runs."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from patron.core.api import MAXIMUM_ROW_ID
from patron.core.errors import NotFound, ValidationFailed
from patron.core.panels import TimelinePosition
from patron.core.tabular import neutralised
from patron.customers.validation import clean_datetime
from patron.events.models import (
    Event,
    EventType,
    ImportProblem,
    ImportRun,
    ImportStatus,
    IngestionWarning,
)
from patron.events.services.imports import (
    OWN_COLUMNS,
    import_progress_path,
    import_rejected_path,
)
from patron.events.services.messages import WarningCode


def event_count() -> int:
    return Event.objects.count()


def ingestion_warning_count() -> int:
    return IngestionWarning.objects.count()


@dataclass(frozen=True)
class EventFilters:
    """What an event list is narrowed by; timestamps as ISO 8601 text, checked by event_list."""

    customer_id: int | None = None
    type: str | None = None
    name: str | None = None
    since: str | None = None
    before: str | None = None


def event_get(event_id: int) -> Event:
    event = Event.objects.select_related("source").filter(pk=event_id).first()
    if event is None:
        raise NotFound(f"no event with id {event_id}", field="id")
    return event


def event_list(*, filters: EventFilters) -> QuerySet[Event]:
    """Events narrowed by customer, type, name and a window of their (corrected) timestamp."""
    queryset = Event.objects.select_related("source")
    if filters.customer_id is not None:
        queryset = queryset.filter(customer_id=filters.customer_id)
    if filters.type is not None:
        if filters.type not in EventType.values:
            raise ValidationFailed(f"must be one of {', '.join(EventType.values)}", field="type")
        queryset = queryset.filter(type=filters.type)
    if filters.name is not None:
        queryset = queryset.filter(name=filters.name)
    if filters.since is not None:
        queryset = queryset.filter(timestamp__gte=clean_datetime(filters.since, field="since"))
    if filters.before is not None:
        queryset = queryset.filter(timestamp__lt=clean_datetime(filters.before, field="before"))
    return queryset


def ingestion_warning_list(
    *, source: str | None = None, since: str | None = None
) -> QuerySet[IngestionWarning]:
    """Warnings narrowed by source (its name, or its id as digits) and by when received."""
    queryset = IngestionWarning.objects.select_related("source")
    if source is not None:
        text = source.strip()
        by_name = Q(source__name=text)
        if text.isascii() and text.isdigit() and int(text) <= MAXIMUM_ROW_ID:
            by_name |= Q(source_id=int(text))
        queryset = queryset.filter(by_name)
    if since is not None:
        queryset = queryset.filter(received_at__gte=clean_datetime(since, field="since"))
    return queryset


# Page and screen views are their own timeline kind: a browsing session would bury the rest.
PAGE_VIEW_TYPES = (EventType.PAGE, EventType.SCREEN)


def event_timeline(
    *,
    customer_id: int,
    kind: str,
    page_views: bool,
    before: TimelinePosition | None,
    limit: int,
) -> list[Event]:
    """One customer's events newest first (page views, or everything else), after `before`.

    One query on the (customer, timestamp) index, whatever the length of the history.
    """
    queryset = Event.objects.select_related("source").filter(customer_id=customer_id)
    if page_views:
        queryset = queryset.filter(type__in=PAGE_VIEW_TYPES)
    else:
        queryset = queryset.exclude(type__in=PAGE_VIEW_TYPES)
    if before is not None:
        queryset = queryset.filter(before.older(kind, at_field="timestamp"))
    return list(queryset.order_by("-timestamp", "-pk")[:limit])


def customer_event_count(*, customer_id: int) -> int:
    """How many events a customer has: what a merge would move to the surviving customer."""
    return Event.objects.filter(customer_id=customer_id).count()


@dataclass(frozen=True)
class SourceActivity:
    events_last_day: int
    last_received_at: datetime | None


def event_activity_by_source(
    source_ids: list[int], *, since: datetime
) -> dict[int, SourceActivity]:
    """Each source's events since a moment and its newest event's arrival, in two queries on
    the (source, received_at) index whatever the number of events."""
    if not source_ids:
        return {}
    counts = dict(
        Event.objects.filter(source_id__in=source_ids, received_at__gte=since)
        .values("source_id")
        .annotate(count=Count("id"))
        .values_list("source_id", "count")
    )
    # One newest event per source, each found by its own index lookup inside one statement.
    newest = Q()
    for source_id in source_ids:
        newest |= Q(
            pk__in=Event.objects.filter(source_id=source_id)
            .order_by("-received_at")
            .values("pk")[:1]
        )
    last = dict(Event.objects.filter(newest).values_list("source_id", "received_at"))
    return {
        source_id: SourceActivity(counts.get(source_id, 0), last.get(source_id))
        for source_id in source_ids
    }


def event_tail(
    *, source_id: int | None, type: str | None, after_id: int | None, limit: int
) -> list[Event]:
    """The newest events, newest first; after_id keeps only those stored after that one,
    which is how the live debugger asks for what arrived since its last look."""
    queryset = Event.objects.select_related("source")
    if source_id is not None:
        queryset = queryset.filter(source_id=source_id)
    if type is not None:
        queryset = queryset.filter(type=type)
    if after_id is not None:
        queryset = queryset.filter(pk__gt=after_id)
    return list(queryset.order_by("-pk")[:limit])


def event_newest_id() -> int:
    """The id of the newest stored event, 0 when there is none."""
    return Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def ingestion_warning_filtered(
    *, source_id: int | None, code: str | None
) -> QuerySet[IngestionWarning]:
    """Warnings of one source and one code (either may be left out), for keyset pages."""
    queryset = IngestionWarning.objects.select_related("source")
    if source_id is not None:
        queryset = queryset.filter(source_id=source_id)
    if code is not None:
        queryset = queryset.filter(code=code)
    return queryset


@dataclass(frozen=True)
class WarningExplanation:
    """What an ingestion warning code means, in words: what happened and how the sender fixes it."""

    title: str
    what_happened: str
    how_to_fix: str


WARNING_EXPLANATIONS: dict[str, WarningExplanation] = {
    WarningCode.INVALID_EVENT: WarningExplanation(
        "Event not understood",
        "The message was dropped: it is not a JSON object, has no known type, has a field of "
        "the wrong type (an object as userId, a list as properties), an id longer than 255 "
        "characters, a group without groupId or an alias without previousId and userId.",
        "Send one of identify, track, page, screen, group or alias with the fields the Segment "
        "spec gives them; the field named in the warning is the one to correct.",
    ),
    WarningCode.MISSING_IDENTITY: WarningExplanation(
        "No userId or anonymousId",
        "The message was dropped: Patron attaches every event to a person, and this one named "
        "nobody.",
        "Send a userId once the person is known, and an anonymousId (the Segment libraries set "
        "one for you) before that.",
    ),
    WarningCode.MISSING_EVENT_NAME: WarningExplanation(
        "Track without an event name",
        "The message was dropped: a track call needs the name of what happened.",
        'Give the track call its event, such as "Order Completed".',
    ),
    WarningCode.EVENT_TOO_LARGE: WarningExplanation(
        "Event over 32 KB",
        "The message was dropped: one message may be at most 32 KB of JSON.",
        "Send less in properties and context (no whole documents or images); split large lists "
        "over several events.",
    ),
    WarningCode.INVALID_TIMESTAMP: WarningExplanation(
        "Unreadable or future time",
        "The event was stored, but a time in it could not be read and was ignored, or lay more "
        "than a day ahead and was clamped to when Patron received it.",
        "Send times as ISO 8601 with a time zone (2026-03-01T09:30:00Z) and check the sending "
        "device's clock.",
    ),
    WarningCode.CHARACTERS_REMOVED: WarningExplanation(
        "Characters removed",
        "The event was stored without its NUL characters (\\u0000) and unpaired UTF-16 "
        "surrogates, which the database cannot store.",
        "Remove control characters and broken emoji halves from the text before sending it.",
    ),
    WarningCode.NUMBER_OUT_OF_RANGE: WarningExplanation(
        "Number out of range",
        "The event was stored, but a number in it (named in the warning) was larger than a "
        "double can hold, such as 1e400; JSON has no infinity, so it was stored as null.",
        "Send such values as text, or in a smaller unit.",
    ),
    WarningCode.INVALID_TRAIT: WarningExplanation(
        "Trait not applied",
        "The event was stored, but one trait (named in the warning) was not applied to the "
        "profile or company: an invalid email or phone, another customer's email, or a value "
        "of another type than the attribute's first one.",
        "Correct the trait's value, or send it under a new name when its type changed.",
    ),
    WarningCode.INVALID_PROPERTY: WarningExplanation(
        "E-commerce property invalid",
        "The event was stored, but an e-commerce property (named in the warning) was invalid, "
        "so the order or cart was not changed.",
        "Send the property as the Segment e-commerce spec describes it (prices as numbers, "
        "quantities as whole numbers, an order_id on orders), then send the event again with "
        "a new messageId.",
    ),
    WarningCode.ORDER_NOT_FOUND: WarningExplanation(
        "Order not found",
        "The event was stored, but it refunds or cancels an order this source never sent, so "
        "nothing was changed.",
        "Send Order Completed for the order first, from the same source and with the same "
        "order_id.",
    ),
}


def ingestion_warning_explanation(code: str) -> WarningExplanation:
    """The explanation of a code; a code this version does not know gets a plain one."""
    return WARNING_EXPLANATIONS.get(
        code,
        WarningExplanation(
            code, "A warning this version of Patron does not describe.", "See docs/ingestion.md."
        ),
    )


@dataclass(frozen=True)
class ImportFilters:
    search: str = ""  # part of the file name
    kind: str = ""
    status: str = ""


def import_run_list(filters: ImportFilters) -> QuerySet[ImportRun]:
    """Import runs matching the filters with who made and ran them, for keyset pages."""
    runs = ImportRun.objects.select_related("created_by", "run_by")
    if filters.search:
        runs = runs.filter(file_name__icontains=filters.search)
    if filters.kind:
        runs = runs.filter(kind=filters.kind)
    if filters.status:
        runs = runs.filter(status=filters.status)
    return runs


def import_problem_list(run_id: int) -> QuerySet[ImportProblem]:
    """The bad rows' problems of a run's latest check or import, for keyset pages by row."""
    return ImportProblem.objects.filter(run_id=run_id)


@dataclass(frozen=True)
class ImportProgress:
    phase: str
    done: int
    total: int | None

    @property
    def percent(self) -> int:
        return min(100, 100 * self.done // self.total) if self.total else 0


def import_run_progress(run: ImportRun) -> ImportProgress:
    """How far a queued or running import is, as its worker last wrote it."""
    if run.status == ImportStatus.QUEUED:
        return ImportProgress("Waiting for a worker", 0, None)
    try:
        written = json.loads(import_progress_path(run).read_text())
        return ImportProgress(str(written["phase"]), int(written["done"]), written["total"])
    except (OSError, ValueError, KeyError, TypeError):
        return ImportProgress("Starting", 0, None)


def import_rejected_rows(run: ImportRun) -> Iterator[list[str]]:
    """The rows an import skipped, under the column names of the uploaded file, each with its
    row number and reasons; every cell is made safe to open in a spreadsheet."""
    if not run.has_rejected_rows:
        raise NotFound("this import skipped no rows", field="id")
    names = [name for name in run.header if name not in OWN_COLUMNS]
    try:
        with import_rejected_path(run).open(encoding="utf-8", newline="") as file:
            rows = csv.reader(file)
            written = next(rows)
            yield [neutralised(name) for name in names] + written[len(names) :]
            for row in rows:
                yield [neutralised(cell) for cell in row]
    except FileNotFoundError as error:
        raise NotFound("the rejected rows of this import are no longer kept", field="id") from error
