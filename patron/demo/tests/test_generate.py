"""One generated chunk, without a database: consistent, valid and deterministic rows."""

from __future__ import annotations

import json
import zoneinfo
from collections import Counter
from typing import Any

import numpy as np
import phonenumbers
import pytest
from email_validator import validate_email

from patron.core.bulk import NULL_TIME, Rows
from patron.customers.models import (
    Company,
    CompanyContact,
    Customer,
    Identity,
    Milestone,
)
from patron.demo import shop
from patron.demo.commerce import company_target
from patron.demo.facts import IdAllocator, ShopIds
from patron.demo.generate import Chunk, chunk_generate
from patron.demo.services import ALL_MODELS
from patron.events.models import Event
from patron.orders.models import Cart, CartLine, Order, OrderLine
from patron.privacy.models import ConsentRecord

NOW = 1_780_000_000  # 2026-05-28, a fixed "now" so the chunk is reproducible
CUSTOMERS = 1_000
WEB, BACK_OFFICE = 1, 2


def _generate(seed: int = 7) -> Chunk:
    return chunk_generate(
        seed=seed,
        customer_count=CUSTOMERS,
        customers_before=0,
        now_seconds=NOW,
        shop_ids=ShopIds(WEB, BACK_OFFICE, np.arange(1, len(shop.PRODUCTS) + 1)),
        ids=IdAllocator(dict.fromkeys(ALL_MODELS, 1)),
    )


@pytest.fixture(scope="module")
def chunk() -> Chunk:
    return _generate()


def _table(chunk: Chunk, model: type) -> Rows:
    return next(rows for rows in chunk.tables if rows.model is model)


def _column(rows: Rows, name: str) -> np.ndarray:
    value = rows.columns[name]
    if isinstance(value, np.ndarray | list):
        return np.asarray(value)
    return np.full(rows.count, value)


def _as_lists(chunk: Chunk) -> dict[str, dict[str, Any]]:
    return {
        rows.model.__name__: {name: _column(rows, name).tolist() for name in sorted(rows.columns)}
        for rows in chunk.tables
    }


def test_the_same_seed_gives_the_same_rows_and_another_seed_does_not(chunk: Chunk) -> None:
    assert _as_lists(_generate()) == _as_lists(chunk)
    other = _as_lists(_generate(seed=8))
    assert other["Customer"]["email"] != _as_lists(chunk)["Customer"]["email"]


def test_every_table_has_rows_with_consecutive_ids(chunk: Chunk) -> None:
    for rows in chunk.tables:
        assert rows.count > 0, rows.model.__name__
        assert np.array_equal(_column(rows, "id"), np.arange(1, rows.count + 1))


def test_order_totals_are_exact_sums_of_their_lines(chunk: Chunk) -> None:
    orders = _table(chunk, Order)
    lines = _table(chunk, OrderLine)
    line_order = _column(lines, "order")
    line_total = _column(lines, "line_total")
    quantity = _column(lines, "quantity")
    unit = _column(lines, "unit_price")
    sums = np.bincount(line_order - 1, weights=line_total, minlength=orders.count).astype(np.int64)
    subtotal = _column(orders, "subtotal")
    total = _column(orders, "total")

    assert np.array_equal(line_total, unit * quantity)
    assert np.array_equal(sums, subtotal)
    assert np.array_equal(
        total,
        subtotal
        - _column(orders, "discount_total")
        + _column(orders, "shipping_total")
        + _column(orders, "tax_total"),
    )
    assert np.all(_column(orders, "refunded_total") <= total)
    assert (_column(orders, "discount_total") > 0).sum() > 100
    assert set(_column(orders, "coupon").tolist()) == {"", "WELCOME10", "GLOW15", "FRIENDS20"}


def test_line_positions_run_from_one_within_each_order(chunk: Chunk) -> None:
    lines = _table(chunk, OrderLine)
    order = _column(lines, "order")
    position = _column(lines, "position")
    pairs = Counter(zip(order.tolist(), position.tolist(), strict=True))

    assert max(pairs.values()) == 1
    per_order = Counter(order.tolist())
    assert all(
        position[order == order_id].max() == count
        for order_id, count in list(per_order.items())[:500]
    )


def test_external_ids_are_unique_per_source(chunk: Chunk) -> None:
    orders = _table(chunk, Order)
    pairs = list(
        zip(
            _column(orders, "source").tolist(), _column(orders, "external_id").tolist(), strict=True
        )
    )

    assert len(set(pairs)) == len(pairs)
    assert {source for source, _ in pairs} == {WEB, BACK_OFFICE}


def test_identities_are_unique_and_point_at_their_customer(chunk: Chunk) -> None:
    identities = _table(chunk, Identity)
    customers = _table(chunk, Customer)
    pairs = list(
        zip(
            _column(identities, "kind").tolist(), _column(identities, "value").tolist(), strict=True
        )
    )
    kinds = Counter(kind for kind, _ in pairs)

    assert len(set(pairs)) == len(pairs)
    assert kinds["email"] == kinds["external_id"] == CUSTOMERS
    # Guests (second records of somebody) have an anonymous id instead of a user id.
    assert kinds["user_id"] + kinds["anonymous_id"] == CUSTOMERS
    assert kinds["anonymous_id"] == 9
    phones = [phone for phone in _column(customers, "phone").tolist() if phone]
    assert kinds["phone"] == len(set(phones)) < len(phones)
    email_of = dict(
        zip(_column(customers, "id").tolist(), _column(customers, "email").tolist(), strict=True)
    )
    for customer, kind, value in zip(
        _column(identities, "customer").tolist(),
        _column(identities, "kind").tolist(),
        _column(identities, "value").tolist(),
        strict=True,
    ):
        if kind == "email":
            assert email_of[customer] == value


def test_emails_and_phones_are_valid(chunk: Chunk) -> None:
    customers = _table(chunk, Customer)
    emails = _column(customers, "email").tolist()
    phones = [phone for phone in _column(customers, "phone").tolist() if phone]

    assert len(set(emails)) == CUSTOMERS
    for email in emails:
        normalised = validate_email(email, check_deliverability=False).normalized
        assert normalised.lower() == email
        assert email.split("@")[1] in shop.EMAIL_DOMAINS + shop.WORK_EMAIL_DOMAINS
    assert 300 <= len(phones) <= 500
    for phone in phones:
        number = phonenumbers.parse(phone)
        assert phonenumbers.is_valid_number(number), phone
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == phone


def test_customers_live_in_real_time_zones_matching_their_country(chunk: Chunk) -> None:
    customers = _table(chunk, Customer)
    zones = zoneinfo.available_timezones()
    country_of = {market.timezone: market.country for market in shop.MARKETS}
    timezone = _column(customers, "timezone").tolist()
    country = _column(customers, "country").tolist()

    assert all(zone in zones for zone in timezone)
    assert all(country_of[zone] == code for zone, code in zip(timezone, country, strict=True))
    assert len({zone.split("/")[0] for zone in timezone}) >= 5
    assert all(_column(customers, "first_name")) and all(_column(customers, "last_name"))


def test_first_and_last_seen_bracket_the_history(chunk: Chunk) -> None:
    customers = _table(chunk, Customer)
    first = _column(customers, "first_seen_at")
    last = _column(customers, "last_seen_at")
    stages = Counter(_column(customers, "lifecycle_stage").tolist())

    assert np.all(first <= last)
    assert np.all(last <= NOW)
    assert set(stages) == {"lead", "new", "active", "at_risk", "lapsed", "reactivated"}
    assert stages["lapsed"] > 50 and stages["active"] > 100


def test_milestones_and_consents(chunk: Chunk) -> None:
    milestones = _table(chunk, Milestone)
    consents = _table(chunk, ConsentRecord)
    kinds = Counter(_column(milestones, "kind").tolist())
    keys = list(
        zip(
            _column(milestones, "customer").tolist(),
            _column(milestones, "kind").tolist(),
            _column(milestones, "label").tolist(),
            strict=True,
        )
    )
    records = Counter(
        zip(
            _column(consents, "purpose").tolist(),
            _column(consents, "channel").tolist(),
            _column(consents, "status").tolist(),
            strict=True,
        )
    )

    assert len(set(keys)) == len(keys)
    assert 780 <= kinds["birthday"] <= 920
    assert 40 <= kinds["anniversary"] <= 130
    assert 740 <= records["marketing", "email", "granted"] <= 860
    assert 60 <= records["marketing", "email", "withdrawn"] <= 140
    assert set(_column(consents, "actor_label").tolist()) == {"demo data"}
    # A withdrawal always comes after the grant it withdraws.
    grant: dict[int, int] = {}
    for customer, purpose, channel, status, when in zip(
        _column(consents, "customer").tolist(),
        _column(consents, "purpose").tolist(),
        _column(consents, "channel").tolist(),
        _column(consents, "status").tolist(),
        _column(consents, "recorded_at").tolist(),
        strict=True,
    ):
        if (purpose, channel) == ("marketing", "email"):
            if status == "granted":
                grant[customer] = when
            else:
                assert grant[customer] <= when


def test_events_have_unique_message_ids_and_one_order_completed_per_order(chunk: Chunk) -> None:
    events = _table(chunk, Event)
    orders = _table(chunk, Order)
    names = Counter(_column(events, "name").tolist())
    completed = [
        json.loads(properties)["order_id"]
        for name, properties in zip(
            _column(events, "name").tolist(), _column(events, "properties").tolist(), strict=True
        )
        if name == "Order Completed"
    ]

    assert len(set(_column(events, "message_id").tolist())) == events.count
    assert sorted(completed) == sorted(_column(orders, "external_id").tolist())
    for name in (
        "Product",
        "Product Added",
        "Checkout Started",
        "Email Delivered",
        "Email Opened",
        "Email Link Clicked",
        "Order Refunded",
    ):
        assert names[name] > 0, name
    assert all(json.loads(text) is not None for text in _column(events, "properties").tolist())
    assert 15 <= events.count / CUSTOMERS <= 35


def test_event_times_are_ordered_and_never_in_the_future(chunk: Chunk) -> None:
    events = _table(chunk, Event)
    customer = _column(events, "customer")
    timestamp = _column(events, "timestamp")
    received = _column(events, "received_at")

    assert np.all(np.diff(customer) >= 0)
    same = customer[1:] == customer[:-1]
    assert np.all(np.diff(timestamp)[same] >= 0)
    assert np.all(timestamp <= NOW)
    assert np.all((received - timestamp >= 0) & (received - timestamp <= 3))
    page = _column(events, "type") == "page"
    for text in _column(events, "properties")[page][:200].tolist():
        properties = json.loads(text)
        assert properties["url"] == shop.SHOP_URL + properties["path"]
        assert properties["title"]


def test_abandoned_carts_have_lines_and_no_order(chunk: Chunk) -> None:
    carts = _table(chunk, Cart)
    lines = _table(chunk, CartLine)
    pairs = list(zip(_column(lines, "cart").tolist(), _column(lines, "sku").tolist(), strict=True))

    assert carts.count > 50
    assert set(_column(carts, "status").tolist()) == {"abandoned"}
    assert "order" not in carts.columns
    assert set(_column(lines, "cart").tolist()) == set(_column(carts, "id").tolist())
    assert len(set(pairs)) == len(pairs)
    started = _column(carts, "checkout_started_at")
    assert 0 < (started != NULL_TIME).sum() < carts.count


def test_spas_buy_in_bulk_from_the_back_office(chunk: Chunk) -> None:
    companies = _table(chunk, Company)
    contacts = _table(chunk, CompanyContact)
    orders = _table(chunk, Order)
    lines = _table(chunk, OrderLine)
    b2b = _column(orders, "source") == BACK_OFFICE
    b2b_ids = set(_column(orders, "id")[b2b].tolist())
    b2b_lines = np.isin(_column(lines, "order"), list(b2b_ids))

    assert companies.count == company_target(CUSTOMERS) == 5
    per_company = Counter(_column(contacts, "company").tolist())
    assert set(per_company) == set(_column(companies, "id").tolist())
    assert all(1 <= count <= 3 for count in per_company.values())
    assert len(set(_column(companies, "domain").tolist())) == companies.count
    assert b2b.sum() > 20
    quantities = set(_column(lines, "quantity")[b2b_lines].tolist())
    assert quantities <= {6, 12, 24, 36, 48} and min(quantities) == 6
    assert set(_column(orders, "customer")[b2b].tolist()) <= set(
        _column(contacts, "customer").tolist()
    )


def test_company_target_scales_with_customers_and_has_a_floor() -> None:
    assert company_target(0) == 0
    assert company_target(200) == 3
    assert company_target(2_000) == 10
    assert company_target(1_000_000) == 5_000


def test_web_tracking_only_follows_an_analytics_consent(chunk: Chunk) -> None:
    consents = _table(chunk, ConsentRecord)
    events = _table(chunk, Event)
    analytics_since = {
        customer: when
        for customer, purpose, when in zip(
            _column(consents, "customer").tolist(),
            _column(consents, "purpose").tolist(),
            _column(consents, "recorded_at").tolist(),
            strict=True,
        )
        if purpose == "analytics"
    }
    tracked = np.isin(_column(events, "name"), ["Product Added", "Checkout Started"]) | (
        _column(events, "type") == "page"
    )
    customers = _column(events, "customer")[tracked].tolist()
    timestamps = _column(events, "timestamp")[tracked].tolist()

    assert len(customers) > 1_000
    assert 0.15 <= len(analytics_since) / CUSTOMERS <= 0.35
    for customer, when in zip(customers, timestamps, strict=True):
        assert analytics_since[customer] <= when


def test_about_one_customer_in_a_hundred_is_a_second_record_of_another(chunk: Chunk) -> None:
    customers = _table(chunk, Customer)
    orders = _table(chunk, Order)
    events = _table(chunk, Event)
    ids = _column(customers, "id").tolist()
    emails = _column(customers, "email").tolist()
    last_names = dict(zip(ids, _column(customers, "last_name").tolist(), strict=True))
    owners: dict[str, list[int]] = {}
    for customer, phone in zip(ids, _column(customers, "phone").tolist(), strict=True):
        if phone:
            owners.setdefault(phone, []).append(customer)
    # Emails embed the customer id, so a twin's email (bar a work address) names its original.
    by_email = {
        frozenset((customer, int(email.split("@")[0].split("+")[0].rsplit(".", 1)[1])))
        for customer, email in zip(ids, emails, strict=True)
    }
    by_email = {pair for pair in by_email if len(pair) == 2}
    by_phone = {frozenset(group) for group in owners.values() if len(group) > 1}
    twins = {customer for pair in by_email | by_phone for customer in pair}
    order_counts = Counter(_column(orders, "customer").tolist())
    guest_events = _column(events, "anonymous_id") != ""

    assert len(by_email | by_phone) == 10
    assert {len(group) for group in owners.values()} == {1, 2}
    assert 3 <= len(by_phone) <= 7
    # One of each pair has at most one web order (the guest checkout).
    assert all(min(order_counts[customer] for customer in pair) <= 1 for pair in by_phone)
    for pair in by_email:
        first, second = sorted(pair)
        assert last_names[first][:3].lower() == last_names[second][:3].lower()
    assert set(_column(events, "customer")[guest_events].tolist()) < twins
    assert set(_column(events, "user_id")[guest_events].tolist()) == {""}
