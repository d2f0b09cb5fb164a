"""Source write keys and API keys: created with a secret shown once, stored as a SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from patron.accounts.models import ApiKey, Scope, Source, User
from patron.accounts.services.audit import audit_record
from patron.core import clock
from patron.core.actors import Actor, ActorKind
from patron.core.errors import Conflict, ValidationFailed

# 32 random bytes: far beyond guessing, so a fast hash is enough (no password stretching needed).
_SECRET_BYTES = 32
_PREFIX_LENGTH = 8


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class CreatedSecret:
    """A new key with its plaintext secret; the only moment the secret exists outside its owner."""

    id: int
    name: str
    secret: str
    prefix: str


def source_create(*, name: str, actor: Actor) -> CreatedSecret:
    name = name.strip()
    if not name or len(name) > 120:
        raise ValidationFailed("name must be 1 to 120 characters", field="name")
    write_key = secrets.token_urlsafe(_SECRET_BYTES)
    try:
        with transaction.atomic():
            source = Source.objects.create(
                name=name,
                write_key_prefix=write_key[:_PREFIX_LENGTH],
                write_key_hash=secret_hash(write_key),
            )
            audit_record(
                actor=actor,
                action="source.created",
                subject_type="source",
                subject_id=source.pk,
                changes={"name": name},
            )
    except IntegrityError as error:
        raise Conflict(f"a source named {name!r} already exists", field="name") from error
    return CreatedSecret(
        id=source.pk, name=source.name, secret=write_key, prefix=source.write_key_prefix
    )


def source_get_or_create(*, name: str, actor: Actor) -> Source:
    """For imports and system jobs that need a source but never its write key."""
    existing = Source.objects.filter(name=name).first()
    if existing is not None:
        return existing
    created = source_create(name=name, actor=actor)
    return Source.objects.get(pk=created.id)


def source_authenticate(write_key: str) -> Source | None:
    if not write_key:
        return None
    return Source.objects.filter(
        write_key_hash=secret_hash(write_key), revoked_at__isnull=True
    ).first()


def source_revoke(*, source: Source, actor: Actor) -> None:
    with transaction.atomic():
        source.revoked_at = clock.now()
        source.save(update_fields=["revoked_at", "updated_at"])
        audit_record(
            actor=actor, action="source.revoked", subject_type="source", subject_id=source.pk
        )


def api_key_create(
    *, name: str, scopes: list[str], actor: Actor, created_by: User | None = None
) -> CreatedSecret:
    name = name.strip()
    if not name or len(name) > 120:
        raise ValidationFailed("name must be 1 to 120 characters", field="name")
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise ValidationFailed(
            f"unknown scope {', '.join(unknown)}; known scopes: {', '.join(Scope.values)}",
            field="scope",
        )
    if not scopes:
        raise ValidationFailed("at least one scope is required", field="scope")
    secret = "ptk_" + secrets.token_urlsafe(_SECRET_BYTES)
    with transaction.atomic():
        key = ApiKey.objects.create(
            name=name,
            prefix=secret[: _PREFIX_LENGTH + 4],
            secret_hash=secret_hash(secret),
            scopes=sorted(set(scopes)),
            created_by=created_by,
        )
        audit_record(
            actor=actor,
            action="api_key.created",
            subject_type="api_key",
            subject_id=key.pk,
            changes={"name": name, "scopes": key.scopes},
        )
    return CreatedSecret(id=key.pk, name=key.name, secret=secret, prefix=key.prefix)


def api_key_authenticate(secret: str) -> ApiKey | None:
    if not secret:
        return None
    key = ApiKey.objects.filter(secret_hash=secret_hash(secret), revoked_at__isnull=True).first()
    if key is not None:
        now = clock.now()
        # Touch last_used_at at most once a minute so reads do not turn into a write per request.
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now
    return key


def api_key_revoke(*, key: ApiKey, actor: Actor) -> None:
    with transaction.atomic():
        key.revoked_at = clock.now()
        key.save(update_fields=["revoked_at", "updated_at"])
        audit_record(
            actor=actor, action="api_key.revoked", subject_type="api_key", subject_id=key.pk
        )


def actor_for_api_key(key: ApiKey) -> Actor:
    return Actor(kind=ActorKind.API_KEY, identifier=str(key.pk), label=f"API key {key.name}")


def actor_for_source(source: Source) -> Actor:
    return Actor(kind=ActorKind.SOURCE, identifier=str(source.pk), label=f"Source {source.name}")


def actor_for_user(user: User) -> Actor:
    return Actor(kind=ActorKind.STAFF, identifier=str(user.pk), label=user.get_username())
