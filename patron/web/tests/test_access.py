"""Access pages: sign-in and throttling, passwords, staff, API keys, the audit log, error pages."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.template.loader import render_to_string
from django.test import Client

from conftest import STAFF_PASSWORD
from patron.accounts.models import ApiKey, AuditEntry, User
from patron.accounts.services.audit import audit_record
from patron.accounts.services.keys import actor_for_user, api_key_authenticate
from patron.accounts.services.logins import (
    FAILURES_PER_ADDRESS,
    FAILURES_PER_USERNAME,
    RESET_REQUESTS_PER_ADDRESS,
    RESET_REQUESTS_PER_EMAIL,
)
from patron.core import clock
from patron.core.actors import Actor

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-longer-unusual-passphrase-91"


def _sign_in(
    client: Client, username: str, password: str = STAFF_PASSWORD, address: str = "127.0.0.1"
) -> Any:
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def _is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# Sign in and out.


def test_login_page_has_labelled_fields_and_reset_link(client):
    response = client.get("/login/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username">Username</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert 'href="/password-reset/"' in html


def test_sign_in_rotates_the_session_and_is_audited(client, make_staff):
    user = make_staff("viewer", username="ana")
    session = client.session
    session["seen"] = True
    session.save()
    before = session.session_key

    response = _sign_in(client, "ana", address="10.0.0.5")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session.session_key != before
    assert client.session["seen"] is True
    entry = AuditEntry.objects.get(action="login.succeeded")
    assert entry.subject_id == str(user.pk)
    assert entry.changes == {"username": "ana", "ip": "10.0.0.5"}


def test_session_cookie_lasts_twelve_hours_and_is_http_only_and_lax(client, make_staff):
    make_staff("viewer", username="ana")

    response = _sign_in(client, "ana")

    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == 12 * 60 * 60
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_wrong_password_and_unknown_name_get_the_same_answer(client, make_staff):
    make_staff("viewer", username="ana")

    wrong_password = _sign_in(client, "ana", "not-her-password-x")
    unknown_name = _sign_in(client, "nobody-here", "not-her-password-x")

    for response in (wrong_password, unknown_name):
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()
    assert not _is_signed_in(client)
    failures = AuditEntry.objects.filter(action="login.failed").order_by("pk")
    assert [entry.changes["username"] for entry in failures] == ["ana", "nobody-here"]
    assert all("not-her-password-x" not in str(entry.changes) for entry in failures)


def test_five_failures_lock_the_name_even_for_the_right_password(client, make_staff):
    make_staff("viewer", username="ana")
    for _ in range(FAILURES_PER_USERNAME):
        _sign_in(client, "ana", "wrong-password-guess")
    first = AuditEntry.objects.filter(action="login.failed").order_by("pk")[0]
    retry_at = (first.created_at + timedelta(minutes=15)).strftime("%H:%M")

    response = _sign_in(client, "ana")

    assert response.status_code == 200
    assert (
        f"Too many failed sign-ins. Try again after {retry_at} UTC, or reset your password."
        in response.content.decode()
    )
    assert not _is_signed_in(client)
    assert AuditEntry.objects.filter(action="login.failed").count() == FAILURES_PER_USERNAME
    assert AuditEntry.objects.filter(action="login.throttled").count() == 1
    assert not AuditEntry.objects.filter(action="login.succeeded").exists()


def test_thirty_failures_from_one_address_lock_that_address(client, make_staff):
    make_staff("viewer", username="ana")
    for number in range(FAILURES_PER_ADDRESS):
        _sign_in(client, f"guess{number}", "wrong-password-guess", address="10.6.6.6")

    refused = _sign_in(client, "ana", address="10.6.6.6")
    elsewhere = _sign_in(Client(), "ana", address="10.7.7.7")

    assert "Too many failed sign-ins" in refused.content.decode()
    assert elsewhere.status_code == 302


def test_deactivated_user_cannot_sign_in_and_learns_nothing(client, make_staff):
    make_staff("viewer", username="gone", is_active=False)

    response = _sign_in(client, "gone")

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert not _is_signed_in(client)


def test_sign_out_is_audited_and_ends_the_session(client, make_staff):
    make_staff("viewer", username="ana")
    _sign_in(client, "ana")

    response = client.post("/logout/")

    assert response.status_code == 302
    assert not _is_signed_in(client)
    assert AuditEntry.objects.filter(action="logout").count() == 1
    assert client.get("/").status_code == 302


# Passwords.


def test_password_change_shows_validator_errors_next_to_the_field(client, make_staff):
    client.force_login(make_staff("viewer"))

    response = client.post(
        "/account/password/",
        {"old_password": STAFF_PASSWORD, "new_password1": "short1", "new_password2": "short1"},
    )

    assert response.status_code == 200
    html = response.content.decode()
    field = html[html.index('<label for="id_new_password2">') :]
    assert "This password is too short. It must contain at least 12 characters." in field
    assert 'class="field has-error"' in html
    assert not AuditEntry.objects.filter(action="user.password_changed").exists()


def test_password_change_keeps_this_session_and_ends_the_others(make_staff):
    make_staff("support", username="sam")
    here, elsewhere = Client(), Client()
    _sign_in(here, "sam")
    _sign_in(elsewhere, "sam")

    response = here.post(
        "/account/password/",
        {
            "old_password": STAFF_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302
    assert here.get("/account/password/").status_code == 200
    assert elsewhere.get("/account/password/").status_code == 302
    assert User.objects.get(username="sam").check_password(NEW_PASSWORD)
    assert AuditEntry.objects.filter(action="user.password_changed").count() == 1


def _link_in(body: str) -> str:
    match = re.search(r"https?://testserver(/password-reset/[^/\s]+/[^/\s]+/)", body)
    assert match, body
    return match.group(1)


def test_password_reset_does_not_reveal_whether_an_email_exists(client, make_staff):
    make_staff("viewer", username="ana")

    known = client.post("/password-reset/", {"email": "ana@example.com"})
    unknown = client.post("/password-reset/", {"email": "who@example.com"})

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == "/password-reset/sent/"
    assert [message.to for message in mail.outbox] == [["ana@example.com"]]


def test_password_reset_link_sets_a_password_once(client, make_staff):
    make_staff("viewer", username="ana")
    client.post("/password-reset/", {"email": "ana@example.com"})
    link = _link_in(str(mail.outbox[0].body))

    form_page = client.get(link, follow=True)
    set_password_url = form_page.redirect_chain[-1][0]
    weak = client.post(set_password_url, {"new_password1": "password", "new_password2": "password"})
    saved = client.post(
        set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    reused = Client().get(link, follow=True)

    assert "This password is too common." in weak.content.decode()
    assert saved.status_code == 302 and saved["Location"] == "/password-reset/complete/"
    assert User.objects.get(username="ana").check_password(NEW_PASSWORD)
    assert AuditEntry.objects.filter(action="user.password_set").count() == 1
    assert "This link has expired or was already used." in reused.content.decode()


# Staff users.


def test_staff_pages_are_for_admins_only(assert_page_roles, make_staff):
    member = make_staff("viewer", username="member")
    assert_page_roles("/settings/staff/", allowed={"admin"})
    assert_page_roles("/settings/staff/invite/", allowed={"admin"})
    assert_page_roles(f"/settings/staff/{member.pk}/", allowed={"admin"})
    assert_page_roles(
        f"/settings/staff/{member.pk}/role/",
        allowed={"admin"},
        method="post",
        data={"role": "viewer"},
    )


def test_staff_list_shows_people_with_names_escaped_in_fixed_queries(
    signed_in, make_staff, django_assert_max_num_queries
):
    client = signed_in("admin")
    for number in range(5):
        user = make_staff("sales", username=f"sales{number}")
        user.first_name = "<script>alert(1)</script>"
        user.save()

    with django_assert_max_num_queries(3):
        response = client.get("/settings/staff/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count('<span class="badge">Sales</span>') == 5


def test_staff_list_filters(signed_in, make_staff):
    client = signed_in("admin")
    make_staff("sales", username="seller")
    make_staff("support", username="helper", is_active=False)

    by_role = client.get("/settings/staff/", {"role": "sales"}).content.decode()
    by_status = client.get("/settings/staff/", {"status": "inactive"}).content.decode()
    by_search = client.get("/settings/staff/", {"q": "help"}).content.decode()
    nothing = client.get("/settings/staff/", {"q": "zzz"}).content.decode()

    assert "seller" in by_role and "helper" not in by_role
    assert "helper" in by_status and "seller" not in by_status
    assert "helper" in by_search and "seller" not in by_search
    assert "No one matches these filters" in nothing


def test_staff_list_htmx_swaps_only_the_results(signed_in):
    client = signed_in("admin")

    response = client.get("/settings/staff/", headers={"HX-Request": "true"})

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results">')
    assert "<html" not in html


def test_invite_from_the_page_emails_a_link_that_sets_the_password(
    signed_in, django_capture_on_commit_callbacks
):
    client = signed_in("admin")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/settings/staff/invite/",
            {"username": "newbie", "email": "newbie@example.com", "role": "support"},
        )

    invited = User.objects.get(username="newbie")
    assert response.status_code == 302
    assert response["Location"] == f"/settings/staff/{invited.pk}/"
    assert not invited.has_usable_password()
    assert AuditEntry.objects.get(action="user.invited").subject_id == str(invited.pk)
    link = _link_in(str(mail.outbox[0].body))
    outsider = Client()
    set_password_url = outsider.get(link, follow=True).redirect_chain[-1][0]
    outsider.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert _sign_in(outsider, "newbie", NEW_PASSWORD).status_code == 302


def test_invite_errors_appear_next_to_their_fields(signed_in):
    client = signed_in("admin")

    bad_email = client.post(
        "/settings/staff/invite/", {"username": "x", "email": "nope", "role": "viewer"}
    )
    taken = client.post(
        "/settings/staff/invite/",
        {"username": "admin-user", "email": "fresh@example.com", "role": "viewer"},
    )

    assert bad_email.status_code == taken.status_code == 400
    html = bad_email.content.decode()
    assert "Enter a valid email address." in html[html.index('for="id_email"') :]
    html = taken.content.decode()
    field = html[html.index('for="id_username"') : html.index('for="id_email"')]
    assert "the username admin-user is taken" in field
    assert mail.outbox == []


def test_role_change_from_the_page(signed_in, make_staff):
    client = signed_in("admin")
    member = make_staff("viewer", username="member")

    response = client.post(f"/settings/staff/{member.pk}/role/", {"role": "marketer"})

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.role == "marketer"
    assert AuditEntry.objects.get(action="user.role_changed").changes == {
        "role": ["viewer", "marketer"]
    }


def test_admin_cannot_demote_themselves_error_next_to_role(signed_in):
    client = signed_in("admin")
    me = User.objects.get(username="admin-user")

    response = client.post(f"/settings/staff/{me.pk}/role/", {"role": "viewer"})

    assert response.status_code == 400
    html = response.content.decode()
    assert (
        "you cannot change your own role; ask another admin" in html[html.index('for="id_role"') :]
    )
    me.refresh_from_db()
    assert me.role == "admin"


def test_deactivation_ends_the_sessions_of_that_user(signed_in, make_staff):
    admin_client = signed_in("admin")
    member = make_staff("support", username="member")
    member_client = Client()
    _sign_in(member_client, "member")
    assert member_client.get("/account/password/").status_code == 200

    response = admin_client.post(f"/settings/staff/{member.pk}/activation/", {"active": "0"})

    assert response.status_code == 302
    assert member_client.get("/account/password/").status_code == 302
    assert AuditEntry.objects.filter(action="user.deactivated").count() == 1
    admin_client.post(f"/settings/staff/{member.pk}/activation/", {"active": "1"})
    assert User.objects.get(pk=member.pk).is_active


def test_invitation_can_be_sent_again_from_the_user_page(
    signed_in, django_capture_on_commit_callbacks
):
    client = signed_in("admin")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/settings/staff/invite/",
            {"username": "newbie", "email": "newbie@example.com", "role": "viewer"},
        )
    invited = User.objects.get(username="newbie")
    page = client.get(f"/settings/staff/{invited.pk}/").content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/settings/staff/{invited.pk}/invitation/", follow=True)

    assert "Send the invitation again" in page
    assert "A new invitation went to newbie@example.com." in response.content.decode()
    assert len(mail.outbox) == 2


def test_admin_cannot_deactivate_themselves(signed_in):
    client = signed_in("admin")
    me = User.objects.get(username="admin-user")

    response = client.post(f"/settings/staff/{me.pk}/activation/", {"active": "0"}, follow=True)

    assert "You cannot deactivate yourself; ask another admin." in response.content.decode()
    me.refresh_from_db()
    assert me.is_active


def test_unknown_user_page_is_404(signed_in):
    client = signed_in("admin")

    assert client.get("/settings/staff/999999/").status_code == 404


# API keys.


def test_api_key_pages_are_for_admins_only(assert_page_roles, make_api_key):
    created = make_api_key("customers:read")
    assert_page_roles("/settings/api-keys/", allowed={"admin"})
    assert_page_roles("/settings/api-keys/new/", allowed={"admin"})
    assert_page_roles(f"/settings/api-keys/{created.id}/revoke/", allowed={"admin"})


def test_create_api_key_shows_the_secret_once(signed_in):
    client = signed_in("admin")

    response = client.post(
        "/settings/api-keys/new/",
        {"name": "Shop sync", "scopes": ["customers:read", "orders:read"]},
    )

    assert response.status_code == 200
    html = response.content.decode()
    found = re.search(r'<code id="api-key-secret">(ptk_[^<]+)</code>', html)
    assert found
    secret = found.group(1)
    assert "It will not be shown again" in html
    assert "no-store" in response["Cache-Control"]
    key = api_key_authenticate(secret)
    assert key is not None and key.scopes == ["customers:read", "orders:read"]
    assert key.created_by == User.objects.get(username="admin-user")
    assert AuditEntry.objects.filter(action="api_key.created").count() == 1
    listing = client.get("/settings/api-keys/").content.decode()
    assert secret not in listing
    assert key.prefix in listing and "Shop sync" in listing


def test_create_api_key_needs_a_scope_error_next_to_scopes(signed_in):
    client = signed_in("admin")

    response = client.post("/settings/api-keys/new/", {"name": "Nothing"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html[html.index("<legend>Scopes") :]
    assert ApiKey.objects.count() == 0


def test_create_api_key_form_lists_scopes_with_labels(signed_in):
    html = signed_in("admin").get("/settings/api-keys/new/").content.decode()

    assert "Read customers, identities and companies" in html
    assert 'type="checkbox" name="scopes" value="customers:write"' in html


def test_revoke_api_key_after_confirming(signed_in, make_api_key):
    client = signed_in("admin")
    created = make_api_key("customers:read", name="Old sync")

    confirm = client.get(f"/settings/api-keys/{created.id}/revoke/")
    response = client.post(f"/settings/api-keys/{created.id}/revoke/")

    assert "Revoke Old sync?" in confirm.content.decode()
    assert ApiKey.objects.filter(pk=created.id, revoked_at__isnull=True).exists() is False
    assert response.status_code == 302
    assert api_key_authenticate(created.secret) is None
    assert AuditEntry.objects.filter(action="api_key.revoked").count() == 1


def test_api_key_list_filters_and_fixed_queries(
    signed_in, make_api_key, django_assert_max_num_queries
):
    client = signed_in("admin")
    for number in range(6):
        make_api_key("customers:read", name=f"key {number}")
    revoked = make_api_key("orders:read", name="retired")
    client.post(f"/settings/api-keys/{revoked.id}/revoke/", follow=True)

    with django_assert_max_num_queries(3):
        active = client.get("/settings/api-keys/", {"status": "active"})
    only_revoked = client.get("/settings/api-keys/", {"status": "revoked"}).content.decode()

    assert "retired" not in active.content.decode()
    assert "key 5" in active.content.decode()
    assert "retired" in only_revoked and "key 5" not in only_revoked


# The audit log.


def test_audit_log_is_for_admins_only(assert_page_roles):
    assert_page_roles("/settings/audit/", allowed={"admin"})


def _entry(action: str, **fields: Any) -> AuditEntry:
    return audit_record(
        actor=fields.pop("actor", Actor.system("tests")),
        action=action,
        subject_type=fields.pop("subject_type", "customer"),
        subject_id=fields.pop("subject_id", "1"),
        **fields,
    )


def test_audit_log_newest_first_with_compact_changes_escaped(signed_in):
    client = signed_in("admin")
    _entry("customer.updated", customer_id=7, changes={"first_name": ["Ana", "<b>Anna</b>"]})
    _entry("export.created", subject_type="export", changes={"rows": 12})

    html = client.get("/settings/audit/").content.decode()

    assert html.index("export.created") < html.index("customer.updated")
    assert "first_name: Ana → &lt;b&gt;Anna&lt;/b&gt;" in html
    assert "rows: 12" in html
    assert 'href="/customers/7/"' in html


def test_audit_log_filters(signed_in, make_staff):
    client = signed_in("admin")
    ana = make_staff("support", username="ana")
    _entry("login.failed", subject_type="login", subject_id="x")
    _entry("customer.updated", actor=actor_for_user(ana), customer_id=42)
    _entry("customer.merged", customer_id=43)

    def actions(**query: str) -> list[str]:
        html = client.get("/settings/audit/", query).content.decode()
        return re.findall(r'<span class="badge[^"]*">([a-z_.]+)</span>', html)

    # newest first; signing the admin in was recorded before the entries above
    assert actions(action="login.") == ["login.failed", "login.succeeded"]
    assert actions(actor="ANA") == ["customer.updated"]
    assert actions(customer="43") == ["customer.merged"]
    assert actions(subject_type="login") == ["login.failed"]
    today = clock.now().date()
    assert "customer.merged" in actions(date_from=str(today), date_to=str(today))
    assert actions(date_from=str(today + timedelta(days=1))) == []


def test_audit_log_bad_filter_shows_error_next_to_field(signed_in):
    client = signed_in("admin")

    response = client.get("/settings/audit/", {"customer": "abc", "date_from": "yesterday"})

    assert response.status_code == 400
    html = response.content.decode()
    assert (
        "Enter a whole number."
        in html[html.index('for="id_customer"') : html.index('for="id_date_from"')]
    )
    assert (
        "Enter a valid date."
        in html[html.index('for="id_date_from"') : html.index('for="id_date_to"')]
    )


def test_audit_log_pages_with_a_cursor_in_fixed_queries(signed_in, django_assert_max_num_queries):
    client = signed_in("admin")
    for number in range(60):
        _entry("customer.updated", subject_id=str(number))
    newest_pk = AuditEntry.objects.order_by("-pk")[0].pk

    with django_assert_max_num_queries(3):
        first = client.get("/settings/audit/", {"action": "customer."})
    cursor = re.search(
        r'href="\?action=customer\.&amp;cursor=([^"]+)" rel="next"', first.content.decode()
    )
    assert cursor
    second = client.get("/settings/audit/", {"action": "customer.", "cursor": cursor.group(1)})

    assert first.content.decode().count("customer.updated") == 50
    assert second.content.decode().count("customer.updated") == 10
    assert f"customer {newest_pk}" not in second.content.decode()
    assert client.get("/settings/audit/", {"cursor": "garbage!"}).status_code == 200


def test_denials_from_pages_show_in_the_audit_log(signed_in, make_staff):
    viewer = Client()
    viewer.force_login(make_staff("viewer", username="curious"))
    viewer.get("/settings/audit/")

    html = signed_in("admin").get("/settings/audit/", {"action": "permission."}).content.decode()

    assert "permission.denied" in html
    assert "curious" in html
    assert "permission: audit.view" in html


# The API with a session.


def test_api_with_a_viewer_session_reads_but_cannot_write(make_staff):
    client = Client()
    client.force_login(make_staff("viewer", username="vic"))

    read = client.get("/api/customers")
    write = client.post("/api/customers", {"first_name": "Ana"}, content_type="application/json")

    assert read.status_code == 200
    assert write.status_code == 403
    assert write.json()["code"] == "forbidden"
    denial = AuditEntry.objects.get(action="permission.denied")
    assert denial.subject_type == "api"
    assert denial.subject_id == "/api/customers"
    assert denial.actor_label == "vic"
    assert denial.changes == {"scope": "customers:write", "method": "POST"}


def test_api_session_writes_need_the_csrf_token(make_staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_staff("marketer"))
    client.get("/account/password/")  # sets the CSRF cookie, as any page does
    token = client.cookies["csrftoken"].value

    without = client.post("/api/customers", {"first_name": "Ana"}, content_type="application/json")
    with_token = client.post(
        "/api/customers",
        {"first_name": "Ana"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )

    assert without.status_code == 403
    assert without.json()["code"] == "forbidden"
    assert with_token.status_code == 201


def test_api_without_session_or_key_is_401(client):
    response = client.get("/api/customers")

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


# Error pages.


def test_403_page_names_the_missing_permission_and_whom_to_ask(signed_in, make_staff):
    make_staff("admin", username="boss")
    client = signed_in("viewer")

    response = client.get("/settings/staff/")

    assert response.status_code == 403
    html = response.content.decode()
    assert "Your role does not allow this: invite staff, change roles, deactivate." in html
    assert "ask an admin of this workspace: boss." in html
    assert 'href="/static/web/patron.css"' in html or "patron.css" in html


def test_404_page_is_styled_for_pages_and_json_for_apis(signed_in):
    client = signed_in("viewer")

    page = client.get("/no-such-page/")
    api = client.get("/api/no-such-thing")
    ingest = client.get("/v1/no-such-thing")

    assert page.status_code == 404
    assert "There is nothing here" in page.content.decode()
    assert "/no-such-page/" in page.content.decode()
    assert api.status_code == ingest.status_code == 404
    assert api.json()["code"] == "not_found"
    assert ingest["Content-Type"].startswith("application/json")


def test_500_page_renders_without_database_or_request(django_assert_num_queries):
    with django_assert_num_queries(0):
        html = render_to_string("500.html")

    assert "Something went wrong on our side" in html


# Password reset requests: audited and throttled, the answer the same whatever happens.

_RESET_SENT = "If the address belongs to an active Patron account, we sent it a link"


def _reset(client: Client, email: str, address: str = "10.0.0.1") -> Any:
    return client.post("/password-reset/", {"email": email}, REMOTE_ADDR=address, follow=True)


def _answer(response: Any) -> tuple[int, list[tuple[str, int]], str]:
    # The CSRF token is masked afresh on every render, so it is left out of the comparison.
    html = re.sub(r'csrfToken[^,}]*|"X-CSRFToken": "[^"]*"', "", response.content.decode())
    return response.status_code, response.redirect_chain, html


def test_password_reset_request_is_audited_with_email_and_address_only(client, make_staff):
    make_staff("viewer", username="ana")

    _reset(client, "ana@example.com", "10.0.0.1")
    _reset(client, "Who@Example.com", "10.0.0.2")

    entries = AuditEntry.objects.filter(action="password_reset.requested").order_by("pk")
    assert [(entry.subject_type, entry.subject_id, entry.changes) for entry in entries] == [
        ("password_reset", "ana@example.com", {"email": "ana@example.com", "ip": "10.0.0.1"}),
        ("password_reset", "who@example.com", {"email": "Who@Example.com", "ip": "10.0.0.2"}),
    ]
    assert [entry.actor_label for entry in entries] == [
        "password reset from 10.0.0.1",
        "password reset from 10.0.0.2",
    ]
    assert [message.to for message in mail.outbox] == [["ana@example.com"]]


def test_fourth_reset_request_for_one_email_sends_no_mail_and_answers_the_same(client, make_staff):
    make_staff("viewer", username="ana")

    answers = [_reset(client, "ana@example.com", f"10.0.0.{n}") for n in range(1, 4)]
    throttled = _reset(client, "ANA@example.com", "10.0.0.9")

    assert len(mail.outbox) == 3
    assert AuditEntry.objects.filter(action="password_reset.requested").count() == 3
    refusal = AuditEntry.objects.get(action="password_reset.throttled")
    assert refusal.changes["email"] == "ANA@example.com"
    assert refusal.changes["ip"] == "10.0.0.9"
    assert refusal.changes["reason"] == "email"
    assert _answer(throttled) == _answer(answers[0])
    assert throttled.status_code == 200
    assert throttled.redirect_chain == [("/password-reset/sent/", 302)]
    assert _RESET_SENT in throttled.content.decode()


def test_twenty_reset_requests_from_one_address_stop_mail_for_any_email(client, make_staff):
    make_staff("viewer", username="ana")
    for number in range(RESET_REQUESTS_PER_ADDRESS):
        _reset(client, f"nobody{number}@example.com", "10.0.0.7")

    throttled = _reset(client, "ana@example.com", "10.0.0.7")
    elsewhere = _reset(client, "ana@example.com", "10.0.0.8")

    assert [message.to for message in mail.outbox] == [["ana@example.com"]]
    assert AuditEntry.objects.get(action="password_reset.throttled").changes["reason"] == (
        "address"
    )
    assert _answer(throttled) == _answer(elsewhere)


def test_known_unknown_and_throttled_reset_requests_get_the_same_page(client, make_staff):
    make_staff("viewer", username="ana")
    for _ in range(RESET_REQUESTS_PER_EMAIL):
        _reset(client, "spent@example.com")

    known = _reset(client, "ana@example.com")
    unknown = _reset(client, "who@example.com")
    throttled = _reset(client, "spent@example.com")

    assert _answer(known) == _answer(unknown) == _answer(throttled)
    assert _RESET_SENT in known.content.decode()
    assert AuditEntry.objects.filter(action="password_reset.throttled").count() == 1


def test_invalid_email_on_the_reset_page_is_an_error_next_to_the_field_not_audited(client):
    response = client.post("/password-reset/", {"email": "nope"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter a valid email address." in html[html.index('for="id_email"') :]
    assert not AuditEntry.objects.filter(action__startswith="password_reset.").exists()
    assert mail.outbox == []


def test_completed_password_reset_is_audited(client, make_staff):
    ana = make_staff("viewer", username="ana")
    _reset(client, "ana@example.com")
    link = _link_in(str(mail.outbox[0].body))
    set_password_url = client.get(link, follow=True).redirect_chain[-1][0]

    saved = client.post(
        set_password_url,
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        REMOTE_ADDR="10.4.4.4",
    )

    assert saved.status_code == 302 and saved["Location"] == "/password-reset/complete/"
    entry = AuditEntry.objects.get(action="password_reset.completed")
    assert (entry.subject_type, entry.subject_id) == ("user", str(ana.pk))
    assert entry.changes == {"ip": "10.4.4.4"}
    assert NEW_PASSWORD not in str(entry.changes)


def test_a_refused_new_password_completes_no_reset(client, make_staff):
    make_staff("viewer", username="ana")
    _reset(client, "ana@example.com")
    link = _link_in(str(mail.outbox[0].body))
    set_password_url = client.get(link, follow=True).redirect_chain[-1][0]

    client.post(set_password_url, {"new_password1": "password", "new_password2": "password"})

    assert not AuditEntry.objects.filter(action="password_reset.completed").exists()


def test_accepting_an_invitation_is_not_a_completed_reset(
    signed_in, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        signed_in("admin").post(
            "/settings/staff/invite/",
            {"username": "newbie", "email": "newbie@example.com", "role": "viewer"},
        )
    outsider = Client()
    link = _link_in(str(mail.outbox[0].body))
    set_password_url = outsider.get(link, follow=True).redirect_chain[-1][0]

    outsider.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert User.objects.get(username="newbie").check_password(NEW_PASSWORD)
    assert not AuditEntry.objects.filter(action="password_reset.completed").exists()
