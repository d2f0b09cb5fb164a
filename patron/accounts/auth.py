"""Bearer authentication of REST API keys with a scope check on every request."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from patron.accounts.models import Scope
from patron.accounts.services.keys import actor_for_api_key, api_key_authenticate
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
