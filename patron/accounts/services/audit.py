"""The audit record every write leaves: who, what, when; the customer timeline reads it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from patron.accounts.models import AuditEntry
from patron.core import clock
from patron.core.actors import Actor
from patron.core.tabular import JsonText, rows_insert


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


def audit_record_from_hook(**payload: Any) -> None:
    """The AUDIT_RECORD hook handler, for writers that cannot import accounts."""
    audit_record(**payload)


def audit_record_many(entries: Iterable[AuditEntry]) -> None:
    """Bulk form for set-based writers (ingestion, import) that build entries themselves."""
    AuditEntry.objects.bulk_create(list(entries), batch_size=1000)


class AuditFact(NamedTuple):
    """One entry for audit_record_bulk: what audit_entry takes, less the actor they share.

    A named tuple rather than a dataclass: an import builds a million of them.
    """

    action: str
    subject_type: str
    subject_id: object
    customer_id: int | None
    changes: Mapping[str, Any] | JsonText  # JsonText: from audit_changes_encode
    at: datetime


def audit_changes_encode(changes: Mapping[str, Any]) -> JsonText:
    """Changes as an audit entry stores them, encoded ahead (by a process preparing rows).

    json.dumps with str() for what JSON lacks gives the same text as encoding _json_safe's
    copy, as long as every key is text (changes are keyed by field).
    """
    return JsonText(json.dumps(dict(changes), default=str))


def audit_table() -> type[AuditEntry]:
    """The model behind audit entries, for a bulk writer that manages its table's indexes
    while loading (a large CSV import on SQLite); never for reading or writing entries."""
    return AuditEntry


def audit_record_bulk(*, actor: Actor, facts: Sequence[AuditFact]) -> None:
    """The bulk form for writers of many thousand entries (CSV import): one prepared insert.

    Stores what audit_record_many would, without a model instance per entry.
    """
    rows_insert(
        AuditEntry,
        ("action", "subject_type", "subject_id", "customer_id", "changes", "created_at"),
        [
            (
                fact.action,
                fact.subject_type,
                str(fact.subject_id),
                fact.customer_id,
                fact.changes
                if isinstance(fact.changes, JsonText)
                else audit_changes_encode(fact.changes),
                fact.at,
            )
            for fact in facts
        ],
        constants={
            "actor_kind": actor.kind,
            "actor_identifier": actor.identifier,
            "actor_label": actor.label,
        },
    )


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
