"""Unit tests of top shares, price bands and discount sensitivity, on small arrays."""

from __future__ import annotations

import numpy as np
import pytest

from patron.insights.estimators.affinities import (
    discount_share,
    price_bands,
    top_shares,
)


def test_top_shares_rank_keys_by_summed_amount_per_owner() -> None:
    # given owner 0 spends 60 on key 2 (two lines), 30 on key 0, 10 on key 5; owner 1 nothing;
    # owner 2 spends 50 on key 1 and has a full refund on key 3
    owner = np.array([0, 0, 0, 0, 2, 2, 2])
    key = np.array([2, 0, 2, 5, 1, 3, 3])
    amount = np.array([40.0, 30.0, 20.0, 10.0, 50.0, 25.0, -25.0])

    # when
    result = top_shares(owner_index=owner, key_index=key, amount=amount, owner_count=3, top=2)

    # then
    assert result.keys.tolist() == [[2, 0], [-1, -1], [1, -1]]
    np.testing.assert_allclose(result.shares[0], [0.6, 0.3])
    assert np.isnan(result.shares[1]).all()
    assert result.shares[2, 0] == 1.0 and np.isnan(result.shares[2, 1])
    assert result.total.tolist() == [100.0, 0.0, 50.0]


def test_top_shares_break_ties_by_the_lower_key() -> None:
    # given three keys with equal spend
    # when
    result = top_shares(
        owner_index=np.zeros(3, dtype=np.int64),
        key_index=np.array([7, 3, 5]),
        amount=np.full(3, 10.0),
        owner_count=1,
    )

    # then
    assert result.keys.tolist() == [[3, 5, 7]]
    np.testing.assert_allclose(result.shares, [[1 / 3, 1 / 3, 1 / 3]])


def test_top_shares_of_nobody_and_zero_amounts() -> None:
    # when
    empty = top_shares(
        owner_index=np.zeros(0, dtype=np.int64),
        key_index=np.zeros(0, dtype=np.int64),
        amount=np.zeros(0),
        owner_count=2,
    )
    zero = top_shares(
        owner_index=np.array([0]), key_index=np.array([1]), amount=np.array([0.0]), owner_count=1
    )

    # then
    assert empty.keys.tolist() == [[-1, -1, -1], [-1, -1, -1]]
    assert zero.keys.tolist() == [[-1, -1, -1]]
    assert zero.total.tolist() == [0.0]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"owner_index": np.array([0, 3])}, r"owner_index must lie in 0\.\.2"),
        ({"key_index": np.array([0, -1])}, "key_index must not be negative"),
        ({"key_index": np.array([0.0, 1.0])}, "key_index must hold integers"),
        ({"amount": np.array([1.0, np.nan])}, "amount must be finite"),
        ({"amount": np.array([1.0])}, "arrays must have the same length"),
        ({"top": 0}, "top must be at least 1"),
    ],
)
def test_top_shares_refuse_bad_input(arguments: dict[str, object], message: str) -> None:
    # given
    valid: dict[str, object] = {
        "owner_index": np.array([0, 1]),
        "key_index": np.array([0, 1]),
        "amount": np.array([1.0, 2.0]),
        "owner_count": 3,
    }

    # when / then
    with pytest.raises(ValueError, match=message):
        top_shares(**(valid | arguments))  # type: ignore[arg-type]


def test_price_bands_use_the_median_ratio_per_customer() -> None:
    # given customer 0 pays 80% of the reference on two lines and 200% on one (median 0.8);
    # customer 1 pays the reference; customer 2 pays 120%; customer 3 has only lines without a
    # reference; customer 4 has no lines
    customer = np.array([0, 0, 0, 1, 2, 3])
    paid = np.array([8.0, 16.0, 20.0, 30.0, 12.0, 5.0])
    reference = np.array([10.0, 20.0, 10.0, 30.0, 10.0, np.nan])

    # when
    result = price_bands(
        line_customer=customer,
        line_unit_price=paid,
        line_reference_price=reference,
        customer_count=5,
    )

    # then
    np.testing.assert_allclose(result.ratio[:3], [0.8, 1.0, 1.2])
    assert np.isnan(result.ratio[3:]).all()
    assert result.band.tolist() == ["budget", "mid", "premium", "", ""]
    assert result.line_count.tolist() == [3, 1, 1, 0, 0]


def test_price_bands_with_an_even_line_count_average_the_middle_two() -> None:
    # when
    result = price_bands(
        line_customer=np.array([0, 0]),
        line_unit_price=np.array([0.0, 17.0]),
        line_reference_price=np.array([10.0, 10.0]),
        customer_count=1,
    )

    # then: (0 + 1.7) / 2; a free sample pulls toward budget
    np.testing.assert_allclose(result.ratio, [0.85])
    assert result.band.tolist() == ["mid"]


def test_price_bands_refuse_negative_prices() -> None:
    # when / then
    with pytest.raises(ValueError, match="line_unit_price must not be negative"):
        price_bands(
            line_customer=np.array([0]),
            line_unit_price=np.array([-1.0]),
            line_reference_price=np.array([10.0]),
            customer_count=1,
        )


def test_discount_share_counts_and_bands() -> None:
    # given customer 0: 2 of 4 discounted; 1: 1 of 5; 2: 0 of 3; 3: 1 of 1; 4: no orders
    customer = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 3])
    discounted = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], dtype=bool)

    # when
    result = discount_share(
        order_customer=customer, order_has_discount=discounted, customer_count=5
    )

    # then
    np.testing.assert_allclose(result.share[:4], [0.5, 0.2, 0.0, 1.0])
    assert np.isnan(result.share[4])
    assert result.order_count.tolist() == [4, 5, 3, 1, 0]
    assert result.discounted_count.tolist() == [2, 1, 0, 1, 0]
    assert result.is_sensitive.tolist() == ["high", "some", "none", "not_enough_data", ""]


def test_discount_share_refuses_non_boolean_flags() -> None:
    # when / then
    with pytest.raises(ValueError, match="order_has_discount must be boolean"):
        discount_share(
            order_customer=np.array([0]), order_has_discount=np.array([1]), customer_count=1
        )


def test_discount_share_of_an_empty_shop() -> None:
    # when
    result = discount_share(
        order_customer=np.zeros(0, dtype=np.int64),
        order_has_discount=np.zeros(0, dtype=bool),
        customer_count=0,
    )

    # then
    assert result.share.size == 0 and result.is_sensitive.tolist() == []
