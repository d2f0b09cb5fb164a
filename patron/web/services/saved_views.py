"""Saving, listing and deleting staff members' named views of a list."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from patron.accounts.models import User
from patron.accounts.services.audit import audit_record
from patron.core.actors import Actor
from patron.core.errors import Conflict, NotFound, ValidationFailed
from patron.web.models import SavedView

MAXIMUM_NAME_LENGTH = 80  # what SavedView.name holds; a menu label, not a description
MAXIMUM_QUERY_LENGTH = 2000  # what SavedView.query holds; far more than every filter set
MAXIMUM_VIEWS_PER_OWNER = 50  # a list of quick links longer than this helps nobody


def saved_view_create(
    *, owner: User, list_name: str, name: str, query: str, is_shared: bool, actor: Actor
) -> SavedView:
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed("give the view a name", field="name")
    if len(name) > MAXIMUM_NAME_LENGTH:
        raise ValidationFailed(f"at most {MAXIMUM_NAME_LENGTH} characters", field="name")
    if len(query) > MAXIMUM_QUERY_LENGTH:
        raise ValidationFailed("these filters are too long to save", field="query")
    with transaction.atomic():
        if SavedView.objects.filter(owner=owner, list_name=list_name).count() >= (
            MAXIMUM_VIEWS_PER_OWNER
        ):
            raise ValidationFailed(
                f"you have {MAXIMUM_VIEWS_PER_OWNER} saved views; delete one first", field="name"
            )
        try:
            with transaction.atomic():
                view = SavedView.objects.create(
                    owner=owner, list_name=list_name, name=name, query=query, is_shared=is_shared
                )
        except IntegrityError as error:
            raise Conflict(f"you already have a view named {name!r}", field="name") from error
        audit_record(
            actor=actor,
            action="saved_view.created",
            subject_type="saved_view",
            subject_id=view.pk,
            changes={"list": list_name, "name": name, "query": query, "is_shared": is_shared},
        )
    return view


def saved_view_delete(*, owner: User, view_id: int, actor: Actor) -> None:
    """Delete one of the owner's views; another person's view is NotFound, shared or not."""
    with transaction.atomic():
        view = SavedView.objects.select_for_update().filter(pk=view_id, owner=owner).first()
        if view is None:
            raise NotFound(f"you have no saved view {view_id}", field="view")
        audit_record(
            actor=actor,
            action="saved_view.deleted",
            subject_type="saved_view",
            subject_id=view.pk,
            changes={"list": view.list_name, "name": view.name, "query": view.query},
        )
        view.delete()
