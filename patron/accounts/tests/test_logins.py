"""Sign-in throttling counted from the audit log, and the audit of sign-ins and sign-outs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import authenticate

from patron.accounts.models import AuditEntry
from patron.accounts.services import logins
from patron.accounts.services.logins import (
    FAILURE_WINDOW,
    FAILURES_PER_ADDRESS,
    FAILURES_PER_USERNAME,
    login_failed_record,
    login_throttle_get,
)

pytestmark = pytest.mark.django_db


def test_below_the_limit_nothing_is_throttled():
    for _ in range(FAILURES_PER_USERNAME - 1):
        login_failed_record(username="ana", address="10.0.0.1")

    assert login_throttle_get(username="ana", address="10.0.0.1") is None


def test_fifth_failure_for_one_name_locks_it_until_the_oldest_expires():
    for _ in range(FAILURES_PER_USERNAME):
        login_failed_record(username="ana", address="10.0.0.1")
    oldest = AuditEntry.objects.filter(action="login.failed").order_by("created_at")[0]

    throttle = login_throttle_get(username="ANA", address="10.9.9.9")

    assert throttle is not None
    assert throttle.reason == "username"
    assert throttle.retry_at == oldest.created_at + FAILURE_WINDOW
    assert login_throttle_get(username="bea", address="10.9.9.9") is None


def test_failures_older_than_the_window_are_not_counted(monkeypatch):
    # given five failures recorded just over a window ago
    past = logins.clock.now() - FAILURE_WINDOW - timedelta(seconds=1)
    monkeypatch.setattr(logins.clock, "now", lambda: past)
    for _ in range(FAILURES_PER_USERNAME):
        login_failed_record(username="ana", address="10.0.0.1")
    monkeypatch.undo()

    assert login_throttle_get(username="ana", address="10.0.0.1") is None


def test_thirty_failures_from_one_address_lock_every_name_from_it():
    for number in range(FAILURES_PER_ADDRESS):
        login_failed_record(username=f"name{number}", address="10.0.0.7")

    throttle = login_throttle_get(username="someone-new", address="10.0.0.7")

    assert throttle is not None and throttle.reason == "address"
    assert login_throttle_get(username="someone-new", address="10.0.0.8") is None


def test_failed_authentication_is_audited_with_name_and_address_never_the_password(make_staff, rf):
    make_staff("viewer", username="ana")
    request = rf.post("/login/", REMOTE_ADDR="10.1.2.3")

    assert authenticate(request, username="ana", password="not-the-password-1") is None

    entry = AuditEntry.objects.get(action="login.failed")
    assert entry.changes == {"username": "ana", "ip": "10.1.2.3"}
    assert entry.subject_type == "login" and entry.subject_id == "ana"
    assert entry.actor_label == "sign-in from 10.1.2.3"
    assert "not-the-password-1" not in str(entry.changes)
