"""Reads of engagement events as numpy arrays, for set-based scoring over the population.

Engagement reads the email events of the Segment spec (delivered, opened, clicked) and page or
screen views; a message is matched to its delivery by its email id, or by its campaign id when
the sender gives no email id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any

import numpy as np
from django.db.models import Case, IntegerField, TextField, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce

from patron.core.sql import EpochSeconds, columns_of, raw_rows
from patron.events.models import Event, EventType


class EngagementEvent(IntEnum):
    DELIVERED = 0
    OPENED = 1
    CLICKED = 2
    VIEWED = 3  # a page or screen view


EMAIL_EVENT_NAMES = {
    "Email Delivered": EngagementEvent.DELIVERED,
    "Email Opened": EngagementEvent.OPENED,
    "Email Link Clicked": EngagementEvent.CLICKED,
}


@dataclass(frozen=True)
class EngagementFacts:
    """Engagement events of a range of customers, in no particular order."""

    customer: np.ndarray  # int64
    seconds: np.ndarray  # int64 UTC epoch seconds (the skew-corrected timestamp)
    kind: np.ndarray  # int8 EngagementEvent
    message_key: np.ndarray  # object: email id or campaign id ("" for views)
    user_agent: np.ndarray  # object: context.userAgent ("" when not sent)


def _kind() -> Case:
    """The event's EngagementEvent code; NULL for events engagement does not read."""
    return Case(
        When(type__in=(EventType.PAGE, EventType.SCREEN), then=Value(int(EngagementEvent.VIEWED))),
        *(
            When(type=EventType.TRACK, name=name, then=Value(int(code)))
            for name, code in EMAIL_EVENT_NAMES.items()
        ),
        default=None,
        output_field=IntegerField(),
    )


# Deliveries and opens are matched by message and judged by user agent; the JSON of clicks and
# views (most of the rows) is not parsed at all.
_MATCHED_NAMES = ("Email Delivered", "Email Opened")


def _text_of_matched(*candidates: Any) -> Case:
    return Case(
        When(
            name__in=_MATCHED_NAMES,
            then=Coalesce(*candidates, Value(""), output_field=TextField()),
        ),
        default=Value(""),
        output_field=TextField(),
    )


def engagement_event_facts(
    *, customer_low: int, customer_high: int, since: datetime, as_of: datetime
) -> EngagementFacts:
    """Events of customers with ids in [customer_low, customer_high) in (since, as_of]."""
    # The kinds are chosen by the CASE that names them, not by a filter on type and name: with
    # such a filter SQLite without statistics read every page view of the whole population
    # through the (type, name, timestamp) index for each range (measured at 100,000 customers:
    # 3.7 s a range instead of 0.7 s). This way the customer range is the only indexed condition.
    rows = raw_rows(
        Event.objects.annotate(kind=_kind())
        .filter(
            customer_id__gte=customer_low,
            customer_id__lt=customer_high,
            timestamp__gt=since,
            timestamp__lte=as_of,
            kind__isnull=False,
        )
        .order_by()
        .values_list(
            "customer_id",
            EpochSeconds("timestamp"),
            "kind",
            _text_of_matched(KT("properties__email_id"), KT("properties__campaign_id")),
            _text_of_matched(KT("context__userAgent")),
        )
    )
    customer, seconds, kinds, keys, agents = columns_of(rows, 5)
    return EngagementFacts(
        customer=np.array(customer, dtype=np.int64),
        seconds=np.array(seconds, dtype=np.int64),
        kind=np.array(kinds, dtype=np.int8),
        message_key=np.array(keys, dtype=object),
        user_agent=np.array(agents, dtype=object),
    )
