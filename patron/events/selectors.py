"""Reads of stored events and ingestion warnings."""

from __future__ import annotations

from patron.events.models import Event, IngestionWarning


def event_count() -> int:
    return Event.objects.count()


def ingestion_warning_count() -> int:
    return IngestionWarning.objects.count()
