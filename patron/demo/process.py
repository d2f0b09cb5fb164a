"""The repeat-buying process behind the demo orders, as pure numpy over one chunk of customers.

Each customer keeps a routine of one to three consumables and re-buys each when it runs out:
every supply cycle divided by the customer's own consumption rate (Gamma across customers),
with noise per purchase. Between routine orders they place occasional orders (a Poisson process
whose rate is Gamma across customers, as in the NBD model), and after every order they drop out
for good with their own probability (Beta across customers, as in BG/NBD). So many buy once,
some buy dozens of times, and some lapse. Gift sets and tools are bought at most once each.

Times are float days since the start of the history; no database, no Django.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from patron.demo import shop

HISTORY_DAYS = 730  # two years of orders, as the issue asks

ROUTINE_SLOTS = 3
# P(routine of 1, 2, 3 products): most people use one or two products from a shop.
ROUTINE_SIZE_PROBABILITIES = (0.45, 0.35, 0.20)
# Shape and scale of the consumption rate: mean 1, so a 60-day jar lasts 60 days on average,
# with a spread of about 30% between light and heavy users.
CONSUMPTION_SHAPE = 12.0
# Beta(a, b) dropout after each order: U-shaped, so there are many loyal customers and many
# who leave after one or two orders; mean 0.14.
DROPOUT_A = 0.25
DROPOUT_B = 1.5
# Gamma(shape, scale) rate per day of occasional orders (trying something, a present):
# mean one every 100 days, very uneven between customers.
OCCASIONAL_SHAPE = 0.5
OCCASIONAL_SCALE = 0.02
# Customers who were already buying when the history starts, and sign-ups who never ordered.
ESTABLISHED_SHARE = 0.45
LEAD_SHARE = 0.12
# Customers who come for a present; most of them never come back for a routine.
GIFT_SHOPPER_SHARE = 0.08
# The shop grows: at the end of the history 2.5 times as many people join per day as at the start.
GROWTH_OVER_HISTORY = 2.5
# Routine products due within this many days are bought together in one order.
CONSOLIDATION_DAYS = 10.0
# Each routine product is bought on the first order with this probability (slot 0 always).
FIRST_ORDER_SLOT_PROBABILITY = 0.35
PURCHASE_NOISE_SIGMA = 0.15  # log-normal spread of one interval around the personal cycle
STOCK_UP_PROBABILITIES = (0.90, 0.08, 0.02)  # quantity 1, 2 or 3 of a routine product
ROUTINE_EXTRA_PROBABILITY = 0.2  # a routine order also picks up one other product
GIFT_SEASON_SHARE = 0.45  # of extras between mid-November and Christmas that are gift sets
GIFT_OFF_SEASON_SHARE = 0.06


@dataclass(frozen=True)
class Catalogue:
    """shop.PRODUCTS as arrays, indexed by product position."""

    price_cents: np.ndarray
    supply_days: np.ndarray  # 0 where there is no cycle
    popularity: np.ndarray
    is_consumable: np.ndarray
    is_repeatable: np.ndarray
    is_gift: np.ndarray

    @classmethod
    def from_shop(cls) -> Catalogue:
        products = shop.PRODUCTS
        return cls(
            price_cents=np.array([p.price_cents for p in products], dtype=np.int64),
            supply_days=np.array([p.supply_days or 0 for p in products], dtype=np.float64),
            popularity=np.array([p.popularity for p in products], dtype=np.float64),
            is_consumable=np.array([p.is_consumable for p in products]),
            is_repeatable=np.array([p.is_repeatable for p in products]),
            is_gift=np.array([p.category_slug == "gift-sets" for p in products]),
        )


@dataclass(frozen=True)
class Purchases:
    """Orders sorted by (customer, time) and their lines sorted by (order, position)."""

    order_customer: np.ndarray  # customer index within the chunk
    order_day: np.ndarray  # float days since the start of the history
    order_number: np.ndarray  # 0 for a customer's first order in the history, then 1, 2 ...
    line_order: np.ndarray  # index into the order arrays
    line_product: np.ndarray  # index into shop.PRODUCTS
    line_quantity: np.ndarray
    is_lead: np.ndarray  # per customer: never orders
    acquired_day: np.ndarray  # per customer: first order (or sign-up) day; < 0 for established
    dropout_day: np.ndarray  # per customer: day of the last order before dropping out, or inf
    routine_products: np.ndarray  # per customer, ROUTINE_SLOTS columns, -1 where empty


def _acquisition_days(rng: np.random.Generator, count: int) -> np.ndarray:
    """Join days with a density growing exponentially over the history (inverse CDF)."""
    growth = np.log(GROWTH_OVER_HISTORY) / HISTORY_DAYS
    uniform = rng.random(count)
    return np.log1p(uniform * (GROWTH_OVER_HISTORY - 1.0)) / growth


def choose_weighted(rng: np.random.Generator, weights: np.ndarray, count: int) -> np.ndarray:
    """`count` indexes drawn with probability proportional to weights."""
    cumulative = np.cumsum(weights)
    return np.searchsorted(cumulative, rng.random(count) * cumulative[-1], side="right")


def _gift_season(days: np.ndarray, start_day_of_year: float) -> np.ndarray:
    """True from mid-November to Christmas (day of year 319 to 358)."""
    day_of_year = (start_day_of_year + days) % 365.25
    return (day_of_year >= 319) & (day_of_year <= 358)


def purchases_simulate(
    rng: np.random.Generator, catalogue: Catalogue, count: int, start_day_of_year: float
) -> Purchases:
    """Run the process for `count` customers; start_day_of_year places the history in the year."""
    product_count = catalogue.price_cents.size
    slot_index = np.arange(ROUTINE_SLOTS)[None, :]

    is_lead = rng.random(count) < LEAD_SHARE
    is_established = ~is_lead & (rng.random(count) < ESTABLISHED_SHARE)
    is_gift_shopper = ~is_lead & ~is_established & (rng.random(count) < GIFT_SHOPPER_SHARE)
    acquired = _acquisition_days(rng, count)
    # Gift shoppers arrive in the gift season of either year.
    gift_year = rng.integers(0, 2, count)
    season_start = (319 - start_day_of_year) % 365.25
    gift_day = season_start + gift_year * 365.25 + rng.random(count) * 39
    acquired = np.where(is_gift_shopper & (gift_day < HISTORY_DAYS), gift_day, acquired)

    # Routine: distinct consumables by popularity (Gumbel top-k), of a size drawn per customer.
    routine_size = rng.choice(
        np.arange(1, ROUTINE_SLOTS + 1), size=count, p=ROUTINE_SIZE_PROBABILITIES
    )
    routine_size = np.where(is_gift_shopper & (rng.random(count) < 0.6), 0, routine_size)
    log_weights = np.where(catalogue.is_consumable, np.log(catalogue.popularity), -np.inf)
    keys = log_weights[None, :] + rng.gumbel(size=(count, product_count))
    slots = np.argsort(-keys, axis=1)[:, :ROUTINE_SLOTS]
    has_slot = slot_index < routine_size[:, None]
    slots = np.where(has_slot, slots, -1)
    consumption = rng.gamma(CONSUMPTION_SHAPE, 1.0 / CONSUMPTION_SHAPE, count)
    cycle = np.where(has_slot, catalogue.supply_days[np.maximum(slots, 0)], np.inf)
    cycle = cycle / consumption[:, None]
    dropout = rng.beta(DROPOUT_A, DROPOUT_B, count)
    occasional_rate = rng.gamma(OCCASIONAL_SHAPE, OCCASIONAL_SCALE, count)

    # When each routine product is next due. New customers buy slot 0 (and some others) on their
    # first order and start the rest later; established ones are somewhere in their cycles.
    first_buy = has_slot & (
        (slot_index == 0) | (rng.random((count, ROUTINE_SLOTS)) < FIRST_ORDER_SLOT_PROBABILITY)
    )
    later = rng.uniform(0.2, 1.5, (count, ROUTINE_SLOTS)) * cycle
    due = np.where(has_slot, acquired[:, None] + np.where(first_buy, 0.0, later), np.inf)
    phase = rng.random((count, ROUTINE_SLOTS)) * cycle
    due = np.where(is_established[:, None], np.where(has_slot, phase, np.inf), due)
    acquired = np.where(is_established, -rng.random(count) * 365.0, acquired)
    first_day = np.where(is_established, due.min(axis=1), acquired)
    occasional_next = np.maximum(first_day, 0.0) + rng.exponential(1.0, count) / occasional_rate
    next_day = np.where(is_lead, np.inf, first_day)
    is_first = np.ones(count, dtype=bool)

    is_active = ~is_lead
    dropout_day = np.full(count, np.inf)
    bought_once = np.zeros(count, dtype=np.int64)  # bit per product: one-off products bought
    order_numbers = np.zeros(count, dtype=np.int64)
    once_only = ~catalogue.is_repeatable
    consumable_weights = np.where(catalogue.is_consumable, catalogue.popularity, 0.0)

    order_customer: list[np.ndarray] = []
    order_day: list[np.ndarray] = []
    order_number: list[np.ndarray] = []
    line_order: list[np.ndarray] = []
    line_product: list[np.ndarray] = []
    line_quantity: list[np.ndarray] = []
    order_total = 0

    while True:
        who = np.flatnonzero(is_active & (next_day <= HISTORY_DAYS))
        if who.size == 0:
            break
        day = next_day[who]
        size = who.size
        numbers = np.arange(order_total, order_total + size)
        order_total += size

        # Routine products due soon are bought now; quantity 2 or 3 covers two or three cycles.
        customer_due = due[who]
        buy = customer_due <= day[:, None] + CONSOLIDATION_DAYS
        buy |= is_first[who][:, None] & first_buy[who] & (customer_due < np.inf)
        quantity = rng.choice(np.arange(1, 4), size=(size, ROUTINE_SLOTS), p=STOCK_UP_PROBABILITIES)
        interval = (
            quantity * cycle[who] * rng.lognormal(0.0, PURCHASE_NOISE_SIGMA, (size, ROUTINE_SLOTS))
        )
        due[who] = np.where(buy, day[:, None] + interval, customer_due)

        # An occasional order (nothing due) or, sometimes, a routine one also buys another
        # product: a gift set in the gift season, otherwise anything by popularity.
        is_occasional = ~buy.any(axis=1)
        wants_extra = is_occasional | (rng.random(size) < ROUTINE_EXTRA_PROBABILITY)
        gift_share = np.where(
            _gift_season(day, start_day_of_year), GIFT_SEASON_SHARE, GIFT_OFF_SEASON_SHARE
        )
        gift_share = np.where(is_gift_shopper[who] & is_first[who], 1.0, gift_share)
        wants_gift = rng.random(size) < gift_share
        gift_pick = choose_weighted(
            rng, np.where(catalogue.is_gift, catalogue.popularity, 0.0), size
        )
        other_pick = choose_weighted(
            rng, np.where(catalogue.is_gift, 0.0, catalogue.popularity), size
        )
        extra = np.where(wants_gift, gift_pick, other_pick)
        already = ((bought_once[who] >> extra) & 1).astype(bool) & once_only[extra]
        in_routine = ((slots[who] == extra[:, None]) & buy).any(axis=1)
        extra_ok = wants_extra & ~already & ~in_routine
        # Never an empty order: fall back to the first routine product, or any consumable.
        empty = ~buy.any(axis=1) & ~extra_ok
        fallback = empty & (slots[who, 0] >= 0)
        buy[:, 0] |= fallback
        staple = empty & ~fallback
        extra_ok |= staple
        extra = np.where(staple, choose_weighted(rng, consumable_weights, size), extra)
        bought_once[who] |= np.where(extra_ok & once_only[extra], 1 << extra, 0)

        rows, columns = np.nonzero(buy)
        routine_order = numbers[rows]
        extra_rows = np.flatnonzero(extra_ok)
        line_order.append(np.concatenate([routine_order, numbers[extra_rows]]))
        line_product.append(np.concatenate([slots[who][rows, columns], extra[extra_rows]]))
        line_quantity.append(
            np.concatenate([quantity[rows, columns], np.ones(extra_rows.size, np.int64)])
        )
        order_customer.append(who)
        order_day.append(day)
        order_number.append(order_numbers[who])
        order_numbers[who] += 1
        is_first[who] = False

        # Occasional orders come as a Poisson process; after any order, the customer may leave.
        occasional = occasional_next[who]
        fired = occasional <= day + 1e-9
        occasional_next[who] = np.where(
            fired, day + rng.exponential(1.0, size) / occasional_rate[who], occasional
        )
        leaves = rng.random(size) < dropout[who]
        is_active[who[leaves]] = False
        dropout_day[who[leaves]] = day[leaves]
        next_day[who] = np.minimum(due[who].min(axis=1), occasional_next[who])

    if order_customer:
        customers = np.concatenate(order_customer)
        days = np.concatenate(order_day)
        numbers_all = np.concatenate(order_number)
        lines_order = np.concatenate(line_order)
        lines_product = np.concatenate(line_product)
        lines_quantity = np.concatenate(line_quantity)
    else:
        customers = days = numbers_all = np.zeros(0, np.int64)
        lines_order = lines_product = lines_quantity = np.zeros(0, np.int64)
    # Orders were numbered in simulation steps; renumber them by (customer, day).
    order_sort = np.lexsort((days, customers))
    new_index = np.empty_like(order_sort)
    new_index[order_sort] = np.arange(order_sort.size)
    lines_order = new_index[lines_order]
    line_sort = np.lexsort((lines_product, lines_order))
    return Purchases(
        order_customer=customers[order_sort],
        order_day=days[order_sort].astype(np.float64),
        order_number=numbers_all[order_sort],
        line_order=lines_order[line_sort],
        line_product=lines_product[line_sort],
        line_quantity=lines_quantity[line_sort],
        is_lead=is_lead,
        acquired_day=acquired,
        dropout_day=dropout_day,
        routine_products=slots,
    )
