"""The workspace customer list's reads: search rules, filters and sorted keyset pages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from patron.core.actors import Actor
from patron.core.errors import ValidationFailed
from patron.core.pagination import decode_cursor, encode_cursor, keyset_page_sorted
from patron.customers.models import Customer
from patron.customers.selectors import (
    CustomerListFilters,
    CustomerSort,
    customer_list_count,
    customer_list_export_rows,
    customer_list_page,
    customer_list_result,
)
from patron.customers.services.companies import company_contact_add, company_upsert
from patron.customers.services.profile import customer_create, identity_add
from patron.customers.services.tags import customer_tags_add

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("tests")


def person(**fields: object) -> Customer:
    return customer_create(actor=ACTOR, fields=fields)


def with_figures(customer: Customer, count: int, spent: str, last: datetime | None) -> Customer:
    Customer.objects.filter(pk=customer.pk).update(
        order_count=count, total_spent=Decimal(spent), first_order_at=last, last_order_at=last
    )
    return customer


def walk(filters: CustomerListFilters, *, sort: str, descending: bool, limit: int) -> list[int]:
    """Every id, page by page, as the list's Next link would."""
    ids: list[int] = []
    cursor = None
    for _ in range(100):
        page = customer_list_page(
            filters, sort=sort, descending=descending, cursor=cursor, limit=limit
        )
        ids += [customer.pk for customer in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return ids
    raise AssertionError("pages never ended")


def names(filters: CustomerListFilters) -> list[str]:
    page = customer_list_page(filters, sort=CustomerSort.NAME)
    return [customer.display_name for customer in page.items]


# --- search --------------------------------------------------------------------------------------


@pytest.fixture
def people() -> dict[str, Customer]:
    return {
        "ana": person(
            first_name="Ana",
            last_name="Silva",
            email="ana.silva@example.com",
            phone="+447911123456",
        ),
        "anabel": person(first_name="Anabel", last_name="Moreau", email="moreau@example.org"),
        "bruno": person(first_name="Bruno", last_name="Anderson", email="bruno@example.net"),
        "chen": person(first_name="Chen", last_name="Li", email="chen@sample.com"),
    }


def test_search_matches_a_prefix_of_first_or_last_name_ignoring_case(people):
    assert names(CustomerListFilters(q="AN")) == ["Bruno Anderson", "Anabel Moreau", "Ana Silva"]
    assert names(CustomerListFilters(q="silv")) == ["Ana Silva"]


def test_search_with_two_words_matches_first_and_last_name(people):
    assert names(CustomerListFilters(q="ana  sil")) == ["Ana Silva"]


def test_search_matches_a_prefix_of_the_email(people):
    assert names(CustomerListFilters(q="Chen@Sam")) == ["Chen Li"]
    assert names(CustomerListFilters(q="example")) == []  # the middle of an address never matches


def test_search_matches_a_prefix_of_the_phone_typed_with_spaces(people):
    assert names(CustomerListFilters(q="+44 7911 123")) == ["Ana Silva"]
    assert names(CustomerListFilters(q="447911")) == ["Ana Silva"]


def test_search_matches_an_external_id_exactly(people):
    identity_add(customer=people["chen"], kind="external_id", value="CRM-0042", actor=ACTOR)

    assert names(CustomerListFilters(q="CRM-0042")) == ["Chen Li"]
    assert names(CustomerListFilters(q="CRM-004")) == []


def test_search_text_is_data_not_a_pattern(people):
    assert names(CustomerListFilters(q="%")) == []
    assert names(CustomerListFilters(q="_na")) == []
    # Characters whose successor cannot be written still search, and find nobody.
    assert names(CustomerListFilters(q="ana\U0010ffff")) == []
    assert names(CustomerListFilters(q="ana\ud7ff")) == []


# --- filters -------------------------------------------------------------------------------------


def test_filters_combine_figures_dates_stage_country_and_tag():
    ana = with_figures(
        person(first_name="Ana", country="PT", lifecycle_stage="active"),
        3,
        "150.00",
        datetime(2026, 3, 1, 23, 30, tzinfo=UTC),
    )
    with_figures(
        person(first_name="Ben", country="PT"), 1, "20.00", datetime(2026, 1, 1, tzinfo=UTC)
    )
    person(first_name="Cleo", country="FR")
    customer_tags_add(customer=ana, names=["VIP"], actor=ACTOR)

    assert names(CustomerListFilters(orders_min=2)) == ["Ana"]
    assert names(CustomerListFilters(orders_max=1, country="pt")) == ["Ben"]
    assert names(CustomerListFilters(spent_min=Decimal("20"), spent_max=Decimal("20"))) == ["Ben"]
    # The "to" day is included whole.
    assert names(CustomerListFilters(last_order_to=date(2026, 3, 1))) == ["Ana", "Ben"]
    assert names(CustomerListFilters(last_order_from=date(2026, 3, 2))) == []
    assert names(CustomerListFilters(first_order_from=date(2026, 2, 1))) == ["Ana"]
    assert names(CustomerListFilters(tag="vip")) == ["Ana"]
    assert names(CustomerListFilters(lifecycle_stage="active", tag="VIP")) == ["Ana"]
    assert customer_list_count(CustomerListFilters(country="PT")) == 2


def test_the_company_filter_matches_a_prefix_of_the_company_name():
    ana = person(first_name="Ana")
    person(first_name="Ben")
    company, _ = company_upsert(actor=ACTOR, fields={"name": "Acme Trading"})
    company_contact_add(company=company, customer=ana, actor=ACTOR)

    assert names(CustomerListFilters(company="acme")) == ["Ana"]
    assert names(CustomerListFilters(company="trading")) == []


# --- sorted keyset pages ------------------------------------------------------------------------


def test_pages_of_a_sort_with_ties_and_nulls_visit_every_row_once_in_order():
    # Five share a last order time, two have none; pages of 2 cut through the ties.
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    tied = [with_figures(person(first_name=f"T{n}"), 1, "5.00", moment) for n in range(5)]
    never = [person(first_name=f"N{n}") for n in range(2)]
    early = with_figures(person(first_name="E"), 1, "5.00", datetime(2025, 1, 1, tzinfo=UTC))

    ascending = walk(CustomerListFilters(), sort=CustomerSort.LAST_ORDER, descending=False, limit=2)
    descending = walk(CustomerListFilters(), sort=CustomerSort.LAST_ORDER, descending=True, limit=2)

    tied_ids = [customer.pk for customer in tied]
    never_ids = [customer.pk for customer in never]
    assert ascending == [early.pk, *tied_ids, *never_ids]
    # NULLs stay last; ties and NULLs run by id in the sort's direction.
    assert descending == [*reversed(tied_ids), early.pk, *reversed(never_ids)]


def test_every_sort_walks_all_rows_without_repeats():
    for number in range(7):
        with_figures(
            person(first_name=f"P{number % 3}", last_name="Same"),
            number % 2,
            f"{number % 3}.50",
            None if number % 3 == 0 else datetime(2026, 1, 1 + number % 2, tzinfo=UTC),
        )
    everyone = sorted(Customer.objects.values_list("pk", flat=True))

    for sort in CustomerSort.values:
        for descending in (False, True):
            ids = walk(CustomerListFilters(), sort=sort, descending=descending, limit=3)
            assert sorted(ids) == everyone, (sort, descending)
            assert len(ids) == len(set(ids)), (sort, descending)


def test_a_page_costs_at_most_two_queries_plus_the_tags(django_assert_max_num_queries):
    for number in range(4):
        customer_tags_add(customer=person(first_name=f"P{number}"), names=["a", "b"], actor=ACTOR)

    with django_assert_max_num_queries(3):
        page = customer_list_page(CustomerListFilters(), sort=CustomerSort.LAST_ORDER, limit=2)
        assert [tag.name for tag in page.items[0].tag_list] == ["a", "b"]  # type: ignore[attr-defined]


def test_a_forged_cursor_is_a_validation_error_naming_the_cursor():
    person(first_name="Ana")
    queryset = Customer.objects.all()
    for forged in (
        "not base64!",
        encode_cursor({"id": 1}),
        encode_cursor({"id": 1, "values": [{}]}),
    ):
        with pytest.raises(ValidationFailed) as raised:
            keyset_page_sorted(
                queryset, keys=["order_count"], descending=False, cursor=forged, limit=5
            )
        assert raised.value.field == "cursor"


def test_a_cursor_carries_decimal_and_time_values_as_text():
    moment = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    for number in range(3):
        with_figures(person(first_name=f"P{number}"), 1, "10.10", moment)

    page = customer_list_page(CustomerListFilters(), sort=CustomerSort.TOTAL_SPENT, limit=1)

    assert page.next_cursor is not None
    assert decode_cursor(page.next_cursor)["values"] == ["10.10"]


def test_an_export_reads_every_matching_row_in_pages(monkeypatch):
    from patron.customers import selectors

    monkeypatch.setattr(selectors, "EXPORT_PAGE_SIZE", 2)
    created = [person(first_name=f"P{number}", country="PT").pk for number in range(5)]
    person(first_name="Other", country="FR")

    rows = list(customer_list_export_rows(CustomerListFilters(country="PT"), sort="created"))

    assert [row.pk for row in rows] == created


def result_walk(filters: CustomerListFilters, *, sort: str, descending: bool) -> list[int]:
    ids: list[int] = []
    cursor = None
    for _ in range(100):
        result = customer_list_result(
            filters, sort=sort, descending=descending, cursor=cursor, limit=2
        )
        ids += [customer.pk for customer in result.page.items]
        cursor = result.page.next_cursor
        if cursor is None:
            return ids
    raise AssertionError("pages never ended")


def test_both_plans_give_the_same_pages_and_many_matches_are_counted_up_to_the_limit(
    monkeypatch,
):
    from patron.customers import selectors

    for number in range(9):
        with_figures(
            person(first_name=f"Mia{number % 4}", last_name=f"M{number % 3}", country="PT"),
            number % 3,
            f"{number % 4}.00",
            None if number % 4 == 0 else datetime(2026, 1, 1 + number % 3, tzinfo=UTC),
        )
    person(first_name="Zed", country="FR")
    for customer in Customer.objects.filter(last_name__in=["M0", "M1"]):
        customer_tags_add(customer=customer, names=["VIP"], actor=ACTOR)
    cases = [
        CustomerListFilters(q="mi"),
        CustomerListFilters(country="PT", orders_min=1),
        CustomerListFilters(q="m", spent_min=Decimal("1")),
        CustomerListFilters(tag="vip"),
        CustomerListFilters(tag="vip", q="mia1"),
        CustomerListFilters(lifecycle_stage="lead", orders_min=1),
    ]
    expected = {
        (index, sort, descending): result_walk(filters, sort=sort, descending=descending)
        for index, filters in enumerate(cases)
        for sort in CustomerSort.values
        for descending in (False, True)
    }
    assert customer_list_result(cases[0]).is_walking is False

    monkeypatch.setattr(selectors, "COUNT_LIMIT", 3)

    walked = customer_list_result(cases[0])
    assert (walked.is_walking, walked.match_count, walked.is_count_capped) == (True, 3, True)
    for (index, sort, descending), ids in expected.items():
        assert result_walk(cases[index], sort=sort, descending=descending) == ids, (
            index,
            sort,
            descending,
        )
    unfiltered = customer_list_result(CustomerListFilters())
    assert (unfiltered.match_count, unfiltered.is_count_capped) == (10, False)
