"""The consent ledger follows a customer through a merge."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from patron.core.actors import ActorKind
from patron.customers.models import Customer
from patron.customers.services.merge import customer_merge
from patron.privacy.models import Channel, ConsentRecord, ConsentStatus, Purpose

pytestmark = pytest.mark.django_db


def test_a_merge_moves_consent_records_with_their_times(system_actor):
    visitor, person = Customer.objects.create(is_identified=False), Customer.objects.create()
    granted_at = datetime(2026, 1, 1, tzinfo=UTC)
    ConsentRecord.objects.create(
        customer=visitor,
        purpose=Purpose.MARKETING,
        channel=Channel.EMAIL,
        status=ConsentStatus.GRANTED,
        recorded_at=granted_at,
        actor_kind=ActorKind.SYSTEM,
        actor_label="tests",
    )

    customer_merge(source=visitor, target=person, actor=system_actor)

    assert list(ConsentRecord.objects.values_list("customer_id", "recorded_at")) == [
        (person.pk, granted_at)
    ]
