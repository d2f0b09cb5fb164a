"""Unit tests of the RFM quintile scores and the group rules, on small arrays."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from patron.insights.estimators.rfm import (
    RFM_GROUP_LABELS,
    RFM_GROUP_RULES,
    RfmGroup,
    RfmScores,
    rfm_groups,
    rfm_scores,
)


def _scores(recency: list[int], frequency: list[int], monetary: list[int], orders: list[int]):
    return RfmScores(
        recency=np.array(recency, dtype=np.int8),
        frequency=np.array(frequency, dtype=np.int8),
        monetary=np.array(monetary, dtype=np.int8),
        order_count=np.array(orders, dtype=np.int64),
    )


def test_five_distinct_customers_get_one_score_each_and_recent_is_best() -> None:
    # given five buyers and one lead
    recency = np.array([10.0, 50.0, 20.0, 40.0, 30.0, np.nan])
    frequency = np.array([1, 2, 3, 4, 5, 0])
    monetary = np.array([500.0, 400.0, 300.0, 200.0, 100.0, np.nan])
    has_orders = np.array([True, True, True, True, True, False])

    # when
    scores = rfm_scores(
        recency_days=recency, frequency=frequency, monetary=monetary, has_orders=has_orders
    )

    # then
    assert scores.recency.tolist() == [5, 1, 4, 2, 3, 0]
    assert scores.frequency.tolist() == [1, 2, 3, 4, 5, 0]
    assert scores.monetary.tolist() == [5, 4, 3, 2, 1, 0]
    assert scores.order_count.tolist() == [1, 2, 3, 4, 5, 0]
    assert scores.recency.dtype == np.int8


def test_ties_share_a_score_and_all_ties_land_in_the_middle() -> None:
    # given ten buyers: recency in pairs, frequency all equal
    recency = np.repeat([1.0, 2.0, 3.0, 4.0, 5.0], 2)

    # when
    scores = rfm_scores(
        recency_days=recency,
        frequency=np.ones(10, dtype=np.int64),
        monetary=np.full(10, 20.0),
        has_orders=np.ones(10, dtype=bool),
    )

    # then
    assert scores.recency.tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert scores.frequency.tolist() == [3] * 10
    assert scores.monetary.tolist() == [3] * 10


def test_one_buyer_scores_three_and_zero_amounts_are_ranked() -> None:
    # given one buyer with a zero-value order
    # when
    scores = rfm_scores(
        recency_days=np.array([0.0]),
        frequency=np.array([1]),
        monetary=np.array([0.0]),
        has_orders=np.array([True]),
    )

    # then
    assert (scores.recency[0], scores.frequency[0], scores.monetary[0]) == (3, 3, 3)


def test_empty_population_gives_empty_scores_and_groups() -> None:
    # when
    scores = rfm_scores(
        recency_days=np.zeros(0),
        frequency=np.zeros(0, dtype=np.int64),
        monetary=np.zeros(0),
        has_orders=np.zeros(0, dtype=bool),
    )

    # then
    assert scores.recency.size == scores.frequency.size == scores.monetary.size == 0
    assert rfm_groups(scores).tolist() == []


def test_scores_stay_in_range_and_follow_the_values() -> None:
    # given a random population
    rng = np.random.default_rng(1)
    size = 1_000
    recency = rng.exponential(100.0, size)
    frequency = rng.geometric(0.3, size)
    monetary = rng.gamma(2.0, 50.0, size)

    # when
    scores = rfm_scores(
        recency_days=recency,
        frequency=frequency,
        monetary=monetary,
        has_orders=np.ones(size, dtype=bool),
    )

    # then: 1..5, about a fifth each for continuous values, and monotone in the value
    assert set(np.unique(scores.recency).tolist()) == {1, 2, 3, 4, 5}
    assert np.bincount(scores.monetary, minlength=6)[1:].tolist() == [200] * 5
    order = np.argsort(recency)
    assert np.all(np.diff(scores.recency[order].astype(int)) <= 0)
    order = np.argsort(monetary)
    assert np.all(np.diff(scores.monetary[order].astype(int)) >= 0)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"recency_days": np.zeros(3)}, "arrays must have the same length"),
        ({"recency_days": np.zeros((2, 2))}, "recency_days must be one-dimensional"),
        ({"monetary": np.array([1.0, np.nan])}, "monetary of customers with orders must be finite"),
        ({"frequency": np.array([1, 0])}, "frequency of customers with orders must be at least 1"),
        ({"recency_days": np.array([-1.0, 2.0])}, "recency_days must not be negative"),
        ({"has_orders": np.array([1, 1])}, "has_orders must be boolean"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    arguments: dict[str, np.ndarray], message: str
) -> None:
    # given two buyers and one broken argument
    valid = {
        "recency_days": np.array([1.0, 2.0]),
        "frequency": np.array([1, 2]),
        "monetary": np.array([10.0, 20.0]),
        "has_orders": np.array([True, True]),
    }

    # when / then
    with pytest.raises(ValueError, match=message):
        rfm_scores(**(valid | arguments))


def test_groups_follow_the_rules_in_order() -> None:
    # given one customer per rule, and one without orders
    scores = _scores(
        recency=[5, 3, 5, 3, 2, 1, 2, 1, 4, 0],
        frequency=[5, 4, 2, 2, 5, 3, 1, 2, 4, 0],
        monetary=[4, 1, 1, 5, 5, 1, 5, 5, 3, 0],
        orders=[9, 6, 1, 2, 12, 3, 1, 2, 5, 0],
    )

    # when
    groups = rfm_groups(scores)

    # then
    assert groups.tolist() == [
        "champions",
        "loyal",
        "new",
        "potential_loyalists",
        "cant_lose",
        "at_risk",
        "hibernating",
        "lost",
        "loyal",
        "",
    ]


def test_every_score_combination_meets_exactly_the_first_matching_rule() -> None:
    # given all 125 combinations, each with one order and with many orders
    combinations = list(itertools.product(range(1, 6), repeat=3)) * 2
    orders = [1] * 125 + [7] * 125
    scores = _scores(
        recency=[c[0] for c in combinations],
        frequency=[c[1] for c in combinations],
        monetary=[c[2] for c in combinations],
        orders=orders,
    )

    # when
    groups = rfm_groups(scores)

    # then: every customer has a group, and every group is reached
    assert "" not in groups.tolist()
    assert set(groups.tolist()) == {group.value for group in RfmGroup}
    assert next(rule.group for rule in RFM_GROUP_RULES) == RfmGroup.CHAMPIONS
    assert set(RFM_GROUP_LABELS) == set(RfmGroup)
    assert RFM_GROUP_LABELS[RfmGroup.CANT_LOSE] == "Can't lose"


def test_groups_refuse_scores_of_different_lengths() -> None:
    # given
    scores = _scores(recency=[1, 2], frequency=[1], monetary=[1, 2], orders=[1, 1])

    # when / then
    with pytest.raises(ValueError, match="arrays must have the same length"):
        rfm_groups(scores)
