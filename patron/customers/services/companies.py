"""B2B accounts (companies) and the customers who are their contacts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator, validate_domain_name
from django.db import IntegrityError, transaction

from patron.accounts.services.audit import audit_record
from patron.core.actors import Actor
from patron.core.errors import Conflict, ProblemList, ValidationFailed
from patron.customers import validation
from patron.customers.models import Company, CompanyContact, Customer

COMPANY_FIELDS = ("name", "domain", "industry", "employee_count", "plan", "website")
_url = URLValidator(schemes=["http", "https"])


def company_clean(fields: Mapping[str, Any]) -> dict[str, Any]:
    problems = ProblemList()
    cleaned: dict[str, Any] = {}
    for name, value in fields.items():
        try:
            cleaned[name] = _clean_company_field(name, value)
        except ValidationFailed as error:
            problems.add(error.field or name, error.message)
    problems.raise_if_any()
    return cleaned


def _clean_company_field(name: str, value: Any) -> Any:
    if name == "name":
        text = validation.clean_text(value, field=name, maximum=300)
        if not text:
            raise ValidationFailed("is required", field=name)
        return text
    if name in ("industry", "plan"):
        return validation.clean_text(value, field=name)
    if name == "domain":
        if value in (None, ""):
            return None
        if not isinstance(value, str):
            raise ValidationFailed("must be a domain name such as example.com", field=name)
        domain = value.strip().lower().removeprefix("www.")
        try:
            validate_domain_name(domain)
        except DjangoValidationError as error:
            raise ValidationFailed(f"{value[:80]!r} is not a domain name", field=name) from error
        return domain
    if name == "employee_count":
        if value in (None, ""):
            return None
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000_000:
            raise ValidationFailed("must be a whole number from 0 to 10,000,000", field=name)
        return value
    if name == "website":
        if value in (None, ""):
            return ""
        try:
            if not isinstance(value, str):
                raise DjangoValidationError("not text")
            _url(value)
        except DjangoValidationError as error:
            raise ValidationFailed(
                f"{str(value)[:80]!r} is not an http(s) URL", field=name
            ) from error
        return value
    raise ValidationFailed("is not a company field", field=name)


def company_upsert(
    *,
    actor: Actor,
    fields: Mapping[str, Any],
    external_id: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> tuple[Company, bool]:
    """Find the company by external id (Segment groupId), then domain; create or update it."""
    cleaned = company_clean(fields)
    if external_id is not None and (not external_id or len(external_id) > 255):
        raise ValidationFailed("must be text of 1 to 255 characters", field="external_id")
    with transaction.atomic():
        company = None
        if external_id:
            company = Company.objects.select_for_update().filter(external_id=external_id).first()
        if company is None and cleaned.get("domain"):
            company = Company.objects.select_for_update().filter(domain=cleaned["domain"]).first()
        if company is None:
            if not cleaned.get("name"):
                raise ValidationFailed("is required for a new company", field="name")
            try:
                with transaction.atomic():
                    company = Company.objects.create(
                        external_id=external_id or None,
                        attributes={
                            key: value
                            for key, value in (attributes or {}).items()
                            if value is not None
                        },
                        **cleaned,
                    )
            except IntegrityError as error:
                raise Conflict(
                    "a company with this domain already exists", field="domain"
                ) from error
            audit_record(
                actor=actor,
                action="company.created",
                subject_type="company",
                subject_id=company.pk,
                changes=cleaned,
            )
            return company, True
        _company_change(
            company, cleaned=cleaned, external_id=external_id, attributes=attributes, actor=actor
        )
        return company, False


def company_update(
    *,
    company: Company,
    actor: Actor,
    fields: Mapping[str, Any],
    attributes: Mapping[str, Any] | None = None,
) -> Company:
    """Change the given fields of this company; attributes are merged (None removes one)."""
    cleaned = company_clean(fields)
    with transaction.atomic():
        locked = Company.objects.select_for_update().get(pk=company.pk)
        _company_change(
            locked, cleaned=cleaned, external_id=None, attributes=attributes, actor=actor
        )
    return locked


def _company_change(
    company: Company,
    *,
    cleaned: Mapping[str, Any],
    external_id: str | None,
    attributes: Mapping[str, Any] | None,
    actor: Actor,
) -> None:
    """Save and audit what differs; the caller holds the row lock."""
    changes = {
        name: [getattr(company, name), value]
        for name, value in cleaned.items()
        if getattr(company, name) != value
    }
    if external_id and company.external_id != external_id:
        changes["external_id"] = [company.external_id, external_id]
    merged = {**company.attributes, **(attributes or {})}
    merged = {key: value for key, value in merged.items() if value is not None}
    if merged != company.attributes:
        changes["attributes"] = [company.attributes, merged]
    if not changes:
        return
    for name, (_, value) in changes.items():
        setattr(company, name, value)
    try:
        with transaction.atomic():
            company.save()
    except IntegrityError as error:
        raise Conflict(
            "another company already has this domain or external id", field="domain"
        ) from error
    audit_record(
        actor=actor,
        action="company.updated",
        subject_type="company",
        subject_id=company.pk,
        changes=changes,
    )


def company_contact_add(
    *, company: Company, customer: Customer, actor: Actor, title: str = ""
) -> bool:
    """Link a customer to a company; returns False if the link already existed."""
    title = validation.clean_text(title, field="title")
    with transaction.atomic():
        contact, created = CompanyContact.objects.get_or_create(
            company=company, customer=customer, defaults={"title": title}
        )
        if not created and title and contact.title != title:
            contact.title = title
            contact.save(update_fields=["title", "updated_at"])
        if created:
            audit_record(
                actor=actor,
                action="company.contact_added",
                subject_type="company",
                subject_id=company.pk,
                customer_id=customer.pk,
                changes={"title": title},
            )
    return created
