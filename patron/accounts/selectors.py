"""Reads of sources and keys for the apps above accounts."""

from __future__ import annotations

from patron.accounts.models import Source


def source_find(name_or_id: str | int) -> Source | None:
    """The source with this id (a number) or this name (text); revoked sources are found too."""
    if isinstance(name_or_id, str):
        return Source.objects.filter(name=name_or_id.strip()).first()
    return Source.objects.filter(pk=name_or_id).first()
