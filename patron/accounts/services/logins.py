"""Sign-in bookkeeping: the audit of sign-ins and sign-outs, and throttling counted from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.http import HttpRequest

from patron.accounts.models import AuditEntry, User
from patron.accounts.services.audit import audit_record
from patron.accounts.services.keys import actor_for_user
from patron.core import clock
from patron.core.actors import Actor, ActorKind

# Five wrong passwords for one name in a quarter of an hour is well past a typo, and slows a
# guesser to 480 tries a day; thirty from one address leaves room for an office behind one NAT.
FAILURES_PER_USERNAME = 5
FAILURES_PER_ADDRESS = 30
FAILURE_WINDOW = timedelta(minutes=15)

# Failed attempts are audited under this subject type with the typed name as subject id, so the
# per-name count reads the (subject_type, subject_id) index rather than the whole log.
LOGIN_SUBJECT = "login"
_SUBJECT_ID_LENGTH = 64


@dataclass(frozen=True)
class LoginThrottle:
    """Why sign-in is refused for now and the moment the oldest counted failure expires."""

    retry_at: datetime
    reason: str  # "username" or "address"


def client_address(request: HttpRequest | None) -> str:
    """The peer's address as the web server saw it (the proxy's, behind a reverse proxy)."""
    if request is None:
        return ""
    return str(request.META.get("REMOTE_ADDR") or "")


def _username_key(username: str) -> str:
    # Case folded so "Admin" and "admin" share one budget; a guesser gains nothing by varying case.
    return username.strip().casefold()[:_SUBJECT_ID_LENGTH]


def _anonymous_actor(address: str) -> Actor:
    # The typed name is not who acted: anyone can type "admin", so the actor is the address.
    return Actor(
        kind=ActorKind.SYSTEM, identifier="sign-in", label=f"sign-in from {address or '?'}"
    )


def _expiry_of(failures: QuerySet[AuditEntry], limit: int, since: datetime) -> datetime | None:
    """When the limit-th newest failure in the window leaves it, or None below the limit."""
    newest = (
        failures.filter(created_at__gte=since)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[limit - 1 : limit]
    )
    found = list(newest)
    return found[0] + FAILURE_WINDOW if found else None


def login_throttle_get(*, username: str, address: str) -> LoginThrottle | None:
    """Whether sign-in for this name or from this address is refused right now, and until when.

    Counted from the audit log, so every web process sees the same failures.
    """
    since = clock.now() - FAILURE_WINDOW
    failures = AuditEntry.objects.filter(action="login.failed", subject_type=LOGIN_SUBJECT)
    by_name = _expiry_of(
        failures.filter(subject_id=_username_key(username)), FAILURES_PER_USERNAME, since
    )
    by_address = (
        _expiry_of(failures.filter(changes__ip=address), FAILURES_PER_ADDRESS, since)
        if address
        else None
    )
    candidates = [
        LoginThrottle(retry_at=moment, reason=reason)
        for moment, reason in ((by_name, "username"), (by_address, "address"))
        if moment is not None
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda throttle: throttle.retry_at)


def login_failed_record(*, username: str, address: str) -> None:
    """A wrong name or password; the password itself is never written anywhere."""
    audit_record(
        actor=_anonymous_actor(address),
        action="login.failed",
        subject_type=LOGIN_SUBJECT,
        subject_id=_username_key(username),
        changes={"username": username[:150], "ip": address},
    )


def login_throttled_record(*, username: str, address: str, throttle: LoginThrottle) -> None:
    """A refused attempt is audited apart from failures, so refusals do not extend the lock."""
    audit_record(
        actor=_anonymous_actor(address),
        action="login.throttled",
        subject_type=LOGIN_SUBJECT,
        subject_id=_username_key(username),
        changes={
            "username": username[:150],
            "ip": address,
            "reason": throttle.reason,
            "retry_at": throttle.retry_at.isoformat(),
        },
    )


def login_succeeded_record(*, user: User, address: str) -> None:
    audit_record(
        actor=actor_for_user(user),
        action="login.succeeded",
        subject_type="user",
        subject_id=user.pk,
        changes={"username": user.get_username(), "ip": address},
    )


def logout_record(*, user: User, address: str) -> None:
    audit_record(
        actor=actor_for_user(user),
        action="logout",
        subject_type="user",
        subject_id=user.pk,
        changes={"ip": address},
    )
