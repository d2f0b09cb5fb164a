"""Sign-in and password-reset throttling counted from the audit log, and their audit."""

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
    RESET_REQUESTS_PER_ADDRESS,
    RESET_REQUESTS_PER_EMAIL,
    RESET_WINDOW,
    LoginThrottle,
    login_failed_record,
    login_throttle_get,
    password_reset_completed_record,
    password_reset_requested_record,
    password_reset_throttle_get,
    password_reset_throttled_record,
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


# Password reset requests.


def test_below_the_reset_limit_nothing_is_throttled():
    for _ in range(RESET_REQUESTS_PER_EMAIL - 1):
        password_reset_requested_record(email="ana@example.com", address="10.0.0.1")

    assert password_reset_throttle_get(email="ana@example.com", address="10.0.0.1") is None


def test_third_reset_request_for_one_email_throttles_it_until_the_oldest_expires():
    for _ in range(RESET_REQUESTS_PER_EMAIL):
        password_reset_requested_record(email="ana@example.com", address="10.0.0.1")
    oldest = AuditEntry.objects.filter(action="password_reset.requested").order_by("created_at")[0]

    throttle = password_reset_throttle_get(email=" ANA@Example.com", address="10.9.9.9")

    assert throttle is not None
    assert throttle.reason == "email"
    assert throttle.retry_at == oldest.created_at + RESET_WINDOW
    assert password_reset_throttle_get(email="bea@example.com", address="10.9.9.9") is None


def test_reset_requests_older_than_an_hour_are_not_counted(monkeypatch):
    past = logins.clock.now() - RESET_WINDOW - timedelta(seconds=1)
    monkeypatch.setattr(logins.clock, "now", lambda: past)
    for _ in range(RESET_REQUESTS_PER_EMAIL):
        password_reset_requested_record(email="ana@example.com", address="10.0.0.1")
    monkeypatch.undo()

    assert password_reset_throttle_get(email="ana@example.com", address="10.0.0.1") is None


def test_twenty_reset_requests_from_one_address_throttle_every_email_from_it():
    for number in range(RESET_REQUESTS_PER_ADDRESS):
        password_reset_requested_record(email=f"n{number}@example.com", address="10.0.0.7")

    throttle = password_reset_throttle_get(email="new@example.com", address="10.0.0.7")

    assert throttle is not None and throttle.reason == "address"
    assert password_reset_throttle_get(email="new@example.com", address="10.0.0.8") is None


def test_refused_reset_requests_do_not_extend_the_throttle():
    throttle = LoginThrottle(retry_at=logins.clock.now(), reason="email")
    for _ in range(RESET_REQUESTS_PER_EMAIL):
        password_reset_throttled_record(
            email="ana@example.com", address="10.0.0.1", throttle=throttle
        )

    assert password_reset_throttle_get(email="ana@example.com", address="10.0.0.1") is None
    assert AuditEntry.objects.filter(action="password_reset.throttled").count() == 3


def test_sign_in_failures_and_reset_requests_keep_separate_budgets():
    for _ in range(FAILURES_PER_USERNAME):
        login_failed_record(username="ana@example.com", address="10.0.0.1")

    assert password_reset_throttle_get(email="ana@example.com", address="10.0.0.1") is None


def test_a_long_email_is_counted_whole_under_its_digest():
    start = "a" * 70
    for _ in range(RESET_REQUESTS_PER_EMAIL):
        password_reset_requested_record(email=f"{start}1@example.com", address="10.0.0.1")

    entry = AuditEntry.objects.filter(action="password_reset.requested")[0]
    assert len(entry.subject_id) == 64
    assert entry.changes["email"] == f"{start}1@example.com"
    assert password_reset_throttle_get(email=f"{start}1@example.com", address="") is not None
    assert password_reset_throttle_get(email=f"{start}2@example.com", address="") is None


def test_completed_reset_is_audited_for_the_user_with_the_address(make_staff):
    ana = make_staff("viewer", username="ana")

    password_reset_completed_record(user=ana, address="10.1.2.3")

    entry = AuditEntry.objects.get(action="password_reset.completed")
    assert (entry.subject_type, entry.subject_id) == ("user", str(ana.pk))
    assert entry.changes == {"ip": "10.1.2.3"}
