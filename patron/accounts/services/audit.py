"""The audit record every write leaves: who, what, when; the customer timeline reads it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from patron.accounts.models import AuditEntry
from patron.core import clock
from patron.core.actors import Actor


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def audit_record(
    *,
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: object,
    customer_id: int | None = None,
    changes: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor_kind=actor.kind,
        actor_identifier=actor.identifier,
        actor_label=actor.label,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        customer_id=customer_id,
        changes=_json_safe(dict(changes or {})),
        created_at=at or clock.now(),
    )


def audit_record_many(entries: Iterable[AuditEntry]) -> None:
    """Bulk form for set-based writers (ingestion, import) that build entries themselves."""
    AuditEntry.objects.bulk_create(list(entries), batch_size=1000)


def audit_entry(
    *,
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: object,
    customer_id: int | None = None,
    changes: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """An unsaved entry for audit_record_many."""
    return AuditEntry(
        actor_kind=actor.kind,
        actor_identifier=actor.identifier,
        actor_label=actor.label,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        customer_id=customer_id,
        changes=_json_safe(dict(changes or {})),
        created_at=at or clock.now(),
    )
