"""Unit tests of machine-open detection and the engagement score, on small arrays."""

from __future__ import annotations

import numpy as np
import pytest

from patron.insights.estimators.engagement import (
    HALF_LIFE_DAYS,
    MACHINE_OPEN_SECONDS,
    EngagementTier,
    SignalKind,
    engagement_estimate,
    machine_open_mask,
)

IPHONE_MAIL = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148"
)
GMAIL_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)
OUTLOOK_DISCOVERY = (
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro) Protocol Discovery"
)


def test_machine_opens_by_timing_and_by_user_agent() -> None:
    # given opens: 3 s after delivery; exactly at the limit; just after it; delivery unknown
    # (nan and negative); before delivery (clock skew); Apple's proxy hours later; scanners;
    # a person in Gmail and on an iPhone
    delivered = np.array([1000.0, 1000.0, 1000.0, np.nan, -1.0, 1000.0, 0.0, 0.0, 0.0, 0, 0, 0])
    opened = np.array(
        [1003.0, 1000.0 + MACHINE_OPEN_SECONDS, 1011.0, 1001.0, 1001.0, 990.0] + [90_000.0] * 6
    )
    agents = np.array(
        [IPHONE_MAIL] * 6
        + [
            "Mozilla/5.0",
            " mozilla/5.0 ",
            "Barracuda Sentinel (EE)",
            OUTLOOK_DISCOVERY,
            GMAIL_PROXY,
            None,
        ],
        dtype=object,
    )

    # when
    mask = machine_open_mask(open_seconds=opened, delivered_seconds=delivered, user_agents=agents)

    # then
    assert mask.tolist() == [
        True,
        True,
        False,
        False,
        False,
        False,
        True,
        True,
        True,
        True,
        False,
        False,
    ]


def test_machine_open_mask_of_no_opens_and_bad_shapes() -> None:
    # when
    empty = machine_open_mask(
        open_seconds=np.zeros(0), delivered_seconds=np.zeros(0), user_agents=np.zeros(0, object)
    )

    # then
    assert empty.tolist() == []
    with pytest.raises(ValueError, match="arrays must have the same length"):
        machine_open_mask(
            open_seconds=np.zeros(2), delivered_seconds=np.zeros(1), user_agents=np.array(["a"])
        )
    with pytest.raises(ValueError, match="open_seconds must be finite"):
        machine_open_mask(
            open_seconds=np.array([np.nan]),
            delivered_seconds=np.zeros(1),
            user_agents=np.array(["a"], dtype=object),
        )


def test_score_decays_with_half_life_and_weights_by_kind() -> None:
    # given customer 0: a purchase today (5 points); customer 1: the same a half-life ago
    # (2.5 points); customer 2: one open today (1 point); customer 3: only deliveries;
    # customer 4: nothing at all
    customer = np.array([0, 1, 2])
    kind = np.array([SignalKind.PURCHASE, SignalKind.PURCHASE, SignalKind.OPEN])
    age = np.array([0.0, HALF_LIFE_DAYS, 0.0])

    # when
    result = engagement_estimate(
        customer_count=5,
        signal_customer=customer,
        signal_kind=kind,
        signal_age_days=age,
        deliveries_per_customer=np.array([0, 0, 4, 6, 0]),
    )

    # then
    np.testing.assert_allclose(result.points, [5.0, 2.5, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(result.score[:4], [50.0, 100 / 3, 100 / 6, 0.0])
    assert np.isnan(result.score[4])
    assert result.tier.tolist() == ["engaged", "engaged", "cooling", "dormant", "not_enough_data"]
    assert result.purchase_count.tolist() == [1, 1, 0, 0, 0]
    assert result.open_count.tolist() == [0, 0, 1, 0, 0]
    assert result.delivery_count.tolist() == [0, 0, 4, 6, 0]
    np.testing.assert_allclose(result.days_since_last_signal[:3], [0.0, HALF_LIFE_DAYS, 0.0])
    assert np.isnan(result.days_since_last_signal[3:]).all()


def test_many_recent_signals_make_a_customer_highly_engaged_and_future_dates_count_as_today() -> (
    None
):
    # given a purchase, two clicks and a visit, one dated tomorrow
    kind = np.array([SignalKind.PURCHASE, SignalKind.CLICK, SignalKind.CLICK, SignalKind.VISIT])

    # when
    result = engagement_estimate(
        customer_count=1,
        signal_customer=np.zeros(4, dtype=np.int64),
        signal_kind=kind,
        signal_age_days=np.array([-1.0, 0.0, 0.0, 0.0]),
        deliveries_per_customer=np.array([0]),
    )

    # then: 5 + 3 + 3 + 2 = 13 points
    np.testing.assert_allclose(result.points, [13.0])
    np.testing.assert_allclose(result.score, [100 * 13 / 18])
    assert result.tier.tolist() == [EngagementTier.HIGHLY_ENGAGED.value]
    assert (result.click_count[0], result.visit_count[0]) == (2, 1)


def test_score_is_monotone_in_recency() -> None:
    # given the same click at ages 0..360
    ages = np.arange(0.0, 361.0, 30.0)

    # when
    result = engagement_estimate(
        customer_count=ages.size,
        signal_customer=np.arange(ages.size),
        signal_kind=np.full(ages.size, SignalKind.CLICK),
        signal_age_days=ages,
        deliveries_per_customer=np.zeros(ages.size, dtype=np.int64),
    )

    # then
    assert np.all(np.diff(result.score) < 0)
    assert np.all((result.score > 0) & (result.score <= 100))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"signal_kind": np.array([4])}, r"signal_kind must be a SignalKind \(0\.\.3\)"),
        ({"signal_customer": np.array([2])}, r"signal_customer must lie in 0\.\.1"),
        ({"signal_age_days": np.array([np.nan])}, "signal_age_days must be finite"),
        ({"deliveries_per_customer": np.array([1])}, "has 1 values, expected 2"),
        ({"deliveries_per_customer": np.array([1, -1])}, "must not be negative"),
    ],
)
def test_engagement_refuses_bad_input(arguments: dict[str, np.ndarray], message: str) -> None:
    # given
    valid = {
        "signal_customer": np.array([0]),
        "signal_kind": np.array([SignalKind.OPEN]),
        "signal_age_days": np.array([1.0]),
        "deliveries_per_customer": np.array([1, 0]),
    }

    # when / then
    with pytest.raises(ValueError, match=message):
        engagement_estimate(customer_count=2, **(valid | arguments))


def test_engagement_of_an_empty_shop() -> None:
    # when
    result = engagement_estimate(
        customer_count=0,
        signal_customer=np.zeros(0, dtype=np.int64),
        signal_kind=np.zeros(0, dtype=np.int64),
        signal_age_days=np.zeros(0),
        deliveries_per_customer=np.zeros(0, dtype=np.int64),
    )

    # then
    assert result.score.size == 0 and result.tier.tolist() == []
