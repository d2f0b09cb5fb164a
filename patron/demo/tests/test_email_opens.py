"""The demo's email opens: every open names its mail client, and privacy-proxy readers get machine
opens seconds after each delivery."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

from patron.demo import shop
from patron.demo.activity import APPLE_PRIVACY_SHARE, MAIL_CLIENT_USER_AGENTS
from patron.demo.facts import IdAllocator, ShopIds
from patron.demo.generate import chunk_generate
from patron.demo.services import ALL_MODELS
from patron.events.models import Event
from patron.insights.estimators.engagement import machine_open_mask

NOW = 1_780_000_000  # 2026-05-28, a fixed "now" so the chunk is reproducible
CUSTOMERS = 1_000
APPLE_PROXY = "Mozilla/5.0"


@dataclass(frozen=True)
class EmailEvent:
    customer: int
    name: str
    seconds: int
    campaign: str
    user_agent: str | None  # None when the context has no userAgent
    timezone: str


@pytest.fixture(scope="module")
def email_events() -> list[EmailEvent]:
    chunk = chunk_generate(
        seed=7,
        customer_count=CUSTOMERS,
        customers_before=0,
        now_seconds=NOW,
        shop_ids=ShopIds(1, 2, np.arange(1, len(shop.PRODUCTS) + 1)),
        ids=IdAllocator(dict.fromkeys(ALL_MODELS, 1)),
    )
    events = next(rows for rows in chunk.tables if rows.model is Event)
    columns = ("customer", "name", "timestamp", "properties", "context")
    result = []
    for customer, name, seconds, properties, context_text in zip(
        *(np.asarray(events.columns[column]).tolist() for column in columns), strict=True
    ):
        if name.startswith("Email "):
            context = json.loads(context_text)
            result.append(
                EmailEvent(
                    customer=customer,
                    name=name,
                    seconds=seconds,
                    campaign=json.loads(properties)["campaign_id"],
                    user_agent=context.get("userAgent"),
                    timezone=context["timezone"],
                )
            )
    return result


def _deliveries(email_events: list[EmailEvent]) -> dict[tuple[int, str], list[int]]:
    """Delivery times by (customer, campaign id): one campaign id can cover two sends when two
    monthly newsletters fall in one calendar month."""
    delivered: dict[tuple[int, str], list[int]] = {}
    for event in email_events:
        if event.name == "Email Delivered":
            delivered.setdefault((event.customer, event.campaign), []).append(event.seconds)
    return delivered


def _last_delivery(delivered: dict[tuple[int, str], list[int]], event: EmailEvent) -> int:
    """The latest delivery of the open's campaign to its customer before the open."""
    moments = delivered[event.customer, event.campaign]
    return max(moment for moment in moments if moment <= event.seconds)


def test_every_open_and_only_opens_carry_a_mail_client_user_agent(
    email_events: list[EmailEvent],
) -> None:
    # given
    opens = [event for event in email_events if event.name == "Email Opened"]
    others = [event for event in email_events if event.name != "Email Opened"]

    # then
    assert len(opens) > 500
    assert {event.user_agent for event in opens} == set(MAIL_CLIENT_USER_AGENTS[1:])
    assert {event.user_agent for event in others} == {None}
    assert all(event.timezone for event in opens)


def test_privacy_proxy_readers_get_a_machine_open_seconds_after_every_delivery(
    email_events: list[EmailEvent],
) -> None:
    # given each delivery, and the proxy's opens
    delivered = _deliveries(email_events)
    proxy_opens = [
        event
        for event in email_events
        if event.name == "Email Opened" and event.user_agent == APPLE_PROXY
    ]
    proxy_customers = {event.customer for event in proxy_opens}
    recipients = {customer for customer, _ in delivered}

    # then: one per delivery to those readers, 1 to 8 seconds after it, about a quarter of them
    lags = [event.seconds - _last_delivery(delivered, event) for event in proxy_opens]
    assert min(lags) >= 1 and max(lags) <= 8
    assert len(proxy_opens) == sum(
        len(moments) for (customer, _), moments in delivered.items() if customer in proxy_customers
    )
    share = len(proxy_customers) / len(recipients)
    assert APPLE_PRIVACY_SHARE - 0.07 <= share <= APPLE_PRIVACY_SHARE + 0.07


def test_the_engagement_filter_finds_the_machine_opens_and_keeps_the_people(
    email_events: list[EmailEvent],
) -> None:
    # given every open with its delivery time
    delivered = _deliveries(email_events)
    opens = [event for event in email_events if event.name == "Email Opened"]
    agents = np.array([event.user_agent for event in opens], dtype=np.object_)

    # when
    mask = machine_open_mask(
        open_seconds=np.array([event.seconds for event in opens], dtype=np.float64),
        delivered_seconds=np.array(
            [_last_delivery(delivered, event) for event in opens], dtype=np.float64
        ),
        user_agents=agents,
    )

    # then: all proxy opens, and (almost) no person's
    is_proxy = agents == APPLE_PROXY
    assert mask[is_proxy].all()
    assert mask[~is_proxy].sum() <= 0.01 * (~is_proxy).sum()
