"""Reads of stored events and ingestion warnings."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from patron.core.api import MAXIMUM_ROW_ID
from patron.core.errors import NotFound, ValidationFailed
from patron.customers.validation import clean_datetime
from patron.events.models import Event, EventType, IngestionWarning


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
