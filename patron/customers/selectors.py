"""Reads of customers and what identifies and groups them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Lower

from patron.core.errors import NotFound, ValidationFailed
from patron.customers import validation
from patron.customers.models import (
    AttributeDefinition,
    Company,
    CompanyContact,
    Customer,
    CustomerTag,
    Identity,
    IdentityKind,
    LifecycleStage,
    Note,
)


def customer_get(customer_id: int) -> Customer:
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"no customer with id {customer_id}", field="id")
    return customer


def customer_find(customer_id: int) -> Customer | None:
    return Customer.objects.filter(pk=customer_id).first()


def customer_find_by_identity(*, kind: str, value: str) -> Customer | None:
    identity = Identity.objects.select_related("customer").filter(kind=kind, value=value).first()
    return identity.customer if identity else None


def identity_list(*, customer_id: int) -> QuerySet[Identity]:
    return Identity.objects.filter(customer_id=customer_id).order_by("kind", "value")


def customer_count() -> int:
    return Customer.objects.count()


def identity_count() -> int:
    return Identity.objects.count()


def company_count() -> int:
    return Company.objects.count()


_PHONE_PREFIX = re.compile(r"^\+?[0-9]+$")
_PHONE_PUNCTUATION = re.compile(r"[\s().-]")


@dataclass(frozen=True)
class CustomerFilters:
    """What a customer list is narrowed by; text as typed, checked by customer_list."""

    q: str | None = None
    email: str | None = None
    lifecycle_stage: str | None = None
    country: str | None = None
    tag: str | None = None
    company_id: int | None = None
    updated_since: str | None = None


def customers_for_display() -> QuerySet[Customer]:
    """Customers with their tags and external ids loaded in two queries per page, not per row."""
    return Customer.objects.prefetch_related(
        Prefetch("tags", to_attr="tag_list"),
        Prefetch(
            "identities",
            queryset=Identity.objects.filter(kind=IdentityKind.EXTERNAL_ID).order_by("pk"),
            to_attr="external_identities",
        ),
    )


def customer_get_for_display(customer_id: int) -> Customer:
    customer = customers_for_display().filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"no customer with id {customer_id}", field="id")
    return customer


def customer_list(*, filters: CustomerFilters) -> QuerySet[Customer]:
    """Customers matching every given filter; `q` is a case-insensitive prefix search."""
    queryset = customers_for_display()
    if filters.q and filters.q.strip():
        queryset = queryset.annotate(
            lower_first_name=Lower("first_name"), lower_last_name=Lower("last_name")
        ).filter(_customer_search(filters.q.strip()))
    if filters.email is not None:
        queryset = queryset.filter(email=validation.normalise_email(filters.email))
    if filters.lifecycle_stage is not None:
        if filters.lifecycle_stage not in LifecycleStage.values:
            raise ValidationFailed(
                f"must be one of {', '.join(LifecycleStage.values)}", field="lifecycle_stage"
            )
        queryset = queryset.filter(lifecycle_stage=filters.lifecycle_stage)
    if filters.country is not None:
        queryset = queryset.filter(country=validation.clean_country(filters.country))
    if filters.tag is not None:
        tagged = CustomerTag.objects.annotate(lowered=Lower("tag__name")).filter(
            customer=OuterRef("pk"), lowered=filters.tag.strip().lower()
        )
        queryset = queryset.filter(Exists(tagged))
    if filters.company_id is not None:
        queryset = queryset.filter(
            Exists(
                CompanyContact.objects.filter(customer=OuterRef("pk"), company=filters.company_id)
            )
        )
    if filters.updated_since is not None:
        since = validation.clean_datetime(filters.updated_since, field="updated_since")
        queryset = queryset.filter(updated_at__gte=since)
    return queryset


def _customer_search(text: str) -> Q:
    """Prefix matches on indexed columns: names (lower-cased), email, phone, external id.

    The caller annotates lower_first_name and lower_last_name, the expressions the name index
    is built on.
    """
    lowered = text.lower()
    condition = (
        Q(lower_last_name__startswith=lowered)
        | Q(lower_first_name__startswith=lowered)
        | Q(email__startswith=lowered)
        | Q(
            pk__in=Identity.objects.filter(
                kind=IdentityKind.EXTERNAL_ID, value__istartswith=text
            ).values("customer_id")
        )
    )
    words = lowered.split()
    if len(words) == 2:
        condition |= Q(lower_first_name__startswith=words[0], lower_last_name__startswith=words[1])
    digits = _PHONE_PUNCTUATION.sub("", text)
    if _PHONE_PREFIX.match(digits):
        condition |= Q(phone__startswith="+" + digits.removeprefix("+"))
    return condition


def identity_get(*, customer_id: int, identity_id: int) -> Identity:
    identity = Identity.objects.filter(pk=identity_id, customer_id=customer_id).first()
    if identity is None:
        raise NotFound(
            f"customer {customer_id} has no identity with id {identity_id}", field="identity_id"
        )
    return identity


def company_get(company_id: int) -> Company:
    company = Company.objects.filter(pk=company_id).first()
    if company is None:
        raise NotFound(f"no company with id {company_id}", field="id")
    return company


def company_list(*, q: str | None = None) -> QuerySet[Company]:
    """Companies, narrowed by a case-insensitive prefix of their name."""
    queryset = Company.objects.all()
    if q and q.strip():
        queryset = queryset.annotate(lower_name=Lower("name")).filter(
            lower_name__startswith=q.strip().lower()
        )
    return queryset


def company_contact_list(*, company_id: int) -> QuerySet[CompanyContact]:
    return CompanyContact.objects.filter(company_id=company_id).select_related("customer")


def company_contact_get(*, company_id: int, customer_id: int) -> CompanyContact:
    contact = (
        CompanyContact.objects.select_related("customer")
        .filter(company_id=company_id, customer_id=customer_id)
        .first()
    )
    if contact is None:
        raise NotFound(
            f"customer {customer_id} is not a contact of company {company_id}", field="customer_id"
        )
    return contact


def note_list(*, customer_id: int) -> QuerySet[Note]:
    return Note.objects.filter(customer_id=customer_id)


def attribute_definition_list() -> QuerySet[AttributeDefinition]:
    return AttributeDefinition.objects.all()
