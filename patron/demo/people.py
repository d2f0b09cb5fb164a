"""Customers and what describes them: names, contacts, identities, milestones, consents."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz

from patron.core.actors import ActorKind
from patron.core.bulk import NULL_TIME, Rows
from patron.customers.duplicates import NAME_SCORE_THRESHOLD
from patron.customers.models import (
    Customer,
    Identity,
    IdentityKind,
    Milestone,
    MilestoneKind,
)
from patron.demo import shop
from patron.demo.facts import DAY, HOUR, IdAllocator, StaticFacts
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
# Second records of one person, as real shops have them: a guest checkout under another email
# (sharing the phone), or a second sign-up with the same email name at another provider. Both
# are shapes the Duplicates page finds (patron.customers.duplicates).
TWIN_SHARE = 0.01
TWIN_BY_PHONE_SHARE = 0.5
TWIN_NAME_VARIANT_SHARE = 0.4
# Every tenth twin signed up twice and has a user id of its own, so a merge asks a person to
# confirm it; the others checked out as guests, known by an anonymous id.
TWIN_ACCOUNT_EVERY = 10


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
    user_ids: np.ndarray  # object array of str; "" for a guest
    anonymous_ids: np.ndarray  # object array of str; "" except for guests


@dataclass(frozen=True)
class Twins:
    """Second records of customers in the chunk (indexes within the chunk)."""

    twin: np.ndarray  # ascending
    original: np.ndarray  # the customer each twin is a second record of
    by_phone: np.ndarray  # shares the phone; otherwise shares the email local part
    has_account: np.ndarray  # signed up twice (own user id) rather than checked out as a guest


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
    twins = _twins_choose(rng, purchases, phones)
    _twins_plant(rng, twins, customer_ids, market, first_names, last_names, emails, phones, cities)
    user_ids = np.array(
        [f"u{(i * _USER_ID_MULTIPLIER) % _USER_ID_SPACE:09d}" for i in customer_ids.tolist()],
        dtype=object,
    )
    guests = twins.twin[~twins.has_account]
    user_ids[guests] = ""
    anonymous_ids = np.full(count, "", dtype=object)
    anonymous_ids[guests] = [
        str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(guests.size)
    ]
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
        anonymous_ids=anonymous_ids,
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
    # A twin's phone is its original's, and a phone identity points at one customer.
    phone_owner = phones != None  # noqa: E711 - object array
    phone_owner[twins.twin] = False
    identities = _identities(
        customer_ids, emails, user_ids, anonymous_ids, phones, phone_owner, now_seconds, ids
    )
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
    anonymous_ids: np.ndarray,
    phones: np.ndarray,
    has_phone: np.ndarray,
    now_seconds: int,
    ids: IdAllocator,
) -> Rows:
    """Email and shop customer number for everyone; user id for account holders, anonymous id
    for guests; phone where `has_phone`."""
    count = customer_ids.size
    has_user_id = user_ids != ""
    has_anonymous_id = anonymous_ids != ""
    parts = (
        (np.ones(count, dtype=bool), IdentityKind.EMAIL, emails),
        (has_user_id, IdentityKind.USER_ID, user_ids),
        (has_anonymous_id, IdentityKind.ANONYMOUS_ID, anonymous_ids),
        (
            np.ones(count, dtype=bool),
            IdentityKind.EXTERNAL_ID,
            np.array([f"C{i + 100_000}" for i in customer_ids.tolist()], dtype=object),
        ),
        (has_phone, IdentityKind.PHONE, phones),
    )
    customer = np.concatenate([customer_ids[mask] for mask, _, _ in parts])
    kind = np.concatenate([np.full(int(mask.sum()), kind.value, object) for mask, kind, _ in parts])
    value = np.concatenate([values[mask] for mask, _, values in parts])
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


def _twins_choose(rng: np.random.Generator, purchases: Purchases, phones: np.ndarray) -> Twins:
    """About TWIN_SHARE of the chunk become second records of other customers in it.

    Twins are drawn among customers with at most one order (a guest checkout, or a sign-up
    that never bought); originals are distinct, never twins, and have a phone when shared.
    """
    count = phones.size
    orders = np.bincount(purchases.order_customer, minlength=count)
    candidates = np.flatnonzero(orders <= 1)
    wanted = min(round(count * TWIN_SHARE), candidates.size, count // 3)
    if wanted == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Twins(empty, empty, np.zeros(0, dtype=bool), np.zeros(0, dtype=bool))
    twin = np.sort(rng.choice(candidates, wanted, replace=False))
    free = np.ones(count, dtype=bool)
    free[twin] = False
    with_phone = np.flatnonzero(free & (phones != None))  # noqa: E711 - object array
    by_phone = rng.random(wanted) < TWIN_BY_PHONE_SHARE
    by_phone &= np.cumsum(by_phone) <= with_phone.size
    original = np.empty(wanted, dtype=np.int64)
    original[by_phone] = rng.choice(with_phone, int(by_phone.sum()), replace=False)
    free[original[by_phone]] = False
    original[~by_phone] = rng.choice(np.flatnonzero(free), int((~by_phone).sum()), replace=False)
    has_account = np.arange(wanted) % TWIN_ACCOUNT_EVERY == 0
    return Twins(twin=twin, original=original, by_phone=by_phone, has_account=has_account)


def _twins_plant(
    rng: np.random.Generator,
    twins: Twins,
    customer_ids: np.ndarray,
    market: np.ndarray,
    first_names: np.ndarray,
    last_names: np.ndarray,
    emails: np.ndarray,
    phones: np.ndarray,
    cities: list[str],
) -> None:
    """Give each twin its original's market, city and name (sometimes slightly misspelt).

    By phone: the same phone with a work address or a typo in the email. Otherwise: the same
    email local part at another provider or with a +tag, and no phone. In place.
    """
    count = twins.twin.size
    variant = rng.random(count) < TWIN_NAME_VARIANT_SHARE
    email_style = rng.random(count)
    position = rng.integers(0, 1 << 20, count).tolist()
    market[twins.twin] = market[twins.original]
    for k, (t, o) in enumerate(zip(twins.twin.tolist(), twins.original.tolist(), strict=True)):
        first, last = str(first_names[o]), str(last_names[o])
        if variant[k]:
            first, last = _name_variant(first, last)
        first_names[t], last_names[t] = first, last
        cities[t] = cities[o]
        local, domain = str(emails[o]).split("@")
        if twins.by_phone[k]:
            phones[t] = phones[o]
            if email_style[k] < 0.5:
                work = shop.WORK_EMAIL_DOMAINS[position[k] % len(shop.WORK_EMAIL_DOMAINS)]
                emails[t] = (
                    f"{shop.ascii_slug(first)}.{shop.ascii_slug(last)}.{customer_ids[t]}@{work}"
                )
            else:
                emails[t] = f"{_typo(local, position[k])}@{domain}"
        else:
            phones[t] = None
            if email_style[k] < 0.3:
                emails[t] = f"{local}+shop@{domain}"
            else:
                others = [other for other in shop.EMAIL_DOMAINS if other != domain]
                emails[t] = f"{local}@{others[position[k] % len(others)]}"


def _name_variant(first: str, last: str) -> tuple[str, str]:
    """A slip the duplicate finder still scores as the same name: no accents ("Lea"), a doubled
    letter typed once ("Ana"), or two letters swapped ("Andreson").

    Falls back to the name itself when every slip would score below its threshold.
    """
    # The finder compares names within blocks of the last name's first letters: keep those.
    block = len(last) // 2 if len(last) > 6 else 3
    plain_last = _without_accents(last)
    tries = [
        (
            _without_accents(first),
            plain_last if plain_last[:3].lower() == last[:3].lower() else last,
        ),
        (re.sub(r"(\w)\1", r"\1", first, count=1), last),
    ]
    pair = last[block : block + 2]
    if len(pair) == 2 and pair.isalpha() and pair.islower():
        tries.append((first, last[:block] + pair[::-1] + last[block + 2 :]))
    original = f"{first} {last}".lower()
    for new_first, new_last in tries:
        name = f"{new_first} {new_last}".lower()
        if name != original and (
            round(fuzz.token_sort_ratio(original, name)) >= NAME_SCORE_THRESHOLD
        ):
            return new_first, new_last
    return first, last


def _without_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def _typo(local: str, position: int) -> str:
    """The local part with one letter typed twice (anna.mueller.12 -> anna.muelller.12)."""
    letters = [index for index, character in enumerate(local) if character.isalpha()]
    at = letters[position % len(letters)]
    return local[: at + 1] + local[at:]
