"""Unit tests of the lifecycle stage rules and their validation."""

from __future__ import annotations

import numpy as np
import pytest

from patron.insights.estimators.lifecycle import LifecycleRules, LifecycleStage, lifecycle_stages

NAN = np.nan


def test_each_rule_gives_its_stage_and_limits_are_inclusive() -> None:
    # given one customer per rule (default rules: 30, 90, 180 days)
    order_count = np.array([0, 1, 3, 4, 2, 5, 2, 6, 1])
    first = np.array([NAN, 30.0, 400.0, 500.0, 200.0, 300.0, 500.0, 700.0, 100.0])
    last = np.array([NAN, 30.0, 10.0, 90.0, 91.0, 180.0, 181.0, 90.0, 100.0])
    gap = np.array([NAN, NAN, 200.0, 20.0, 109.0, 50.0, 319.0, 180.0, NAN])

    # when
    stages = lifecycle_stages(
        order_count=order_count,
        days_since_first_order=first,
        days_since_last_order=last,
        previous_gap_days=gap,
        rules=LifecycleRules(),
    )

    # then
    assert stages.tolist() == [
        "lead",
        "new",
        "reactivated",
        "active",
        "at_risk",
        "at_risk",
        "lapsed",
        "reactivated",
        "at_risk",
    ]


def test_custom_rules_move_the_limits() -> None:
    # given a shop with a faster rhythm
    rules = LifecycleRules(new_days=7, at_risk_days=30, lapsed_days=60)

    # when
    stages = lifecycle_stages(
        order_count=np.array([1, 2, 2]),
        days_since_first_order=np.array([8.0, 100.0, 100.0]),
        days_since_last_order=np.array([8.0, 31.0, 61.0]),
        previous_gap_days=np.array([NAN, 69.0, 39.0]),
        rules=rules,
    )

    # then
    assert stages.tolist() == ["active", "at_risk", "lapsed"]


def test_no_customers_gives_no_stages() -> None:
    # when
    stages = lifecycle_stages(
        order_count=np.zeros(0, dtype=np.int64),
        days_since_first_order=np.zeros(0),
        days_since_last_order=np.zeros(0),
        previous_gap_days=np.zeros(0),
        rules=LifecycleRules(),
    )

    # then
    assert stages.tolist() == []


def test_stage_values_are_the_documented_ones() -> None:
    # then
    assert [stage.value for stage in LifecycleStage] == [
        "lead",
        "new",
        "active",
        "at_risk",
        "lapsed",
        "reactivated",
    ]


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (LifecycleRules(new_days=0), "new_days must be a positive whole number of days, got 0"),
        (LifecycleRules(lapsed_days=-5), "lapsed_days must be a positive whole number"),
        (
            LifecycleRules(new_days=100, at_risk_days=90),
            r"new_days \(100\) must not exceed at_risk_days \(90\)",
        ),
        (
            LifecycleRules(at_risk_days=180, lapsed_days=180),
            r"at_risk_days \(180\) must be less than lapsed_days \(180\)",
        ),
    ],
)
def test_invalid_rules_are_refused(rules: LifecycleRules, message: str) -> None:
    # when / then
    with pytest.raises(ValueError, match=message):
        rules.validate()


def test_equal_new_and_at_risk_limits_are_allowed() -> None:
    # when / then: no error
    LifecycleRules(new_days=90, at_risk_days=90, lapsed_days=91).validate()
    assert LifecycleRules().lapsed_days == 180


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"order_count": np.array([1.0])}, "order_count must hold integers"),
        ({"days_since_last_order": np.array([NAN])}, "need days since their first and last"),
        ({"days_since_last_order": np.array([20.0])}, "must not exceed days_since_first_order"),
        ({"previous_gap_days": np.zeros(2)}, "arrays must have the same length"),
        ({"days_since_first_order": np.array([-1.0])}, "must not be negative"),
    ],
)
def test_bad_arrays_are_refused(arguments: dict[str, np.ndarray], message: str) -> None:
    # given one customer with one order ten days ago
    valid = {
        "order_count": np.array([1]),
        "days_since_first_order": np.array([10.0]),
        "days_since_last_order": np.array([10.0]),
        "previous_gap_days": np.array([NAN]),
    }

    # when / then
    with pytest.raises(ValueError, match=message):
        lifecycle_stages(**(valid | arguments), rules=LifecycleRules())
