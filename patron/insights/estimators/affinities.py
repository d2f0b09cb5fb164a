"""Affinities: each customer's top categories or brands by spend, price band, discount share."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from patron.insights.estimators.arrays import (
    finite,
    group_median,
    indexes,
    same_sizes,
    vector,
)

# A customer who pays 15% under the reference on the median line buys the cheaper end; 15% over,
# the dearer end. Narrower bands would call a mid-priced buyer "premium" over one coupon.
BUDGET_RATIO_BELOW = 0.85
PREMIUM_RATIO_ABOVE = 1.15
# Half of the orders with a discount: the customer mostly waits for one.
DISCOUNT_HIGH_SHARE = 0.5
# One order in five: discounts matter, but the customer also pays full price.
DISCOUNT_SOME_SHARE = 0.2
# Fewer orders say little: a welcome coupon on a first order would make everyone "high".
DISCOUNT_MIN_ORDERS = 3


class PriceBand(StrEnum):
    BUDGET = "budget"
    MID = "mid"
    PREMIUM = "premium"


class DiscountSensitivity(StrEnum):
    HIGH = "high"
    SOME = "some"
    NONE = "none"
    NOT_ENOUGH_DATA = "not_enough_data"


@dataclass(frozen=True)
class TopShares:
    """Per owner, the top keys by amount and their share of the owner's positive total."""

    keys: np.ndarray  # int64, owner_count x top, -1 where none
    shares: np.ndarray  # float64, same shape, nan where none
    total: np.ndarray  # float64 per owner: the sum of positive amounts per key


@dataclass(frozen=True)
class PriceBands:
    ratio: np.ndarray  # median price paid / reference price per customer, nan without lines
    band: np.ndarray  # PriceBand values, "" without lines
    line_count: np.ndarray  # int64: lines with a usable reference price


@dataclass(frozen=True)
class DiscountShare:
    share: np.ndarray  # float64, nan without orders
    order_count: np.ndarray  # int64
    discounted_count: np.ndarray  # int64
    is_sensitive: np.ndarray  # DiscountSensitivity values, "" without orders


def top_shares(
    *,
    owner_index: np.ndarray,
    key_index: np.ndarray,
    amount: np.ndarray,
    owner_count: int,
    top: int = 3,
) -> TopShares:
    """Top keys per owner by summed amount (e.g. categories by spend per customer).

    Amounts are summed per (owner, key); keys whose sum is not positive (refunded, free) are
    left out. Equal sums are ordered by the lower key index, so the result is deterministic.
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    owners = indexes("owner_index", owner_index, count=owner_count)
    keys = vector("key_index", key_index)
    if keys.size and not np.issubdtype(keys.dtype, np.integer):
        raise ValueError(f"key_index must hold integers, got {keys.dtype}")
    keys = keys.astype(np.int64, copy=False)
    if np.any(keys < 0):
        raise ValueError("key_index must not be negative")
    amounts = vector("amount", amount, dtype=np.float64)
    same_sizes(owner_index=owners, key_index=keys, amount=amounts)
    finite("amount", amounts)

    # (owner, key) packed into one integer: a 1-D unique sorts plain integers, many times
    # faster than a unique over rows (axis=0), and gives the same (owner, key) order.
    key_count = int(keys.max()) + 1 if keys.size else 1
    pairs, inverse = np.unique(owners.astype(np.int64) * key_count + keys, return_inverse=True)
    pair_amount = np.bincount(inverse.ravel(), weights=amounts, minlength=pairs.size)
    positive = pair_amount > 0
    pair_owner = pairs[positive] // key_count
    pair_key = pairs[positive] % key_count
    pair_amount = pair_amount[positive]
    total = np.bincount(pair_owner, weights=pair_amount, minlength=owner_count)

    order = np.lexsort((pair_key, -pair_amount, pair_owner))
    pair_owner, pair_key, pair_amount = pair_owner[order], pair_key[order], pair_amount[order]
    starts = np.searchsorted(pair_owner, pair_owner, side="left")
    rank = np.arange(pair_owner.size) - starts
    kept = rank < top
    result_keys = np.full((owner_count, top), -1, dtype=np.int64)
    result_shares = np.full((owner_count, top), np.nan)
    result_keys[pair_owner[kept], rank[kept]] = pair_key[kept]
    result_shares[pair_owner[kept], rank[kept]] = pair_amount[kept] / total[pair_owner[kept]]
    return TopShares(keys=result_keys, shares=result_shares, total=total)


def price_bands(
    *,
    line_customer: np.ndarray,
    line_unit_price: np.ndarray,
    line_reference_price: np.ndarray,
    customer_count: int,
) -> PriceBands:
    """The median ratio of price paid to a reference price per customer, and its band.

    The reference is what the caller chooses to compare with (e.g. the category's median
    price). Lines without a positive, known reference are left out; a median keeps one
    odd line (a gift, a sample) from moving the band.
    """
    customers = indexes("line_customer", line_customer, count=customer_count)
    paid = vector("line_unit_price", line_unit_price, dtype=np.float64)
    reference = vector("line_reference_price", line_reference_price, dtype=np.float64)
    same_sizes(line_customer=customers, line_unit_price=paid, line_reference_price=reference)
    finite("line_unit_price", paid)
    if np.any(paid < 0):
        raise ValueError("line_unit_price must not be negative")

    usable = np.isfinite(reference) & (reference > 0)
    ratios = paid[usable] / reference[usable]
    ratio = group_median(customers[usable], ratios, customer_count)
    line_count = np.bincount(customers[usable], minlength=customer_count).astype(np.int64)
    band = np.full(customer_count, "", dtype=object)
    known = np.isfinite(ratio)
    band[known] = PriceBand.MID.value
    band[known & (ratio < BUDGET_RATIO_BELOW)] = PriceBand.BUDGET.value
    band[known & (ratio > PREMIUM_RATIO_ABOVE)] = PriceBand.PREMIUM.value
    return PriceBands(ratio=ratio, band=band, line_count=line_count)


def discount_share(
    *,
    order_customer: np.ndarray,
    order_has_discount: np.ndarray,
    customer_count: int,
    min_orders: int = DISCOUNT_MIN_ORDERS,
) -> DiscountShare:
    """Share of each customer's orders with a discount, and how sensitive that makes them.

    high: at least half of the orders; some: at least one in five; none: fewer; not enough
    data: fewer than min_orders orders; "" without orders.
    """
    customers = indexes("order_customer", order_customer, count=customer_count)
    discounted = vector("order_has_discount", order_has_discount)
    if discounted.size and discounted.dtype != np.bool_:
        raise ValueError(f"order_has_discount must be boolean, got {discounted.dtype}")
    same_sizes(order_customer=customers, order_has_discount=discounted)

    order_count = np.bincount(customers, minlength=customer_count).astype(np.int64)
    discounted_count = np.bincount(customers[discounted.astype(bool)], minlength=customer_count)
    discounted_count = discounted_count.astype(np.int64)
    share = np.full(customer_count, np.nan)
    has_orders = order_count > 0
    share[has_orders] = discounted_count[has_orders] / order_count[has_orders]
    band = np.full(customer_count, "", dtype=object)
    band[has_orders] = DiscountSensitivity.NONE.value
    band[has_orders & (share >= DISCOUNT_SOME_SHARE)] = DiscountSensitivity.SOME.value
    band[has_orders & (share >= DISCOUNT_HIGH_SHARE)] = DiscountSensitivity.HIGH.value
    band[has_orders & (order_count < min_orders)] = DiscountSensitivity.NOT_ENOUGH_DATA.value
    return DiscountShare(
        share=share,
        order_count=order_count,
        discounted_count=discounted_count,
        is_sensitive=band,
    )
