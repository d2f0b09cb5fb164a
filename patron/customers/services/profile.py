"""Creating and updating customer profiles: validated, identity-linked, audited."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from patron.accounts.services.audit import audit_record
from patron.core import clock
from patron.core.actors import Actor
from patron.core.errors import Conflict, NotFound, ProblemList, ValidationFailed
from patron.customers import validation
from patron.customers.models import (
    AttributeDefinition,
    Customer,
    Identity,
    IdentityKind,
    LifecycleStage,
)
from patron.customers.selectors import customer_find_by_identity
from patron.customers.services.tags import customer_tags_add, tag_names_clean

# LifecycleStage.values builds a new list on every call; profile_clean runs once per row.
_LIFECYCLE_STAGES = frozenset(LifecycleStage.values)
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
        if value not in _LIFECYCLE_STAGES:
            raise ValidationFailed(f"must be one of {', '.join(LifecycleStage.values)}", field=name)
        return value
    raise ValidationFailed("is not a profile field", field=name)


def attributes_clean(
    values: Mapping[str, Any], *, definitions: Mapping[str, AttributeDefinition] | None = None
) -> dict[str, Any]:
    """Validate custom attribute values against their definitions; undefined keys are errors.

    Bulk callers pass the definitions they loaded once (attribute_definitions) so that a
    million rows do not cost a million queries.
    """
    if definitions is None:
        definitions = attribute_definitions(values)
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


def attribute_definitions(keys: Iterable[str]) -> dict[str, AttributeDefinition]:
    return {
        definition.key: definition
        for definition in AttributeDefinition.objects.filter(key__in=list(keys))
    }


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
    tags: Sequence[str] = (),
    at: datetime | None = None,
) -> Customer:
    cleaned = profile_clean(fields)
    cleaned_attributes = attributes_clean(attributes or {})
    tag_names = tag_names_clean(tags)
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
        if tag_names:
            customer_tags_add(customer=customer, names=tag_names, actor=actor, at=at)
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


MAXIMUM_IDENTIFIER_LENGTH = 255  # user ids, anonymous ids and external ids, as events carry them


def identity_value_clean(*, kind: str, value: Any, region: str | None = None) -> str:
    """The stored form of an identity value: emails and phones normalised, ids trimmed."""
    if kind not in IdentityKind.values:
        raise ValidationFailed(f"must be one of {', '.join(IdentityKind.values)}", field="kind")
    if kind == IdentityKind.EMAIL:
        return validation.normalise_email(value, field="value")
    if kind == IdentityKind.PHONE:
        return validation.normalise_phone(value, region=region or None, field="value")
    text = validation.clean_text(value, field="value", maximum=MAXIMUM_IDENTIFIER_LENGTH)
    if not text:
        raise ValidationFailed("must not be empty", field="value")
    return text


def identity_add(
    *, customer: Customer, kind: str, value: Any, actor: Actor, at: datetime | None = None
) -> tuple[Identity, bool]:
    """Point (kind, value) at the customer; returns (identity, created).

    Adding an identity the customer already has changes nothing; one that belongs to someone
    else is a Conflict (merging two people is a deliberate act, never a side effect).
    """
    clean_value = identity_value_clean(kind=kind, value=value, region=customer.country)
    at = at or clock.now()
    with transaction.atomic():
        existing = Identity.objects.filter(kind=kind, value=clean_value).first()
        if existing is not None and existing.customer_id == customer.pk:
            return existing, False
        identity_claim(customer=customer, kind=kind, value=clean_value, at=at)
        identity = Identity.objects.get(kind=kind, value=clean_value)
        audit_record(
            actor=actor,
            action="customer.identity_added",
            subject_type="customer",
            subject_id=customer.pk,
            customer_id=customer.pk,
            changes={kind: [None, clean_value]},
            at=at,
        )
    return identity, True


def identity_remove(*, customer: Customer, identity_id: int, actor: Actor) -> None:
    """Detach one identity from the customer.

    Refused (Conflict) for the customer's last identity, which events and imports need to
    find them, and for the email or phone the profile still shows, which would otherwise be
    claimed again by the next profile update.
    """
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        identity = Identity.objects.filter(pk=identity_id, customer=locked).first()
        if identity is None:
            raise NotFound(
                f"customer {customer.pk} has no identity with id {identity_id}", field="identity_id"
            )
        profile_value = {IdentityKind.EMAIL: locked.email, IdentityKind.PHONE: locked.phone}.get(
            IdentityKind(identity.kind)
        )
        if profile_value is not None and profile_value == identity.value:
            raise Conflict(
                f"{identity.value!r} is the profile's {identity.kind}; "
                f"change or clear the profile's {identity.kind} first",
                field="identity_id",
            )
        if not Identity.objects.filter(customer=locked).exclude(pk=identity.pk).exists():
            raise Conflict(
                "a customer keeps at least one identity so events and imports can find them",
                field="identity_id",
            )
        identity.delete()
        audit_record(
            actor=actor,
            action="customer.identity_removed",
            subject_type="customer",
            subject_id=locked.pk,
            customer_id=locked.pk,
            changes={identity.kind: [identity.value, None]},
        )


def customer_for_email(*, email: Any, actor: Actor) -> tuple[Customer, bool]:
    """The customer this email identifies, created if nobody has it; returns (customer, created)."""
    clean_email = validation.normalise_email(email)
    existing = customer_find_by_identity(kind=IdentityKind.EMAIL, value=clean_email)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return customer_create(actor=actor, fields={"email": clean_email}), True
    except Conflict:
        # Another request created this person between the lookup and the insert.
        found = customer_find_by_identity(kind=IdentityKind.EMAIL, value=clean_email)
        if found is None:
            raise
        return found, False
