"""The customer timeline's built-in sources: events, page views, orders, refunds, carts, notes…

Each source asks its own app's selector for one customer's rows older than a position (one
query) and puts them into words. WebConfig.ready() registers them with patron.core.panels; a
later app (messages, tickets) registers its own source the same way from its own ready().
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.urls import NoReverseMatch, reverse

from patron.accounts import selectors as account_selectors
from patron.accounts.models import AuditEntry
from patron.accounts.permissions import Permission
from patron.core.panels import (
    TimelineItem,
    TimelinePosition,
    TimelineSource,
    timeline_source_register,
)
from patron.customers import selectors as customer_selectors
from patron.events import selectors as event_selectors
from patron.events.models import Event, EventType
from patron.orders import selectors as order_selectors
from patron.orders.models import OrderStatus

# Permission values as core's registry takes them (text, since core cannot import accounts).
CUSTOMERS_VIEW = Permission.CUSTOMERS_VIEW.value
ORDERS_VIEW = Permission.ORDERS_VIEW.value

MAXIMUM_DETAILS = 8  # an event can carry hundreds of properties; the first few tell the story
MAXIMUM_DETAIL_LENGTH = 200  # a pasted document in a property must not swamp the page

_CHANGE_TITLES = {
    "customer.created": "Profile created",
    "customer.updated": "Profile changed",
    "customer.identified": "Identified",
    "customer.tagged": "Tagged",
    "customer.untagged": "Tag removed",
    "customer.identity_added": "Identity added",
    "customer.identity_removed": "Identity removed",
    "customer.identity_conflict": "Identity conflict",
    "customer.milestone_set": "Milestone set",
    "customer.merged": "Merged",
    "customer.note_edited": "Note edited",
}
_CART_TITLES = {
    "cart.product_added": "Added to cart",
    "cart.product_removed": "Removed from cart",
    "cart.lines_replaced": "Cart updated",
    "cart.converted": "Cart became an order",
    "cart.abandoned": "Cart abandoned",
}
_ORDER_TONES = {
    OrderStatus.CANCELLED: "bad",
    OrderStatus.REFUNDED: "warn",
    OrderStatus.PARTIALLY_REFUNDED: "warn",
    OrderStatus.PENDING: "",
}


def url_if_page_exists(name: str, *args: object) -> str:
    """A link to a workspace page other areas may not have built yet; empty until they have."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _shorten(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAXIMUM_DETAIL_LENGTH:
        return text[: MAXIMUM_DETAIL_LENGTH - 1] + "…"
    return text


def _value_text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict) or (
        isinstance(value, list | tuple) and any(isinstance(item, dict | list) for item in value)
    ):
        return _shorten(json.dumps(value, ensure_ascii=False, default=str))
    if isinstance(value, list | tuple):
        return ", ".join(_value_text(item) for item in value)
    return _shorten(value)


def _change_details(changes: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Changes as the audit log stores them: {field: [before, after]} or {name: value}."""
    details = []
    for name, value in list(changes.items())[:MAXIMUM_DETAILS]:
        if isinstance(value, list) and len(value) == 2:
            before, after = value
            text = f"{_value_text(before)} → {_value_text(after)}"
        else:
            text = _value_text(value)
        details.append((str(name), _shorten(text)))
    return tuple(details)


def _event_item(event: Event, kind: str) -> TimelineItem:
    properties = event.properties if isinstance(event.properties, dict) else {}
    if kind == "page_view":
        title = str(properties.get("title") or event.name or properties.get("path") or "Page view")
        summary = str(properties.get("url") or properties.get("path") or "")
    else:
        title = event.name or EventType(event.type).label
        summary = ""
    shown = [
        (key, value)
        for key, value in properties.items()
        if value not in (None, "") and (kind != "page_view" or key not in ("title", "url"))
    ]
    details = tuple((str(key), _value_text(value)) for key, value in shown[:MAXIMUM_DETAILS])
    return TimelineItem(
        kind=kind,
        item_id=event.pk,
        at=event.timestamp,
        title=_shorten(title),
        summary=_shorten(summary),
        actor=event.source.name,
        details=details,
        tone="accent" if event.type == EventType.TRACK else "",
    )


def _events(customer_id: int, before: TimelinePosition | None, limit: int) -> list[TimelineItem]:
    events = event_selectors.event_timeline(
        customer_id=customer_id, kind="event", page_views=False, before=before, limit=limit
    )
    return [_event_item(event, "event") for event in events]


def _page_views(
    customer_id: int, before: TimelinePosition | None, limit: int
) -> list[TimelineItem]:
    events = event_selectors.event_timeline(
        customer_id=customer_id, kind="page_view", page_views=True, before=before, limit=limit
    )
    return [_event_item(event, "page_view") for event in events]


def _orders(customer_id: int, before: TimelinePosition | None, limit: int) -> list[TimelineItem]:
    orders = order_selectors.order_timeline(
        customer_id=customer_id, kind="order", before=before, limit=limit
    )
    items = []
    for order in orders:
        lines = getattr(order, "line_count", 0)
        summary = f"{order.total} {order.currency} · {lines} line{'s' if lines != 1 else ''}"
        if order.refunded_total:
            summary += f" · {order.refunded_total} refunded"
        if order.coupon:
            summary += f" · coupon {order.coupon}"
        items.append(
            TimelineItem(
                kind="order",
                item_id=order.pk,
                at=order.placed_at,
                title=f"Order {_shorten(order.external_id)} · {OrderStatus(order.status).label}",
                summary=summary,
                url=url_if_page_exists("web:order_detail", order.pk),
                tone=_ORDER_TONES.get(OrderStatus(order.status), "good"),
            )
        )
    return items


def _refunds(customer_id: int, before: TimelinePosition | None, limit: int) -> list[TimelineItem]:
    refunds = order_selectors.refund_timeline(
        customer_id=customer_id, kind="refund", before=before, limit=limit
    )
    return [
        TimelineItem(
            kind="refund",
            item_id=refund.pk,
            at=refund.refunded_at,
            title=f"Refund of {refund.amount} {refund.order.currency}",
            summary=f"Order {_shorten(refund.order.external_id)}"
            + (f" · {_shorten(refund.reason)}" if refund.reason else ""),
            url=url_if_page_exists("web:order_detail", refund.order_id),
            tone="warn",
        )
        for refund in refunds
    ]


def _audit_item(entry: AuditEntry, kind: str, titles: Mapping[str, str]) -> TimelineItem:
    changes = entry.changes if isinstance(entry.changes, dict) else {}
    return TimelineItem(
        kind=kind,
        item_id=entry.pk,
        at=entry.created_at,
        title=titles.get(entry.action, entry.action),
        actor=entry.actor_label,
        details=_change_details(changes),
    )


def _carts(customer_id: int, before: TimelinePosition | None, limit: int) -> list[TimelineItem]:
    entries = account_selectors.audit_timeline(
        customer_id=customer_id, kind="cart", action_prefix="cart.", before=before, limit=limit
    )
    return [_audit_item(entry, "cart", _CART_TITLES) for entry in entries]


def _changes(customer_id: int, before: TimelinePosition | None, limit: int) -> list[TimelineItem]:
    # A new note is shown as the note itself; its edits stay here, with the text before.
    entries = account_selectors.audit_timeline(
        customer_id=customer_id,
        kind="change",
        action_prefix="customer.",
        excluded_actions=("customer.note_added",),
        before=before,
        limit=limit,
    )
    return [_audit_item(entry, "change", _CHANGE_TITLES) for entry in entries]


def _notes(customer_id: int, before: TimelinePosition | None, limit: int) -> list[TimelineItem]:
    notes = customer_selectors.note_timeline(
        customer_id=customer_id, kind="note", before=before, limit=limit
    )
    return [
        TimelineItem(
            kind="note",
            item_id=note.pk,
            at=note.created_at,
            title="Note",
            summary=note.body,
            actor=note.author_label,
        )
        for note in notes
    ]


BUILT_IN_SOURCES: Sequence[TimelineSource] = (
    TimelineSource("order", "Orders", 10, ORDERS_VIEW, _orders),
    TimelineSource("refund", "Refunds", 20, ORDERS_VIEW, _refunds),
    TimelineSource("cart", "Cart changes", 30, ORDERS_VIEW, _carts),
    TimelineSource("event", "Events", 40, CUSTOMERS_VIEW, _events),
    TimelineSource("page_view", "Page views", 50, CUSTOMERS_VIEW, _page_views),
    TimelineSource("note", "Notes", 60, CUSTOMERS_VIEW, _notes),
    TimelineSource("change", "Profile changes", 70, CUSTOMERS_VIEW, _changes),
)


def built_in_sources_register() -> None:
    """Called from WebConfig.ready()."""
    for source in BUILT_IN_SOURCES:
        timeline_source_register(source)
