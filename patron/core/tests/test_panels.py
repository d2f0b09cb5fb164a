"""The panel and timeline source registries, and merging sources into pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from patron.core import panels
from patron.core.errors import ValidationFailed
from patron.core.pagination import encode_cursor
from patron.core.panels import (
    Panel,
    PanelContent,
    TimelineItem,
    TimelinePosition,
    TimelineSource,
    panel_register,
    panel_unregister,
    panels_visible,
    timeline_page,
    timeline_source_register,
    timeline_source_unregister,
    timeline_sources_visible,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def empty_registries(monkeypatch: pytest.MonkeyPatch) -> None:
    # Other apps register on import; each test starts from nothing and leaves them untouched.
    monkeypatch.setattr(panels, "_panels", {})
    monkeypatch.setattr(panels, "_timeline_sources", {})


def content(template: str) -> PanelContent:
    return PanelContent(template, {"x": 1})


def test_panels_come_in_order_and_only_those_the_viewer_may_see():
    panel_register(Panel("b", "Second", 20, "orders.view", lambda record_id: content("b.html")))
    panel_register(Panel("a", "First", 10, "customers.view", lambda record_id: None))
    panel_register(Panel("c", "Hidden", 5, "audit.view", lambda record_id: content("c.html")))

    visible = panels_visible(allows=lambda permission: permission != "audit.view")

    assert [panel.key for panel in visible] == ["a", "b"]
    assert visible[1].render(7) == PanelContent("b.html", {"x": 1})
    assert visible[0].region == "side"


def test_registering_a_key_again_replaces_the_panel_and_unregistering_removes_it():
    panel_register(Panel("a", "Old", 10, "", lambda record_id: None))
    panel_register(Panel("a", "New", 10, "", lambda record_id: None))

    assert [panel.title for panel in panels_visible(allows=lambda permission: True)] == ["New"]
    panel_unregister("a")
    panel_unregister("never-registered")
    assert panels_visible(allows=lambda permission: True) == []


def test_equal_orders_are_sorted_by_key_so_the_page_is_stable():
    for key in ("zeta", "alpha", "mid"):
        panel_register(Panel(key, key, 10, "", lambda record_id: None))

    assert [panel.key for panel in panels_visible(allows=lambda p: True)] == [
        "alpha",
        "mid",
        "zeta",
    ]


def items_of(kind: str, times: list[datetime]) -> list[TimelineItem]:
    return [
        TimelineItem(kind=kind, item_id=number, at=at, title=f"{kind} {number}")
        for number, at in enumerate(times, start=1)
    ]


def source_of(
    kind: str, items: list[TimelineItem], calls: list[int] | None = None
) -> TimelineSource:
    """A source behaving as a selector must: newest first, strictly after the position."""

    def fetch(record_id: int, before: TimelinePosition | None, limit: int) -> list[TimelineItem]:
        if calls is not None:
            calls.append(limit)
        ordered = sorted(items, key=lambda item: (item.at, item.kind, item.item_id), reverse=True)
        if before is not None:
            bound = (before.at, before.kind, before.item_id)
            ordered = [item for item in ordered if (item.at, item.kind, item.item_id) < bound]
        return ordered[:limit]

    return TimelineSource(kind, kind.title(), 10, "", fetch)


def test_sources_are_visible_by_permission_in_chip_order():
    timeline_source_register(TimelineSource("b", "B", 20, "orders.view", lambda *args: []))
    timeline_source_register(TimelineSource("a", "A", 10, "customers.view", lambda *args: []))
    timeline_source_register(TimelineSource("x", "X", 1, "audit.view", lambda *args: []))

    visible = timeline_sources_visible(allows=lambda permission: permission != "audit.view")

    assert [source.kind for source in visible] == ["a", "b"]
    timeline_source_unregister("a")
    assert [source.kind for source in timeline_sources_visible(allows=lambda p: True)] == ["x", "b"]


def test_pages_merge_sources_newest_first_and_walk_every_item_once():
    orders = items_of("order", [T0 + timedelta(hours=hour) for hour in range(0, 10, 2)])
    notes = items_of("note", [T0 + timedelta(hours=hour) for hour in range(1, 10, 2)])
    # Ties: three events at the instant of an order and of each other.
    events = items_of("event", [T0, T0, T0 + timedelta(hours=4)])
    sources = [source_of("order", orders), source_of("note", notes), source_of("event", events)]
    walked: list[TimelineItem] = []
    before = None

    for _ in range(10):
        page = timeline_page(1, sources=sources, before=before, limit=4)
        walked += page.items
        before = page.next_position
        if before is None:
            break

    everything = orders + notes + events
    assert len(walked) == len(set(walked)) == len(everything) == 13
    assert walked == sorted(
        everything, key=lambda item: (item.at, item.kind, item.item_id), reverse=True
    )


def test_each_source_is_asked_for_one_more_than_the_page_to_know_if_more_remain():
    calls: list[int] = []
    items = items_of("order", [T0 + timedelta(minutes=minute) for minute in range(5)])

    full = timeline_page(1, sources=[source_of("order", items, calls)], before=None, limit=5)
    short = timeline_page(1, sources=[source_of("order", items, calls)], before=None, limit=4)

    assert calls == [6, 5]
    assert (len(full.items), full.next_position) == (5, None)
    assert short.next_position == items[1].position


def test_no_sources_give_an_empty_last_page():
    assert timeline_page(1, sources=[], before=None, limit=25) == panels.TimelinePage([], None)


def test_a_position_survives_its_cursor():
    position = TimelinePosition(at=T0 + timedelta(microseconds=17), kind="order", item_id=42)

    assert TimelinePosition.decode(position.encode()) == position


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        encode_cursor({"id": 1}),
        encode_cursor({"id": 1, "kind": "order", "at": "yesterday"}),
        encode_cursor({"id": 1, "kind": "order", "at": "2026-03-01T12:00:00"}),  # no zone
        encode_cursor({"id": "1", "kind": "order", "at": "2026-03-01T12:00:00+00:00"}),
        encode_cursor({"id": 1, "kind": 3, "at": "2026-03-01T12:00:00+00:00"}),
    ],
)
def test_a_cursor_the_page_did_not_issue_is_refused(cursor):
    with pytest.raises(ValidationFailed) as raised:
        TimelinePosition.decode(cursor)

    assert raised.value.field == "cursor"


def test_older_breaks_ties_by_kind_then_id():
    position = TimelinePosition(at=T0, kind="note", item_id=5)

    earlier_kind = position.older("event", at_field="at")
    later_kind = position.older("order", at_field="at")
    same_kind = position.older("note", at_field="at", id_field="id")

    assert str(earlier_kind) == str(panels.Q(at__lte=T0))
    assert str(later_kind) == str(panels.Q(at__lt=T0))
    assert str(same_kind) == str(panels.Q(at__lt=T0) | panels.Q(at=T0, id__lt=5))
