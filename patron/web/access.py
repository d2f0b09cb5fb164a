"""The role check every workspace page goes through, and the audit of a refusal."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from patron.accounts.models import User
from patron.accounts.permissions import Permission, role_allows
from patron.accounts.services.audit import audit_record
from patron.accounts.services.keys import actor_for_user
from patron.core.actors import Actor

View = TypeVar("View", bound=Callable[..., HttpResponse])


def staff_user(request: HttpRequest) -> User:
    """The signed-in user of a request that passed `requires` (never anonymous)."""
    return cast(User, request.user)


def staff_actor(request: HttpRequest) -> Actor:
    """Who the services record for a write made from a page."""
    return actor_for_user(staff_user(request))


def is_allowed(request: HttpRequest, permission: Permission) -> bool:
    user = request.user
    return bool(
        user.is_authenticated
        and user.is_active
        and role_allows(getattr(user, "role", ""), permission)
    )


def deny(request: HttpRequest, permission: Permission) -> None:
    """Record the refusal in the audit log, then answer with the styled 403 page."""
    audit_record(
        actor=staff_actor(request),
        action="permission.denied",
        subject_type="page",
        subject_id=request.path[:64],
        changes={"permission": str(permission), "method": request.method},
    )
    raise PermissionDenied(f"Your role does not allow this: {permission.label.lower()}.")


def requires(permission: Permission) -> Callable[[View], View]:
    """Page decorator: anonymous users go to sign-in, signed-in users without the role get 403.

    Every workspace view carries one; tests/test_roles.py walks the URL map to make sure.
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not is_allowed(request, permission):
                deny(request, permission)
            return view(request, *args, **kwargs)

        guarded.required_permission = permission  # type: ignore[attr-defined]
        return cast(View, guarded)

    return decorate
