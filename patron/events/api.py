"""Read-only REST routers for stored events and ingestion warnings.

Authentication and scopes are attached where config/api.py mounts these routers.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from patron.core.api import RowId
from patron.core.pagination import Page, keyset_page
from patron.events import selectors
from patron.events.models import Event, IngestionWarning
from patron.events.schemas import (
    EventListQuery,
    EventOut,
    EventPage,
    IngestionWarningListQuery,
    IngestionWarningPage,
)

events_router = Router(tags=["events"])
warnings_router = Router(tags=["events"])


@events_router.get("", response=EventPage)
def event_list(request: HttpRequest, query: Query[EventListQuery]) -> Page[Event]:
    """Stored events, newest first (by the order they were stored)."""
    filters = selectors.EventFilters(**query.model_dump(exclude={"cursor", "limit"}))
    return keyset_page(
        selectors.event_list(filters=filters), cursor=query.cursor, limit=query.limit
    )


@events_router.get("/{event_id}", response=EventOut)
def event_read(request: HttpRequest, event_id: RowId) -> Event:
    """One stored event as received, with its corrected timestamp."""
    return selectors.event_get(event_id)


@warnings_router.get("", response=IngestionWarningPage)
def ingestion_warning_list(
    request: HttpRequest, query: Query[IngestionWarningListQuery]
) -> Page[IngestionWarning]:
    """Events ingestion dropped or altered while storing the rest of their batch, newest
    first."""
    return keyset_page(
        selectors.ingestion_warning_list(source=query.source, since=query.since),
        cursor=query.cursor,
        limit=query.limit,
    )
