"""Reads that span apps for the workspace shell and operators: installation-wide counts."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from patron.accounts.models import User
from patron.catalog import selectors as catalog_selectors
from patron.customers import selectors as customer_selectors
from patron.events import selectors as event_selectors
from patron.orders import selectors as order_selectors
from patron.web.models import SavedView


@dataclass(frozen=True)
class InstallationStats:
    customers: int
    identities: int
    companies: int
    events: int
    orders: int
    order_lines: int
    products: int
    ingestion_warnings: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def installation_stats() -> InstallationStats:
    return InstallationStats(
        customers=customer_selectors.customer_count(),
        identities=customer_selectors.identity_count(),
        companies=customer_selectors.company_count(),
        events=event_selectors.event_count(),
        orders=order_selectors.order_count(),
        order_lines=order_selectors.order_line_count(),
        products=catalog_selectors.product_count(),
        ingestion_warnings=event_selectors.ingestion_warning_count(),
    )


def saved_view_list(*, owner: User, list_name: str) -> QuerySet[SavedView]:
    """The owner's own views of a list and those teammates shared, by name."""
    return (
        SavedView.objects.filter(list_name=list_name)
        .filter(Q(owner=owner) | Q(is_shared=True))
        .select_related("owner")
        .order_by(Lower("name"), "pk")
    )
