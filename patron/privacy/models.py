"""The consent ledger: an append-only record of every grant and withdrawal."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from patron.core.actors import ActorKind
from patron.customers.models import Customer


class Purpose(models.TextChoices):
    MARKETING = "marketing", "Marketing messages"
    PERSONALISATION = "personalisation", "Personalisation"
    ANALYTICS = "analytics", "Analytics"
    SERVICE = "service", "Service messages"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PUSH = "push", "Push"
    ANY = "any", "Any channel"


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", "Granted"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ConsentRecord(models.Model):
    """The latest record per (customer, purpose, channel) is the consent in force."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="consent_records", db_index=False
    )
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    status = models.CharField(max_length=16, choices=ConsentStatus.choices)
    recorded_at = models.DateTimeField()
    evidence = models.CharField(max_length=500, blank=True, default="")
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_label = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(purpose__in=Purpose.values), name="privacy_consent_purpose_valid"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="privacy_consent_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ConsentStatus.values), name="privacy_consent_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "purpose", "channel", "recorded_at"],
                name="privacy_consent_lookup",
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose}/{self.channel}: {self.status}"
