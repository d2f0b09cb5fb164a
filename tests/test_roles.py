"""Every workspace page checks a role, and each role gets exactly the pages docs/roles.md lists."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from patron.accounts.models import AuditEntry, Role
from patron.accounts.permissions import ROLE_PERMISSIONS, roles_markdown

# The only pages anyone may open: signing in and out, and getting back in without a password.
PUBLIC_PAGES = frozenset(
    {
        "login",
        "logout",
        "password_reset",
        "password_reset_done",
        "password_reset_confirm",
        "password_reset_complete",
    }
)


def _patterns(
    patterns: list[URLPattern | URLResolver], prefix: str = ""
) -> list[tuple[str, URLPattern]]:
    found = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found += _patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            found.append((prefix + str(pattern.pattern), pattern))
    return found


def workspace_pages() -> list[tuple[str, URLPattern]]:
    """(route, pattern) of every page in the `web` namespace."""
    _prefix, resolver = get_resolver().namespace_dict["web"]
    return _patterns(resolver.url_patterns)


def _route_url(route: str) -> str:
    return "/" + route.lstrip("^").rstrip("$")


def test_every_workspace_page_names_the_permission_it_requires():
    unguarded = [
        route
        for route, pattern in workspace_pages()
        if pattern.name not in PUBLIC_PAGES
        and getattr(pattern.callback, "required_permission", None) is None
    ]

    assert unguarded == [], "decorate these views with @requires(Permission.X)"


def test_public_pages_are_the_only_unguarded_ones_and_still_exist():
    names = {pattern.name for _, pattern in workspace_pages()}

    assert names >= PUBLIC_PAGES


_PAGES_WITHOUT_ARGUMENTS = [
    (route, pattern)
    for route, pattern in workspace_pages()
    if pattern.name not in PUBLIC_PAGES
    and not pattern.pattern.regex.groups
    and getattr(pattern.callback, "required_permission", None) is not None
]


def _assert_post_roles(client, make_staff, url: str, allowed: set[str]) -> None:
    """The role matrix of a form endpoint that only takes POST: with no data an allowed role
    may get a form error, but never a refusal."""
    client.logout()
    anonymous = client.post(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/"), url
    for role in Role.values:
        client.force_login(make_staff(role, username=f"{role}-post"))
        denials_before = AuditEntry.objects.filter(action="permission.denied").count()
        status = client.post(url).status_code
        denials = AuditEntry.objects.filter(action="permission.denied").count() - denials_before
        if role in allowed:
            assert status < 500 and status != 403 and denials == 0, (url, role, status)
        else:
            assert status == 403 and denials == 1, (url, role, status, denials)
        client.logout()


@pytest.mark.parametrize(
    ("route", "pattern"),
    _PAGES_WITHOUT_ARGUMENTS,
    ids=[pattern.name for _, pattern in _PAGES_WITHOUT_ARGUMENTS],
)
def test_each_role_gets_exactly_the_pages_its_permissions_allow(
    client, make_staff, assert_page_roles, route, pattern
):
    permission = pattern.callback.required_permission
    allowed = {role.value for role in Role if permission in ROLE_PERMISSIONS[role]}
    url = _route_url(route)
    client.force_login(make_staff("admin", username="probe-admin"))
    is_post_only = client.get(url).status_code == 405
    client.logout()

    if is_post_only:
        _assert_post_roles(client, make_staff, url, allowed)
    else:
        assert_page_roles(url, allowed=allowed)


def test_docs_roles_md_is_the_matrix_the_code_enforces():
    committed = (Path(__file__).resolve().parent.parent / "docs" / "roles.md").read_text()

    assert committed == roles_markdown(), (
        "docs/roles.md is stale; regenerate it with the command at its top"
    )


def _api_operations() -> list[tuple[str, str, str]]:
    """(method, concrete path, scope) of every REST operation, ids filled with 1."""
    import json
    import re

    from patron.config.api import openapi_document

    found = []
    for path, operations in json.loads(openapi_document())["paths"].items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            [scope] = operation["security"][0]["ApiKeyAuth"]
            found.append((method, re.sub(r"\{[^}]+\}", "1", path), scope))
    return found


@pytest.mark.django_db
def test_every_api_operation_checks_the_signed_in_role(client, make_staff):
    """Anonymous → 401; a role whose permissions lack the scope → 403 and nothing runs; a role
    with it gets past authentication (200, 201, 400 or 404 for the made-up id and empty body)."""
    from patron.accounts.permissions import role_scopes

    operations = _api_operations()
    assert len(operations) > 20
    for method, path, _scope in operations:
        answer = getattr(client, method)(path, data={}, content_type="application/json")
        assert answer.status_code == 401, (method, path, answer.status_code)
    for role in Role.values:
        client.force_login(make_staff(role))
        allowed = role_scopes(role)
        for method, path, scope in operations:
            answer = getattr(client, method)(path, data={}, content_type="application/json")
            if scope in allowed:
                assert answer.status_code not in (401, 403), (role, method, path)
            else:
                assert answer.status_code == 403, (role, method, path, answer.status_code)
                assert answer.json()["code"] == "forbidden"
        client.logout()
