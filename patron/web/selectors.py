"""Reads that span apps for the workspace shell and operators: installation-wide counts."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from patron.catalog import selectors as catalog_selectors
from patron.customers import selectors as customer_selectors
from patron.events import selectors as event_selectors
from patron.orders import selectors as order_selectors


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
