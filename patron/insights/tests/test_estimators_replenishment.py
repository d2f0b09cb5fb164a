"""Unit tests of product cycles, per-pair replenishment estimates, their states and reasons."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from patron.insights.estimators.replenishment import (
    PRIOR_INTERVALS,
    ReplenishmentState,
    product_cycles,
    replenishment_estimate,
    replenishment_prior_strength,
    replenishment_reason,
)

NAN = np.nan


def test_product_cycles_take_the_median_and_blend_with_stated_supply_days() -> None:
    # given product 0: pairs at 60, 50 and 70 days per unit and a pair bought once (stated 45);
    # product 1: only a stated 90; product 2: one pair at 30 and one bought twice on the same
    # day (no evidence), nothing stated; product 3: nothing
    pair_product = np.array([0, 0, 0, 0, 1, 2, 2])
    purchase_count = np.array([3, 2, 4, 1, 1, 2, 2])
    span = np.array([120.0, 50.0, 210.0, 0.0, 0.0, 30.0, 0.0])
    units_before_last = np.array([2.0, 1.0, 3.0, 0.0, 0.0, 1.0, 1.0])

    # when
    cycles = product_cycles(
        pair_product=pair_product,
        pair_purchase_count=purchase_count,
        pair_span_days=span,
        pair_units_before_last=units_before_last,
        product_count=4,
        supply_days=np.array([45.0, 90.0, NAN, NAN]),
    )

    # then: product 0 weighs 3 pairs against PRODUCT_PRIOR_PAIRS = 5 on the log scale
    np.testing.assert_allclose(cycles.cycle_days[:3], [60.0**0.375 * 45.0**0.625, 90.0, 30.0])
    assert math.isnan(cycles.cycle_days[3])
    np.testing.assert_allclose(cycles.observed_days[[0, 2]], [60.0, 30.0])
    assert cycles.pair_count.tolist() == [3, 0, 1, 0]
    assert cycles.source.tolist() == ["blended", "stated", "observed", "unknown"]


def test_product_cycles_of_an_empty_shop_and_bad_supply_days() -> None:
    # given no pairs
    empty: dict[str, Any] = {
        "pair_product": np.zeros(0, dtype=np.int64),
        "pair_purchase_count": np.zeros(0, dtype=np.int64),
        "pair_span_days": np.zeros(0),
        "pair_units_before_last": np.zeros(0),
    }

    # when
    cycles = product_cycles(**empty, product_count=1, supply_days=np.array([NAN]))

    # then
    assert math.isnan(cycles.cycle_days[0]) and cycles.source.tolist() == ["unknown"]
    with pytest.raises(ValueError, match="supply_days must be positive, or nan where not stated"):
        product_cycles(**empty, product_count=1, supply_days=np.array([0.0]))
    with pytest.raises(ValueError, match="supply_days has 2 values, expected 1"):
        product_cycles(**empty, product_count=1, supply_days=np.array([1.0, 2.0]))


def _one_pair(
    *,
    purchase_count: int = 1,
    span: float = 0.0,
    units_before_last: float = 0.0,
    units_last: float = 1.0,
    last_day: float = 0.0,
    cycle: float = 100.0,
    as_of_day: float = 0.0,
    spread: float = NAN,
):
    return replenishment_estimate(
        pair_product=np.array([0]),
        pair_purchase_count=np.array([purchase_count]),
        pair_span_days=np.array([span]),
        pair_units_before_last=np.array([units_before_last]),
        pair_units_last=np.array([units_last]),
        pair_last_day=np.array([last_day]),
        product_cycle_days=np.array([cycle]),
        as_of_day=as_of_day,
        prior_intervals=2.0,
        pair_interval_spread=np.array([spread]),
    )


def test_estimate_shrinks_own_cycle_toward_the_product_by_interval_count() -> None:
    # given pair 0: 4 intervals at 50 days per unit (product 60); pair 1: bought 2 units once;
    # pair 2: a product without a cycle
    result = replenishment_estimate(
        pair_product=np.array([0, 0, 1]),
        pair_purchase_count=np.array([5, 1, 3]),
        pair_span_days=np.array([200.0, 0.0, 80.0]),
        pair_units_before_last=np.array([4.0, 0.0, 2.0]),
        pair_units_last=np.array([1.0, 2.0, 1.0]),
        pair_last_day=np.array([100.0, 100.0, 100.0]),
        product_cycle_days=np.array([60.0, NAN]),
        as_of_day=140.0,
        prior_intervals=2.0,
    )

    # then: weight 4 / (4 + 2) on the own log cycle
    expected = 60.0 * (50.0 / 60.0) ** (4 / 6)
    np.testing.assert_allclose(result.customer_cycle_days[:2], [50.0, NAN])
    np.testing.assert_allclose(result.expected_cycle_days[:2], [expected, 60.0])
    np.testing.assert_allclose(result.due_day[:2], [100.0 + expected, 220.0])
    np.testing.assert_allclose(result.days_until_due[:2], [expected - 40.0, 80.0])
    assert math.isnan(result.due_day[2]) and math.isnan(result.expected_cycle_days[2])
    assert result.state.tolist() == ["not_due", "not_due", ""]
    assert result.confidence.tolist() == ["high", "low", ""]
    assert result.interval_count.tolist() == [4, 0, 2]
    assert result.prior_intervals == 2.0


@pytest.mark.parametrize(
    ("as_of_day", "state"),
    [
        (85.0, "not_due"),  # 15 days ahead, beyond the 14-day window
        (86.0, "due_soon"),
        (99.5, "due_soon"),
        (100.0, "due"),
        (114.0, "due"),
        (115.0, "overdue"),
        (300.0, "overdue"),  # exactly two cycles past the due date
        (301.0, "lapsed"),
    ],
)
def test_states_by_days_until_due(as_of_day: float, state: str) -> None:
    # given bought once on day 0, a 100-day product: due on day 100, window min(14, 20) days
    # when
    result = _one_pair(as_of_day=as_of_day)

    # then
    assert result.state.tolist() == [state]


def test_the_due_soon_window_is_a_fifth_of_a_short_cycle() -> None:
    # given a 20-day product: window 4 days
    # when
    early = _one_pair(cycle=20.0, as_of_day=15.0)
    soon = _one_pair(cycle=20.0, as_of_day=16.0)

    # then
    assert (early.state[0], soon.state[0]) == ("not_due", "due_soon")


@pytest.mark.parametrize(
    ("purchase_count", "spread", "confidence"),
    [
        (1, NAN, "low"),
        (2, NAN, "medium"),
        (4, NAN, "medium"),
        (5, NAN, "high"),
        (5, 0.35, "high"),
        (5, 0.5, "medium"),
        (2, 0.5, "low"),
        (1, 0.5, "low"),
    ],
)
def test_confidence_from_interval_count_and_spread(
    purchase_count: int, spread: float, confidence: str
) -> None:
    # when
    result = _one_pair(
        purchase_count=purchase_count,
        span=100.0 * (purchase_count - 1),
        units_before_last=float(purchase_count - 1),
        spread=spread,
    )

    # then
    assert result.confidence.tolist() == [confidence]


def test_prior_strength_is_estimated_from_the_spreads() -> None:
    # given customers whose rates spread by 0.3 on the log scale and whose intervals are noisy
    # by 0.3 each: the product's cycle should weigh like one interval
    rng = np.random.default_rng(5)
    intervals = rng.integers(1, 8, 20_000)
    deviation = rng.normal(0, 0.3, intervals.size) + rng.normal(0, 0.3, intervals.size) / np.sqrt(
        intervals
    )

    # when
    strength = replenishment_prior_strength(log_deviation=deviation, interval_count=intervals)

    # then
    assert 0.85 <= strength <= 1.15


@pytest.mark.parametrize(
    ("deviation", "intervals"),
    [
        (np.full(49, 0.1), np.tile([1, 2, 3, 4, 5, 6, 7], 7)),  # too few pairs
        (np.tile([0.1, -0.1], 50), np.full(100, 3)),  # one interval count only
        (np.zeros(100), np.tile([1, 2], 50)),  # no spread at all
    ],
)
def test_prior_strength_falls_back_without_enough_evidence(
    deviation: np.ndarray, intervals: np.ndarray
) -> None:
    # when
    strength = replenishment_prior_strength(log_deviation=deviation, interval_count=intervals)

    # then
    assert strength == PRIOR_INTERVALS


def test_shrunk_due_dates_beat_the_customer_mean_and_the_product_cycle() -> None:
    # given a shop like the demo's: customers' own rates Gamma(12, mean 1) around the products'
    # cycles, log-normal noise 0.15 per interval, sometimes two units at once; for each pair,
    # the history up to the last purchase and the true next purchase day
    rng = np.random.default_rng(11)
    supply = np.array([45.0, 60.0, 90.0, 120.0])
    pairs = 4_000
    product = rng.integers(0, supply.size, pairs)
    personal = supply[product] / rng.gamma(12.0, 1 / 12.0, pairs)
    purchases = rng.integers(2, 8, pairs)
    longest = int(purchases.max())
    units = rng.choice([1.0, 2.0], size=(pairs, longest), p=[0.9, 0.1])
    gaps = units * personal[:, None] * rng.lognormal(0.0, 0.15, (pairs, longest))
    intervals = purchases - 1
    before_last = np.arange(longest)[None, :] < intervals[:, None]
    span = (gaps * before_last).sum(axis=1)
    units_before_last = (units * before_last).sum(axis=1)
    rows = np.arange(pairs)
    units_last = units[rows, intervals]
    last_day = 1_000.0 + span
    actual_next = last_day + gaps[rows, intervals]
    arguments: dict[str, Any] = {
        "pair_product": product,
        "pair_purchase_count": purchases,
        "pair_span_days": span,
        "pair_units_before_last": units_before_last,
    }
    cycles = product_cycles(**arguments, product_count=supply.size, supply_days=supply)

    # when
    result = replenishment_estimate(
        **arguments,
        pair_units_last=units_last,
        pair_last_day=last_day,
        product_cycle_days=cycles.cycle_days,
        as_of_day=1_500.0,
    )

    # then: on customers with one or two intervals, the shrunk due date errs least
    few = intervals <= 2
    raw_mean_due = last_day + units_last * span / units_before_last
    product_due = last_day + units_last * cycles.cycle_days[product]
    shrunk_error = np.abs(result.due_day - actual_next)[few].mean()
    raw_error = np.abs(raw_mean_due - actual_next)[few].mean()
    product_error = np.abs(product_due - actual_next)[few].mean()
    assert shrunk_error < raw_error
    assert shrunk_error < 0.7 * product_error
    assert 0.1 <= result.prior_intervals <= 0.6  # 0.15² / 0.29² ≈ 0.27 in theory


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"pair_purchase_count": np.array([0])}, "pair_purchase_count must be at least 1"),
        ({"pair_span_days": np.array([-1.0])}, "pair_span_days must not be negative"),
        ({"pair_units_last": np.array([0.0])}, "pair_units_last must be positive"),
        ({"pair_last_day": np.array([NAN])}, "pair_last_day must be finite"),
        ({"pair_product": np.array([1])}, r"pair_product must lie in 0\.\.0"),
        ({"product_cycle_days": np.array([0.0])}, "product_cycle_days must be positive"),
        ({"as_of_day": math.inf}, "as_of_day must be finite"),
        ({"prior_intervals": 0.0}, "prior_intervals must be a positive number"),
        ({"pair_interval_spread": np.zeros(2)}, "pair_interval_spread has 2 values, expected 1"),
        ({"pair_last_day": np.zeros(2)}, "arrays must have the same length"),
    ],
)
def test_estimate_refuses_bad_input(arguments: dict[str, object], message: str) -> None:
    # given one valid pair
    valid: dict[str, object] = {
        "pair_product": np.array([0]),
        "pair_purchase_count": np.array([2]),
        "pair_span_days": np.array([50.0]),
        "pair_units_before_last": np.array([1.0]),
        "pair_units_last": np.array([1.0]),
        "pair_last_day": np.array([10.0]),
        "product_cycle_days": np.array([60.0]),
        "as_of_day": 20.0,
    }

    # when / then
    with pytest.raises(ValueError, match=message):
        replenishment_estimate(**(valid | arguments))  # type: ignore[arg-type]


def test_estimate_of_no_pairs() -> None:
    # when
    result = replenishment_estimate(
        pair_product=np.zeros(0, dtype=np.int64),
        pair_purchase_count=np.zeros(0, dtype=np.int64),
        pair_span_days=np.zeros(0),
        pair_units_before_last=np.zeros(0),
        pair_units_last=np.zeros(0),
        pair_last_day=np.zeros(0),
        product_cycle_days=np.zeros(0),
        as_of_day=0.0,
    )

    # then
    assert result.state.tolist() == [] and result.prior_intervals == PRIOR_INTERVALS


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        (
            {
                "purchase_count": 4,
                "span_days": 174.0,
                "days_since_last": 55.0,
                "expected_cycle_days": 58.0,
                "units_last": 1.0,
                "days_until_due": 3.2,
                "state": ReplenishmentState.DUE_SOON,
            },
            "bought Hydra moisturiser 4 times, every 58 days on average; last 55 days ago"
            " → due in 3 days",
        ),
        (
            {
                "purchase_count": 1,
                "span_days": 0.0,
                "days_since_last": 48.0,
                "expected_cycle_days": 60.0,
                "units_last": 1.0,
                "days_until_due": 12.0,
                "state": "due_soon",
            },
            "bought Hydra moisturiser once, 48 days ago; it usually lasts 60 days → due in 12 days",
        ),
        (
            {
                "purchase_count": 1,
                "span_days": 0.0,
                "days_since_last": 1.0,
                "expected_cycle_days": 60.0,
                "units_last": 2.0,
                "days_until_due": 119.0,
                "state": "not_due",
            },
            "bought Hydra moisturiser once, 1 day ago; it usually lasts 60 days and 2 were bought"
            " → due in 119 days",
        ),
        (
            {
                "purchase_count": 3,
                "span_days": 120.0,
                "days_since_last": 69.0,
                "expected_cycle_days": 60.0,
                "units_last": 1.0,
                "days_until_due": -9.0,
                "state": "overdue",
            },
            "bought Hydra moisturiser 3 times, every 60 days on average; last 69 days ago"
            " → overdue by 9 days",
        ),
        (
            {
                "purchase_count": 2,
                "span_days": 60.0,
                "days_since_last": 60.2,
                "expected_cycle_days": 60.0,
                "units_last": 1.0,
                "days_until_due": -0.2,
                "state": "due",
            },
            "bought Hydra moisturiser 2 times, every 60 days on average; last 60 days ago"
            " → due today",
        ),
        (
            {
                "purchase_count": 2,
                "span_days": 60.0,
                "days_since_last": 63.0,
                "expected_cycle_days": 60.0,
                "units_last": 1.0,
                "days_until_due": -3.0,
                "state": "due",
            },
            "bought Hydra moisturiser 2 times, every 60 days on average; last 63 days ago"
            " → due 3 days ago",
        ),
        (
            {
                "purchase_count": 2,
                "span_days": 60.0,
                "days_since_last": 250.0,
                "expected_cycle_days": 60.0,
                "units_last": 1.0,
                "days_until_due": -190.0,
                "state": "lapsed",
            },
            "bought Hydra moisturiser 2 times, every 60 days on average; last 250 days ago"
            " → overdue by 190 days; probably stopped or switched",
        ),
        (
            {
                "purchase_count": 1,
                "span_days": 0.0,
                "days_since_last": 59.6,
                "expected_cycle_days": 60.0,
                "units_last": 1.0,
                "days_until_due": 0.4,
                "state": "due_soon",
            },
            "bought Hydra moisturiser once, 60 days ago; it usually lasts 60 days → due in 1 day",
        ),
    ],
)
def test_reasons_in_words(arguments: dict[str, object], reason: str) -> None:
    # when
    text = replenishment_reason(product_name="Hydra moisturiser", **arguments)  # type: ignore[arg-type]

    # then
    assert text == reason


def test_reason_refuses_unknown_states_and_nan() -> None:
    # given
    valid: dict[str, object] = {
        "product_name": "Serum",
        "purchase_count": 2,
        "span_days": 60.0,
        "days_since_last": 10.0,
        "expected_cycle_days": 60.0,
        "units_last": 1.0,
        "days_until_due": 50.0,
        "state": "not_due",
    }

    # when / then
    with pytest.raises(ValueError, match="state must be a ReplenishmentState, got 'soon'"):
        replenishment_reason(**(valid | {"state": "soon"}))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="days_until_due must be finite, got nan"):
        replenishment_reason(**(valid | {"days_until_due": NAN}))  # type: ignore[arg-type]
