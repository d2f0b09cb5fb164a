"""Notes staff and integrations leave on a customer; kept verbatim and escaped where shown."""

from __future__ import annotations

from django.db import transaction

from patron.accounts.services.audit import audit_record
from patron.core.actors import Actor
from patron.core.errors import ValidationFailed
from patron.customers import validation
from patron.customers.models import Customer, Note

MAXIMUM_NOTE_LENGTH = 10_000  # a long call summary fits; a pasted document does not belong here


def note_add(*, customer: Customer, body: str, actor: Actor) -> Note:
    text = validation.clean_text(body, field="body", maximum=MAXIMUM_NOTE_LENGTH)
    if not text:
        raise ValidationFailed("must not be empty", field="body")
    with transaction.atomic():
        note = Note.objects.create(
            customer=customer,
            body=text,
            author_kind=actor.kind,
            author_identifier=actor.identifier,
            author_label=actor.label,
        )
        audit_record(
            actor=actor,
            action="customer.note_added",
            subject_type="note",
            subject_id=note.pk,
            customer_id=customer.pk,
            changes={"length": len(text)},
        )
    return note
