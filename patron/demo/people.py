"""Customers and what describes them: names, contacts, identities, milestones, consents."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from patron.core.actors import ActorKind
from patron.customers.models import (
    Customer,
    Identity,
    IdentityKind,
    Milestone,
    MilestoneKind,
)
from patron.demo import shop
from patron.demo.facts import DAY, HOUR, IdAllocator, StaticFacts
from patron.demo.load import NULL_TIME, Rows
from patron.demo.process import Purchases
from patron.privacy.models import Channel, ConsentRecord, ConsentStatus, Purpose

# Who lets the web shop track them (analytics consent in the cookie banner): only their visits
# and carts become page and cart events, as a consent-respecting shop would record.
TRACKED_SHARE = 0.25
MARKETING_EMAIL_SHARE = 0.8
MARKETING_WITHDRAWN_SHARE = 0.12
PERSONALISATION_SHARE = 0.65
SMS_SHARE_OF_PHONES = 0.35
PHONE_SHARE = 0.4
BIRTHDAY_SHARE = 0.85
ANNIVERSARY_SHARE = 0.08


# Opaque but unique user ids: multiplying by a number coprime with 10 is a bijection modulo a
# power of ten.
_USER_ID_MULTIPLIER = 2_654_435_761
_USER_ID_SPACE = 10**9
_PHONE_MULTIPLIER = 2_654_435_761  # prime, so coprime with every market's number space


@dataclass
class People:
    """Per-customer arrays (chunk order) the order and event generators read."""

    ids: np.ndarray
    market: np.ndarray
    offset: np.ndarray  # seconds east of UTC
    preferred_hour: np.ndarray
    first_seen: np.ndarray
    is_tracked: np.ndarray
    email_granted: np.ndarray  # epoch seconds or NULL_TIME
    email_withdrawn: np.ndarray  # epoch seconds or NULL_TIME
    engagement: np.ndarray  # chance to open a newsletter
    user_ids: np.ndarray  # object array of str


def people_generate(
    rng: np.random.Generator,
    static: StaticFacts,
    purchases: Purchases,
    count: int,
    history_start: int,
    now_seconds: int,
    ids: IdAllocator,
) -> tuple[list[Rows], People]:
    """Customers, identities, milestones and consents; last seen and stage are filled in later."""
    customer_ids = ids.take(Customer, count)
    market = np.searchsorted(
        np.cumsum(static.market_weights),
        rng.random(count) * static.market_weights.sum(),
        side="right",
    )
    # Shopping hours: some in the morning, some at lunch, most in the evening.
    habit = rng.choice(3, size=count, p=(0.2, 0.25, 0.55))
    preferred_hour = np.choose(
        habit, (rng.uniform(7, 9, count), rng.uniform(12, 14, count), rng.uniform(19, 22, count))
    )
    # First seen: established customers before the history, the others a few days before
    # their first order (or at sign-up, for leads).
    acquired_seconds = history_start + (purchases.acquired_day * DAY).astype(np.int64)
    browse_before = (rng.exponential(3.0, count) * DAY).astype(np.int64)
    first_seen = np.where(
        purchases.acquired_day < 0, acquired_seconds, acquired_seconds - browse_before
    )
    first_seen = np.minimum(first_seen, now_seconds - HOUR)

    first_names, last_names, emails = _names(rng, static, market, customer_ids)
    phones = _phones(rng, market, customer_ids)
    city_draw = rng.integers(0, 1 << 20, count).tolist()
    cities = [
        shop.MARKETS[k].cities[draw % len(shop.MARKETS[k].cities)]
        for k, draw in zip(market.tolist(), city_draw, strict=True)
    ]
    user_ids = np.array(
        [f"u{(i * _USER_ID_MULTIPLIER) % _USER_ID_SPACE:09d}" for i in customer_ids.tolist()],
        dtype=object,
    )
    consents, is_tracked, email_granted, email_withdrawn = _consents(
        rng, customer_ids, first_seen, phones, now_seconds, ids
    )
    people = People(
        ids=customer_ids,
        market=market,
        offset=static.offsets[market],
        preferred_hour=preferred_hour,
        first_seen=first_seen,
        is_tracked=is_tracked,
        email_granted=email_granted,
        email_withdrawn=email_withdrawn,
        engagement=rng.beta(1.2, 2.5, count),
        user_ids=user_ids,
    )

    market_locale = np.array([m.locale for m in shop.MARKETS], dtype=object)
    market_timezone = np.array([m.timezone for m in shop.MARKETS], dtype=object)
    market_country = np.array([m.country for m in shop.MARKETS], dtype=object)
    customers = Rows(
        Customer,
        count,
        {
            "id": customer_ids,
            "first_name": first_names.tolist(),
            "last_name": last_names.tolist(),
            "email": emails.tolist(),
            "phone": phones.tolist(),
            "locale": market_locale[market].tolist(),
            "timezone": market_timezone[market].tolist(),
            "country": market_country[market].tolist(),
            "city": cities,
            # lifecycle_stage, first_seen_at, last_seen_at: filled in once orders and events exist
            "is_identified": True,
            "attributes": "{}",
            "created_at": now_seconds,
            "updated_at": now_seconds,
        },
    )
    identities = _identities(customer_ids, emails, user_ids, phones, now_seconds, ids)
    milestones = _milestones(rng, customer_ids, now_seconds, ids)
    return [customers, identities, milestones, consents], people


def _names(
    rng: np.random.Generator, static: StaticFacts, market: np.ndarray, customer_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Names from each market's pool; emails first.last.id@example.* so none repeats."""
    count = market.size
    first_names = np.empty(count, dtype=object)
    last_names = np.empty(count, dtype=object)
    emails = np.empty(count, dtype=object)
    domain = rng.integers(0, len(shop.EMAIL_DOMAINS), count)
    first_draw = rng.integers(0, 1 << 30, count)
    last_draw = rng.integers(0, 1 << 30, count)
    pool_of = np.array([market.names for market in shop.MARKETS], dtype=object)[market]
    for pool in shop.NAME_POOLS:
        members = np.flatnonzero(pool_of == pool)
        if members.size == 0:
            continue
        first = first_draw[members] % static.first_names[pool].size
        last = last_draw[members] % static.last_names[pool].size
        first_names[members] = static.first_names[pool][first]
        last_names[members] = static.last_names[pool][last]
        emails[members] = [
            f"{a}.{b}.{i}@{shop.EMAIL_DOMAINS[d]}"
            for a, b, i, d in zip(
                static.first_slugs[pool][first].tolist(),
                static.last_slugs[pool][last].tolist(),
                customer_ids[members].tolist(),
                domain[members].tolist(),
                strict=True,
            )
        ]
    return first_names, last_names, emails


def _consents(
    rng: np.random.Generator,
    customer_ids: np.ndarray,
    first_seen: np.ndarray,
    phones: np.ndarray,
    now_seconds: int,
    ids: IdAllocator,
) -> tuple[Rows, np.ndarray, np.ndarray, np.ndarray]:
    """Marketing email for most (some withdraw later), analytics for the tracked share.

    Returns the records, who is tracked, and when email marketing was granted and withdrawn
    (NULL_TIME where it never was).
    """
    count = customer_ids.size
    email_granted = rng.random(count) < MARKETING_EMAIL_SHARE
    withdrawn = email_granted & (rng.random(count) < MARKETING_WITHDRAWN_SHARE)
    span = np.maximum(now_seconds - first_seen, 1)
    withdrawn_at = first_seen + (rng.random(count) * span).astype(np.int64)
    is_tracked = rng.random(count) < TRACKED_SHARE
    personalised = rng.random(count) < PERSONALISATION_SHARE
    sms = (phones != None) & (rng.random(count) < SMS_SHARE_OF_PHONES)  # noqa: E711 - object array
    granted = ConsentStatus.GRANTED.value
    parts = (
        (email_granted, first_seen, Purpose.MARKETING, Channel.EMAIL, granted, "Sign-up form"),
        (
            withdrawn,
            withdrawn_at,
            Purpose.MARKETING,
            Channel.EMAIL,
            ConsentStatus.WITHDRAWN.value,
            "Unsubscribe link",
        ),
        (is_tracked, first_seen, Purpose.ANALYTICS, Channel.ANY, granted, "Cookie banner"),
        (personalised, first_seen, Purpose.PERSONALISATION, Channel.ANY, granted, "Account"),
        (sms, first_seen, Purpose.MARKETING, Channel.SMS, granted, "Checkout opt-in"),
    )
    customer = np.concatenate([customer_ids[mask] for mask, *_ in parts])
    recorded = np.concatenate([when[mask] for mask, when, *_ in parts])
    sizes = [int(mask.sum()) for mask, *_ in parts]

    def column(position: int) -> np.ndarray:
        return np.concatenate(
            [
                np.full(size, str(part[position]), object)
                for part, size in zip(parts, sizes, strict=True)
            ]
        )

    order = np.lexsort((recorded, customer))
    consents = Rows(
        ConsentRecord,
        customer.size,
        {
            "id": ids.take(ConsentRecord, customer.size),
            "customer": customer[order],
            "purpose": column(2)[order].tolist(),
            "channel": column(3)[order].tolist(),
            "status": column(4)[order].tolist(),
            "recorded_at": recorded[order],
            "evidence": column(5)[order].tolist(),
            "actor_kind": ActorKind.SYSTEM.value,
            "actor_label": "demo data",
        },
    )
    return (
        consents,
        is_tracked,
        np.where(email_granted, first_seen, NULL_TIME),
        np.where(withdrawn, withdrawn_at, NULL_TIME),
    )


def _identities(
    customer_ids: np.ndarray,
    emails: np.ndarray,
    user_ids: np.ndarray,
    phones: np.ndarray,
    now_seconds: int,
    ids: IdAllocator,
) -> Rows:
    """Email, user id and shop customer number for everyone; phone for those who gave one."""
    count = customer_ids.size
    has_phone = phones != None  # noqa: E711 - object array
    customer = np.concatenate([customer_ids, customer_ids, customer_ids, customer_ids[has_phone]])
    kind = np.concatenate(
        [
            np.full(count, IdentityKind.EMAIL.value, object),
            np.full(count, IdentityKind.USER_ID.value, object),
            np.full(count, IdentityKind.EXTERNAL_ID.value, object),
            np.full(int(has_phone.sum()), IdentityKind.PHONE.value, object),
        ]
    )
    shop_numbers = np.array([f"C{i + 100_000}" for i in customer_ids.tolist()], dtype=object)
    value = np.concatenate([emails, user_ids, shop_numbers, phones[has_phone]])
    order = np.argsort(customer, kind="stable")
    return Rows(
        Identity,
        customer.size,
        {
            "id": ids.take(Identity, customer.size),
            "customer": customer[order],
            "kind": kind[order].tolist(),
            "value": value[order].tolist(),
            # last_seen_at: filled in once orders and events exist
            "created_at": now_seconds,
            "updated_at": now_seconds,
        },
    )


def _milestones(
    rng: np.random.Generator, customer_ids: np.ndarray, now_seconds: int, ids: IdAllocator
) -> Rows:
    """Most customers share a birthday (ages 18 to 85, around 38); a few an anniversary."""
    count = customer_ids.size
    today = now_seconds / DAY
    age_years = np.clip(rng.normal(38, 12, count), 18, 85)
    birthday = (today - age_years * 365.25).astype(np.int64)
    anniversary = (today - rng.uniform(1, 30, count) * 365.25).astype(np.int64)
    has_birthday = rng.random(count) < BIRTHDAY_SHARE
    has_anniversary = rng.random(count) < ANNIVERSARY_SHARE
    birthdays = int(has_birthday.sum())
    anniversaries = int(has_anniversary.sum())
    customer = np.concatenate([customer_ids[has_birthday], customer_ids[has_anniversary]])
    kind = np.concatenate(
        [
            np.full(birthdays, MilestoneKind.BIRTHDAY.value, object),
            np.full(anniversaries, MilestoneKind.ANNIVERSARY.value, object),
        ]
    )
    label = np.concatenate(
        [np.full(birthdays, "", object), np.full(anniversaries, "Wedding anniversary", object)]
    )
    order = np.argsort(customer, kind="stable")
    return Rows(
        Milestone,
        customer.size,
        {
            "id": ids.take(Milestone, customer.size),
            "customer": customer[order],
            "kind": kind[order].tolist(),
            "label": label[order].tolist(),
            "date": np.concatenate([birthday[has_birthday], anniversary[has_anniversary]])[order],
            "is_recurring_yearly": True,
            "created_at": now_seconds,
            "updated_at": now_seconds,
        },
    )


def _phones(rng: np.random.Generator, market: np.ndarray, customer_ids: np.ndarray) -> np.ndarray:
    """E.164 mobiles from each market's valid ranges, derived from the id so none repeats."""
    phones = np.full(market.size, None, dtype=object)
    wanted = rng.random(market.size) < PHONE_SHARE
    for index, spec in enumerate(shop.MARKETS):
        members = np.flatnonzero(wanted & (market == index))
        members = members[customer_ids[members] < spec.phone_space]
        if members.size == 0:
            continue
        values = (customer_ids[members] * _PHONE_MULTIPLIER) % spec.phone_space
        block = 10**spec.phone_digits
        phones[members] = [
            f"{spec.phone_prefixes[value // block]}{value % block:0{spec.phone_digits}d}"
            for value in values.tolist()
        ]
    return phones
