"""The demo shop's second records of one person, as the workspace's duplicate finder sees them."""

from __future__ import annotations

from collections import defaultdict

import pytest

from patron.core.actors import Actor
from patron.core.errors import Conflict
from patron.customers.duplicates import DuplicatePair, MatchKind, duplicate_page
from patron.customers.models import Customer, Identity
from patron.customers.services.merge import customer_merge
from patron.demo.services import demo_data_load
from patron.orders.models import Order

CUSTOMERS = 1_000


@pytest.fixture
def shop(db: None) -> None:
    demo_data_load(customers=CUSTOMERS, seed=7)


def _embedded_id(email: str) -> int:
    """The customer id the demo writes into an email's local part (first.last.<id>)."""
    return int(email.split("@")[0].split("+")[0].rsplit(".", 1)[1])


def _pairs(kind: str) -> dict[tuple[int, int], DuplicatePair]:
    page = duplicate_page(kind=kind, limit=100)
    assert page.next_cursor is None
    return {(pair.first.pk, pair.second.pk): pair for pair in page.pairs}


def test_the_finder_reports_every_planted_twin_with_its_reasons(shop: None) -> None:
    customers = list(Customer.objects.order_by("pk"))
    by_phone: dict[str, list[int]] = defaultdict(list)
    for customer in customers:
        if customer.phone:
            by_phone[customer.phone].append(customer.pk)
    phone_pairs = {(owners[0], owners[1]) for owners in by_phone.values() if len(owners) > 1}
    # A twin's email keeps its original's local part (id included) at another provider.
    email_pairs = {
        (min(pair), max(pair))
        for customer in customers
        if customer.email and _embedded_id(customer.email) != customer.pk and not customer.phone
        for pair in [(customer.pk, _embedded_id(customer.email))]
    }

    same_phone = _pairs(MatchKind.PHONE)
    similar_names = _pairs(MatchKind.NAME)

    assert len(phone_pairs) + len(email_pairs) == CUSTOMERS // 100
    assert phone_pairs and email_pairs
    assert _pairs(MatchKind.EMAIL) == {}
    assert set(same_phone) == phone_pairs
    for (first, second), pair in same_phone.items():
        assert pair.reasons[0] == f"same phone {pair.first.phone}", (first, second)
    # Names are the same or slightly misspelt, and a phone or the email name agrees as well.
    assert set(similar_names) == phone_pairs | email_pairs
    for key in email_pairs:
        pair = similar_names[key]
        assert pair.reasons[0] == f"same email name: {pair.first.email} / {pair.second.email}"
        assert pair.reasons[1].startswith("names ") and pair.name_score >= 90
        assert pair.first.email != pair.second.email
    assert any(pair.name_score < 100 for pair in similar_names.values())


def test_twins_are_guests_with_few_orders_but_a_few_signed_up_twice(
    shop: None, system_actor: Actor
) -> None:
    pairs = list(_pairs(MatchKind.NAME).values())
    guests = set(Identity.objects.filter(kind="anonymous_id").values_list("customer_id", flat=True))
    user_ids: dict[int, set[str]] = defaultdict(set)
    for customer_id, value in Identity.objects.filter(kind="user_id").values_list(
        "customer_id", "value"
    ):
        user_ids[customer_id].add(value)
    signed_up_twice = [
        pair for pair in pairs if user_ids[pair.first.pk] and user_ids[pair.second.pk]
    ]
    guest_pairs = [pair for pair in pairs if {pair.first.pk, pair.second.pk} & guests]

    assert len(guests) == 9
    assert len(guest_pairs) == 9 and len(signed_up_twice) == 1
    assert all(Order.objects.filter(customer_id=guest).count() <= 3 for guest in guests)
    with pytest.raises(Conflict):
        customer_merge(
            source=signed_up_twice[0].second, target=signed_up_twice[0].first, actor=system_actor
        )
    guest_pair = guest_pairs[0]
    guest, original = (
        (guest_pair.first, guest_pair.second)
        if guest_pair.first.pk in guests
        else (guest_pair.second, guest_pair.first)
    )
    merged = customer_merge(source=guest, target=original, actor=system_actor)
    assert not Customer.objects.filter(pk=guest.pk).exists()
    assert set(merged.identities.values_list("kind", flat=True)) >= {"user_id", "anonymous_id"}
