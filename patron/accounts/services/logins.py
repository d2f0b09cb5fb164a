"""Sign-in and password-reset bookkeeping: their audit, and throttling counted from it."""

from __future__ import annotations

import hashlib
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


def _expiry_of(
    failures: QuerySet[AuditEntry],
    limit: int,
    since: datetime,
    window: timedelta = FAILURE_WINDOW,
) -> datetime | None:
    """When the limit-th newest failure in the window leaves it, or None below the limit."""
    newest = (
        failures.filter(created_at__gte=since)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[limit - 1 : limit]
    )
    found = list(newest)
    return found[0] + window if found else None


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


# Password reset requests. Each one mails a stranger's inbox if the address is known, so a few
# an hour per address is plenty for a person and stops the page being used to flood someone;
# twenty from one client address still lets an office reset a morning's forgotten passwords.
RESET_REQUESTS_PER_EMAIL = 3
RESET_REQUESTS_PER_ADDRESS = 20
RESET_WINDOW = timedelta(hours=1)

# Requests are audited under this subject type with the typed email as subject id, so the
# per-email count reads the (subject_type, subject_id) index like sign-in failures do.
RESET_SUBJECT = "password_reset"


def _email_key(email: str) -> str:
    key = email.strip().casefold()
    # A longer address is kept whole as its digest (64 hex characters) rather than cut short,
    # so two long addresses sharing a start do not share one budget.
    if len(key) > _SUBJECT_ID_LENGTH:
        return hashlib.sha256(key.encode()).hexdigest()
    return key


def _reset_actor(address: str) -> Actor:
    # Anyone can type any address, so the actor is where the request came from.
    return Actor(
        kind=ActorKind.SYSTEM,
        identifier="password-reset",
        label=f"password reset from {address or '?'}",
    )


def password_reset_throttle_get(*, email: str, address: str) -> LoginThrottle | None:
    """Whether a reset request for this email or from this address is refused right now.

    Counted from the audited requests (refusals are not counted, so they do not extend it).
    """
    since = clock.now() - RESET_WINDOW
    requests = AuditEntry.objects.filter(
        action="password_reset.requested", subject_type=RESET_SUBJECT
    )
    by_email = _expiry_of(
        requests.filter(subject_id=_email_key(email)),
        RESET_REQUESTS_PER_EMAIL,
        since,
        RESET_WINDOW,
    )
    by_address = (
        _expiry_of(
            requests.filter(changes__ip=address), RESET_REQUESTS_PER_ADDRESS, since, RESET_WINDOW
        )
        if address
        else None
    )
    candidates = [
        LoginThrottle(retry_at=moment, reason=reason)
        for moment, reason in ((by_email, "email"), (by_address, "address"))
        if moment is not None
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda throttle: throttle.retry_at)


def password_reset_requested_record(*, email: str, address: str) -> None:
    """A reset request as typed; whether the address belongs to anyone is deliberately left out."""
    audit_record(
        actor=_reset_actor(address),
        action="password_reset.requested",
        subject_type=RESET_SUBJECT,
        subject_id=_email_key(email),
        changes={"email": email[:254], "ip": address},
    )


def password_reset_throttled_record(*, email: str, address: str, throttle: LoginThrottle) -> None:
    audit_record(
        actor=_reset_actor(address),
        action="password_reset.throttled",
        subject_type=RESET_SUBJECT,
        subject_id=_email_key(email),
        changes={
            "email": email[:254],
            "ip": address,
            "reason": throttle.reason,
            "retry_at": throttle.retry_at.isoformat(),
        },
    )


def password_reset_completed_record(*, user: User, address: str) -> None:
    """A password chosen through an emailed reset link (not an invitation's first one)."""
    audit_record(
        actor=actor_for_user(user),
        action="password_reset.completed",
        subject_type="user",
        subject_id=user.pk,
        changes={"ip": address},
    )
