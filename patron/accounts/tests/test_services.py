"""Write keys, API keys, admin creation and the audit record."""

from __future__ import annotations

import pytest

from patron.accounts.models import ApiKey, AuditEntry, Scope, Source, User
from patron.accounts.services.keys import (
    api_key_authenticate,
    api_key_create,
    api_key_revoke,
    secret_hash,
    source_authenticate,
    source_create,
    source_revoke,
)
from patron.accounts.services.users import admin_ensure
from patron.core.errors import Conflict, ValidationFailed

pytestmark = pytest.mark.django_db


def test_source_write_key_is_stored_only_as_hash(system_actor):
    created = source_create(name="Web shop", actor=system_actor)

    stored = Source.objects.get(pk=created.id)
    assert stored.write_key_hash == secret_hash(created.secret)
    assert created.secret not in stored.write_key_hash
    assert stored.write_key_prefix == created.secret[:8]
    assert source_authenticate(created.secret) == stored


def test_source_names_are_unique(system_actor):
    source_create(name="Web shop", actor=system_actor)

    with pytest.raises(Conflict) as raised:
        source_create(name="Web shop", actor=system_actor)

    assert raised.value.field == "name"
    assert Source.objects.count() == 1


def test_revoked_source_no_longer_authenticates(system_actor):
    created = source_create(name="App", actor=system_actor)

    source_revoke(source=Source.objects.get(pk=created.id), actor=system_actor)

    assert source_authenticate(created.secret) is None
    assert source_authenticate("") is None


def test_api_key_rejects_unknown_scope_and_writes_nothing(system_actor):
    with pytest.raises(ValidationFailed) as raised:
        api_key_create(name="k", scopes=["customers:read", "root"], actor=system_actor)

    assert "root" in raised.value.message
    assert ApiKey.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_api_key_authenticates_until_revoked(system_actor):
    created = api_key_create(name="sync", scopes=[Scope.CUSTOMERS_READ], actor=system_actor)

    key = api_key_authenticate(created.secret)
    assert key is not None and key.scopes == ["customers:read"]
    assert key.last_used_at is not None

    api_key_revoke(key=key, actor=system_actor)
    assert api_key_authenticate(created.secret) is None
    assert api_key_authenticate(created.secret + "x") is None


def test_admin_ensure_prints_password_once(system_actor):
    first = admin_ensure(username="admin", email="admin@example.com", actor=system_actor)
    second = admin_ensure(username="admin", email="admin@example.com", actor=system_actor)

    assert first.is_created and first.password
    assert not second.is_created and second.password is None
    user = User.objects.get(username="admin")
    assert user.role == "admin"
    assert user.check_password(first.password)
    assert AuditEntry.objects.filter(action="user.created").count() == 1
