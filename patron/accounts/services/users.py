"""Workspace users: the first admin, invitations, roles, deactivation and passwords."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.core.validators import EmailValidator
from django.db import transaction
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from patron.accounts.models import Role, User
from patron.accounts.services.audit import audit_record
from patron.core.actors import Actor
from patron.core.errors import Conflict, NotFound, ProblemList, ValidationFailed


@dataclass(frozen=True)
class AdminCredentials:
    username: str
    password: str | None  # None when the admin already existed: its password is never shown again
    is_created: bool


def admin_ensure(
    *,
    username: str,
    email: str,
    actor: Actor,
    password: str | None = None,
    reset_password: bool = False,
) -> AdminCredentials:
    """Create the admin once with a generated password; running it again changes nothing
    unless reset_password asks for a new generated password."""
    if not username:
        raise ValidationFailed("username is required", field="username")
    with transaction.atomic():
        existing = User.objects.filter(username=username).first()
        if existing is not None:
            if not reset_password:
                return AdminCredentials(username=username, password=None, is_created=False)
            new_password = password or secrets.token_urlsafe(12)
            existing.set_password(new_password)
            existing.save(update_fields=["password"])
            audit_record(
                actor=actor,
                action="user.password_reset",
                subject_type="user",
                subject_id=existing.pk,
            )
            return AdminCredentials(username=username, password=new_password, is_created=False)
        generated = password or secrets.token_urlsafe(12)
        user = User.objects.create_user(
            username=username,
            email=email,
            password=generated,
            role=Role.ADMIN,
            is_staff=True,
            is_superuser=True,
        )
        audit_record(
            actor=actor,
            action="user.created",
            subject_type="user",
            subject_id=user.pk,
            changes={"username": username, "role": Role.ADMIN},
        )
    return AdminCredentials(username=username, password=generated, is_created=True)


# Staff management: invitations, roles, deactivation. Every rule that keeps the workspace
# administrable (someone must always be able to manage users) lives here, not in the pages.

# The link an invitation or reset email carries, built by the caller (it knows the host).
PasswordLink = Callable[[str, str], str]


def password_token(user: User) -> tuple[str, str]:
    """The (uidb64, token) pair of Django's password reset, for a link that sets a password.

    The token is void once the password changes or the user signs in, so one link sets one
    password.
    """
    return urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)


def _invitation_text(*, user: User, link: str, inviter: str) -> str:
    hours = settings.PASSWORD_RESET_TIMEOUT // 3600
    return (
        f"Hello {user.get_username()},\n\n"
        f"{inviter} invited you to the Patron workspace as {Role(user.role).label}.\n"
        f"Choose your password here (the link works once, for {hours} hours):\n\n"
        f"{link}\n\n"
        f"Then sign in with the username {user.get_username()}.\n"
        "If you did not expect this email, ignore it: nothing happens without the link.\n"
    )


def user_invite(
    *, username: str, email: str, role: str, actor: Actor, password_link: PasswordLink
) -> User:
    """Create a user without a usable password and email them a link to choose one.

    The email leaves after commit, so a rolled-back invitation never reaches anyone.
    """
    username = username.strip()
    email = email.strip()
    problems = ProblemList()
    if not username or len(username) > 150:
        problems.add("username", "username must be 1 to 150 characters")
    else:
        try:
            UnicodeUsernameValidator()(username)
        except DjangoValidationError:
            problems.add("username", "use letters, digits and @ . + - _ only")
    try:
        EmailValidator()(email)
    except DjangoValidationError:
        problems.add("email", "enter a valid email address")
    if role not in Role.values:
        problems.add("role", f"unknown role; choose one of {', '.join(Role.values)}")
    problems.raise_if_any()
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise Conflict(f"the username {username} is taken", field="username")
        if User.objects.filter(email__iexact=email).exists():
            # One address per person keeps a password reset from reaching the wrong account.
            raise Conflict(f"a user with the email {email} already exists", field="email")
        user = User(username=username, email=email, role=role, is_active=True)
        user.set_unusable_password()
        user.save()
        audit_record(
            actor=actor,
            action="user.invited",
            subject_type="user",
            subject_id=user.pk,
            changes={"username": username, "email": email, "role": role},
        )
        _invitation_send(user=user, actor=actor, password_link=password_link)
    return user


def _invitation_send(*, user: User, actor: Actor, password_link: PasswordLink) -> None:
    link = password_link(*password_token(user))
    body = _invitation_text(user=user, link=link, inviter=actor.label)
    recipient = user.email
    transaction.on_commit(
        lambda: send_mail("You are invited to Patron", body, None, [recipient], fail_silently=False)
    )


def user_invitation_resend(*, user_id: int, actor: Actor, password_link: PasswordLink) -> User:
    """A fresh link for someone who lost theirs or let it expire; a password reset cannot
    help them, as Django sends reset links only to accounts that already have a password."""
    with transaction.atomic():
        user = _user_locked(user_id)
        if not user.is_active:
            raise ValidationFailed("reactivate this user before inviting them again")
        if user.has_usable_password():
            raise ValidationFailed(
                "this user has already chosen a password; they can reset it from the sign-in page"
            )
        audit_record(
            actor=actor,
            action="user.invitation_resent",
            subject_type="user",
            subject_id=user.pk,
            changes={"email": user.email},
        )
        _invitation_send(user=user, actor=actor, password_link=password_link)
    return user


def _active_admin_ids() -> set[int]:
    """Active admins, locked until commit: two admins demoting each other at once must not
    both succeed and leave nobody able to manage the workspace."""
    return set(
        User.objects.select_for_update()
        .filter(role=Role.ADMIN, is_active=True)
        .values_list("pk", flat=True)
    )


def _user_locked(user_id: int) -> User:
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


def user_role_change(*, user_id: int, role: str, actor: Actor, acting_user_id: int) -> User:
    if role not in Role.values:
        raise ValidationFailed(
            f"unknown role; choose one of {', '.join(Role.values)}", field="role"
        )
    with transaction.atomic():
        admins = _active_admin_ids()
        user = _user_locked(user_id)
        before = user.role
        if before == role:
            return user
        if user.pk == acting_user_id:
            raise ValidationFailed(
                "you cannot change your own role; ask another admin", field="role"
            )
        if before == Role.ADMIN and admins == {user.pk}:
            raise ValidationFailed(
                "this is the last active admin; make someone else admin first", field="role"
            )
        user.role = role
        user.save(update_fields=["role"])
        audit_record(
            actor=actor,
            action="user.role_changed",
            subject_type="user",
            subject_id=user.pk,
            changes={"role": [before, role]},
        )
    return user


def user_deactivate(*, user_id: int, actor: Actor, acting_user_id: int) -> User:
    """The user can no longer sign in, and every session they have stops working at once
    (the authentication backend refuses inactive users on each request)."""
    with transaction.atomic():
        admins = _active_admin_ids()
        user = _user_locked(user_id)
        if not user.is_active:
            return user
        if user.pk == acting_user_id:
            raise ValidationFailed("you cannot deactivate yourself; ask another admin")
        if admins == {user.pk}:
            raise ValidationFailed("this is the last active admin; make someone else admin first")
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            action="user.deactivated",
            subject_type="user",
            subject_id=user.pk,
            changes={"is_active": [True, False]},
        )
    return user


def user_reactivate(*, user_id: int, actor: Actor) -> User:
    with transaction.atomic():
        user = _user_locked(user_id)
        if user.is_active:
            return user
        user.is_active = True
        user.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            action="user.reactivated",
            subject_type="user",
            subject_id=user.pk,
            changes={"is_active": [False, True]},
        )
    return user


def user_password_set(*, user: User, password: str, actor: Actor, action: str) -> None:
    """Store a new password (already checked by the validators) and audit it, never its value.

    action is "user.password_changed" (the user, signed in) or "user.password_set" (through an
    emailed link: an invitation or a reset).
    """
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        audit_record(actor=actor, action=action, subject_type="user", subject_id=user.pk)
