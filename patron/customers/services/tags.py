"""Tagging customers: tags are created on first use and matched without regard to case."""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from patron.accounts.services.audit import AuditFact, audit_record, audit_record_bulk
from patron.core import clock
from patron.core.actors import Actor, ActorKind
from patron.core.errors import NotFound, ProblemList, ValidationFailed
from patron.customers import validation
from patron.customers.models import Customer, CustomerTag, Tag
from patron.customers.selectors import CustomerListFilters, customer_list_ids

MAXIMUM_TAG_LENGTH = 100  # what Tag.name holds
MAXIMUM_TAGS_PER_REQUEST = 50  # more than any hand-tagging; a larger list is a mistaken import


def tag_names_clean(names: Sequence[object], *, field: str = "tags") -> list[str]:
    """Trimmed, non-empty, unique (ignoring case) tag names in the order given."""
    if len(names) > MAXIMUM_TAGS_PER_REQUEST:
        raise ValidationFailed(f"at most {MAXIMUM_TAGS_PER_REQUEST} tags at once", field=field)
    problems = ProblemList()
    cleaned: dict[str, str] = {}
    for position, name in enumerate(names, start=1):
        label = f"{field}[{position}]"
        try:
            text = validation.clean_text(name, field=label, maximum=MAXIMUM_TAG_LENGTH)
        except ValidationFailed as error:
            problems.add(label, error.message)
            continue
        if not text:
            problems.add(label, "must not be empty")
            continue
        cleaned.setdefault(text.lower(), text)
    problems.raise_if_any()
    return list(cleaned.values())


def _tags_ensure(names: Sequence[str]) -> list[Tag]:
    """The tags with these names, creating missing ones; an existing tag keeps its spelling."""
    tags: list[Tag] = []
    for name in names:
        existing = _tag_named(name)
        if existing is None:
            try:
                with transaction.atomic():
                    existing = Tag.objects.create(name=name)
            except IntegrityError:
                existing = _tag_named(name)
                if existing is None:
                    raise
        tags.append(existing)
    return tags


def _tag_named(name: str) -> Tag | None:
    return Tag.objects.annotate(lowered=Lower("name")).filter(lowered=name.lower()).first()


def customer_tags_add(
    *, customer: Customer, names: Sequence[object], actor: Actor, at: datetime | None = None
) -> list[str]:
    """Tag the customer; returns the names it did not carry before."""
    clean_names = tag_names_clean(names)
    at = at or clock.now()
    with transaction.atomic():
        tags = _tags_ensure(clean_names)
        already = set(
            CustomerTag.objects.filter(customer=customer, tag__in=tags).values_list(
                "tag_id", flat=True
            )
        )
        new_tags = [tag for tag in tags if tag.pk not in already]
        CustomerTag.objects.bulk_create(
            [CustomerTag(customer=customer, tag=tag) for tag in new_tags],
            ignore_conflicts=True,
        )
        added = [tag.name for tag in new_tags]
        if added:
            audit_record(
                actor=actor,
                action="customer.tagged",
                subject_type="customer",
                subject_id=customer.pk,
                customer_id=customer.pk,
                changes={"tags": [None, added]},
                at=at,
            )
    return added


def customer_tag_remove(*, customer: Customer, name: str, actor: Actor) -> None:
    """Take one tag off the customer; NotFound if the customer does not carry it."""
    with transaction.atomic():
        link = (
            CustomerTag.objects.select_related("tag")
            .annotate(lowered=Lower("tag__name"))
            .filter(customer=customer, lowered=name.strip().lower())
            .first()
        )
        if link is None:
            raise NotFound(f"customer {customer.pk} has no tag {name[:100]!r}", field="tag")
        link.delete()
        audit_record(
            actor=actor,
            action="customer.untagged",
            subject_type="customer",
            subject_id=customer.pk,
            customer_id=customer.pk,
            changes={"tags": [link.tag.name, None]},
        )


# Customers tagged per batch of a bulk action: one lookup, one insert or delete and one insert
# of audit entries per batch, and 5,000 ids stay far below SQLite's 32,766 bound parameters.
BULK_TAG_BATCH = 5_000


def _tag_batch(
    tag: Tag, batch: Sequence[int], *, is_adding: bool, actor: Actor, at: datetime
) -> int:
    """Tag (or untag) one batch of customers and audit each that changed, in one insert.

    Customers that already carry the tag (or do not, when removing) are skipped, so running a
    batch twice changes and audits nothing the second time.
    """
    carrying = set(
        CustomerTag.objects.filter(tag=tag, customer_id__in=batch).values_list(
            "customer_id", flat=True
        )
    )
    if is_adding:
        existing = Customer.objects.filter(pk__in=batch).values_list("pk", flat=True)
        targets = [pk for pk in existing if pk not in carrying]
        CustomerTag.objects.bulk_create(
            [CustomerTag(customer_id=pk, tag=tag) for pk in targets],
            ignore_conflicts=True,
        )
    else:
        targets = sorted(carrying)
        CustomerTag.objects.filter(tag=tag, customer_id__in=targets).delete()
    audit_record_bulk(
        actor=actor,
        facts=[
            AuditFact(
                action="customer.tagged" if is_adding else "customer.untagged",
                subject_type="customer",
                subject_id=pk,
                customer_id=pk,
                changes={"tags": [None, [tag.name]] if is_adding else [tag.name, None]},
                at=at,
            )
            for pk in targets
        ],
    )
    return len(targets)


def customers_tag_bulk(
    *, customer_ids: Iterable[int], name: object, is_adding: bool, actor: Actor
) -> int:
    """Add one tag to (or take it off) many customers; returns how many changed.

    Set-based in batches; each customer that changed gets its own audit entry (its timeline
    shows it) and the whole action one more. Ids of customers that do not exist are skipped.
    """
    [clean_name] = tag_names_clean([name], field="tag")
    at = clock.now()
    wanted = list(dict.fromkeys(customer_ids))
    changed = 0
    with transaction.atomic():
        tag = _tags_ensure([clean_name])[0] if is_adding else _tag_named(clean_name)
        if tag is None:
            return 0
        for start in range(0, len(wanted), BULK_TAG_BATCH):
            batch = wanted[start : start + BULK_TAG_BATCH]
            changed += _tag_batch(tag, batch, is_adding=is_adding, actor=actor, at=at)
        audit_record(
            actor=actor,
            action="customers.bulk_tagged" if is_adding else "customers.bulk_untagged",
            subject_type="tag",
            subject_id=tag.pk,
            changes={"tag": tag.name, "customers": changed, "chosen": len(wanted)},
            at=at,
        )
    return changed


# --- bulk tags in the worker ---------------------------------------------------------------------

# Above this many customers a bulk tag runs in the worker: up to it the request takes about a
# third of a second; 159,000 took 11 s, longer than anyone should stare at a spinner.
BULK_TAG_IN_WORKER_ABOVE = 5_000
# Customers per transaction in the worker: each batch holds the write lock (the whole database on
# SQLite) for about a tenth of a second, so ingestion and other pages slip in between batches,
# and a retry after a crash repeats at most this many customers' work.
BULK_TAG_WORKER_BATCH = 1_000
BULK_TAG_DIRECTORY = "bulk-tags"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


class BulkTagState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class BulkTagJob:
    """A bulk tag handed to the worker, as its state file says now."""

    token: str
    tag: str
    is_adding: bool
    state: BulkTagState
    done: int  # customers looked at so far
    total: int | None  # how many matched when the worker started; None while queued
    changed: int  # customers that gained (or lost) the tag
    error: str

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.state == BulkTagState.DONE else 0
        return min(100, self.done * 100 // self.total)

    @property
    def is_finished(self) -> bool:
        return self.state in (BulkTagState.DONE, BulkTagState.FAILED)


def _job_path(token: str) -> Path:
    if not _TOKEN.match(token):
        raise NotFound("no such bulk tag job", field="token")
    return Path(settings.MEDIA_ROOT) / BULK_TAG_DIRECTORY / f"{token}.json"


def _job_read(token: str) -> dict[str, Any]:
    try:
        return cast(dict[str, Any], json.loads(_job_path(token).read_text()))
    except FileNotFoundError as error:
        raise NotFound("no such bulk tag job", field="token") from error


def _job_write(token: str, data: dict[str, Any]) -> None:
    """Replace the state file at once, so the polling page never reads half a file.

    A file under MEDIA_ROOT, not a row: no migration, and on SQLite a row written inside the
    worker's batches would wait on the write lock the page's reads do not need.
    """
    path = _job_path(token)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(data))
    os.replace(partial, path)


def _filters_dump(filters: CustomerListFilters) -> dict[str, Any]:
    return {
        key: value.isoformat()
        if isinstance(value, date)
        else str(value)
        if isinstance(value, Decimal)
        else value
        for key, value in asdict(filters).items()
    }


def _filters_load(data: dict[str, Any]) -> CustomerListFilters:
    values: dict[str, Any] = dict(data)
    for key in ("first_order_from", "first_order_to", "last_order_from", "last_order_to"):
        values[key] = date.fromisoformat(values[key]) if values.get(key) else None
    for key in ("spent_min", "spent_max"):
        values[key] = Decimal(values[key]) if values.get(key) is not None else None
    return CustomerListFilters(**values)


def bulk_tag_job_get(token: str) -> BulkTagJob:
    """The job's state now; NotFound for a token no job has."""
    data = _job_read(token)
    return BulkTagJob(
        token=token,
        tag=data["tag"],
        is_adding=data["is_adding"],
        state=BulkTagState(data["state"]),
        done=data["done"],
        total=data["total"],
        changed=data["changed"],
        error=data.get("error", ""),
    )


def bulk_tag_job_start(
    *, filters: CustomerListFilters, name: object, is_adding: bool, actor: Actor
) -> BulkTagJob:
    """Queue a bulk tag of every customer matching the filters; returns the queued job."""
    [clean_name] = tag_names_clean([name], field="tag")
    token = secrets.token_urlsafe(24)
    _job_write(
        token,
        {
            "tag": clean_name,
            "is_adding": is_adding,
            "filters": _filters_dump(filters),
            "actor": {"kind": actor.kind, "identifier": actor.identifier, "label": actor.label},
            "state": BulkTagState.QUEUED,
            "done": 0,
            "total": None,
            "changed": 0,
            "last_id": 0,
            "error": "",
        },
    )
    # Imported here, not at the top: tasks.py imports this module to call the service.
    from patron.customers.tasks import bulk_tag_job_run_task

    transaction.on_commit(lambda: bulk_tag_job_run_task(token))
    return bulk_tag_job_get(token)


def bulk_tag_job_run(*, token: str) -> None:
    """Work through a queued bulk tag in batches, each its own transaction and audited as one
    insert; a retry resumes after the last batch that committed (and a batch repeated changes
    nothing twice)."""
    data = _job_read(token)
    if data["state"] == BulkTagState.DONE:
        return
    actor = Actor(
        kind=ActorKind(data["actor"]["kind"]),
        identifier=data["actor"]["identifier"],
        label=data["actor"]["label"],
    )
    is_adding = bool(data["is_adding"])
    matching = customer_list_ids(_filters_load(data["filters"]))
    at = clock.now()
    try:
        tag = _tags_ensure([data["tag"]])[0] if is_adding else _tag_named(data["tag"])
        if data["total"] is None:
            data["total"] = matching.count() if tag is not None else 0
        if tag is not None:
            data["tag"] = tag.name  # an existing tag keeps its spelling
        data.update(state=BulkTagState.RUNNING, error="")
        _job_write(token, data)
        while tag is not None:
            batch = list(
                matching.filter(pk__gt=data["last_id"]).order_by("pk")[:BULK_TAG_WORKER_BATCH]
            )
            if not batch:
                break
            with transaction.atomic():
                data["changed"] += _tag_batch(tag, batch, is_adding=is_adding, actor=actor, at=at)
            data["last_id"] = batch[-1]
            data["done"] += len(batch)
            _job_write(token, data)
        if tag is not None:
            audit_record(
                actor=actor,
                action="customers.bulk_tagged" if is_adding else "customers.bulk_untagged",
                subject_type="tag",
                subject_id=tag.pk,
                changes={"tag": tag.name, "customers": data["changed"], "chosen": data["done"]},
                at=at,
            )
    except Exception as error:
        data.update(state=BulkTagState.FAILED, error=type(error).__name__)
        _job_write(token, data)
        raise
    data.update(state=BulkTagState.DONE, done=max(data["done"], data["total"] or 0))
    _job_write(token, data)
