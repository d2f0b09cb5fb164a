"""Replenishment: per (customer, product) pair, when the product runs out and the next buy is due.

A pair is one customer and one repeatable product. Days are float days on any common scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from patron.insights.estimators.arrays import (
    finite,
    group_median,
    indexes,
    not_negative,
    same_sizes,
    vector,
)

# The product's observed cycle counts as much as this many customers' own cycles against its
# stated supply days: one customer's rhythm differs from the typical one by about 30%, so the
# median of five is within about 15% — as close as a label ("lasts 60 days") usually is.
PRODUCT_PRIOR_PAIRS = 5.0
# How many of a customer's own intervals weigh as much as the product's cycle, when the data
# are too few to estimate it (below). Real intervals vary with stocking up, travel and gifts
# (about 40% per interval) more than customers' rates differ (about 30%): about two intervals.
PRIOR_INTERVALS = 2.0
# The prior strength is estimated from the pairs (method of moments, below) once this many
# pairs have two or more purchases; fewer would make the estimate noisier than the default.
MIN_PAIRS_FOR_PRIOR_FIT = 50
# The estimated prior strength stays in this range: below, one interval would outweigh the
# whole product's experience; above, a customer's own rhythm would hardly count.
PRIOR_INTERVALS_RANGE = (0.1, 20.0)
# Deviations of a customer's log cycle from the product's are clipped here before estimating
# spreads: a customer who paused for a year (4 times the cycle) should not dominate.
MAX_LOG_DEVIATION = math.log(4.0)
# A buy is due soon within 14 days before its date, or within a fifth of the cycle when that
# is shorter (a 20-day supplement is not "due soon" two weeks ahead); "due" lasts as long after.
DUE_SOON_DAYS = 14.0
DUE_SOON_CYCLE_SHARE = 0.2
# More than two cycles past the due date: the customer has most likely stopped or switched.
LAPSED_CYCLES = 2.0
# Confidence: four intervals show a habit, one already personalises the estimate.
HIGH_CONFIDENCE_INTERVALS = 4
MEDIUM_CONFIDENCE_INTERVALS = 1
# Spread (standard deviation of the log per-unit intervals) above which the customer's rhythm is
# irregular enough to lower the confidence by one level: about ±40% per interval.
IRREGULAR_LOG_SPREAD = 0.35


class CycleSource(StrEnum):
    OBSERVED = "observed"
    STATED = "stated"
    BLENDED = "blended"
    UNKNOWN = "unknown"


class ReplenishmentState(StrEnum):
    NOT_DUE = "not_due"
    DUE_SOON = "due_soon"
    DUE = "due"
    OVERDUE = "overdue"
    LAPSED = "lapsed"


class ReplenishmentConfidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True)
class ProductCycles:
    cycle_days: np.ndarray  # float64 per product: days one unit lasts, nan where unknown
    observed_days: np.ndarray  # float64: the median over the product's pairs, nan without any
    pair_count: np.ndarray  # int64: pairs with two or more purchases that gave evidence
    source: np.ndarray  # CycleSource values


@dataclass(frozen=True)
class Replenishment:
    customer_cycle_days: np.ndarray  # float64 per pair: own days per unit, nan below 2 purchases
    expected_cycle_days: np.ndarray  # float64: own cycle shrunk toward the product's, nan unknown
    due_day: np.ndarray  # float64, nan where the product has no cycle
    days_until_due: np.ndarray  # float64, negative when overdue, nan where unknown
    state: np.ndarray  # ReplenishmentState values, "" where unknown
    confidence: np.ndarray  # ReplenishmentConfidence values, "" where unknown
    interval_count: np.ndarray  # int64: purchases - 1
    prior_intervals: float  # the prior strength used (given or estimated)


@dataclass(frozen=True)
class _Pairs:
    product: np.ndarray
    purchase_count: np.ndarray
    span_days: np.ndarray
    units_before_last: np.ndarray


def _pairs_check(
    *,
    pair_product: np.ndarray,
    pair_purchase_count: np.ndarray,
    pair_span_days: np.ndarray,
    pair_units_before_last: np.ndarray,
    product_count: int,
) -> _Pairs:
    product = indexes("pair_product", pair_product, count=product_count)
    purchase_count = vector("pair_purchase_count", pair_purchase_count)
    if purchase_count.size and not np.issubdtype(purchase_count.dtype, np.integer):
        raise ValueError(f"pair_purchase_count must hold integers, got {purchase_count.dtype}")
    purchase_count = purchase_count.astype(np.int64, copy=False)
    span = vector("pair_span_days", pair_span_days, dtype=np.float64)
    units = vector("pair_units_before_last", pair_units_before_last, dtype=np.float64)
    same_sizes(
        pair_product=product,
        pair_purchase_count=purchase_count,
        pair_span_days=span,
        pair_units_before_last=units,
    )
    if np.any(purchase_count < 1):
        raise ValueError("pair_purchase_count must be at least 1 (a pair has a purchase)")
    finite("pair_span_days", span)
    finite("pair_units_before_last", units)
    not_negative("pair_span_days", span)
    not_negative("pair_units_before_last", units)
    return _Pairs(product, purchase_count, span, units)


def _own_cycle(pairs: _Pairs) -> np.ndarray:
    """Days per unit from the customer's own purchases: span over the units used up in it."""
    # Two purchases on the same day or without units say nothing about the rhythm.
    has_evidence = (
        (pairs.purchase_count >= 2) & (pairs.units_before_last > 0) & (pairs.span_days > 0)
    )
    cycle = np.full(pairs.product.size, np.nan)
    cycle[has_evidence] = pairs.span_days[has_evidence] / pairs.units_before_last[has_evidence]
    return cycle


def product_cycles(
    *,
    pair_product: np.ndarray,
    pair_purchase_count: np.ndarray,
    pair_span_days: np.ndarray,
    pair_units_before_last: np.ndarray,
    product_count: int,
    supply_days: np.ndarray,
    prior_pairs: float = PRODUCT_PRIOR_PAIRS,
) -> ProductCycles:
    """Days one unit of each product lasts.

    Observed: the median, over pairs with two or more purchases, of span / units bought before
    the last purchase (the median keeps a customer who paused for a year from moving it).
    Where the product states its supply days, the two are blended on the log scale with weight
    n / (n + prior_pairs) on the observation from n pairs. supply_days is nan when not stated.
    """
    pairs = _pairs_check(
        pair_product=pair_product,
        pair_purchase_count=pair_purchase_count,
        pair_span_days=pair_span_days,
        pair_units_before_last=pair_units_before_last,
        product_count=product_count,
    )
    stated = vector("supply_days", supply_days, size=product_count, dtype=np.float64)
    if np.any(np.isinf(stated)) or np.any(stated <= 0):
        raise ValueError("supply_days must be positive, or nan where not stated")
    if not np.isfinite(prior_pairs) or prior_pairs < 0:
        raise ValueError(f"prior_pairs must be a non-negative number, got {prior_pairs}")

    own = _own_cycle(pairs)
    has_evidence = np.isfinite(own)
    observed = group_median(pairs.product[has_evidence], own[has_evidence], product_count)
    pair_count = np.bincount(pairs.product[has_evidence], minlength=product_count).astype(np.int64)
    is_observed = pair_count > 0
    is_stated = np.isfinite(stated)
    weight = pair_count / (pair_count + prior_pairs) if prior_pairs > 0 else np.ones(product_count)
    weight = np.where(is_observed, weight, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        blended = np.exp(weight * np.log(observed) + (1.0 - weight) * np.log(stated))
    cycle = np.where(is_observed & is_stated, blended, np.where(is_observed, observed, stated))

    source = np.full(product_count, CycleSource.UNKNOWN.value, dtype=object)
    source[is_stated] = CycleSource.STATED.value
    source[is_observed] = CycleSource.OBSERVED.value
    source[is_observed & is_stated] = CycleSource.BLENDED.value
    return ProductCycles(
        cycle_days=cycle, observed_days=observed, pair_count=pair_count, source=source
    )


def replenishment_prior_strength(*, log_deviation: np.ndarray, interval_count: np.ndarray) -> float:
    """Empirical-Bayes prior strength (in intervals) from customers' deviations from products.

    A customer's log cycle deviates from the product's by their own rate (spread tau²) plus the
    noise of the mean of n intervals (sigma² / n): E[d²] = tau² + sigma² / n. Least squares of d²
    on 1/n gives both; the posterior weighs the product's cycle like sigma² / tau² intervals.
    Falls back to PRIOR_INTERVALS with too few pairs, a single interval count, or a fit that
    makes either spread non-positive.
    """
    deviation = vector("log_deviation", log_deviation, dtype=np.float64)
    intervals = vector("interval_count", interval_count, dtype=np.float64)
    same_sizes(log_deviation=deviation, interval_count=intervals)
    usable = np.isfinite(deviation) & (intervals >= 1)
    if usable.sum() < MIN_PAIRS_FOR_PRIOR_FIT:
        return PRIOR_INTERVALS
    squared = np.clip(deviation[usable], -MAX_LOG_DEVIATION, MAX_LOG_DEVIATION) ** 2
    inverse = 1.0 / intervals[usable]
    if np.ptp(inverse) == 0:
        return PRIOR_INTERVALS
    design = np.stack([np.ones_like(inverse), inverse], axis=1)
    (between, within), *_ = np.linalg.lstsq(design, squared, rcond=None)
    if between <= 0 or within <= 0:
        return PRIOR_INTERVALS
    low, high = PRIOR_INTERVALS_RANGE
    return float(np.clip(within / between, low, high))


def replenishment_estimate(
    *,
    pair_product: np.ndarray,
    pair_purchase_count: np.ndarray,
    pair_span_days: np.ndarray,
    pair_units_before_last: np.ndarray,
    pair_units_last: np.ndarray,
    pair_last_day: np.ndarray,
    product_cycle_days: np.ndarray,
    as_of_day: float,
    prior_intervals: float | None = None,
    pair_interval_spread: np.ndarray | None = None,
) -> Replenishment:
    """Due date, state and confidence per pair.

    expected cycle = exp((n · log own + k · log product) / (n + k)), with n the customer's
    intervals (purchases - 1) and k = prior_intervals (estimated from the pairs by
    replenishment_prior_strength when None): the fewer intervals, the closer to the product.
    due day = last purchase day + units bought last * expected cycle. States by days until due
    (window = min(DUE_SOON_DAYS, DUE_SOON_CYCLE_SHARE * cycle)): not due beyond the window,
    due soon within it, due up to a window past the date, overdue after that, lapsed more than
    LAPSED_CYCLES cycles past it. Confidence: high from 4 intervals, medium from 1, low with the
    product's cycle alone; one level lower when pair_interval_spread (standard deviation of the
    log per-unit intervals, nan unknown) exceeds IRREGULAR_LOG_SPREAD. Pairs whose product has no
    cycle (nan) get nan and "".
    """
    product_cycle = vector("product_cycle_days", product_cycle_days, dtype=np.float64)
    pairs = _pairs_check(
        pair_product=pair_product,
        pair_purchase_count=pair_purchase_count,
        pair_span_days=pair_span_days,
        pair_units_before_last=pair_units_before_last,
        product_count=product_cycle.size,
    )
    units_last = vector("pair_units_last", pair_units_last, dtype=np.float64)
    last_day = vector("pair_last_day", pair_last_day, dtype=np.float64)
    count = same_sizes(
        pair_product=pairs.product, pair_units_last=units_last, pair_last_day=last_day
    )
    finite("pair_units_last", units_last)
    finite("pair_last_day", last_day)
    if np.any(units_last <= 0):
        raise ValueError("pair_units_last must be positive")
    if np.any(np.isinf(product_cycle)) or np.any(product_cycle <= 0):
        raise ValueError("product_cycle_days must be positive, or nan where unknown")
    if not np.isfinite(as_of_day):
        raise ValueError(f"as_of_day must be finite, got {as_of_day}")
    spread = np.full(count, np.nan)
    if pair_interval_spread is not None:
        spread = vector("pair_interval_spread", pair_interval_spread, size=count, dtype=np.float64)

    own = _own_cycle(pairs)
    intervals = np.where(np.isfinite(own), pairs.purchase_count - 1, 0).astype(np.int64)
    cycle = product_cycle[pairs.product]
    with np.errstate(invalid="ignore", divide="ignore"):
        deviation = np.log(own) - np.log(cycle)
    if prior_intervals is None:
        prior_intervals = replenishment_prior_strength(
            log_deviation=deviation, interval_count=intervals
        )
    if not np.isfinite(prior_intervals) or prior_intervals <= 0:
        raise ValueError(f"prior_intervals must be a positive number, got {prior_intervals}")

    has_own = np.isfinite(own) & np.isfinite(cycle)
    weight = np.where(has_own, intervals / (intervals + prior_intervals), 0.0)
    # The product's cycle times the shrunk ratio: exactly the product's cycle without own data.
    expected = cycle * np.exp(weight * np.where(has_own, deviation, 0.0))
    due = last_day + units_last * expected
    until = due - as_of_day

    known = np.isfinite(cycle)
    window = np.minimum(DUE_SOON_DAYS, DUE_SOON_CYCLE_SHARE * expected)
    state = np.full(count, "", dtype=object)
    state[known] = ReplenishmentState.LAPSED.value
    state[known & (until >= -LAPSED_CYCLES * expected)] = ReplenishmentState.OVERDUE.value
    state[known & (until >= -window)] = ReplenishmentState.DUE.value
    state[known & (until > 0)] = ReplenishmentState.DUE_SOON.value
    state[known & (until > window)] = ReplenishmentState.NOT_DUE.value

    level = np.where(
        intervals >= HIGH_CONFIDENCE_INTERVALS,
        2,
        np.where(intervals >= MEDIUM_CONFIDENCE_INTERVALS, 1, 0),
    )
    level = np.where(np.isfinite(spread) & (spread > IRREGULAR_LOG_SPREAD), level - 1, level)
    names = np.array(
        [
            ReplenishmentConfidence.LOW.value,
            ReplenishmentConfidence.MEDIUM.value,
            ReplenishmentConfidence.HIGH.value,
        ],
        dtype=object,
    )
    confidence = np.where(known, names[np.maximum(level, 0)], "").astype(object)
    return Replenishment(
        customer_cycle_days=own,
        expected_cycle_days=expected,
        due_day=due,
        days_until_due=until,
        state=state,
        confidence=confidence,
        interval_count=intervals,
        prior_intervals=float(prior_intervals),
    )


def _days(count: int) -> str:
    return "1 day" if count == 1 else f"{count} days"


def replenishment_reason(
    *,
    product_name: str,
    purchase_count: int,
    span_days: float,
    days_since_last: float,
    expected_cycle_days: float,
    units_last: float,
    days_until_due: float,
    state: str,
) -> str:
    """One pair's estimate in words, e.g. "bought Hydra moisturiser 4 times, every 58 days on
    average; last 55 days ago → due in 3 days"."""
    if purchase_count < 1:
        raise ValueError(f"purchase_count must be at least 1, got {purchase_count}")
    if state not in set(ReplenishmentState):
        raise ValueError(f"state must be a ReplenishmentState, got {state!r}")
    for name, value in (
        ("span_days", span_days),
        ("days_since_last", days_since_last),
        ("expected_cycle_days", expected_cycle_days),
        ("units_last", units_last),
        ("days_until_due", days_until_due),
    ):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
    since = _days(round(days_since_last))
    if purchase_count >= 2 and span_days > 0:
        every = round(span_days / (purchase_count - 1))
        history = (
            f"bought {product_name} {purchase_count} times, every {_days(every)} on average; "
            f"last {since} ago"
        )
    else:
        history = (
            f"bought {product_name} once, {since} ago; it usually lasts "
            f"{_days(round(expected_cycle_days))}"
        )
        if units_last > 1:
            history += f" and {units_last:g} were bought"
    until = round(days_until_due)
    outlook = {
        # A date less than half a day ahead is still tomorrow or later, never "in 0 days".
        ReplenishmentState.NOT_DUE: f"due in {_days(max(until, 1))}",
        ReplenishmentState.DUE_SOON: f"due in {_days(max(until, 1))}",
        ReplenishmentState.DUE: "due today" if until >= 0 else f"due {_days(-until)} ago",
        ReplenishmentState.OVERDUE: f"overdue by {_days(-until)}",
        ReplenishmentState.LAPSED: f"overdue by {_days(-until)}; probably stopped or switched",
    }[ReplenishmentState(state)]
    return f"{history} → {outlook}"
