"""Response shapes and filters of the read-only events API."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import ConfigDict, Field, JsonValue, StrictStr

from patron.core.api import MAXIMUM_ROW_ID, PageQuery, TimestampText
from patron.events.models import Event, EventType, IngestionWarning


class EventListQuery(PageQuery):
    model_config = ConfigDict(extra="forbid")

    customer_id: int | None = Field(None, ge=1, le=MAXIMUM_ROW_ID)
    type: EventType | None = None
    name: StrictStr | None = Field(None, max_length=255, description="e.g. Order Completed")
    since: TimestampText | None = Field(None, description="Events at or after this time")
    before: TimestampText | None = Field(None, description="Events before this time")


class EventOut(Schema):
    id: int
    source: str
    message_id: str
    type: EventType
    name: str
    customer_id: int | None
    user_id: str
    anonymous_id: str
    properties: dict[str, JsonValue]
    context: dict[str, JsonValue]
    timestamp: datetime = Field(description="Corrected for the client's clock skew")
    original_timestamp: datetime | None
    sent_at: datetime | None
    received_at: datetime
    is_timestamp_clamped: bool

    @staticmethod
    def resolve_source(event: Event) -> str:
        return event.source.name


class EventPage(Schema):
    items: list[EventOut]
    next_cursor: str | None


class IngestionWarningListQuery(PageQuery):
    model_config = ConfigDict(extra="forbid")

    source: StrictStr | None = Field(None, max_length=120, description="Source name or id")
    since: TimestampText | None = Field(None, description="Received at or after this time")


class IngestionWarningOut(Schema):
    id: int
    source: str
    message_id: str
    code: str
    field: str
    message: str
    excerpt: str
    received_at: datetime

    @staticmethod
    def resolve_source(warning: IngestionWarning) -> str:
        return warning.source.name


class IngestionWarningPage(Schema):
    items: list[IngestionWarningOut]
    next_cursor: str | None
