"""Declaring custom attributes so that their values are checked against a type when stored."""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.db import IntegrityError, transaction

from patron.accounts.services.audit import audit_record
from patron.core.actors import Actor
from patron.core.errors import Conflict, ProblemList, ValidationFailed
from patron.customers import validation
from patron.customers.models import AttributeDefinition, AttributeType

_KEY = re.compile(r"[a-z0-9_][a-z0-9_-]{0,63}")  # a lower-case slug, as ingestion infers
MAXIMUM_CHOICES = 200  # a pick list longer than this is free text, not a choice
MAXIMUM_CHOICE_LENGTH = 200


def attribute_define(
    *, key: str, label: str, type_: str, choices: Sequence[str], actor: Actor
) -> AttributeDefinition:
    """Declare a new attribute; its key is permanent, so a second declaration is a Conflict."""
    problems = ProblemList()
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        problems.add(
            "key", "must be 1 to 64 lower-case letters, digits, _ or - (not starting with -)"
        )
    clean_label = ""
    try:
        clean_label = validation.clean_text(label, field="label")
        if not clean_label:
            problems.add("label", "must not be empty")
    except ValidationFailed as error:
        problems.add("label", error.message)
    if type_ not in AttributeType.values:
        problems.add("type", f"must be one of {', '.join(AttributeType.values)}")
    clean_choices = _choices_clean(choices, type_=type_, problems=problems)
    problems.raise_if_any()
    try:
        with transaction.atomic():
            definition = AttributeDefinition.objects.create(
                key=key, label=clean_label, type=type_, choices=clean_choices
            )
            audit_record(
                actor=actor,
                action="attribute.defined",
                subject_type="attribute_definition",
                subject_id=definition.pk,
                changes={"key": key, "type": type_, "choices": clean_choices},
            )
    except IntegrityError as error:
        raise Conflict(f"an attribute with key {key!r} is already defined", field="key") from error
    return definition


def _choices_clean(choices: Sequence[str], *, type_: str, problems: ProblemList) -> list[str]:
    if type_ != AttributeType.CHOICE:
        if choices:
            problems.add("choices", "are only for attributes of type choice")
        return []
    if not choices:
        problems.add("choices", "a choice attribute needs at least one choice")
        return []
    if len(choices) > MAXIMUM_CHOICES:
        problems.add("choices", f"at most {MAXIMUM_CHOICES} choices")
        return []
    cleaned: list[str] = []
    for position, choice in enumerate(choices, start=1):
        label = f"choices[{position}]"
        try:
            text = validation.clean_text(choice, field=label, maximum=MAXIMUM_CHOICE_LENGTH)
        except ValidationFailed as error:
            problems.add(label, error.message)
            continue
        if not text:
            problems.add(label, "must not be empty")
        elif text in cleaned:
            problems.add(label, f"{text!r} is listed twice")
        else:
            cleaned.append(text)
    return cleaned
