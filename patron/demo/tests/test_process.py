"""The repeat-buying process: supply cycles, one-off gift sets, lapsing and heavy buyers."""

from __future__ import annotations

import numpy as np
import pytest

from patron.demo import shop
from patron.demo.process import HISTORY_DAYS, Catalogue, Purchases, purchases_simulate

CUSTOMERS = 5_000
SKUS = [product.sku for product in shop.PRODUCTS]


@pytest.fixture(scope="module")
def purchases() -> Purchases:
    rng = np.random.default_rng([7, 0])
    return purchases_simulate(rng, Catalogue.from_shop(), CUSTOMERS, start_day_of_year=120.0)


def _purchase_days(purchases: Purchases, sku: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer, day, quantity) of every purchase of one product, by customer then day."""
    lines = np.flatnonzero(purchases.line_product == SKUS.index(sku))
    orders = purchases.line_order[lines]
    customer = purchases.order_customer[orders]
    day = purchases.order_day[orders]
    order = np.lexsort((day, customer))
    return customer[order], day[order], purchases.line_quantity[lines][order]


def test_the_same_seed_gives_the_same_purchases(purchases: Purchases) -> None:
    again = purchases_simulate(
        np.random.default_rng([7, 0]), Catalogue.from_shop(), CUSTOMERS, start_day_of_year=120.0
    )
    other = purchases_simulate(
        np.random.default_rng([8, 0]), Catalogue.from_shop(), CUSTOMERS, start_day_of_year=120.0
    )

    assert np.array_equal(again.order_day, purchases.order_day)
    assert np.array_equal(again.line_product, purchases.line_product)
    assert not np.array_equal(other.order_customer, purchases.order_customer)


def test_orders_are_sorted_and_inside_the_history(purchases: Purchases) -> None:
    key = purchases.order_customer * 10_000.0 + purchases.order_day

    assert np.all(np.diff(key) >= 0)
    assert purchases.order_day.min() >= 0
    assert purchases.order_day.max() <= HISTORY_DAYS
    assert np.all(np.diff(purchases.line_order) >= 0)
    assert np.array_equal(np.unique(purchases.line_order), np.arange(purchases.order_day.size))


def test_the_60_day_moisturiser_is_rebought_about_every_60_days(purchases: Purchases) -> None:
    customer, day, quantity = _purchase_days(purchases, "MO-DAY-50")
    same = customer[1:] == customer[:-1]
    # An interval covers what the previous purchase bought: two jars last twice as long.
    per_unit = (np.diff(day) / quantity[:-1])[same]

    assert per_unit.size > 1_000
    assert 52 <= np.median(per_unit) <= 66
    # Half of all re-buys fall within about two weeks of the median.
    assert np.percentile(per_unit, 25) >= 40
    assert np.percentile(per_unit, 75) <= 80


def test_each_product_keeps_its_own_cycle(purchases: Purchases) -> None:
    medians = {}
    for sku in ("CL-GEL-150", "MO-DAY-50", "SE-HYA-30", "SU-FLUID-50"):
        customer, day, quantity = _purchase_days(purchases, sku)
        same = customer[1:] == customer[:-1]
        medians[sku] = float(np.median((np.diff(day) / quantity[:-1])[same]))

    assert medians["CL-GEL-150"] < medians["MO-DAY-50"] < medians["SE-HYA-30"]
    assert medians["SE-HYA-30"] < medians["SU-FLUID-50"]
    assert 38 <= medians["CL-GEL-150"] <= 50
    assert 78 <= medians["SE-HYA-30"] <= 98


def test_gift_sets_and_tools_are_bought_at_most_once_per_customer(purchases: Purchases) -> None:
    once_only = [i for i, product in enumerate(shop.PRODUCTS) if not product.is_repeatable]
    lines = np.isin(purchases.line_product, once_only)
    pairs = (
        purchases.order_customer[purchases.line_order[lines]] * 100
        + (purchases.line_product[lines])
    )

    assert lines.sum() > 100
    assert np.unique(pairs).size == pairs.size


def test_an_order_never_lists_a_product_twice(purchases: Purchases) -> None:
    pairs = purchases.line_order * 100 + purchases.line_product

    assert np.unique(pairs).size == pairs.size


def test_many_buy_once_some_buy_dozens_and_leads_never(purchases: Purchases) -> None:
    counts = np.bincount(purchases.order_customer, minlength=CUSTOMERS)
    buyers = counts[~purchases.is_lead]

    assert np.all(counts[purchases.is_lead] == 0)
    assert 0.10 <= purchases.is_lead.mean() <= 0.14
    assert 0.1 <= (buyers == 1).mean() <= 0.4
    assert 7 <= counts.mean() <= 12
    assert counts.max() >= 40
    assert np.percentile(buyers, 50) < counts.mean()  # a long tail of heavy buyers


def test_some_customers_lapse_while_others_stay_active(purchases: Purchases) -> None:
    counts = np.bincount(purchases.order_customer, minlength=CUSTOMERS)
    last = np.full(CUSTOMERS, -np.inf)
    np.maximum.at(last, purchases.order_customer, purchases.order_day)
    buyers = counts > 0
    lapsed = buyers & (last < HISTORY_DAYS - 180)
    active = buyers & (last >= HISTORY_DAYS - 60)

    assert 0.2 <= lapsed.sum() / buyers.sum() <= 0.6
    assert 0.2 <= active.sum() / buyers.sum() <= 0.7
    # Those who dropped out placed no order after their dropout day.
    dropped = np.isfinite(purchases.dropout_day)
    assert np.all(last[dropped] == purchases.dropout_day[dropped])
