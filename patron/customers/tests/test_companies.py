"""Companies (B2B accounts) and their contacts."""

from __future__ import annotations

import pytest

from patron.core.errors import ValidationFailed
from patron.customers.models import Company, CompanyContact
from patron.customers.services.companies import company_contact_add, company_upsert
from patron.customers.services.profile import customer_create

pytestmark = pytest.mark.django_db


def test_upsert_finds_by_external_id_then_domain(system_actor):
    created, is_new = company_upsert(
        actor=system_actor,
        external_id="g-1",
        fields={"name": "Serenity Spa", "domain": "WWW.Serenity.example"},
    )
    by_domain, is_new_again = company_upsert(
        actor=system_actor, fields={"domain": "serenity.example", "employee_count": "12"}
    )

    assert is_new and not is_new_again
    assert by_domain.pk == created.pk
    assert (by_domain.domain, by_domain.employee_count) == ("serenity.example", 12)
    assert Company.objects.count() == 1


def test_new_company_needs_a_name_and_valid_fields(system_actor):
    with pytest.raises(ValidationFailed) as raised:
        company_upsert(actor=system_actor, fields={"domain": "not a domain", "website": "ftp://x"})

    assert "domain:" in raised.value.message
    assert "website:" in raised.value.message
    assert Company.objects.count() == 0


def test_contact_is_added_once(system_actor):
    company, _ = company_upsert(actor=system_actor, fields={"name": "Serenity Spa"})
    customer = customer_create(actor=system_actor, fields={"first_name": "Mia"})

    assert company_contact_add(
        company=company, customer=customer, actor=system_actor, title="Buyer"
    )
    assert not company_contact_add(company=company, customer=customer, actor=system_actor)
    assert CompanyContact.objects.get().title == "Buyer"
