"""What each staff role may do: the one permission matrix pages and API endpoints both check.

docs/roles.md is written from ROLE_PERMISSIONS (a test keeps them equal), so the matrix people
read is the matrix the code enforces.
"""

from __future__ import annotations

from django.db import models

from patron.accounts.models import Role, Scope


class Permission(models.TextChoices):
    DASHBOARD_VIEW = "dashboard.view", "See the dashboard"
    CUSTOMERS_VIEW = "customers.view", "See customers, their 360 page and timeline"
    CUSTOMERS_EDIT = "customers.edit", "Edit profiles, identities, tags and milestones"
    CUSTOMERS_EXPORT = "customers.export", "Export customer lists as CSV"
    CUSTOMERS_MERGE = "customers.merge", "Merge duplicate customers"
    CUSTOMERS_MERGE_FORCE = (
        "customers.merge_force",
        "Merge customers with different known user ids",
    )
    NOTES_WRITE = "notes.write", "Add and edit notes"
    COMPANIES_VIEW = "companies.view", "See companies and their contacts"
    COMPANIES_EDIT = "companies.edit", "Edit companies and their contacts"
    CATALOG_VIEW = "catalog.view", "See products"
    CATALOG_EDIT = "catalog.edit", "Edit products"
    ORDERS_VIEW = "orders.view", "See orders and carts"
    ORDERS_EDIT = "orders.edit", "Create, refund and cancel orders"
    DATA_VIEW = "data.view", "See sources, the live event debugger and ingestion warnings"
    DATA_IMPORT = "data.import", "Import CSV files"
    SOURCES_MANAGE = "sources.manage", "Create and revoke source write keys"
    API_KEYS_MANAGE = "api_keys.manage", "Create and revoke API keys"
    USERS_MANAGE = "users.manage", "Invite staff, change roles, deactivate"
    AUDIT_VIEW = "audit.view", "Read the audit log"
    INSIGHTS_VIEW = "insights.view", "See predictions, scores and the Insights page"
    INSIGHTS_MANAGE = (
        "insights.manage",
        "Refresh insights, run holdout checks and change insight settings",
    )


_EVERYONE = frozenset(
    {
        Permission.DASHBOARD_VIEW,
        Permission.CUSTOMERS_VIEW,
        Permission.COMPANIES_VIEW,
        Permission.CATALOG_VIEW,
        Permission.ORDERS_VIEW,
        Permission.INSIGHTS_VIEW,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    # Marketers own the data that feeds campaigns: they import it, clean it and export lists.
    Role.MARKETER: _EVERYONE
    | {
        Permission.CUSTOMERS_EDIT,
        Permission.CUSTOMERS_EXPORT,
        Permission.CUSTOMERS_MERGE,
        Permission.NOTES_WRITE,
        Permission.DATA_VIEW,
        Permission.DATA_IMPORT,
        Permission.INSIGHTS_MANAGE,
    },
    # Sales work accounts: companies, contacts, notes; no bulk export of the customer base.
    Role.SALES: _EVERYONE
    | {
        Permission.CUSTOMERS_EDIT,
        Permission.NOTES_WRITE,
        Permission.COMPANIES_EDIT,
    },
    # Support reads the whole history, fixes profiles and merges the duplicates they meet.
    Role.SUPPORT: _EVERYONE
    | {
        Permission.CUSTOMERS_EDIT,
        Permission.CUSTOMERS_MERGE,
        Permission.NOTES_WRITE,
    },
    Role.VIEWER: _EVERYONE,
}

# The API scope a staff member's session carries for each permission, so that a signed-in
# user calling /api gets exactly what the pages allow them.
_SCOPES_BY_PERMISSION: dict[Permission, tuple[Scope, ...]] = {
    Permission.CUSTOMERS_VIEW: (Scope.CUSTOMERS_READ,),
    Permission.CUSTOMERS_EDIT: (Scope.CUSTOMERS_WRITE,),
    Permission.CATALOG_VIEW: (Scope.CATALOG_READ,),
    Permission.CATALOG_EDIT: (Scope.CATALOG_WRITE,),
    Permission.ORDERS_VIEW: (Scope.ORDERS_READ,),
    Permission.ORDERS_EDIT: (Scope.ORDERS_WRITE,),
    Permission.DATA_VIEW: (Scope.EVENTS_READ,),
    Permission.INSIGHTS_VIEW: (Scope.INSIGHTS_READ,),
    Permission.INSIGHTS_MANAGE: (Scope.INSIGHTS_WRITE,),
}


def role_permissions(role: str) -> frozenset[Permission]:
    """An unknown role (a row edited by hand) may do nothing."""
    try:
        return ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return frozenset()


def role_allows(role: str, permission: Permission) -> bool:
    return permission in role_permissions(role)


def role_scopes(role: str) -> frozenset[Scope]:
    return frozenset(
        scope
        for permission in role_permissions(role)
        for scope in _SCOPES_BY_PERMISSION.get(permission, ())
    )


def roles_markdown() -> str:
    """docs/roles.md: the matrix above as people read it (tests/test_roles.py keeps them equal)."""
    roles = list(Role)
    lines = [
        "# Roles and permissions",
        "",
        "Each staff user has one role. A page or an API call the role does not allow answers",
        "403 and leaves a `permission.denied` entry in the audit log.",
        "",
        "This page is generated from `ROLE_PERMISSIONS` in `patron/accounts/permissions.py`;",
        "a test fails when they differ. After changing the matrix, regenerate it with:",
        "",
        "```",
        ".venv/bin/python manage.py shell --no-imports -c "
        '"from patron.accounts.permissions import roles_markdown; '
        "print(roles_markdown(), end='')\" > docs/roles.md",
        "```",
        "",
        "## What each role may do",
        "",
        "| permission | " + " | ".join(role.label for role in roles) + " |",
        "| --- | " + " | ".join(":---:" for _ in roles) + " |",
    ]
    for permission in Permission:
        marks = " | ".join("✓" if permission in ROLE_PERMISSIONS[role] else "" for role in roles)
        lines.append(f"| {permission.label} (`{permission.value}`) | {marks} |")
    lines += [
        "",
        "## API scopes of a signed-in session",
        "",
        "A staff member calling `/api` from the workspace (session cookie and CSRF token, no API",
        "key) carries the scopes their role's permissions grant; an API key carries the scopes",
        "chosen when it was created.",
        "",
        "| role | scopes |",
        "| --- | --- |",
    ]
    for role in roles:
        scopes = sorted(role_scopes(role))
        listed = ", ".join(f"`{scope}`" for scope in scopes) if scopes else "none"
        lines.append(f"| {role.label} | {listed} |")
    return "\n".join(lines) + "\n"
