"""Reading the facts of one range of customers into the per-customer arrays the scores need.

Everything here is set-based: one query per kind of fact for the whole range, then numpy.
Times become float days since the Unix epoch; a purchase is one customer's counted orders of
one UTC day (as the BG/NBD literature merges same-day orders into one transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from patron.catalog.selectors import ProductFacts
from patron.customers.selectors import customer_facts
from patron.events.facts import EngagementEvent, EngagementFacts, engagement_event_facts
from patron.insights.estimators import affinities, engagement, send_time
from patron.orders.facts import OrderFacts, order_facts, order_line_facts

DAY_SECONDS = 86_400
# Engagement and send times read a year of events: with a 90-day half-life, older signals
# weigh under 6% of a fresh one, and a year covers every weekday and season.
SIGNAL_DAYS = 365
# Send-time evidence: a click is a decision to engage; a visit hour and a purchase hour show
# when the customer has time. Views are counted once per hour so a browsing session of twenty
# pages is one observation, not twenty.
SEND_TIME_WEIGHTS = {"click": 1.0, "purchase": 1.0, "visit": 0.5}
# Pair keys pack (customer position, product position, day) into one int64 for np.unique.
_DAY_BITS = 20  # days since 1970 stay below 2**20 until the year 4840
_TOP = 3  # categories and brands kept per customer


@dataclass
class Gathered:
    """Per-customer arrays of one id range (sorted by id), plus pair and signal rows."""

    customer_id: np.ndarray
    timezone: np.ndarray
    current_stage: np.ndarray
    order_count: np.ndarray  # counted orders
    purchase_days: np.ndarray  # distinct purchase days
    first_day: np.ndarray  # float days since epoch, nan without orders
    last_day: np.ndarray
    previous_gap_days: np.ndarray  # between the last two purchase days, nan with fewer
    value_cents: np.ndarray  # reporting currency, net of refunds
    other_currency_orders: np.ndarray
    first_day_value_cents: np.ndarray  # reporting-currency value of the first purchase day
    # Affinities
    top_categories: np.ndarray  # category positions, n x _TOP, -1 none
    top_category_shares: np.ndarray
    top_brands: np.ndarray  # brand positions, n x _TOP, -1 none
    top_brand_shares: np.ndarray
    price_band: np.ndarray
    discount_share: np.ndarray
    # Engagement
    engagement_score: np.ndarray
    engagement_tier: np.ndarray
    human_opens: np.ndarray
    machine_opens: np.ndarray
    clicks: np.ndarray
    visit_days: np.ndarray
    # Pairs of (customer, repeatable product): one row each
    pair_customer: np.ndarray  # position in this range
    pair_product: np.ndarray  # product position
    pair_purchase_count: np.ndarray
    pair_span_days: np.ndarray
    pair_units_before_last: np.ndarray
    pair_units_last: np.ndarray
    pair_last_day: np.ndarray
    # Send-time observations: one row each
    signal_customer: np.ndarray  # position in this range
    signal_hour: np.ndarray
    signal_weekday: np.ndarray
    signal_weight: np.ndarray

    @property
    def count(self) -> int:
        return int(self.customer_id.size)


@dataclass(frozen=True)
class Catalogue:
    """The product facts with category and brand positions for the affinity arrays."""

    products: ProductFacts
    category_names: list[str]
    product_category: np.ndarray  # category position per product, -1 none
    brand_names: list[str]
    product_brand: np.ndarray  # brand position per product, -1 none

    @classmethod
    def build(cls, products: ProductFacts) -> Catalogue:
        category_names = sorted({name for name in products.category_name if name})
        brand_names = sorted({name for name in products.brand if name})
        category_position = {name: index for index, name in enumerate(category_names)}
        brand_position = {name: index for index, name in enumerate(brand_names)}
        return cls(
            products=products,
            category_names=category_names,
            product_category=np.array(
                [category_position.get(name, -1) for name in products.category_name],
                dtype=np.int64,
            ),
            brand_names=brand_names,
            product_brand=np.array(
                [brand_position.get(name, -1) for name in products.brand], dtype=np.int64
            ),
        )


def _group_edges(sorted_groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) index of each run of equal values in a sorted array."""
    if sorted_groups.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    ends = np.r_[starts[1:], sorted_groups.size]
    return starts, ends


def days_of(seconds: np.ndarray) -> np.ndarray:
    return np.asarray(seconds, dtype=np.float64) / DAY_SECONDS


@dataclass(frozen=True)
class OrderSummary:
    """Per customer of a range (aligned with its sorted ids): what RFM and the BG/NBD read."""

    owner: np.ndarray  # per order: the customer's position in the range
    order_count: np.ndarray
    purchase_days: np.ndarray
    first_day: np.ndarray  # epoch days, nan without orders
    last_day: np.ndarray
    previous_gap_days: np.ndarray
    value_cents: np.ndarray  # reporting currency, net of refunds
    other_currency_orders: np.ndarray
    first_day_value_cents: np.ndarray


def order_summary(customer_ids: np.ndarray, orders: OrderFacts) -> OrderSummary:
    """Recency, frequency, value and purchase days per customer, from one range's orders."""
    count = customer_ids.size
    owner = np.searchsorted(customer_ids, orders.customer)
    order_day = orders.placed_seconds // DAY_SECONDS
    is_reporting = orders.is_in_currency
    order_count = np.bincount(owner, minlength=count)

    # Distinct purchase days: sorted by customer then time, so unique keys keep that order.
    day_keys = np.unique((owner.astype(np.int64) << _DAY_BITS) | order_day)
    day_owner = day_keys >> _DAY_BITS
    day_value = day_keys & ((1 << _DAY_BITS) - 1)
    purchase_days = np.bincount(day_owner, minlength=count)
    first_day = np.full(count, np.nan)
    last_day = np.full(count, np.nan)
    previous_gap = np.full(count, np.nan)
    starts, ends = _group_edges(day_owner)
    if starts.size:
        holders = day_owner[starts]
        first_day[holders] = day_value[starts]
        last_day[holders] = day_value[ends - 1]
        several = ends - starts >= 2
        previous_gap[holders[several]] = day_value[ends[several] - 1] - day_value[ends[several] - 2]
    is_first_day = order_day == np.nan_to_num(first_day, nan=-1)[owner]
    reporting_value = np.where(is_reporting, orders.value_cents, 0)

    return OrderSummary(
        owner=owner,
        order_count=order_count,
        purchase_days=purchase_days,
        first_day=first_day,
        last_day=last_day,
        previous_gap_days=previous_gap,
        value_cents=np.bincount(owner, weights=reporting_value, minlength=count),
        other_currency_orders=np.bincount(owner, weights=~is_reporting, minlength=count).astype(
            np.int64
        ),
        first_day_value_cents=np.bincount(
            owner, weights=np.where(is_first_day, reporting_value, 0), minlength=count
        ),
    )


def facts_gather(
    *,
    customer_low: int,
    customer_high: int,
    as_of: datetime,
    reporting_currency: str,
    catalogue: Catalogue,
) -> Gathered:
    """Read and summarise the facts of customers with ids in [customer_low, customer_high)."""
    customers = customer_facts(customer_low=customer_low, customer_high=customer_high)
    count = customers.customer.size
    as_of_seconds = int(as_of.timestamp())

    def positions(ids: np.ndarray) -> np.ndarray:
        return np.searchsorted(customers.customer, ids)

    orders = order_facts(
        customer_low=customer_low,
        customer_high=customer_high,
        as_of=as_of,
        currency=reporting_currency,
    )
    summary = order_summary(customers.customer, orders)
    owner = summary.owner

    lines = order_line_facts(
        customer_low=customer_low,
        customer_high=customer_high,
        as_of=as_of,
        currency=reporting_currency,
    )
    line_owner = positions(lines.customer)
    line_product = catalogue.products.index_of(lines.product)
    categories, brands = (
        _top_shares(line_owner, line_product, lines.line_total_cents, key_of_product, count)
        for key_of_product in (catalogue.product_category, catalogue.product_brand)
    )
    # The list price is a reference only where it and the line are in the reporting currency.
    is_listed_in_currency = np.array(
        [*(currency == reporting_currency for currency in catalogue.products.currency), False]
    )
    reference = np.append(catalogue.products.price_cents, np.nan)[line_product]
    reference = np.where(
        is_listed_in_currency[line_product] & lines.is_in_currency, reference, np.nan
    )
    bands = affinities.price_bands(
        line_customer=line_owner,
        line_unit_price=lines.unit_price_cents.astype(np.float64),
        line_reference_price=reference,
        customer_count=count,
    )
    discounts = affinities.discount_share(
        order_customer=owner, order_has_discount=orders.has_discount, customer_count=count
    )
    pairs = _pairs(catalogue, line_owner, line_product, lines.placed_seconds, lines.quantity)

    since = as_of - timedelta(days=SIGNAL_DAYS)
    events = engagement_event_facts(
        customer_low=customer_low, customer_high=customer_high, since=since, as_of=as_of
    )
    event_owner = positions(events.customer)
    scores, counts, signals = _engagement(
        count, as_of_seconds, event_owner, events, owner, orders.placed_seconds, since
    )
    signal_owner, signal_seconds, signal_weight = signals
    local = send_time.local_times(
        signal_seconds,
        customers.timezone[signal_owner] if signal_owner.size else np.zeros(0, dtype=object),
        fallback_zone="UTC",
    )
    return Gathered(
        customer_id=customers.customer,
        timezone=customers.timezone,
        current_stage=customers.lifecycle_stage,
        order_count=summary.order_count,
        purchase_days=summary.purchase_days,
        first_day=summary.first_day,
        last_day=summary.last_day,
        previous_gap_days=summary.previous_gap_days,
        value_cents=summary.value_cents,
        other_currency_orders=summary.other_currency_orders,
        first_day_value_cents=summary.first_day_value_cents,
        top_categories=categories.keys,
        top_category_shares=categories.shares,
        top_brands=brands.keys,
        top_brand_shares=brands.shares,
        price_band=bands.band,
        discount_share=discounts.share,
        engagement_score=scores.score,
        engagement_tier=scores.tier,
        human_opens=counts["human_opens"],
        machine_opens=counts["machine_opens"],
        clicks=counts["clicks"],
        visit_days=counts["visit_days"],
        **pairs,
        signal_customer=signal_owner,
        signal_hour=local.hour,
        signal_weekday=local.weekday,
        signal_weight=signal_weight,
    )


def _top_shares(
    line_owner: np.ndarray,
    line_product: np.ndarray,
    line_total_cents: np.ndarray,
    key_of_product: np.ndarray,
    count: int,
) -> affinities.TopShares:
    """Top categories or brands by spend; lines of unknown products or without one are left out."""
    key = np.append(key_of_product, -1)[line_product]
    known = key >= 0
    return affinities.top_shares(
        owner_index=line_owner[known],
        key_index=key[known],
        amount=line_total_cents[known].astype(np.float64),
        owner_count=count,
        top=_TOP,
    )


def _first_delivery_seconds(
    events: EngagementFacts, owner: np.ndarray, delivered: np.ndarray, opened: np.ndarray
) -> np.ndarray:
    """For each open, when its message (same customer and message key) was first delivered;
    nan when no delivery was seen."""
    if delivered.size == 0 or opened.size == 0:
        return np.full(opened.size, np.nan)
    both = np.concatenate([delivered, opened])
    _, codes = np.unique(events.message_key[both].astype(str), return_inverse=True)
    message = owner[both].astype(np.int64) * (int(codes.max()) + 1) + codes
    delivery_message, open_message = message[: delivered.size], message[delivered.size :]
    # Sorted by message, then time: the first row of each message is its first delivery.
    order = np.lexsort((events.seconds[delivered], delivery_message))
    first_messages, first_rows = np.unique(delivery_message[order], return_index=True)
    first_seconds = events.seconds[delivered][order][first_rows].astype(np.float64)
    found = np.minimum(np.searchsorted(first_messages, open_message), first_messages.size - 1)
    return np.where(first_messages[found] == open_message, first_seconds[found], np.nan)


def _pairs(
    catalogue: Catalogue,
    line_owner: np.ndarray,
    line_product: np.ndarray,
    line_seconds: np.ndarray,
    line_quantity: np.ndarray,
) -> dict[str, np.ndarray]:
    """One row per (customer, repeatable product): purchase days, span and units."""
    products = catalogue.products
    repeatable = np.append(products.is_repeatable, False)[line_product]
    keep = (line_product >= 0) & repeatable
    product_count = max(len(products.name), 1)
    pair_key = line_owner[keep].astype(np.int64) * product_count + line_product[keep]
    day = line_seconds[keep] // DAY_SECONDS
    pair_day_keys, inverse = np.unique((pair_key << _DAY_BITS) | day, return_inverse=True)
    units = np.bincount(inverse, weights=line_quantity[keep], minlength=pair_day_keys.size)
    pair_of_day = pair_day_keys >> _DAY_BITS
    days = (pair_day_keys & ((1 << _DAY_BITS) - 1)).astype(np.float64)
    starts, ends = _group_edges(pair_of_day)
    last = ends - 1
    total_units = np.add.reduceat(units, starts) if starts.size else np.zeros(0)
    pair = pair_of_day[starts]
    return {
        "pair_customer": (pair // product_count).astype(np.int64),
        "pair_product": (pair % product_count).astype(np.int64),
        "pair_purchase_count": (ends - starts).astype(np.int64),
        "pair_span_days": days[last] - days[starts] if starts.size else np.zeros(0),
        "pair_units_before_last": (total_units - units[last]).astype(np.float64)
        if starts.size
        else np.zeros(0),
        "pair_units_last": units[last].astype(np.float64) if starts.size else np.zeros(0),
        "pair_last_day": days[last] if starts.size else np.zeros(0),
    }


def _engagement(
    count: int,
    as_of_seconds: int,
    event_owner: np.ndarray,
    events: EngagementFacts,
    order_owner: np.ndarray,
    order_seconds: np.ndarray,
    since: datetime,
) -> tuple[engagement.Engagement, dict[str, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Engagement scores of the range and its send-time observations."""
    kind = events.kind
    delivered = kind == EngagementEvent.DELIVERED
    opened = np.flatnonzero(kind == EngagementEvent.OPENED)
    delivered_seconds = _first_delivery_seconds(
        events, event_owner, np.flatnonzero(delivered), opened
    )
    is_machine = engagement.machine_open_mask(
        open_seconds=events.seconds[opened].astype(np.float64),
        delivered_seconds=delivered_seconds,
        user_agents=events.user_agent[opened],
    )
    human = opened[~is_machine]
    clicked = np.flatnonzero(kind == EngagementEvent.CLICKED)
    viewed = np.flatnonzero(kind == EngagementEvent.VIEWED)
    visit_keys = np.unique(
        (event_owner[viewed].astype(np.int64) << _DAY_BITS)
        | (events.seconds[viewed] // DAY_SECONDS)
    )
    visit_owner = visit_keys >> _DAY_BITS
    visit_seconds = (visit_keys & ((1 << _DAY_BITS) - 1)) * DAY_SECONDS
    recent_orders = order_seconds > since.timestamp()
    signal_customer = np.concatenate(
        [event_owner[human], event_owner[clicked], visit_owner, order_owner[recent_orders]]
    )
    signal_seconds = np.concatenate(
        [
            events.seconds[human],
            events.seconds[clicked],
            visit_seconds,
            order_seconds[recent_orders],
        ]
    )
    signal_kind = np.concatenate(
        [
            np.full(human.size, engagement.SignalKind.OPEN),
            np.full(clicked.size, engagement.SignalKind.CLICK),
            np.full(visit_owner.size, engagement.SignalKind.VISIT),
            np.full(int(recent_orders.sum()), engagement.SignalKind.PURCHASE),
        ]
    ).astype(np.int64)
    scores = engagement.engagement_estimate(
        customer_count=count,
        signal_customer=signal_customer,
        signal_kind=signal_kind,
        signal_age_days=days_of(as_of_seconds - signal_seconds),
        deliveries_per_customer=np.bincount(event_owner[delivered], minlength=count),
    )
    counts = {
        "human_opens": np.bincount(event_owner[human], minlength=count),
        "machine_opens": np.bincount(event_owner[opened[is_machine]], minlength=count),
        "clicks": np.bincount(event_owner[clicked], minlength=count),
        "visit_days": np.bincount(visit_owner, minlength=count),
    }
    # Send time: clicks, one observation per viewed hour, purchases.
    hour_keys = np.unique(
        (event_owner[viewed].astype(np.int64) << 32) | (events.seconds[viewed] // 3600)
    )
    send_customer = np.concatenate(
        [event_owner[clicked], hour_keys >> 32, order_owner[recent_orders]]
    )
    send_seconds = np.concatenate(
        [
            events.seconds[clicked],
            (hour_keys & ((1 << 32) - 1)) * 3600,
            order_seconds[recent_orders],
        ]
    )
    send_weight = np.concatenate(
        [
            np.full(clicked.size, SEND_TIME_WEIGHTS["click"]),
            np.full(hour_keys.size, SEND_TIME_WEIGHTS["visit"]),
            np.full(int(recent_orders.sum()), SEND_TIME_WEIGHTS["purchase"]),
        ]
    )
    return scores, counts, (send_customer, send_seconds.astype(np.int64), send_weight)
