"""Merging two customers: what moves, what the target keeps, when a merge is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from patron.accounts.models import AuditEntry
from patron.core import hooks
from patron.core.actors import ActorKind
from patron.core.errors import Conflict, ValidationFailed
from patron.customers.models import (
    AttributeDefinition,
    AttributeType,
    Company,
    CompanyContact,
    Customer,
    CustomerTag,
    Identity,
    IdentityConflict,
    IdentityKind,
    Milestone,
    MilestoneKind,
    Note,
    Tag,
)
from patron.customers.services.merge import CUSTOMER_MERGED, customer_merge

pytestmark = pytest.mark.django_db

EARLY = datetime(2025, 1, 1, tzinfo=UTC)
MIDDLE = datetime(2025, 6, 1, tzinfo=UTC)
LATE = datetime(2025, 12, 1, tzinfo=UTC)


def _customer(**fields) -> Customer:
    return Customer.objects.create(**fields)


def _identity(customer: Customer, kind: str, value: str) -> Identity:
    return Identity.objects.create(customer=customer, kind=kind, value=value)


def test_merge_moves_identities_and_deletes_the_source(system_actor):
    source = _customer(is_identified=False)
    target = _customer()
    _identity(source, IdentityKind.ANONYMOUS_ID, "anon-1")
    _identity(target, IdentityKind.USER_ID, "user-1")

    merged = customer_merge(source=source, target=target, actor=system_actor)

    assert merged.pk == target.pk
    assert not Customer.objects.filter(pk=source.pk).exists()
    assert sorted(Identity.objects.filter(customer=target).values_list("kind", "value")) == [
        ("anonymous_id", "anon-1"),
        ("user_id", "user-1"),
    ]


def test_merge_fills_only_empty_profile_fields_and_target_attributes_win(system_actor):
    source = _customer(
        first_name="Ana",
        last_name="Source",
        email="ana@example.com",
        city="Lisbon",
        timezone="Europe/Lisbon",
        attributes={"plan": "free", "shoe_size": 38},
    )
    target = _customer(last_name="Target", attributes={"plan": "pro"})

    merged = customer_merge(source=source, target=target, actor=system_actor)

    merged.refresh_from_db()
    assert merged.first_name == "Ana"
    assert merged.last_name == "Target"
    assert merged.email == "ana@example.com"
    assert merged.city == "Lisbon"
    assert merged.timezone == "Europe/Lisbon"
    assert merged.attributes == {"plan": "pro", "shoe_size": 38}


def test_merge_widens_first_and_last_seen(system_actor):
    source = _customer(first_seen_at=EARLY, last_seen_at=MIDDLE)
    target = _customer(first_seen_at=MIDDLE, last_seen_at=LATE)

    merged = customer_merge(source=source, target=target, actor=system_actor)

    merged.refresh_from_db()
    assert (merged.first_seen_at, merged.last_seen_at) == (EARLY, LATE)


def test_merge_keeps_seen_times_when_one_side_has_none(system_actor):
    source = _customer(first_seen_at=None, last_seen_at=None)
    target = _customer(first_seen_at=MIDDLE, last_seen_at=LATE)

    merged = customer_merge(source=source, target=target, actor=system_actor)

    merged.refresh_from_db()
    assert (merged.first_seen_at, merged.last_seen_at) == (MIDDLE, LATE)


def test_anonymous_target_becomes_identified_by_an_identified_source(system_actor):
    source = _customer(is_identified=True)
    target = _customer(is_identified=False)

    merged = customer_merge(source=source, target=target, actor=system_actor)

    merged.refresh_from_db()
    assert merged.is_identified is True


def test_merge_moves_tags_notes_milestones_and_contacts_skipping_duplicates(system_actor):
    source, target = _customer(), _customer()
    vip, newsletter = Tag.objects.create(name="VIP"), Tag.objects.create(name="Newsletter")
    CustomerTag.objects.create(customer=source, tag=vip)
    CustomerTag.objects.create(customer=source, tag=newsletter)
    CustomerTag.objects.create(customer=target, tag=vip)
    Note.objects.create(
        customer=source,
        body="Called about a refund",
        author_kind=ActorKind.SYSTEM,
        author_identifier="tests",
        author_label="tests",
    )
    Milestone.objects.create(customer=source, kind=MilestoneKind.BIRTHDAY, date=date(1990, 5, 1))
    Milestone.objects.create(customer=target, kind=MilestoneKind.BIRTHDAY, date=date(1991, 1, 1))
    Milestone.objects.create(
        customer=source, kind=MilestoneKind.ANNIVERSARY, label="wedding", date=date(2015, 6, 6)
    )
    shared, own = Company.objects.create(name="Shared"), Company.objects.create(name="Own")
    CompanyContact.objects.create(company=shared, customer=source, title="Buyer")
    CompanyContact.objects.create(company=shared, customer=target, title="CEO")
    CompanyContact.objects.create(company=own, customer=source)

    customer_merge(source=source, target=target, actor=system_actor)

    assert sorted(tag.name for tag in Tag.objects.filter(customers=target)) == [
        "Newsletter",
        "VIP",
    ]
    assert CustomerTag.objects.count() == 2
    assert list(Note.objects.values_list("customer_id", flat=True)) == [target.pk]
    assert sorted(
        Milestone.objects.filter(customer=target).values_list("kind", "label", "date")
    ) == [
        ("anniversary", "wedding", date(2015, 6, 6)),
        ("birthday", "", date(1991, 1, 1)),
    ]
    assert Milestone.objects.count() == 2
    assert sorted(
        CompanyContact.objects.filter(customer=target).values_list("company__name", "title")
    ) == [("Own", ""), ("Shared", "CEO")]
    assert CompanyContact.objects.count() == 2


def test_merge_refuses_two_different_user_ids(system_actor):
    source, target = _customer(email="a@example.com"), _customer()
    _identity(source, IdentityKind.USER_ID, "user-a")
    _identity(target, IdentityKind.USER_ID, "user-b")

    with pytest.raises(Conflict) as raised:
        customer_merge(source=source, target=target, actor=system_actor)

    assert raised.value.field == "user_id"
    assert Customer.objects.filter(pk=source.pk).exists()
    assert Identity.objects.get(value="user-a").customer_id == source.pk
    target.refresh_from_db()
    assert target.email is None
    assert not AuditEntry.objects.filter(action="customer.merged").exists()


def test_forced_merge_joins_two_user_ids(system_actor):
    source, target = _customer(), _customer()
    _identity(source, IdentityKind.USER_ID, "user-a")
    _identity(target, IdentityKind.USER_ID, "user-b")

    customer_merge(source=source, target=target, actor=system_actor, force=True)

    assert sorted(
        Identity.objects.filter(customer=target, kind=IdentityKind.USER_ID).values_list(
            "value", flat=True
        )
    ) == ["user-a", "user-b"]
    assert AuditEntry.objects.get(action="customer.merged", customer_id=source.pk).changes == {
        "merged_into": target.pk,
        "forced": True,
    }


def test_merge_with_the_same_user_id_on_one_side_only_is_allowed(system_actor):
    source, target = _customer(), _customer()
    _identity(source, IdentityKind.USER_ID, "user-a")

    customer_merge(source=source, target=target, actor=system_actor)

    assert Identity.objects.get(value="user-a").customer_id == target.pk


def test_merging_a_customer_into_itself_is_refused(system_actor):
    customer = _customer()

    with pytest.raises(ValidationFailed):
        customer_merge(source=customer, target=customer, actor=system_actor)

    assert Customer.objects.filter(pk=customer.pk).exists()


def test_merge_is_audited_on_both_ids(system_actor):
    source, target = _customer(first_name="Ana"), _customer()

    customer_merge(source=source, target=target, actor=system_actor)

    entries = AuditEntry.objects.filter(action="customer.merged").order_by("customer_id")
    assert [(entry.customer_id, entry.actor_label) for entry in entries] == [
        (source.pk, "tests"),
        (target.pk, "tests"),
    ]
    target_entry = entries.get(customer_id=target.pk)
    assert target_entry.changes["merged_from"] == source.pk
    assert target_entry.changes["filled"] == {"first_name": "Ana"}


def test_merge_settles_conflicts_between_the_two_and_moves_others(system_actor):
    source, target, other = _customer(), _customer(), _customer()
    between = IdentityConflict.objects.create(
        kind=IdentityKind.EMAIL,
        value="a@example.com",
        existing_customer=target,
        claiming_customer=source,
        reason="test",
        detected_at=EARLY,
    )
    elsewhere = IdentityConflict.objects.create(
        kind=IdentityKind.EMAIL,
        value="b@example.com",
        existing_customer=other,
        claiming_customer=source,
        reason="test",
        detected_at=EARLY,
    )

    customer_merge(source=source, target=target, actor=system_actor)

    between.refresh_from_db()
    elsewhere.refresh_from_db()
    assert between.resolved_at is not None
    assert elsewhere.claiming_customer_id == target.pk
    assert elsewhere.resolved_at is None


def test_every_app_with_customer_rows_registers_a_merge_handler():
    # Each app tests that its own handler moves its rows; this checks none is missing.
    modules = sorted(handler.__module__ for handler in hooks.registered(CUSTOMER_MERGED))

    assert modules == [
        "patron.events.services.reassign",
        "patron.orders.services.reassign",
        "patron.privacy.services",
    ]


def test_merge_keeps_attribute_values_valid_for_their_definitions(system_actor):
    AttributeDefinition.objects.create(key="plan", label="Plan", type=AttributeType.TEXT)
    source = _customer(attributes={"plan": "pro"})
    target = _customer()

    merged = customer_merge(source=source, target=target, actor=system_actor)

    merged.refresh_from_db()
    assert merged.attributes == {"plan": "pro"}
