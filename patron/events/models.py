"""Stored events, the warnings ingestion raised about the ones it could not store, and CSV
import runs started from the workspace."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from patron.accounts.models import Source, User
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

    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="events", db_index=False
    )
    message_id = models.CharField(max_length=255)
    type = models.CharField(max_length=16, choices=EventType.choices)
    name = models.CharField(max_length=255, blank=True, default="")
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
        db_index=False,
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
            # The sources page counts each source's events of the last day from this index.
            models.Index(fields=["source", "received_at"], name="events_event_source_received"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.name} ({self.message_id})"


class IngestionWarning(models.Model):
    """An event dropped or altered on its own while the rest of its batch was stored."""

    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="ingestion_warnings", db_index=False
    )
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


class ImportKind(models.TextChoices):
    CUSTOMERS = "customers", "Customers"
    PRODUCTS = "products", "Products"
    ORDERS = "orders", "Orders"


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", "Needs its columns mapped"
    MAPPED = "mapped", "Ready to check or import"
    QUEUED = "queued", "Waiting for a worker"
    RUNNING = "running", "Running"
    CHECKED = "checked", "Checked"
    IMPORTED = "imported", "Imported"
    NOT_IMPORTED = "not_imported", "Not imported: bad rows"
    FAILED = "failed", "Failed"


class ImportMode(models.TextChoices):
    DRY_RUN = "dry_run", "Check only"
    ALL_OR_NOTHING = "all_or_nothing", "Import all or nothing"
    SKIP_BAD_ROWS = "skip_bad_rows", "Import, skipping bad rows"


class ImportRun(models.Model):
    """One CSV file uploaded in the workspace: its column mapping, its latest check or import,
    and that run's counts. The file lives under MEDIA_ROOT/imports/ and is never served back."""

    token = models.UUIDField(unique=True, help_text="Names the stored files.")
    kind = models.CharField(max_length=16, choices=ImportKind.choices)
    file_name = models.CharField(max_length=255, help_text="As uploaded, for people to read.")
    file_size = models.BigIntegerField()
    source_name = models.CharField(max_length=120, blank=True, default="")
    format_name = models.CharField(max_length=32)
    header = models.JSONField(default=list, help_text="The file's column names, in order.")
    mapping = models.JSONField(
        default=list, help_text="The field each column gives, in order; empty for ignored."
    )
    status = models.CharField(
        max_length=16, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    mode = models.CharField(max_length=16, choices=ImportMode.choices, blank=True, default="")
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="import_runs"
    )
    created_at = models.DateTimeField(db_index=True)
    run_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    row_count = models.IntegerField(null=True, blank=True)
    bad_row_count = models.IntegerField(null=True, blank=True)
    problem_count = models.IntegerField(null=True, blank=True)
    created_count = models.IntegerField(null=True, blank=True)
    updated_count = models.IntegerField(null=True, blank=True)
    unchanged_count = models.IntegerField(null=True, blank=True)
    has_rejected_rows = models.BooleanField(default=False)
    error = models.TextField(blank=True, default="", help_text="Why the file could not be read.")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ImportKind.values), name="events_import_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ImportStatus.values), name="events_import_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} import {self.file_name} ({self.status})"

    @property
    def is_busy(self) -> bool:
        return self.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)


class ImportProblem(models.Model):
    """One bad row's problem found by an import run's latest check or import."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="problems")
    row = models.IntegerField()
    column = models.CharField(max_length=255, blank=True, default="")
    reason = models.TextField()

    def __str__(self) -> str:
        return f"row {self.row}, {self.column}: {self.reason}"
