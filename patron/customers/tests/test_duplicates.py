"""Finding likely duplicate customers: exact email and phone runs, similar names in blocks."""

from __future__ import annotations

import pytest

from patron.accounts.services.audit import audit_record
from patron.core.actors import Actor
from patron.core.errors import ValidationFailed
from patron.customers import duplicates
from patron.customers.duplicates import MatchKind, duplicate_page
from patron.customers.models import Customer
from patron.customers.services.profile import customer_create

pytestmark = pytest.mark.django_db


def _person(first: str, last: str, **fields: str) -> Customer:
    return customer_create(
        actor=Actor.system("tests"), fields={"first_name": first, "last_name": last, **fields}
    )


def _legacy(**fields: str) -> Customer:
    # The profile services claim emails and phones as identities, so two customers can share
    # one only in rows written before those rules (old bulk loads): made here directly.
    return Customer.objects.create(**fields)


def _keys(page: duplicates.DuplicatePage) -> list[tuple[int, int]]:
    return [(pair.first.pk, pair.second.pk) for pair in page.pairs]


def test_same_email_pairs_each_later_customer_with_the_oldest():
    first = _legacy(first_name="Ana", email="ana@example.com")
    second = _legacy(first_name="Anna", email="ana@example.com")
    third = _legacy(email="ana@example.com")
    _legacy(email="other@example.com")

    page = duplicate_page(kind=MatchKind.EMAIL)

    assert _keys(page) == [(first.pk, second.pk), (first.pk, third.pk)]
    assert page.pairs[0].reasons[0] == "same email ana@example.com"
    assert page.next_cursor is None


def test_same_phone_pairs_carry_the_phone_as_reason():
    first = _legacy(first_name="Ana", last_name="Silva", phone="+4915112345678")
    second = _legacy(first_name="Anna", last_name="Silva", phone="+4915112345678")

    page = duplicate_page(kind=MatchKind.PHONE)

    assert _keys(page) == [(first.pk, second.pk)]
    assert page.pairs[0].reasons == (
        "same phone +4915112345678",
        "names 95% alike: Ana Silva / Anna Silva",
    )


@pytest.mark.parametrize(
    ("older", "newer", "keeps"),
    [
        ({"order_count": 0}, {"order_count": 3}, "newer"),  # the one who buys
        ({"order_count": 2}, {"order_count": 2}, "older"),  # a tie: the older row
    ],
)
def test_a_merge_suggests_keeping_the_record_with_the_history(older, newer, keeps):
    first = _legacy(first_name="Ana", last_name="Silva", phone="+4915112345678", **older)
    second = _legacy(first_name="Ana", last_name="Silva", phone="+4915112345678", **newer)

    [pair] = duplicate_page(kind=MatchKind.PHONE).pairs

    survivor = first if keeps == "older" else second
    assert pair.suggested_survivor == survivor
    assert pair.suggested_merged_away == (second if survivor == first else first)


def test_a_merge_suggests_keeping_the_one_seen_first_when_orders_tie():
    first = _legacy(phone="+4915112345678", first_seen_at="2026-05-01T00:00:00Z")
    second = _legacy(phone="+4915112345678", first_seen_at="2024-05-01T00:00:00Z")

    [pair] = duplicate_page(kind=MatchKind.PHONE).pairs

    assert pair.suggested_survivor == second
    assert pair.suggested_merged_away == first


def test_similar_names_need_another_shared_key():
    ana = _person("Ana", "Silva", email="ana.silva@gmail.com", city="Lisbon")
    anna = _person("Anna", "Silva", email="ana.silva+shop@example.com", city="Lisbon")
    # Same name and city, nothing else shared: two different people.
    _person("Ana", "Silva", email="asilva@example.org", city="Lisbon")
    # Same email name, different person's name.
    _person("Pedro", "Silva", email="anasilva@example.net")

    page = duplicate_page(kind=MatchKind.NAME)

    assert _keys(page) == [(ana.pk, anna.pk)]
    assert page.pairs[0].reasons == (
        "same email name: ana.silva@gmail.com / ana.silva+shop@example.com",
        "names 95% alike: Ana Silva / Anna Silva",
        "same city Lisbon",
    )
    assert page.pairs[0].name_score == 95


def test_similar_names_match_on_a_phone_ending_across_formats():
    first = _person("Mario", "Garcia", phone="+34612345678")
    second = _legacy(first_name="Maria", last_name="Garcia", phone="+34 0612345678")

    page = duplicate_page(kind=MatchKind.NAME)

    assert _keys(page) == [(first.pk, second.pk)]


def test_names_in_different_blocks_are_never_compared():
    # "Smith" and "Smyth" differ in the block's first three letters: the blocking's known miss.
    _person("John", "Smith", email="john.smith@example.com")
    _person("John", "Smyth", email="john.smith@example.org")

    assert duplicate_page(kind=MatchKind.NAME).pairs == []


def test_a_dismissed_pair_is_no_longer_listed(system_actor):
    first = _legacy(email="same@example.com")
    second = _legacy(email="same@example.com")
    audit_record(
        actor=system_actor,
        action=duplicates.DISMISSED_ACTION,
        subject_type=duplicates.PAIR_SUBJECT_TYPE,
        subject_id=duplicates.pair_key(second.pk, first.pk),
    )

    assert duplicate_page(kind=MatchKind.EMAIL).pairs == []
    assert duplicates.duplicate_is_dismissed(first_id=second.pk, second_id=first.pk)


def test_email_pages_follow_the_cursor_without_repeating_a_pair():
    made = [
        (_legacy(email=f"p{n}@example.com"), _legacy(email=f"p{n}@example.com")) for n in range(5)
    ]

    first_page = duplicate_page(kind=MatchKind.EMAIL, limit=2)
    second_page = duplicate_page(kind=MatchKind.EMAIL, limit=2, cursor=first_page.next_cursor)
    third_page = duplicate_page(kind=MatchKind.EMAIL, limit=2, cursor=second_page.next_cursor)

    seen = _keys(first_page) + _keys(second_page) + _keys(third_page)
    assert seen == [(a.pk, b.pk) for a, b in made]
    assert third_page.next_cursor is None


def test_a_run_of_one_email_is_not_split_across_a_scan_boundary(monkeypatch):
    monkeypatch.setattr(duplicates, "EXACT_SCAN_LIMIT", 3)
    _legacy(email="a@example.com")
    b1 = _legacy(email="b@example.com")
    b2 = _legacy(email="b@example.com")
    b3 = _legacy(email="b@example.com")

    first_page = duplicate_page(kind=MatchKind.EMAIL)
    second_page = duplicate_page(kind=MatchKind.EMAIL, cursor=first_page.next_cursor)

    assert _keys(first_page) == []
    assert first_page.next_cursor is not None
    assert _keys(second_page) == [(b1.pk, b2.pk), (b1.pk, b3.pk)]


def test_name_scan_stops_at_its_limit_and_resumes_where_it_stopped(monkeypatch):
    monkeypatch.setattr(duplicates, "NAME_SCAN_LIMIT", 2)
    monkeypatch.setattr(duplicates, "NAME_WINDOW", 1)
    aa = _person("Ana", "Aalto", email="ana.aalto@example.com")
    ab = _person("Anna", "Aalto", email="ana.aalto@example.org")
    _person("Zed", "Zulu", email="zed@example.com")
    za = _person("Zoe", "Zulu", email="zoe.zulu@example.com")
    zb = _person("Zoey", "Zulu", phone="+442079460958", email="zoe.zulu@example.org")

    pages = [duplicate_page(kind=MatchKind.NAME)]
    while pages[-1].next_cursor and len(pages) < 10:
        pages.append(duplicate_page(kind=MatchKind.NAME, cursor=pages[-1].next_cursor))

    assert pages[0].scanned == 2
    assert len(pages) == 3
    assert [key for page in pages for key in _keys(page)] == [(aa.pk, ab.pk), (za.pk, zb.pk)]


def test_prefix_narrows_to_last_names_starting_with_it():
    _person("Ana", "Silva", email="ana.silva@example.com")
    _person("Anna", "Silva", email="ana.silva@example.org")
    costa = _person("Rui", "Costa", email="rui.costa@example.com")
    costa_again = _person("Rui", "Costa", email="rui.costa@example.org")

    page = duplicate_page(kind=MatchKind.NAME, q="Cos")

    assert _keys(page) == [(costa.pk, costa_again.pk)]


@pytest.mark.parametrize(
    ("kind", "cursor"),
    [("nickname", None), (MatchKind.EMAIL, "not-a-cursor"), (MatchKind.NAME, "e30")],
)
def test_bad_kind_or_cursor_is_a_validation_error(kind, cursor):
    with pytest.raises(ValidationFailed):
        duplicate_page(kind=kind, cursor=cursor)


def test_a_page_costs_the_same_queries_however_many_customers(django_assert_num_queries):
    for n in range(30):
        _person("Ana", f"Silva{n:02}", email=f"ana.silva{n}@example.com")
        _person("Anna", f"Silva{n:02}", email=f"ana.silva{n}@example.org")

    # The scan, the pairs' customers, the dismissals.
    with django_assert_num_queries(3):
        page = duplicate_page(kind=MatchKind.NAME, limit=25)

    assert len(page.pairs) == 25
