"""Merging two customer records into one, for identity resolution and for staff in the workspace.

The customers app moves what it owns (identities, tags, notes, milestones, company contacts,
identity conflicts, profile fields); every other app moves its own rows in a handler for the
CUSTOMER_MERGED hook, so this module never reaches into a higher app.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from patron.accounts.services.audit import audit_entry, audit_record_many
from patron.core import clock, hooks
from patron.core.actors import Actor
from patron.core.errors import Conflict, ValidationFailed
from patron.customers.models import (
    CompanyContact,
    Customer,
    CustomerTag,
    Identity,
    IdentityConflict,
    IdentityKind,
    Milestone,
    Note,
)

CUSTOMER_MERGED = "customers.customer_merged"

# Profile fields a merge copies from the source where the target has none; the lifecycle
# stage is derived later from orders, so the target's stays.
_FILLABLE_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "locale",
    "timezone",
    "country",
    "city",
)


@dataclass(frozen=True)
class CustomerMerge:
    """What CUSTOMER_MERGED handlers receive: move every row of source_id to target_id."""

    source_id: int
    target_id: int
    actor: Actor
    at: datetime


def user_ids_of(customer_ids: list[int]) -> dict[int, set[str]]:
    """The user_id identities of each customer (customers without one are left out)."""
    result: dict[int, set[str]] = {}
    rows = Identity.objects.filter(
        customer_id__in=customer_ids, kind=IdentityKind.USER_ID
    ).values_list("customer_id", "value")
    for customer_id, value in rows:
        result.setdefault(customer_id, set()).add(value)
    return result


def customer_merge(
    *, source: Customer, target: Customer, actor: Actor, force: bool = False
) -> Customer:
    """Fold source into target and delete source; returns the updated target.

    Refuses (Conflict) when both carry different user ids, because that joins two people
    the business itself told apart; force=True is for a person in the workspace who checked.
    """
    if source.pk == target.pk:
        raise ValidationFailed("a customer cannot be merged into itself", field="source")
    at = clock.now()
    with transaction.atomic():
        # Lock in id order so two merges touching the same pair cannot deadlock.
        locked = {
            customer.pk: customer
            for customer in Customer.objects.select_for_update()
            .filter(pk__in=sorted([source.pk, target.pk]))
            .order_by("pk")
        }
        if len(locked) != 2:
            raise ValidationFailed("both customers must exist", field="source")
        locked_source, locked_target = locked[source.pk], locked[target.pk]
        user_ids = user_ids_of([source.pk, target.pk])
        source_user_ids = user_ids.get(source.pk, set())
        target_user_ids = user_ids.get(target.pk, set())
        if source_user_ids and target_user_ids and source_user_ids != target_user_ids and not force:
            raise Conflict(
                f"customer {source.pk} has user id {sorted(source_user_ids)[0]!r} and customer "
                f"{target.pk} has user id {sorted(target_user_ids)[0]!r}; merging would join "
                "two people",
                field="user_id",
            )
        moved = _move_owned_rows(locked_source, locked_target, at)
        changes = _merge_profile(locked_source, locked_target)
        locked_target.save()
        hooks.dispatch(
            CUSTOMER_MERGED,
            merge=CustomerMerge(
                source_id=locked_source.pk, target_id=locked_target.pk, actor=actor, at=at
            ),
        )
        source_id = locked_source.pk
        locked_source.delete()
        audit_record_many(
            [
                audit_entry(
                    actor=actor,
                    action="customer.merged",
                    subject_type="customer",
                    subject_id=locked_target.pk,
                    customer_id=locked_target.pk,
                    changes={"merged_from": source_id, "moved": moved, "filled": changes},
                    at=at,
                ),
                audit_entry(
                    actor=actor,
                    action="customer.merged",
                    subject_type="customer",
                    subject_id=source_id,
                    customer_id=source_id,
                    changes={"merged_into": locked_target.pk, "forced": force},
                    at=at,
                ),
            ]
        )
    return locked_target


def _move_owned_rows(source: Customer, target: Customer, at: datetime) -> dict[str, int]:
    moved = {"identities": Identity.objects.filter(customer=source).update(customer=target)}

    target_tags = set(CustomerTag.objects.filter(customer=target).values_list("tag_id", flat=True))
    moved["tags"] = (
        CustomerTag.objects.filter(customer=source)
        .exclude(tag_id__in=target_tags)
        .update(customer=target)
    )

    moved["notes"] = Note.objects.filter(customer=source).update(customer=target)

    target_milestones = set(Milestone.objects.filter(customer=target).values_list("kind", "label"))
    movable_milestones = [
        pk
        for pk, kind, label in Milestone.objects.filter(customer=source).values_list(
            "pk", "kind", "label"
        )
        if (kind, label) not in target_milestones
    ]
    moved["milestones"] = Milestone.objects.filter(pk__in=movable_milestones).update(
        customer=target
    )

    target_companies = set(
        CompanyContact.objects.filter(customer=target).values_list("company_id", flat=True)
    )
    moved["company_contacts"] = (
        CompanyContact.objects.filter(customer=source)
        .exclude(company_id__in=target_companies)
        .update(customer=target)
    )

    IdentityConflict.objects.filter(existing_customer=source).update(existing_customer=target)
    IdentityConflict.objects.filter(claiming_customer=source).update(claiming_customer=target)
    # A conflict between the two customers just merged is settled by the merge itself.
    IdentityConflict.objects.filter(
        existing_customer=target, claiming_customer=target, resolved_at__isnull=True
    ).update(resolved_at=at)
    return moved


def _merge_profile(source: Customer, target: Customer) -> dict[str, Any]:
    filled: dict[str, Any] = {}
    for name in _FILLABLE_FIELDS:
        if not getattr(target, name) and getattr(source, name):
            setattr(target, name, getattr(source, name))
            filled[name] = getattr(source, name)
    merged_attributes = {**source.attributes, **target.attributes}
    if merged_attributes != target.attributes:
        filled["attributes"] = sorted(set(merged_attributes) - set(target.attributes))
        target.attributes = merged_attributes
    if source.is_identified and not target.is_identified:
        target.is_identified = True
        filled["is_identified"] = True
    seen_first = [value for value in (source.first_seen_at, target.first_seen_at) if value]
    seen_last = [value for value in (source.last_seen_at, target.last_seen_at) if value]
    target.first_seen_at = min(seen_first) if seen_first else None
    target.last_seen_at = max(seen_last) if seen_last else None
    return filled


def customer_merge_fills(*, source: Customer, target: Customer) -> dict[str, Any]:
    """The profile fields customer_merge would fill on target from source, saving nothing.

    Runs the merge's own rule on copies, so a preview can never drift from what a merge does.
    """
    return _merge_profile(copy.copy(source), copy.copy(target))
