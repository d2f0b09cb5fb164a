"""Stored events and the warnings ingestion raised about the ones it could not store."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from patron.accounts.models import Source
from patron.customers.models import Customer


class EventType(models.TextChoices):
    IDENTIFY = "identify", "Identify"
    TRACK = "track", "Track"
    PAGE = "page", "Page"
    SCREEN = "screen", "Screen"
    GROUP = "group", "Group"
    ALIAS = "alias", "Alias"


class Event(models.Model):
    """One Segment-compatible message as received; a fact, never rewritten by derivation."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="events")
    message_id = models.CharField(max_length=255)
    type = models.CharField(max_length=16, choices=EventType.choices)
    name = models.CharField(max_length=255, blank=True, default="")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    user_id = models.CharField(max_length=255, blank=True, default="")
    anonymous_id = models.CharField(max_length=255, blank=True, default="")
    properties = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    original_timestamp = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()
    timestamp = models.DateTimeField(
        help_text="Corrected for client clock skew; what analysis uses."
    )
    is_timestamp_clamped = models.BooleanField(
        default=False, help_text="The client's time was more than a day in the future."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "message_id"], name="events_event_source_message_unique"
            ),
            models.CheckConstraint(
                condition=Q(type__in=EventType.values), name="events_event_type_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "timestamp"], name="events_event_customer_time"),
            models.Index(fields=["type", "name", "timestamp"], name="events_event_name_time"),
            models.Index(fields=["anonymous_id"], name="events_event_anonymous"),
            models.Index(fields=["received_at"], name="events_event_received"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.name} ({self.message_id})"


class IngestionWarning(models.Model):
    """An event dropped or altered on its own while the rest of its batch was stored."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="ingestion_warnings")
    message_id = models.CharField(max_length=255, blank=True, default="")
    code = models.CharField(max_length=64)
    field = models.CharField(max_length=255, blank=True, default="")
    message = models.CharField(max_length=1000)
    excerpt = models.TextField(
        blank=True, default="", help_text="The start of the offending payload."
    )
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["source", "received_at"], name="events_warning_source_time")
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
