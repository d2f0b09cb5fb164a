"""The shipped shop facts: catalogue, markets and their phone ranges."""

from __future__ import annotations

import zoneinfo

import phonenumbers
import pytest

from patron.demo import shop


def test_catalogue_has_the_supply_cycles_the_issue_names() -> None:
    cycles = {(p.category_slug, p.supply_days) for p in shop.PRODUCTS if p.is_repeatable}

    assert {days for slug, days in cycles if slug == "cleansers"} == {45}
    assert {days for slug, days in cycles if slug == "moisturisers"} == {60}
    assert {days for slug, days in cycles if slug == "serums"} == {90}
    assert {days for slug, days in cycles if slug == "sunscreen"} == {120}
    gift_sets = [p for p in shop.PRODUCTS if p.category_slug == "gift-sets"]
    assert len(gift_sets) == 7
    assert all(not p.is_repeatable and p.supply_days is None for p in gift_sets)
    assert len(shop.PRODUCTS) == 40
    assert len({p.sku for p in shop.PRODUCTS}) == 40


def test_categories_form_a_tree_under_known_parents() -> None:
    slugs = {category.slug for category in shop.CATEGORIES}

    assert all(c.parent_slug in slugs for c in shop.CATEGORIES if c.parent_slug)
    assert {c.slug for c in shop.CATEGORIES if c.parent_slug == "skincare"} == {
        "cleansers",
        "moisturisers",
        "serums",
        "sunscreen",
    }
    assert {p.category_slug for p in shop.PRODUCTS} <= slugs


def test_markets_span_continents_with_real_time_zones() -> None:
    zones = zoneinfo.available_timezones()

    assert all(market.timezone in zones for market in shop.MARKETS)
    continents = {market.timezone.split("/")[0] for market in shop.MARKETS}
    assert continents == {"Europe", "America", "Asia", "Australia", "Pacific", "Africa"}
    assert all(market.names in shop.NAME_POOLS for market in shop.MARKETS)


def test_phone_prefixes_never_overlap_between_markets() -> None:
    prefixes = [prefix for market in shop.MARKETS for prefix in market.phone_prefixes]

    assert len(prefixes) == len(set(prefixes))
    for prefix in prefixes:
        assert not any(other != prefix and other.startswith(prefix) for other in prefixes)


@pytest.mark.parametrize("market", shop.MARKETS, ids=lambda market: market.timezone)
def test_every_phone_range_gives_valid_mobile_numbers(market: shop.Market) -> None:
    # Spread over the whole range: both ends of every prefix and points in between.
    block = 10**market.phone_digits
    samples = [0, block - 1, *range(7, block, max(1, block // 97))]
    for prefix in market.phone_prefixes:
        for value in samples:
            number = phonenumbers.parse(f"{prefix}{value:0{market.phone_digits}d}")
            assert phonenumbers.is_valid_number(number), f"{prefix}{value}"
            assert phonenumbers.region_code_for_number(number) == market.country


def test_ascii_slug_makes_email_safe_words() -> None:
    assert shop.ascii_slug("Müller") == "muller"
    assert shop.ascii_slug("O'Brien") == "obrien"
    assert shop.ascii_slug("van den Berg") == "vandenberg"
    assert shop.ascii_slug("Hotel & Spa", "-") == "hotel-spa"
