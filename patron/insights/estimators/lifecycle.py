"""Lifecycle stages (lead, new, active, at risk, lapsed, reactivated) from order dates and rules."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from patron.insights.estimators.arrays import not_negative, same_sizes, vector


class LifecycleStage(StrEnum):
    LEAD = "lead"
    NEW = "new"
    ACTIVE = "active"
    AT_RISK = "at_risk"
    LAPSED = "lapsed"
    REACTIVATED = "reactivated"


@dataclass(frozen=True)
class LifecycleRules:
    """Day limits of the stages; a workspace may change them."""

    new_days: int = 30  # a month to place a second order before "new" wears off
    at_risk_days: int = 90  # a quarter without an order: longer than most replenishment cycles
    lapsed_days: int = 180  # half a year without an order: most such customers do not return

    def validate(self) -> None:
        """ValueError unless every limit is positive and new ≤ at risk < lapsed."""
        for name in ("new_days", "at_risk_days", "lapsed_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive whole number of days, got {value!r}")
        if self.new_days > self.at_risk_days:
            raise ValueError(
                f"new_days ({self.new_days}) must not exceed at_risk_days ({self.at_risk_days})"
            )
        if self.at_risk_days >= self.lapsed_days:
            raise ValueError(
                f"at_risk_days ({self.at_risk_days}) must be less than "
                f"lapsed_days ({self.lapsed_days})"
            )


def lifecycle_stages(
    *,
    order_count: np.ndarray,
    days_since_first_order: np.ndarray,
    days_since_last_order: np.ndarray,
    previous_gap_days: np.ndarray,
    rules: LifecycleRules,
) -> np.ndarray:
    """The stage value per customer, by the first rule met ("within" includes the limit).

    1. **lead**: no orders.
    2. **new**: the first order was placed within `new_days`.
    3. **reactivated**: the last order was placed within `at_risk_days`, and the gap before
       it (from the order before) was at least `lapsed_days`: the customer had lapsed and
       came back.
    4. **active**: the last order was placed within `at_risk_days`.
    5. **at risk**: the last order was placed within `lapsed_days`.
    6. **lapsed**: otherwise.

    previous_gap_days is the gap between the last order and the one before (nan with fewer than
    two orders); day values of customers without orders are ignored (they may be nan).
    """
    rules.validate()
    orders = vector("order_count", order_count)
    if orders.size and not np.issubdtype(orders.dtype, np.integer):
        raise ValueError(f"order_count must hold integers, got {orders.dtype}")
    first = vector("days_since_first_order", days_since_first_order, dtype=np.float64)
    last = vector("days_since_last_order", days_since_last_order, dtype=np.float64)
    gap = vector("previous_gap_days", previous_gap_days, dtype=np.float64)
    count = same_sizes(
        order_count=orders,
        days_since_first_order=first,
        days_since_last_order=last,
        previous_gap_days=gap,
    )
    not_negative("order_count", orders)
    buyers = orders > 0
    if np.any(np.isnan(first[buyers]) | np.isnan(last[buyers])):
        raise ValueError("customers with orders need days since their first and last order")
    not_negative("days_since_first_order", first[buyers])
    not_negative("days_since_last_order", last[buyers])
    if np.any(last[buyers] > first[buyers]):
        raise ValueError("days_since_last_order must not exceed days_since_first_order")

    stages = np.full(count, LifecycleStage.LAPSED.value, dtype=object)
    recent = buyers & (last <= rules.at_risk_days)
    # nan gaps compare False: a customer with one order is never "reactivated".
    returned = recent & (gap >= rules.lapsed_days)
    # Assigned from the last rule to the first, so the first rule met wins.
    stages[buyers & (last <= rules.lapsed_days)] = LifecycleStage.AT_RISK.value
    stages[recent] = LifecycleStage.ACTIVE.value
    stages[returned] = LifecycleStage.REACTIVATED.value
    stages[buyers & (first <= rules.new_days)] = LifecycleStage.NEW.value
    stages[~buyers] = LifecycleStage.LEAD.value
    return stages
