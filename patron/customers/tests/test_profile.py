"""Profile validation, creation and update with audit and identities."""

from __future__ import annotations

import pytest

from patron.accounts.models import AuditEntry
from patron.core.errors import Conflict, ValidationFailed
from patron.customers.models import AttributeDefinition, AttributeType, Customer, Identity
from patron.customers.services.profile import customer_create, customer_update, profile_clean


def test_clean_normalises_email_phone_country_and_zone():
    cleaned = profile_clean(
        {
            "email": "  Ana.Lima@Example.COM ",
            "phone": "020 7946 0958",
            "country": "gb",
            "timezone": "Europe/London",
            "locale": "en_GB",
        }
    )

    assert cleaned == {
        "email": "ana.lima@example.com",
        "phone": "+442079460958",
        "country": "GB",
        "timezone": "Europe/London",
        "locale": "en-GB",
    }


def test_clean_reports_every_problem_with_its_field():
    with pytest.raises(ValidationFailed) as raised:
        profile_clean(
            {
                "email": "not-an-email",
                "phone": "12",
                "timezone": "Mars/Olympus",
                "first_name": 42,
                "shoe_size": 9,
            }
        )

    message = raised.value.message
    for field in (
        "email:",
        "phone:",
        "timezone:",
        "first_name: must be text",
        "shoe_size: is not a profile field",
    ):
        assert field in message


def test_clean_keeps_markup_and_formulas_verbatim_but_rejects_control_characters():
    cleaned = profile_clean(
        {"first_name": "<script>alert(1)</script>", "last_name": '=HYPERLINK("x")'}
    )
    assert cleaned == {"first_name": "<script>alert(1)</script>", "last_name": '=HYPERLINK("x")'}

    with pytest.raises(ValidationFailed) as raised:
        profile_clean({"first_name": "Ana\x00"})
    assert raised.value.field == "first_name"


@pytest.mark.django_db
def test_create_claims_identities_and_audits(system_actor):
    customer = customer_create(
        actor=system_actor,
        fields={"first_name": "Ana", "email": "ana@example.com"},
        external_id="shop-1",
    )

    kinds = set(Identity.objects.filter(customer=customer).values_list("kind", "value"))
    assert kinds == {("email", "ana@example.com"), ("external_id", "shop-1")}
    entry = AuditEntry.objects.get(action="customer.created")
    assert entry.customer_id == customer.pk
    assert entry.actor_label == "tests"
    assert entry.changes["email"] == [None, "ana@example.com"]


@pytest.mark.django_db
def test_email_of_another_customer_is_a_conflict_and_nothing_is_written(system_actor):
    customer_create(actor=system_actor, fields={"email": "ana@example.com"})

    with pytest.raises(Conflict):
        customer_create(
            actor=system_actor, fields={"email": "ANA@example.com", "first_name": "Copy"}
        )

    assert Customer.objects.count() == 1
    assert AuditEntry.objects.filter(action="customer.created").count() == 1


@pytest.mark.django_db
def test_update_changes_only_given_fields_and_records_the_diff(system_actor):
    AttributeDefinition.objects.create(
        key="skin_type", label="Skin type", type=AttributeType.CHOICE, choices=["dry", "oily"]
    )
    customer = customer_create(actor=system_actor, fields={"first_name": "Ana", "city": "Porto"})

    updated = customer_update(
        customer=customer,
        actor=system_actor,
        fields={"city": "Lisbon"},
        attributes={"skin_type": "dry"},
    )
    unchanged = customer_update(customer=updated, actor=system_actor, fields={"city": "Lisbon"})

    assert (unchanged.first_name, unchanged.city, unchanged.attributes) == (
        "Ana",
        "Lisbon",
        {"skin_type": "dry"},
    )
    entries = AuditEntry.objects.filter(action="customer.updated")
    assert entries.count() == 1
    assert entries.get().changes == {
        "city": ["Porto", "Lisbon"],
        "attributes.skin_type": [None, "dry"],
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("type_", "value", "expected_error"),
    [
        (AttributeType.INTEGER, "12.5", "must be a whole number"),
        (AttributeType.NUMBER, "lots", "is not a number"),
        (AttributeType.BOOLEAN, "yes", "must be true or false"),
        (AttributeType.DATE, "tomorrow", "is not a date"),
    ],
)
def test_attribute_of_the_wrong_type_is_an_error_not_a_string(
    system_actor, type_, value, expected_error
):
    AttributeDefinition.objects.create(key="field", label="Field", type=type_)

    with pytest.raises(ValidationFailed) as raised:
        customer_create(actor=system_actor, fields={}, attributes={"field": value})

    assert raised.value.field == "attributes.field"
    assert expected_error in raised.value.message
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_undefined_attribute_is_rejected(system_actor):
    with pytest.raises(ValidationFailed) as raised:
        customer_create(actor=system_actor, fields={}, attributes={"vip": True})

    assert "attributes.vip: no attribute with this key is defined" in raised.value.message
