"""Reads of the consent ledger: the consent in force for a customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Q

from patron.privacy.models import Channel, ConsentRecord, ConsentStatus, Purpose


@dataclass(frozen=True)
class ConsentState:
    """The latest ledger record for one purpose and channel: what is in force now."""

    purpose: str
    purpose_label: str
    channel: str
    channel_label: str
    is_granted: bool
    recorded_at: datetime
    evidence: str
    actor_label: str


def consent_state(*, customer_id: int) -> list[ConsentState]:
    """The consent in force per purpose and channel, in one query (older records left out).

    A later record wins; two at the same instant are told apart by id, the order they were
    written in.
    """
    newer = ConsentRecord.objects.filter(
        customer_id=OuterRef("customer_id"),
        purpose=OuterRef("purpose"),
        channel=OuterRef("channel"),
    ).filter(
        Q(recorded_at__gt=OuterRef("recorded_at"))
        | Q(recorded_at=OuterRef("recorded_at"), pk__gt=OuterRef("pk"))
    )
    records = (
        ConsentRecord.objects.filter(customer_id=customer_id)
        .exclude(Exists(newer))
        .order_by("purpose", "channel")
    )
    return [
        ConsentState(
            purpose=record.purpose,
            purpose_label=Purpose(record.purpose).label,
            channel=record.channel,
            channel_label=Channel(record.channel).label,
            is_granted=record.status == ConsentStatus.GRANTED,
            recorded_at=record.recorded_at,
            evidence=record.evidence,
            actor_label=record.actor_label,
        )
        for record in records
    ]


def consent_record_count(*, customer_id: int) -> int:
    """How many ledger records a customer has: what a merge would move to the survivor."""
    return ConsentRecord.objects.filter(customer_id=customer_id).count()
