"""RFM: recency, frequency and monetary quintile scores and the named groups built from them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from scipy.stats import rankdata

from patron.insights.estimators.arrays import finite, not_negative, same_sizes, vector

SCORE_LEVELS = 5  # quintiles, as RFM is usually read


class RfmGroup(StrEnum):
    CHAMPIONS = "champions"
    LOYAL = "loyal"
    POTENTIAL_LOYALISTS = "potential_loyalists"
    NEW = "new"
    AT_RISK = "at_risk"
    CANT_LOSE = "cant_lose"
    HIBERNATING = "hibernating"
    LOST = "lost"


RFM_GROUP_LABELS: dict[RfmGroup, str] = {
    RfmGroup.CHAMPIONS: "Champions",
    RfmGroup.LOYAL: "Loyal",
    RfmGroup.POTENTIAL_LOYALISTS: "Potential loyalists",
    RfmGroup.NEW: "New",
    RfmGroup.AT_RISK: "At risk",
    RfmGroup.CANT_LOSE: "Can't lose",
    RfmGroup.HIBERNATING: "Hibernating",
    RfmGroup.LOST: "Lost",
}


@dataclass(frozen=True)
class RfmGroupRule:
    """A group and the score ranges (inclusive) a customer must meet for it."""

    group: RfmGroup
    recency: tuple[int, int] = (1, 5)
    frequency: tuple[int, int] = (1, 5)
    monetary: tuple[int, int] = (1, 5)
    # Frequency quintiles cannot tell one order from two when most customers order once (ties
    # share a score), so "new" looks at the order count itself.
    max_orders: int | None = None


# Ordered: the first rule a customer meets names the group. Every combination of scores meets
# one (the tests check all 125).
RFM_GROUP_RULES: tuple[RfmGroupRule, ...] = (
    RfmGroupRule(RfmGroup.CHAMPIONS, recency=(4, 5), frequency=(4, 5), monetary=(4, 5)),
    RfmGroupRule(RfmGroup.LOYAL, recency=(3, 5), frequency=(4, 5)),
    RfmGroupRule(RfmGroup.NEW, recency=(4, 5), max_orders=1),
    RfmGroupRule(RfmGroup.POTENTIAL_LOYALISTS, recency=(3, 5), frequency=(1, 3)),
    RfmGroupRule(RfmGroup.CANT_LOSE, recency=(1, 2), frequency=(4, 5), monetary=(4, 5)),
    RfmGroupRule(RfmGroup.AT_RISK, recency=(1, 2), frequency=(3, 5)),
    RfmGroupRule(RfmGroup.HIBERNATING, recency=(2, 2), frequency=(1, 2)),
    RfmGroupRule(RfmGroup.LOST, recency=(1, 1), frequency=(1, 2)),
)


@dataclass(frozen=True)
class RfmScores:
    """Per customer: scores 1..5 (5 best), 0 for customers without orders."""

    recency: np.ndarray  # int8
    frequency: np.ndarray  # int8
    monetary: np.ndarray  # int8
    order_count: np.ndarray  # int64, the frequency given (0 without orders)


def _quintiles(values: np.ndarray) -> np.ndarray:
    """1..5 by averaged rank, higher values higher: tied values share one score."""
    if values.size == 0:
        return np.zeros(0, dtype=np.int8)
    ranks = rankdata(values, method="average")
    # The midpoint of each rank's share of the population; all ties land on the middle (3).
    position = (ranks - 0.5) / values.size
    return np.minimum(np.floor(position * SCORE_LEVELS) + 1, SCORE_LEVELS).astype(np.int8)


def rfm_scores(
    *,
    recency_days: np.ndarray,
    frequency: np.ndarray,
    monetary: np.ndarray,
    has_orders: np.ndarray,
) -> RfmScores:
    """Quintile scores over the customers with orders.

    recency_days: days since the last order (fewer is better); frequency: number of orders;
    monetary: spend (total or per order, as the caller chooses). Values of customers without
    orders are ignored (they may be nan). Ranks average ties, so equal values score alike.
    """
    recency_array = vector("recency_days", recency_days, dtype=np.float64)
    frequency_array = vector("frequency", frequency, dtype=np.float64)
    monetary_array = vector("monetary", monetary, dtype=np.float64)
    has_orders_array = vector("has_orders", has_orders)
    if has_orders_array.size and has_orders_array.dtype != np.bool_:
        raise ValueError(f"has_orders must be boolean, got {has_orders_array.dtype}")
    has_orders_array = has_orders_array.astype(bool, copy=False)
    count = same_sizes(
        recency_days=recency_array,
        frequency=frequency_array,
        monetary=monetary_array,
        has_orders=has_orders_array,
    )
    buyers = np.flatnonzero(has_orders_array)
    for name, array in (
        ("recency_days", recency_array),
        ("frequency", frequency_array),
        ("monetary", monetary_array),
    ):
        finite(f"{name} of customers with orders", array[buyers])
    not_negative("recency_days", recency_array[buyers])
    if np.any(frequency_array[buyers] < 1):
        raise ValueError("frequency of customers with orders must be at least 1")

    scores = []
    for values in (-recency_array[buyers], frequency_array[buyers], monetary_array[buyers]):
        full = np.zeros(count, dtype=np.int8)
        full[buyers] = _quintiles(values)
        scores.append(full)
    order_count = np.zeros(count, dtype=np.int64)
    order_count[buyers] = frequency_array[buyers].astype(np.int64)
    return RfmScores(
        recency=scores[0], frequency=scores[1], monetary=scores[2], order_count=order_count
    )


def rfm_groups(scores: RfmScores) -> np.ndarray:
    """The group value per customer ("" without orders), by the first rule met.

    Rules, in order (R, F, M are the 1..5 scores):

    | group | rule |
    | --- | --- |
    | champions | R ≥ 4, F ≥ 4, M ≥ 4 |
    | loyal | R ≥ 3, F ≥ 4 |
    | new | R ≥ 4 and exactly one order |
    | potential loyalists | R ≥ 3, F ≤ 3 |
    | can't lose | R ≤ 2, F ≥ 4, M ≥ 4 |
    | at risk | R ≤ 2, F ≥ 3 |
    | hibernating | R = 2, F ≤ 2 |
    | lost | R = 1, F ≤ 2 |
    """
    count = same_sizes(
        recency=scores.recency,
        frequency=scores.frequency,
        monetary=scores.monetary,
        order_count=scores.order_count,
    )
    groups = np.full(count, "", dtype=object)
    unassigned = scores.recency > 0
    for rule in RFM_GROUP_RULES:
        met = unassigned.copy()
        for score, (low, high) in (
            (scores.recency, rule.recency),
            (scores.frequency, rule.frequency),
            (scores.monetary, rule.monetary),
        ):
            met &= (score >= low) & (score <= high)
        if rule.max_orders is not None:
            met &= scores.order_count <= rule.max_orders
        groups[met] = rule.group.value
        unassigned &= ~met
    return groups
