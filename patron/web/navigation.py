"""The workspace's menu: each entry names its page and the permission that shows it."""

from __future__ import annotations

from dataclasses import dataclass

from patron.accounts.permissions import Permission


@dataclass(frozen=True)
class NavigationEntry:
    label: str
    url_name: str
    permission: Permission


@dataclass(frozen=True)
class NavigationSection:
    title: str
    entries: tuple[NavigationEntry, ...]


NAVIGATION = (
    NavigationSection(
        "Know",
        (
            NavigationEntry("Dashboard", "web:dashboard", Permission.DASHBOARD_VIEW),
            NavigationEntry("Customers", "web:customer_list", Permission.CUSTOMERS_VIEW),
            NavigationEntry("Companies", "web:company_list", Permission.COMPANIES_VIEW),
            NavigationEntry("Duplicates", "web:duplicate_list", Permission.CUSTOMERS_MERGE),
            NavigationEntry("Insights", "web:insights", Permission.INSIGHTS_VIEW),
        ),
    ),
    NavigationSection(
        "Commerce",
        (
            NavigationEntry("Orders", "web:order_list", Permission.ORDERS_VIEW),
            NavigationEntry("Products", "web:product_list", Permission.CATALOG_VIEW),
        ),
    ),
    NavigationSection(
        "Data",
        (
            NavigationEntry("Sources", "web:source_list", Permission.DATA_VIEW),
            NavigationEntry("Live events", "web:event_debugger", Permission.DATA_VIEW),
            NavigationEntry("Import", "web:import_list", Permission.DATA_IMPORT),
        ),
    ),
    NavigationSection(
        "Settings",
        (
            NavigationEntry("Staff", "web:user_list", Permission.USERS_MANAGE),
            NavigationEntry("API keys", "web:api_key_list", Permission.API_KEYS_MANAGE),
            NavigationEntry("Audit log", "web:audit_log", Permission.AUDIT_VIEW),
        ),
    ),
)
