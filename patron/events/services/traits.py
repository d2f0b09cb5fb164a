"""What identify and group messages say, in Segment's words, applied to customers and companies.

Segment's reserved traits are read in camelCase or snake_case; other traits become custom
attributes. Every value that cannot be applied is a Problem naming the sender's field, and
the rest is applied regardless.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction

from patron.core.actors import Actor
from patron.core.errors import Conflict, FieldProblem, ValidationFailed
from patron.customers import validation
from patron.customers.models import Customer
from patron.customers.services.companies import (
    company_clean,
    company_contact_add,
    company_upsert,
)
from patron.customers.services.identities import (
    TraitValues,
    attribute_key_from_name,
    customer_traits_apply,
)

# Patron's profile field -> the trait names that may carry it, first found wins.
_PROFILE_TRAITS: dict[str, tuple[str, ...]] = {
    "first_name": ("firstName", "first_name"),
    "last_name": ("lastName", "last_name"),
    "email": ("email",),
    "phone": ("phone",),
    "timezone": ("timezone", "time_zone"),
    "locale": ("locale",),
    "country": ("address.country", "country"),
    "city": ("address.city", "city"),
}
_ADDRESS_ATTRIBUTES = {
    "street": "address_street",
    "postalCode": "address_postal_code",
    "postal_code": "address_postal_code",
    "state": "address_state",
}
# Reserved traits that are neither profile fields nor attributes: `id` repeats userId and
# `company` is what group calls are for.
_IGNORED_TRAITS = {"id", "company", "address", "name", "birthday", "createdAt", "created_at"}
_HANDLED_TRAITS = {name.split(".")[0] for names in _PROFILE_TRAITS.values() for name in names}

# Company field -> the group traits that may carry it.
_COMPANY_TRAITS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "domain": ("domain",),
    "industry": ("industry",),
    "employee_count": ("employees", "employee_count"),
    "plan": ("plan",),
    "website": ("website",),
}


def _lookup(traits: Mapping[str, Any], path: str) -> Any:
    value: Any = traits
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _first(traits: Mapping[str, Any], names: tuple[str, ...]) -> tuple[str, Any] | None:
    for name in names:
        value = _lookup(traits, name)
        if value not in (None, ""):
            return name, value
    return None


def identify_email(traits: Mapping[str, Any]) -> str:
    """The normalised email an identify carries, or "" if none or invalid (warned later)."""
    value = traits.get("email")
    if not isinstance(value, str) or not value:
        return ""
    try:
        return validation.normalise_email(value)
    except ValidationFailed:
        return ""


def trait_values(traits: Mapping[str, Any], context: Mapping[str, Any]) -> TraitValues:
    """Sort an identify's traits into profile fields, attributes and milestones."""
    fields: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for field_name, names in _PROFILE_TRAITS.items():
        found = _first(traits, names)
        if found is not None:
            fields[field_name] = found[1]
            origins[field_name] = f"traits.{found[0]}"
    full_name = traits.get("name")
    if isinstance(full_name, str) and full_name.strip() and "first_name" not in fields:
        first, _, rest = full_name.strip().partition(" ")
        fields["first_name"] = first
        origins["first_name"] = "traits.name"
        if rest.strip() and "last_name" not in fields:
            fields["last_name"] = rest.strip()
            origins["last_name"] = "traits.name"
    for field_name in ("locale", "timezone"):
        value = context.get(field_name)
        if field_name not in fields and value not in (None, ""):
            fields[field_name] = value
            origins[field_name] = f"context.{field_name}"
    attributes: dict[str, Any] = {}
    address = traits.get("address")
    if isinstance(address, Mapping):
        for name, key in _ADDRESS_ATTRIBUTES.items():
            if address.get(name) not in (None, ""):
                attributes[key] = address[name]
                origins[f"attributes.{key}"] = f"traits.address.{name}"
    for name, value in traits.items():
        if name in _IGNORED_TRAITS or name in _HANDLED_TRAITS:
            continue
        key = attribute_key_from_name(name)
        attributes[key] = value
        origins[f"attributes.{key}"] = f"traits.{name}"
    birthday = traits.get("birthday")
    origins["birthday"] = "traits.birthday"
    created = _first(traits, ("createdAt", "created_at"))
    if created is not None:
        origins["created_at"] = f"traits.{created[0]}"
    return TraitValues(
        fields=fields,
        attributes=attributes,
        birthday=birthday,
        account_created_at=created[1] if created else None,
        origins=origins,
    )


def identify_apply(
    *,
    customer_id: int,
    traits: Mapping[str, Any],
    context: Mapping[str, Any],
    actor: Actor,
    at: datetime,
) -> list[FieldProblem]:
    return customer_traits_apply(
        customer_id=customer_id, traits=trait_values(traits, context), actor=actor, at=at
    )


def group_apply(
    *,
    customer_id: int,
    group_id: str,
    traits: Mapping[str, Any],
    actor: Actor,
    at: datetime,
) -> list[FieldProblem]:
    """Create or update the company known by groupId and make the customer its contact."""
    problems: list[FieldProblem] = []
    fields: dict[str, Any] = {}
    used: set[str] = set()
    for field_name, names in _COMPANY_TRAITS.items():
        found = _first(traits, names)
        if found is None:
            continue
        used.add(found[0])
        try:
            fields.update(company_clean({field_name: found[1]}))
        except ValidationFailed as error:
            problems.append(
                FieldProblem(f"traits.{found[0]}", error.message.removeprefix(f"{field_name}: "))
            )
    attributes = {
        name: value
        for name, value in traits.items()
        if name not in used and name not in {"employees", "employee_count"}
    }
    with transaction.atomic():
        try:
            company = _company_upsert(actor, fields, group_id, attributes)
        except Conflict as error:
            # The domain belongs to another company: keep this one apart, without it.
            problems.append(FieldProblem("traits.domain", error.message))
            fields.pop("domain", None)
            company = _company_upsert(actor, fields, group_id, attributes)
        customer = Customer.objects.get(pk=customer_id)
        company_contact_add(company=company, customer=customer, actor=actor)
    return problems


def _company_upsert(
    actor: Actor, fields: dict[str, Any], group_id: str, attributes: dict[str, Any]
) -> Any:
    try:
        with transaction.atomic():
            company, _ = company_upsert(
                actor=actor, fields=fields, external_id=group_id, attributes=attributes
            )
    except ValidationFailed as error:
        if error.field != "name" or "name" in fields:
            raise
        # A group call often carries no name; the groupId names a new company until one comes.
        with transaction.atomic():
            company, _ = company_upsert(
                actor=actor,
                fields={**fields, "name": group_id},
                external_id=group_id,
                attributes=attributes,
            )
    return company
