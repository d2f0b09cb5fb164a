"""The bulk audit path stores exactly what the one-by-one path stores."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction

from patron.accounts.models import AuditEntry
from patron.accounts.services.audit import AuditFact, audit_record, audit_record_bulk
from patron.core.actors import Actor

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("import")
AT = datetime(2026, 3, 2, 14, 30, 5, 123456, tzinfo=UTC)
CHANGES = {
    "first_name": [None, "Zoë"],
    "total": [Decimal("15.00"), Decimal("30.10")],
    "birthday": [None, date(1990, 4, 12)],
    "placed_at": [datetime(2026, 1, 1, tzinfo=UTC), AT],
    "lines": ["replaced", 2],
    "tags": [None, ("vip", "newsletter")],
    "attributes.vip": [False, True],
    "attributes.size": [None, 38.5],
    "attributes.profile": [None, {"nested": ["a", 1, None], "quote": 'say "hi"'}],
    "note": [None, "line one\nline two, with a \\ backslash"],
}


def stored(entry_id: int) -> tuple[object, ...]:
    """The row as the database holds it, text for text, not as the ORM reads it back."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT actor_kind, actor_identifier, actor_label, action, subject_type, subject_id, "
            "customer_id, changes, created_at FROM accounts_auditentry WHERE id = %s",
            [entry_id],
        )
        return cursor.fetchone()


def test_audit_record_bulk_stores_what_audit_record_stores():
    one = audit_record(
        actor=ACTOR,
        action="customer.updated",
        subject_type="customer",
        subject_id=7,
        customer_id=7,
        changes=CHANGES,
        at=AT,
    )

    with transaction.atomic():
        audit_record_bulk(
            actor=ACTOR,
            facts=[
                AuditFact(
                    action="customer.updated",
                    subject_type="customer",
                    subject_id=7,
                    customer_id=7,
                    changes=CHANGES,
                    at=AT,
                )
            ],
        )

    bulk = AuditEntry.objects.exclude(pk=one.pk).get()
    assert stored(bulk.pk) == stored(one.pk)
    assert bulk.changes == one.changes
    assert bulk.changes["total"] == ["15.00", "30.10"]
    assert bulk.created_at == AT


def test_audit_record_bulk_with_no_facts_writes_nothing():
    audit_record_bulk(actor=ACTOR, facts=[])

    assert AuditEntry.objects.count() == 0
