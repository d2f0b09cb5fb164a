"""Fixtures every app's tests share: actors, sources with write keys, API keys."""

from __future__ import annotations

import pytest

from patron.accounts.services.keys import CreatedSecret, api_key_create, source_create
from patron.core.actors import Actor


@pytest.fixture
def system_actor() -> Actor:
    return Actor.system("tests")


@pytest.fixture
def web_source(db: None, system_actor: Actor) -> CreatedSecret:
    """A source named 'Web shop' with its plaintext write key."""
    return source_create(name="Web shop", actor=system_actor)


@pytest.fixture
def make_api_key(db: None, system_actor: Actor):
    def make(*scopes: str, name: str = "test key") -> CreatedSecret:
        return api_key_create(name=name, scopes=list(scopes), actor=system_actor)

    return make


@pytest.fixture
def make_staff(db: None):
    """make_staff("support") → a staff user with that role (username "<role>-user" by default)."""
    from patron.accounts.models import User

    def make(role: str, *, username: str | None = None, is_active: bool = True) -> User:
        name = username or f"{role}-user"
        return User.objects.create_user(
            username=name,
            email=f"{name}@example.com",
            password=STAFF_PASSWORD,
            role=role,
            is_active=is_active,
        )

    return make


# Long and unusual enough for the password validators, for tests that sign in through the form.
STAFF_PASSWORD = "correct-horse-battery-staple-42"  # noqa: S105 - a test fixture


@pytest.fixture
def signed_in(client, make_staff):
    """signed_in("viewer") → the test client, signed in as a new user with that role."""

    def sign_in(role: str):
        client.force_login(make_staff(role))
        return client

    return sign_in


@pytest.fixture
def assert_page_roles(client, make_staff):
    """The role matrix of one page: anonymous → sign-in, each role → 200 if allowed else 403.

    assert_page_roles("/customers/", allowed={"admin", "marketer"}) ; method "post" with data
    checks a form endpoint (allowed roles then answer 200 or a redirect, never 403).
    """
    from patron.accounts.models import AuditEntry, Role

    def check(url: str, *, allowed: set[str], method: str = "get", data: dict | None = None):
        send = getattr(client, method)
        client.logout()
        anonymous = send(url, data or {})
        assert anonymous.status_code == 302, (url, "anonymous", anonymous.status_code)
        assert anonymous["Location"].startswith("/login/"), anonymous["Location"]
        for role in Role.values:
            user = make_staff(role, username=f"{role}-{abs(hash(url)) % 10**8}-{method}")
            client.force_login(user)
            denials_before = AuditEntry.objects.filter(action="permission.denied").count()
            response = send(url, data or {})
            if role in allowed:
                assert response.status_code in (200, 302), (url, role, response.status_code)
            else:
                assert response.status_code == 403, (url, role, response.status_code)
                denials = AuditEntry.objects.filter(action="permission.denied").count()
                assert denials == denials_before + 1, (url, role, "denial not audited")
            client.logout()

    return check
