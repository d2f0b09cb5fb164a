"""Registries through which apps add panels and timeline sources to a record's page unseen by it.

A page (the customer page, for one) renders whatever is registered, so a later capability
contributes by registering in its AppConfig.ready() instead of rewriting the page. Permissions
are named as text because core sits below the app that defines them; the page checks them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q

from patron.core.errors import ValidationFailed
from patron.core.pagination import decode_cursor, encode_cursor


@dataclass(frozen=True)
class PanelContent:
    """What a panel shows for one record: a template and its context."""

    template_name: str
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    order: int  # lower first
    permission: str  # the value of the permission a viewer needs, e.g. "orders.view"
    render: Callable[[int], PanelContent | None]  # record id → content; None hides the panel
    region: str = "side"  # "side" beside the timeline, or "main" above it (wide tables)


_panels: dict[str, Panel] = {}


def panel_register(panel: Panel) -> None:
    # Keyed, so registering the same panel twice (a module imported again) keeps one.
    _panels[panel.key] = panel


def panel_unregister(key: str) -> None:
    _panels.pop(key, None)


def panels_visible(*, allows: Callable[[str], bool]) -> list[Panel]:
    """The registered panels the viewer may see, in display order."""
    return sorted(
        (panel for panel in _panels.values() if allows(panel.permission)),
        key=lambda panel: (panel.order, panel.key),
    )


@dataclass(frozen=True)
class TimelinePosition:
    """Where a timeline page ends: items sort newest first by (at, kind, item id)."""

    at: datetime
    kind: str
    item_id: int

    def older(self, kind: str, *, at_field: str, id_field: str = "pk") -> Q:
        """The condition a source of this kind filters on to return only items after this one.

        Ties on time are broken by kind, then by id, the same order the merged page uses, so
        no item is shown twice or skipped when several share a timestamp.
        """
        if kind < self.kind:
            return Q(**{f"{at_field}__lte": self.at})
        if kind > self.kind:
            return Q(**{f"{at_field}__lt": self.at})
        return Q(**{f"{at_field}__lt": self.at}) | Q(
            **{at_field: self.at, f"{id_field}__lt": self.item_id}
        )

    def encode(self) -> str:
        return encode_cursor({"at": self.at.isoformat(), "kind": self.kind, "id": self.item_id})

    @classmethod
    def decode(cls, cursor: str) -> TimelinePosition:
        values = decode_cursor(cursor)
        try:
            at = datetime.fromisoformat(str(values.get("at")))
        except ValueError as error:
            raise ValidationFailed("cursor is not one this page issued", field="cursor") from error
        kind, item_id = values.get("kind"), values.get("id")
        if at.tzinfo is None or not isinstance(kind, str) or not isinstance(item_id, int):
            raise ValidationFailed("cursor is not one this page issued", field="cursor")
        return cls(at=at, kind=kind, item_id=item_id)


@dataclass(frozen=True)
class TimelineItem:
    """One line of a timeline, already in words; templates escape every text."""

    kind: str
    item_id: int
    at: datetime
    title: str
    summary: str = ""
    actor: str = ""
    details: tuple[tuple[str, str], ...] = ()
    url: str = ""
    tone: str = ""  # a badge tone: good, warn, bad, accent or empty

    @property
    def position(self) -> TimelinePosition:
        return TimelinePosition(at=self.at, kind=self.kind, item_id=self.item_id)


# record id, the position to continue after (None: the newest), how many at most.
TimelineFetch = Callable[[int, TimelinePosition | None, int], Sequence[TimelineItem]]


@dataclass(frozen=True)
class TimelineSource:
    """A kind of item: fetch returns up to `limit` of them older than the position, newest first.

    One query per call whatever the record's history, which keeps a timeline page's cost fixed.
    """

    kind: str
    label: str
    order: int  # where its filter chip stands
    permission: str
    fetch: TimelineFetch


_timeline_sources: dict[str, TimelineSource] = {}


def timeline_source_register(source: TimelineSource) -> None:
    _timeline_sources[source.kind] = source


def timeline_source_unregister(kind: str) -> None:
    _timeline_sources.pop(kind, None)


def timeline_sources_visible(*, allows: Callable[[str], bool]) -> list[TimelineSource]:
    return sorted(
        (source for source in _timeline_sources.values() if allows(source.permission)),
        key=lambda source: (source.order, source.kind),
    )


@dataclass(frozen=True)
class TimelinePage:
    items: list[TimelineItem]
    next_position: TimelinePosition | None


def timeline_page(
    record_id: int,
    *,
    sources: Sequence[TimelineSource],
    before: TimelinePosition | None,
    limit: int,
) -> TimelinePage:
    """The newest `limit` items of every source merged, and where the next page starts.

    Each source is asked for limit + 1: the merged page can hold at most `limit` of one source,
    and the one extra tells whether anything is left.
    """
    gathered: list[TimelineItem] = []
    for source in sources:
        gathered.extend(source.fetch(record_id, before, limit + 1))
    gathered.sort(key=lambda item: (item.at, item.kind, item.item_id), reverse=True)
    items = gathered[:limit]
    has_more = len(gathered) > limit
    return TimelinePage(items=items, next_position=items[-1].position if has_more else None)
