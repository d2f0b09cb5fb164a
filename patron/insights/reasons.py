"""Reasons in words for every stored figure, written when read (the rows hold numbers only).

Each function takes the stored row and returns short sentences, most telling first; a figure
that is not there says why ("No orders yet ...") instead of showing a made-up number.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from decimal import Decimal

from patron.insights.models import (
    Band,
    CustomerInsight,
    EngagementTier,
    PriceBand,
    ReplenishmentDue,
    ReplenishmentState,
    RfmGroup,
)
from patron.insights.services.refresh import MINIMUM_BUYERS, MINIMUM_REPEAT_BUYERS

NO_ORDERS = "No orders yet: predictions start from the first order."
# The blend of a customer's own cycle with the product's is mentioned when it differs from the
# customer's own by more than this share: smaller differences are within one interval's noise.
BLEND_SHOWN_SHARE = 0.15


def _days(count: float) -> str:
    whole = round(count)
    return "1 day" if whole == 1 else f"{whole:,} days"


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count:,} times")


def _ago(moment: datetime | None, as_of: datetime) -> str:
    if moment is None:
        return "never"
    days = (as_of - moment).total_seconds() / 86_400
    return "today" if days < 1 else f"{_days(days)} ago"


def _money(amount: Decimal | None, currency: str) -> str:
    return "—" if amount is None else f"{currency} {amount:,.2f}".strip()


def _percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def rfm_reasons(insight: CustomerInsight) -> list[str]:
    if insight.order_count == 0:
        return [NO_ORDERS]
    group = RfmGroup(insight.rfm_group).label if insight.rfm_group else ""
    return [
        f"Last order {_ago(insight.last_order_at, insight.as_of)} "
        f"(recency {insight.recency_score} of 5).",
        f"{insight.order_count:,} orders (frequency {insight.frequency_score} of 5).",
        f"Spent {_money(insight.historic_value, insight.currency)} "
        f"(monetary {insight.monetary_score} of 5)" + (f" → {group}." if group else "."),
    ]


def _history(insight: CustomerInsight) -> str:
    if insight.repeat_count == 0:
        return f"One purchase day so far, {_ago(insight.first_order_at, insight.as_of)}."
    every = insight.mean_days_between_orders or 0.0
    return (
        f"Bought on {insight.repeat_count + 1:,} days, about every {_days(every)}; "
        f"last {_ago(insight.last_order_at, insight.as_of)}."
    )


def _no_fit(insight: CustomerInsight) -> list[str]:
    if insight.order_count == 0:
        return [NO_ORDERS]
    return [
        f"Not enough data: the shop needs at least {MINIMUM_BUYERS} buyers, "
        f"{MINIMUM_REPEAT_BUYERS} of them repeat buyers, before purchases can be predicted."
    ]


def prediction_reasons(insight: CustomerInsight) -> list[str]:
    if insight.predicted_orders is None or insight.probability_alive is None:
        return _no_fit(insight)
    reasons = [
        _history(insight),
        f"{_percent(insight.probability_alive)} likely still a customer.",
        f"→ {insight.predicted_orders:.1f} orders expected in the next "
        f"{_days(insight.horizon_days)}.",
    ]
    if insight.predicted_value is not None and insight.expected_order_value is not None:
        reasons.append(
            f"→ {_money(insight.predicted_value, insight.currency)}: "
            f"{insight.predicted_orders:.1f} orders at "
            f"{_money(insight.expected_order_value, insight.currency)} expected per order "
            "(own average shrunk toward the shop's)."
        )
    if insight.other_currency_order_count:
        reasons.append(
            f"{insight.other_currency_order_count:,} orders in other currencies count as "
            f"purchases but not as value: values are in {insight.currency}."
        )
    if insight.repeat_count == 0:
        reasons.append("Low confidence: one purchase day says little about this customer yet.")
    return reasons


def churn_reasons(insight: CustomerInsight) -> list[str]:
    if insight.churn_probability is None:
        return _no_fit(insight)
    band = Band(insight.churn_band).label.lower() if insight.churn_band else ""
    return [
        f"{_percent(insight.churn_probability)} chance of no order in the next "
        f"{_days(insight.churn_days)} ({band} risk).",
        _history(insight),
    ]


def next_order_reasons(insight: CustomerInsight) -> list[str]:
    if insight.probability_alive is None:
        return _no_fit(insight)
    if insight.next_order_at is None:
        return [
            _history(insight),
            f"→ no order is more likely than not within the next {_days(insight.horizon_days)}.",
        ]
    days = (insight.next_order_at - insight.as_of).total_seconds() / 86_400
    return [
        _history(insight),
        f"→ an order becomes more likely than not within {_days(days)} "
        f"(by {insight.next_order_at:%-d %b %Y}).",
    ]


def engagement_reasons(insight: CustomerInsight) -> list[str]:
    if insight.engagement_tier == EngagementTier.NOT_ENOUGH_DATA:
        return ["Not enough data: no emails delivered and no clicks, visits or purchases."]
    parts = [
        f"{insight.click_count:,} clicks",
        f"{insight.human_open_count:,} opens",
        f"{insight.visit_day_count:,} days with visits",
    ]
    reasons = [
        "In the last year: " + ", ".join(parts) + ", recent ones weighing most.",
    ]
    if insight.machine_open_count:
        reasons.append(
            f"{insight.machine_open_count:,} opens left out as machine opens (privacy proxies "
            "and security scanners open mail on delivery)."
        )
    if insight.engagement_score is not None:
        tier = EngagementTier(insight.engagement_tier).label
        reasons.append(f"→ {insight.engagement_score:.0f} of 100: {tier.lower()}.")
    return reasons


def send_time_reasons(insight: CustomerInsight, timezone_name: str) -> list[str]:
    if insight.best_hour is None or insight.best_weekday is None:
        return ["Not enough data: nobody in the shop has clicked, visited or bought yet."]
    zone = timezone_name or "UTC (no time zone known)"
    when = f"{calendar.day_name[insight.best_weekday]}s around {insight.best_hour:02d}:00, {zone}"
    if insight.send_time_observations == 0:
        return [f"No activity of their own yet: the shop's best time, {when}."]
    return [
        f"From {insight.send_time_observations:,} clicks, visited hours and purchases in the "
        f"last year, blended with the shop's pattern → {when}."
    ]


def affinity_reasons(insight: CustomerInsight) -> list[str]:
    if insight.order_count == 0:
        return [NO_ORDERS]
    reasons = []
    if insight.top_categories:
        name, share = insight.top_categories[0]
        reasons.append(f"{_percent(share)} of spend on {name}.")
    if insight.top_brands:
        name, share = insight.top_brands[0]
        reasons.append(f"{_percent(share)} of spend on {name}.")
    if insight.price_band:
        reasons.append(
            {
                PriceBand.BUDGET: "Usually pays less than the catalogue price.",
                PriceBand.MID: "Usually pays about the catalogue price.",
                PriceBand.PREMIUM: "Usually buys above the catalogue price.",
            }[PriceBand(insight.price_band)]
        )
    if insight.discount_share is not None:
        reasons.append(f"{_percent(insight.discount_share)} of orders used a discount.")
    return reasons


def replenishment_reason(due: ReplenishmentDue, product_name: str, as_of: datetime) -> str:
    """E.g. "bought Hydra moisturiser 4 times, every 58 days on average; last 55 days ago →
    due in 3 days"."""
    last = _ago(due.last_purchased_at, as_of)
    if due.customer_cycle_days is None:
        head = (
            f"bought {product_name} once, {last}; it usually lasts "
            f"{_days(due.product_cycle_days * due.units_last)}"
        )
    else:
        head = (
            f"bought {product_name} {_times(due.purchase_count)}, every "
            f"{_days(due.customer_cycle_days)} a unit on average"
        )
        # With few purchases the product's usual cycle weighs in; say so when it moves the date.
        if abs(due.expected_cycle_days - due.customer_cycle_days) > (
            BLEND_SHOWN_SHARE * due.customer_cycle_days
        ):
            head += (
                f" (it usually lasts {_days(due.product_cycle_days)}, so "
                f"{_days(due.expected_cycle_days)} is expected)"
            )
        head += f"; last {last}"
    days = (due.due_at - as_of).total_seconds() / 86_400
    if due.state == ReplenishmentState.LAPSED:
        tail = f"overdue by {_days(-days)}: probably buys it elsewhere now"
    elif due.state == ReplenishmentState.OVERDUE:
        tail = f"overdue by {_days(-days)}"
    elif days >= 1:
        tail = f"due in {_days(days)}"
    elif days > -1:
        tail = "due today"
    else:
        tail = f"due {_days(-days)} ago"
    return f"{head} → {tail}"


def lifecycle_reasons(
    stage: str, insight: CustomerInsight, *, new_days: int, at_risk_days: int, lapsed_days: int
) -> list[str]:
    """Which rule put the customer in the stage (the rules are the workspace's settings)."""
    if insight.order_count == 0:
        return ["Lead: no orders yet."]
    last = _ago(insight.last_order_at, insight.as_of)
    first = _ago(insight.first_order_at, insight.as_of)
    return {
        "new": [f"New: first order {first}, within {_days(new_days)}."],
        "active": [f"Active: last order {last}, within {_days(at_risk_days)}."],
        "reactivated": [
            f"Reactivated: ordered again {last} after a gap of more than {_days(lapsed_days)}."
        ],
        "at_risk": [
            f"At risk: last order {last}, more than {_days(at_risk_days)} but within "
            f"{_days(lapsed_days)}."
        ],
        "lapsed": [f"Lapsed: last order {last}, more than {_days(lapsed_days)}."],
    }.get(stage, [f"Stage {stage}."])
