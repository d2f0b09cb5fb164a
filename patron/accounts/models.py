"""Workspace users with roles, API keys, ingestion sources and the audit log of writes."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q

from patron.core.actors import ActorKind
from patron.core.models import TimestampedModel


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MARKETER = "marketer", "Marketer"
    SALES = "sales", "Sales"
    SUPPORT = "support", "Support"
    VIEWER = "viewer", "Viewer"


class User(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=Role.values), name="accounts_user_role_valid"
            )
        ]


class Scope(models.TextChoices):
    CUSTOMERS_READ = "customers:read", "Read customers, identities and companies"
    CUSTOMERS_WRITE = "customers:write", "Create and update customers, identities and companies"
    CATALOG_READ = "catalog:read", "Read products"
    CATALOG_WRITE = "catalog:write", "Create and update products"
    ORDERS_READ = "orders:read", "Read orders"
    ORDERS_WRITE = "orders:write", "Create and update orders"
    EVENTS_READ = "events:read", "Read stored events and ingestion warnings"
    INSIGHTS_READ = "insights:read", "Read customer insights, replenishments and fits"
    INSIGHTS_WRITE = "insights:write", "Start insight refreshes"


class ApiKey(TimestampedModel):
    """A secret for the REST API. Only a SHA-256 of the secret is stored; it is shown once."""

    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=16, help_text="The first characters, to recognise a key.")
    secret_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="api_keys"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Source(TimestampedModel):
    """Where events come from (web shop, app, back office), each with its own write key.

    A write key can only send events: it is stored as a SHA-256, shown once, and cannot read.
    """

    name = models.CharField(max_length=120, unique=True)
    write_key_prefix = models.CharField(max_length=16)
    write_key_hash = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditEntry(models.Model):
    """One write to customer data or one staff action: who, what, when.

    customer_id is a plain integer (accounts sits below customers) so the customer timeline
    and the privacy audit can read every change to one person with one indexed query.
    """

    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_identifier = models.CharField(max_length=255)
    actor_label = models.CharField(max_length=255)
    action = models.CharField(max_length=64)
    subject_type = models.CharField(max_length=64)
    subject_id = models.CharField(max_length=64)
    customer_id = models.BigIntegerField(null=True, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["customer_id", "created_at"], name="audit_customer_time"),
            models.Index(fields=["subject_type", "subject_id"], name="audit_subject"),
            # The audit log page filters by action ("login.", "customer.merged") newest first.
            models.Index(fields=["action", "created_at"], name="audit_action_time"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.subject_type}:{self.subject_id} by {self.actor_label}"
