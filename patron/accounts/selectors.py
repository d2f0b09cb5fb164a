"""Reads of sources, keys, staff users and the audit log for the apps above accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q, QuerySet

from patron.accounts.models import ApiKey, AuditEntry, Role, Source, User
from patron.core.errors import NotFound
from patron.core.panels import TimelinePosition


def source_find(name_or_id: str | int) -> Source | None:
    """The source with this id (a number) or this name (text); revoked sources are found too."""
    if isinstance(name_or_id, str):
        return Source.objects.filter(name=name_or_id.strip()).first()
    return Source.objects.filter(pk=name_or_id).first()


def audit_subject_ids(*, action: str, subject_type: str, subject_ids: list[str]) -> set[str]:
    """Which of these subjects already have an audit entry with this action (one indexed query)."""
    if not subject_ids:
        return set()
    return set(
        AuditEntry.objects.filter(
            subject_type=subject_type, subject_id__in=subject_ids, action=action
        ).values_list("subject_id", flat=True)
    )


def audit_timeline(
    *,
    customer_id: int,
    kind: str,
    action_prefix: str,
    excluded_actions: tuple[str, ...] = (),
    before: TimelinePosition | None,
    limit: int,
) -> list[AuditEntry]:
    """Audit entries about one person whose action starts with the prefix, newest first.

    One query on the (customer_id, created_at) index, whatever the length of the history.
    """
    queryset = AuditEntry.objects.filter(
        customer_id=customer_id, action__startswith=action_prefix
    ).exclude(action__in=excluded_actions)
    if before is not None:
        queryset = queryset.filter(before.older(kind, at_field="created_at"))
    return list(queryset.order_by("-created_at", "-pk")[:limit])


def audit_list_for_subject(*, subject_type: str, subject_id: str, limit: int) -> list[AuditEntry]:
    """The newest audit entries about one subject (a company, a page), newest first."""
    return list(
        AuditEntry.objects.filter(subject_type=subject_type, subject_id=subject_id).order_by(
            "-created_at", "-pk"
        )[:limit]
    )


@dataclass(frozen=True)
class AuditFilters:
    """The audit log page's filters; empty values filter nothing."""

    actor: str = ""  # part of the actor's label, any case
    action: str = ""  # an action or its start: "login." matches login.failed and login.succeeded
    subject_type: str = ""
    customer_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None  # inclusive: the whole day


def audit_list(filters: AuditFilters) -> QuerySet[AuditEntry]:
    """Audit entries matching the filters, for keyset pages newest first."""
    entries = AuditEntry.objects.all()
    if filters.actor:
        entries = entries.filter(actor_label__icontains=filters.actor)
    if filters.action:
        entries = entries.filter(action__startswith=filters.action)
    if filters.subject_type:
        entries = entries.filter(subject_type=filters.subject_type)
    if filters.customer_id is not None:
        entries = entries.filter(customer_id=filters.customer_id)
    if filters.date_from is not None:
        start = datetime.combine(filters.date_from, time.min, tzinfo=UTC)
        entries = entries.filter(created_at__gte=start)
    if filters.date_to is not None:
        end = datetime.combine(filters.date_to + timedelta(days=1), time.min, tzinfo=UTC)
        entries = entries.filter(created_at__lt=end)
    return entries


@dataclass(frozen=True)
class UserFilters:
    search: str = ""  # part of the username, name or email
    role: str = ""
    is_active: bool | None = None


def user_list(filters: UserFilters) -> QuerySet[User]:
    """Staff users matching the filters, for keyset pages."""
    users = User.objects.all()
    if filters.search:
        term = filters.search
        users = users.filter(
            Q(username__icontains=term)
            | Q(first_name__icontains=term)
            | Q(last_name__icontains=term)
            | Q(email__icontains=term)
        )
    if filters.role:
        users = users.filter(role=filters.role)
    if filters.is_active is not None:
        users = users.filter(is_active=filters.is_active)
    return users


def user_get(user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


def user_admin_names(*, limit: int) -> list[str]:
    """Usernames of a few active admins: whom a refused user can ask for a role."""
    return list(
        User.objects.filter(role=Role.ADMIN, is_active=True)
        .order_by("username")
        .values_list("username", flat=True)[:limit]
    )


@dataclass(frozen=True)
class ApiKeyFilters:
    search: str = ""  # part of the name or the prefix
    is_active: bool | None = None


def api_key_list(filters: ApiKeyFilters) -> QuerySet[ApiKey]:
    """API keys matching the filters with their creator loaded (one query per page)."""
    keys = ApiKey.objects.select_related("created_by")
    if filters.search:
        keys = keys.filter(Q(name__icontains=filters.search) | Q(prefix__startswith=filters.search))
    if filters.is_active is not None:
        keys = keys.filter(revoked_at__isnull=filters.is_active)
    return keys


def api_key_get(key_id: int) -> ApiKey:
    key = ApiKey.objects.select_related("created_by").filter(pk=key_id).first()
    if key is None:
        raise NotFound(f"no API key with id {key_id}")
    return key


def source_choices() -> list[tuple[int, str]]:
    """(id, name) of every source, revoked ones too (their orders stay): a filter's choices."""
    return list(Source.objects.order_by("name", "pk").values_list("pk", "name"))


@dataclass(frozen=True)
class SourceFilters:
    search: str = ""  # part of the name, or the start of the write key's prefix
    is_active: bool | None = None


def source_list(filters: SourceFilters) -> QuerySet[Source]:
    """Sources matching the filters, for keyset pages."""
    sources = Source.objects.all()
    if filters.search:
        sources = sources.filter(
            Q(name__icontains=filters.search) | Q(write_key_prefix__startswith=filters.search)
        )
    if filters.is_active is not None:
        sources = sources.filter(revoked_at__isnull=filters.is_active)
    return sources


def source_get(source_id: int) -> Source:
    source = Source.objects.filter(pk=source_id).first()
    if source is None:
        raise NotFound(f"no source with id {source_id}")
    return source
