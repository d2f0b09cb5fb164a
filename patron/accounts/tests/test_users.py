"""Staff management rules: invitations, role changes, deactivation, passwords."""

from __future__ import annotations

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail

from patron.accounts.models import AuditEntry, Role, User
from patron.accounts.services.keys import actor_for_user
from patron.accounts.services.users import (
    password_token,
    user_deactivate,
    user_invitation_resend,
    user_invite,
    user_password_set,
    user_reactivate,
    user_role_change,
)
from patron.core.errors import Conflict, NotFound, ValidationFailed

pytestmark = pytest.mark.django_db


def _link(uidb64: str, token: str) -> str:
    return f"https://crm.example.com/password-reset/{uidb64}/{token}/"


def test_invite_creates_a_user_without_password_and_emails_a_link_after_commit(
    make_staff, django_capture_on_commit_callbacks
):
    admin = make_staff("admin")

    with django_capture_on_commit_callbacks(execute=True):
        user = user_invite(
            username="bea",
            email="bea@example.com",
            role="marketer",
            actor=actor_for_user(admin),
            password_link=_link,
        )

    assert not user.has_usable_password()
    assert user.role == Role.MARKETER and user.is_active
    entry = AuditEntry.objects.get(action="user.invited")
    assert entry.changes == {"username": "bea", "email": "bea@example.com", "role": "marketer"}
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["bea@example.com"]
    uidb64, token = password_token(user)
    assert _link(uidb64, token) in message.body
    assert default_token_generator.check_token(user, token)


def test_invite_sends_nothing_when_it_fails(make_staff, django_capture_on_commit_callbacks):
    admin = make_staff("admin")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Conflict) as raised:
        user_invite(
            username="ADMIN-USER",
            email="x@example.com",
            role="viewer",
            actor=actor_for_user(admin),
            password_link=_link,
        )

    assert raised.value.field == "username"
    assert mail.outbox == []
    assert not AuditEntry.objects.filter(action="user.invited").exists()


def test_invite_reports_every_bad_field(make_staff):
    admin = make_staff("admin")

    with pytest.raises(ValidationFailed) as raised:
        user_invite(
            username="has space",
            email="not-an-email",
            role="owner",
            actor=actor_for_user(admin),
            password_link=_link,
        )

    assert [problem.field for problem in raised.value.problems] == ["username", "email", "role"]
    assert User.objects.count() == 1


def test_invite_refuses_an_email_already_used(make_staff):
    admin = make_staff("admin")

    with pytest.raises(Conflict) as raised:
        user_invite(
            username="another",
            email="Admin-User@Example.com",
            role="viewer",
            actor=actor_for_user(admin),
            password_link=_link,
        )

    assert raised.value.field == "email"


def test_role_change_is_audited_with_before_and_after(make_staff):
    admin = make_staff("admin")
    viewer = make_staff("viewer")

    user_role_change(
        user_id=viewer.pk, role="support", actor=actor_for_user(admin), acting_user_id=admin.pk
    )

    viewer.refresh_from_db()
    assert viewer.role == "support"
    entry = AuditEntry.objects.get(action="user.role_changed")
    assert entry.changes == {"role": ["viewer", "support"]}
    assert entry.subject_id == str(viewer.pk)


def test_admin_cannot_change_own_role_even_with_another_admin(make_staff):
    admin = make_staff("admin")
    make_staff("admin", username="second-admin")

    with pytest.raises(ValidationFailed) as raised:
        user_role_change(
            user_id=admin.pk, role="viewer", actor=actor_for_user(admin), acting_user_id=admin.pk
        )

    assert raised.value.field == "role"
    admin.refresh_from_db()
    assert admin.role == "admin"
    assert not AuditEntry.objects.filter(action="user.role_changed").exists()


def test_last_active_admin_cannot_be_demoted(make_staff):
    admin = make_staff("admin")
    make_staff("admin", username="gone-admin", is_active=False)
    # a second admin acting on the first (e.g. promoted then deactivated) is simulated by id
    with pytest.raises(ValidationFailed) as raised:
        user_role_change(
            user_id=admin.pk, role="viewer", actor=actor_for_user(admin), acting_user_id=0
        )

    assert "last active admin" in raised.value.message
    admin.refresh_from_db()
    assert admin.role == "admin"


def test_an_admin_can_demote_another_admin(make_staff):
    admin = make_staff("admin")
    other = make_staff("admin", username="other-admin")

    user_role_change(
        user_id=other.pk, role="viewer", actor=actor_for_user(admin), acting_user_id=admin.pk
    )

    other.refresh_from_db()
    assert other.role == "viewer"


def test_deactivate_rules_and_audit(make_staff):
    admin = make_staff("admin")
    support = make_staff("support")

    with pytest.raises(ValidationFailed, match="cannot deactivate yourself"):
        user_deactivate(user_id=admin.pk, actor=actor_for_user(admin), acting_user_id=admin.pk)
    with pytest.raises(ValidationFailed, match="last active admin"):
        user_deactivate(user_id=admin.pk, actor=actor_for_user(admin), acting_user_id=0)
    user_deactivate(user_id=support.pk, actor=actor_for_user(admin), acting_user_id=admin.pk)

    support.refresh_from_db()
    admin.refresh_from_db()
    assert admin.is_active
    assert not support.is_active
    entries = list(AuditEntry.objects.values_list("action", "changes"))
    assert entries == [("user.deactivated", {"is_active": [True, False]})]


def test_reactivate_restores_sign_in(make_staff):
    admin = make_staff("admin")
    gone = make_staff("viewer", is_active=False)

    user_reactivate(user_id=gone.pk, actor=actor_for_user(admin))

    gone.refresh_from_db()
    assert gone.is_active
    assert AuditEntry.objects.get().action == "user.reactivated"


def test_unknown_user_is_not_found(make_staff):
    admin = make_staff("admin")

    with pytest.raises(NotFound):
        user_deactivate(user_id=999_999, actor=actor_for_user(admin), acting_user_id=admin.pk)


def test_password_set_is_audited_without_the_password(make_staff):
    user = make_staff("viewer")

    user_password_set(
        user=user,
        password="a-brand-new-passphrase-7",
        actor=actor_for_user(user),
        action="user.password_changed",
    )

    user.refresh_from_db()
    assert user.check_password("a-brand-new-passphrase-7")
    entry = AuditEntry.objects.get()
    assert entry.action == "user.password_changed"
    assert "passphrase" not in str(entry.changes)


def test_invitation_resend_sends_a_new_link_only_before_a_password_is_chosen(
    make_staff, django_capture_on_commit_callbacks
):
    admin = make_staff("admin")
    actor = actor_for_user(admin)
    with django_capture_on_commit_callbacks(execute=True):
        invited = user_invite(
            username="bea", email="bea@example.com", role="viewer", actor=actor, password_link=_link
        )
        user_invitation_resend(user_id=invited.pk, actor=actor, password_link=_link)

    assert [message.to for message in mail.outbox] == [["bea@example.com"]] * 2
    assert AuditEntry.objects.filter(action="user.invitation_resent").count() == 1
    with pytest.raises(ValidationFailed, match="already chosen a password"):
        user_invitation_resend(user_id=admin.pk, actor=actor, password_link=_link)
