"""Tagging customers: tags are created on first use and matched without regard to case."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from patron.accounts.services.audit import AuditFact, audit_record, audit_record_bulk
from patron.core import clock
from patron.core.actors import Actor
from patron.core.errors import NotFound, ProblemList, ValidationFailed
from patron.customers import validation
from patron.customers.models import Customer, CustomerTag, Tag

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
            changed += len(targets)
        audit_record(
            actor=actor,
            action="customers.bulk_tagged" if is_adding else "customers.bulk_untagged",
            subject_type="tag",
            subject_id=tag.pk,
            changes={"tag": tag.name, "customers": changed, "chosen": len(wanted)},
            at=at,
        )
    return changed
