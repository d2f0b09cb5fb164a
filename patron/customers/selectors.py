"""Reads of customers and what identifies and groups them."""

from __future__ import annotations

from django.db.models import QuerySet

from patron.core.errors import NotFound
from patron.customers.models import Company, Customer, Identity


def customer_get(customer_id: int) -> Customer:
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"no customer with id {customer_id}", field="id")
    return customer


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
