"""Workspace users: the first admin and role changes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction

from patron.accounts.models import Role, User
from patron.accounts.services.audit import audit_record
from patron.core.actors import Actor
from patron.core.errors import ValidationFailed


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
