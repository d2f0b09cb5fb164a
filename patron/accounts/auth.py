"""Authentication of REST API keys and staff sessions, with a scope check on every request."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from patron.accounts.models import Scope
from patron.accounts.permissions import role_scopes
from patron.accounts.services.audit import audit_record
from patron.accounts.services.keys import actor_for_api_key, actor_for_user, api_key_authenticate
from patron.core.actors import Actor
from patron.core.errors import PermissionDenied

READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer <API key>`; reads need the `read` scope, every other method `write`.

    One instance guards one resource family (customers, products, orders …). The key becomes
    the request's actor, so handlers pass `request.auth` straight to the services. Source write
    keys live in another table and never authenticate here: they can only send events.
    """

    def __init__(self, *, read: Scope, write: Scope | None = None) -> None:
        super().__init__()
        self.read = read
        self.write = write

    def scope_for(self, method: str) -> Scope | None:
        return self.read if method.upper() in READING_METHODS else self.write

    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        key = api_key_authenticate(token.strip())
        if key is None:
            return None
        scope = self.scope_for(request.method or "GET")
        if scope is None:
            raise PermissionDenied("no API key may change this resource")
        if scope not in key.scopes:
            raise PermissionDenied(f"this key lacks the scope {scope}")
        return actor_for_api_key(key)


class StaffSessionAuth(SessionAuth):
    """A signed-in staff member calling /api from the workspace: their role decides the scopes.

    The scope rule is ApiKeyAuth's, so a page and the endpoint behind it allow the same people.
    Writes need the CSRF token, as every form in the workspace does.
    """

    def __init__(self, scopes: ApiKeyAuth) -> None:
        super().__init__(csrf=True)
        self.scopes = scopes

    def __call__(self, request: HttpRequest) -> Any:
        # Without a signed-in user this scheme does not apply: the caller gets the API key's
        # 401, not a CSRF complaint about a session they never had.
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        user = request.user
        scope = self.scopes.scope_for(request.method or "GET")
        if scope is None:
            self._refuse(request, "none")
            raise PermissionDenied("no one may change this resource through the API")
        if scope not in role_scopes(getattr(user, "role", "")):
            self._refuse(request, str(scope))
            raise PermissionDenied(f"your role does not include {scope}")
        return actor_for_user(user)  # type: ignore[arg-type]

    @staticmethod
    def _refuse(request: HttpRequest, scope: str) -> None:
        # The same audit a refused page leaves, so the audit log shows every denial in one place.
        audit_record(
            actor=actor_for_user(request.user),  # type: ignore[arg-type]
            action="permission.denied",
            subject_type="api",
            subject_id=request.path[:64],
            changes={"scope": scope, "method": request.method},
        )
