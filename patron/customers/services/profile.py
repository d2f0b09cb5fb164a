"""Creating and updating customer profiles: validated, identity-linked, audited."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from patron.accounts.services.audit import audit_record
from patron.core import clock
from patron.core.actors import Actor
from patron.core.errors import Conflict, ProblemList, ValidationFailed
from patron.customers import validation
from patron.customers.models import (
    AttributeDefinition,
    Customer,
    Identity,
    IdentityKind,
    LifecycleStage,
)

PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "locale",
    "timezone",
    "country",
    "city",
    "lifecycle_stage",
)


def profile_clean(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Validate every given profile field; all problems are reported together."""
    unknown = sorted(set(fields) - set(PROFILE_FIELDS))
    problems = ProblemList()
    for name in unknown:
        problems.add(name, "is not a profile field")
    cleaned: dict[str, Any] = {}
    country = fields.get("country")
    for name, value in fields.items():
        if name in unknown:
            continue
        try:
            cleaned[name] = _clean_field(name, value, country=country)
        except ValidationFailed as error:
            problems.add(error.field or name, error.message)
    problems.raise_if_any()
    return cleaned


def _clean_field(name: str, value: Any, *, country: Any) -> Any:
    if name in ("first_name", "last_name", "city"):
        return validation.clean_text(value, field=name)
    if name == "email":
        return None if value in (None, "") else validation.normalise_email(value)
    if name == "phone":
        region = country if isinstance(country, str) and len(country) == 2 else None
        return None if value in (None, "") else validation.normalise_phone(value, region=region)
    if name == "locale":
        return validation.clean_locale(value)
    if name == "timezone":
        return validation.clean_timezone(value)
    if name == "country":
        return validation.clean_country(value)
    if name == "lifecycle_stage":
        if value not in LifecycleStage.values:
            raise ValidationFailed(f"must be one of {', '.join(LifecycleStage.values)}", field=name)
        return value
    raise ValidationFailed("is not a profile field", field=name)


def attributes_clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate custom attribute values against their definitions; undefined keys are errors."""
    definitions = {
        definition.key: definition
        for definition in AttributeDefinition.objects.filter(key__in=list(values))
    }
    problems = ProblemList()
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        definition = definitions.get(key)
        field = f"attributes.{key}"
        if definition is None:
            problems.add(field, "no attribute with this key is defined")
            continue
        try:
            cleaned[key] = validation.clean_attribute(
                value, type_=definition.type, choices=list(definition.choices), field=field
            )
        except ValidationFailed as error:
            problems.add(field, error.message)
    problems.raise_if_any()
    return cleaned


def identity_claim(*, customer: Customer, kind: str, value: str, at: datetime) -> None:
    """Point (kind, value) at this customer; raise Conflict if it belongs to someone else."""
    existing = Identity.objects.filter(kind=kind, value=value).only("customer_id").first()
    if existing is None:
        try:
            with transaction.atomic():
                Identity.objects.create(customer=customer, kind=kind, value=value, last_seen_at=at)
        except IntegrityError:
            existing = Identity.objects.filter(kind=kind, value=value).only("customer_id").first()
            if existing is None:
                raise
    if existing is not None and existing.customer_id != customer.pk:
        raise Conflict(
            f"{kind} {value!r} already belongs to customer {existing.customer_id}", field=kind
        )


def _claim_contact_identities(customer: Customer, cleaned: Mapping[str, Any], at: datetime) -> None:
    if cleaned.get("email"):
        identity_claim(customer=customer, kind=IdentityKind.EMAIL, value=cleaned["email"], at=at)
    if cleaned.get("phone"):
        identity_claim(customer=customer, kind=IdentityKind.PHONE, value=cleaned["phone"], at=at)


def customer_create(
    *,
    actor: Actor,
    fields: Mapping[str, Any],
    attributes: Mapping[str, Any] | None = None,
    external_id: str | None = None,
    at: datetime | None = None,
) -> Customer:
    cleaned = profile_clean(fields)
    cleaned_attributes = attributes_clean(attributes or {})
    at = at or clock.now()
    with transaction.atomic():
        customer = Customer.objects.create(
            **cleaned, attributes=cleaned_attributes, first_seen_at=at, last_seen_at=at
        )
        _claim_contact_identities(customer, cleaned, at)
        if external_id:
            identity_claim(
                customer=customer, kind=IdentityKind.EXTERNAL_ID, value=external_id, at=at
            )
        audit_record(
            actor=actor,
            action="customer.created",
            subject_type="customer",
            subject_id=customer.pk,
            customer_id=customer.pk,
            changes={
                name: [None, value] for name, value in {**cleaned, **cleaned_attributes}.items()
            },
            at=at,
        )
    return customer


def customer_update(
    *,
    customer: Customer,
    actor: Actor,
    fields: Mapping[str, Any],
    attributes: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> Customer:
    """Change the given fields only; attributes are merged (None removes one)."""
    cleaned = profile_clean(fields)
    cleaned_attributes = attributes_clean(attributes or {})
    at = at or clock.now()
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        changes: dict[str, list[Any]] = {}
        for name, value in cleaned.items():
            before = getattr(locked, name)
            if before != value:
                changes[name] = [before, value]
                setattr(locked, name, value)
        merged = dict(locked.attributes)
        for key, value in cleaned_attributes.items():
            before = merged.get(key)
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
            if before != value:
                changes[f"attributes.{key}"] = [before, value]
        if not changes:
            return locked
        locked.attributes = merged
        _claim_contact_identities(locked, {name: pair[1] for name, pair in changes.items()}, at)
        locked.save()
        audit_record(
            actor=actor,
            action="customer.updated",
            subject_type="customer",
            subject_id=locked.pk,
            customer_id=locked.pk,
            changes=changes,
            at=at,
        )
    return locked
