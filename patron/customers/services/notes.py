"""Notes staff and integrations leave on a customer; kept verbatim and escaped where shown."""

from __future__ import annotations

from django.db import transaction

from patron.accounts.services.audit import audit_record
from patron.core.actors import Actor
from patron.core.errors import PermissionDenied, ValidationFailed
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


def note_is_editable_by(note: Note, actor: Actor) -> bool:
    """Only the note's author edits it: a note says what that person saw or promised."""
    return note.author_kind == actor.kind and note.author_identifier == actor.identifier


def note_edit(*, note: Note, body: str, actor: Actor) -> Note:
    """Replace the text of one's own note; the audit entry keeps the text before and after."""
    text = validation.clean_text(body, field="body", maximum=MAXIMUM_NOTE_LENGTH)
    if not text:
        raise ValidationFailed("must not be empty", field="body")
    if not note_is_editable_by(note, actor):
        raise PermissionDenied("only the author of a note can edit it", field="body")
    with transaction.atomic():
        locked = Note.objects.select_for_update().get(pk=note.pk)
        if locked.body == text:
            return locked
        before = locked.body
        locked.body = text
        locked.save(update_fields=["body", "updated_at"])
        audit_record(
            actor=actor,
            action="customer.note_edited",
            subject_type="note",
            subject_id=locked.pk,
            customer_id=locked.customer_id,
            changes={"body": [before, text]},
        )
    return locked
