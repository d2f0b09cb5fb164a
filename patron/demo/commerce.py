"""Orders, lines and refunds with amounts exact in integer cents; spas buying in bulk."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from patron.core.bulk import NULL_TIME, Rows
from patron.customers.models import Company, CompanyContact
from patron.demo import shop
from patron.demo.facts import (
    DAY,
    HOUR,
    MINUTE,
    IdAllocator,
    ShopIds,
    StaticFacts,
    local_clock,
    rank_within,
    segment_starts,
)
from patron.demo.people import People
from patron.demo.process import HISTORY_DAYS, Purchases
from patron.orders.models import Order, OrderLine, OrderStatus, Refund

# Coupons: a third of first orders use the welcome code; later orders rarely use any.
WELCOME_COUPON_SHARE = 0.35
LATER_COUPON_SHARE = 0.06
# After-sales: a few orders are cancelled or (partly) refunded once they are three weeks old.
CANCELLED_SHARE = 0.015
REFUNDED_SHARE = 0.015
PARTIALLY_REFUNDED_SHARE = 0.01
RECENT_PENDING_DAYS = 2  # orders this fresh may still be pending
# B2B: one spa per 200 customers, at least a few in any shop.
CUSTOMERS_PER_COMPANY = 200
MINIMUM_COMPANIES = 3
B2B_QUANTITIES = (6, 12, 24, 36, 48)
B2B_PRICE_PERCENT = 60  # trade price as a share of retail
B2B_MEAN_DAYS_BETWEEN_ORDERS = 45.0


def company_target(customers: int) -> int:
    """Companies in a shop of this many customers."""
    if customers <= 0:
        return 0
    return max(MINIMUM_COMPANIES, customers // CUSTOMERS_PER_COMPANY)


@dataclass
class Orders:
    """Order and line arrays while they are built (index = position in these arrays)."""

    customer: np.ndarray
    seconds: np.ndarray
    number: np.ndarray  # 0 for the first order in the history
    is_b2b: np.ndarray
    line_order: np.ndarray
    line_product: np.ndarray
    line_quantity: np.ndarray


def web_orders_place(
    rng: np.random.Generator,
    people: People,
    purchases: Purchases,
    history_start: int,
    now_seconds: int,
) -> Orders:
    """Place each simulated order at the customer's usual local hour, in UTC seconds."""
    customer = purchases.order_customer
    clock = local_clock(rng, people.preferred_hour[customer], 1.5)
    seconds = (
        history_start
        + np.floor(purchases.order_day).astype(np.int64) * DAY
        + clock
        - people.offset[customer]
    )
    # Never before the visit that brought them (and its consents): the funnel events of an
    # order start up to 40 minutes earlier.
    seconds = np.maximum(seconds, people.first_seen[customer] + HOUR)
    keep = seconds <= now_seconds - MINUTE
    return orders_select(
        Orders(
            customer=customer,
            seconds=seconds,
            number=purchases.order_number,
            is_b2b=np.zeros(customer.size, dtype=bool),
            line_order=purchases.line_order,
            line_product=purchases.line_product,
            line_quantity=purchases.line_quantity,
        ),
        keep,
    )


def orders_select(orders: Orders, keep: np.ndarray) -> Orders:
    """Keep some orders (and their lines), re-sorted by (customer, time)."""
    kept = np.flatnonzero(keep)
    order = kept[np.lexsort((orders.seconds[kept], orders.customer[kept]))]
    new_index = np.full(orders.customer.size, -1, dtype=np.int64)
    new_index[order] = np.arange(order.size)
    line_order = new_index[orders.line_order]
    line_keep = line_order >= 0
    line_sort = np.lexsort((orders.line_product[line_keep], line_order[line_keep]))
    return Orders(
        customer=orders.customer[order],
        seconds=orders.seconds[order],
        number=orders.number[order],
        is_b2b=orders.is_b2b[order],
        line_order=line_order[line_keep][line_sort],
        line_product=orders.line_product[line_keep][line_sort],
        line_quantity=orders.line_quantity[line_keep][line_sort],
    )


def orders_merge(first: Orders, second: Orders) -> Orders:
    shift = first.customer.size
    merged = Orders(
        customer=np.concatenate([first.customer, second.customer]),
        seconds=np.concatenate([first.seconds, second.seconds]),
        number=np.concatenate([first.number, second.number]),
        is_b2b=np.concatenate([first.is_b2b, second.is_b2b]),
        line_order=np.concatenate([first.line_order, second.line_order + shift]),
        line_product=np.concatenate([first.line_product, second.line_product]),
        line_quantity=np.concatenate([first.line_quantity, second.line_quantity]),
    )
    return orders_select(merged, np.ones(merged.customer.size, dtype=bool))


def companies_generate(
    rng: np.random.Generator,
    static: StaticFacts,
    people: People,
    count: int,
    history_start: int,
    now_seconds: int,
    ids: IdAllocator,
) -> tuple[list[Rows], Orders]:
    """Spas with one to three contacts among the chunk's customers, restocking in bulk."""
    company_ids = ids.take(Company, count)
    prefix = rng.integers(0, len(shop.SPA_PREFIXES), count)
    kind = rng.integers(0, len(shop.SPA_KINDS), count)
    contact_count = rng.integers(1, 4, count)
    chosen = rng.choice(people.ids.size, size=min(people.ids.size, 3 * count), replace=False)
    contacts = np.full((count, 3), -1, dtype=np.int64)
    contacts.flat[: chosen.size] = chosen
    contacts = np.where(np.arange(3)[None, :] < contact_count[:, None], contacts, -1)
    # A chunk too small to give every spa its own people shares its first customer.
    contacts[:, 0] = np.where(contacts[:, 0] < 0, 0, contacts[:, 0])
    contact_count = (contacts >= 0).sum(axis=1)
    names = [
        f"{shop.SPA_PREFIXES[p]} {shop.SPA_KINDS[k]}"
        for p, k in zip(prefix.tolist(), kind.tolist(), strict=True)
    ]
    domains = [
        f"{shop.ascii_slug(name, '-')}-{company_id}.example"
        for name, company_id in zip(names, company_ids.tolist(), strict=True)
    ]
    company_rows = Rows(
        Company,
        count,
        {
            "id": company_ids,
            "name": names,
            "external_id": [f"ACC-{company_id:06d}" for company_id in company_ids.tolist()],
            "domain": domains,
            "industry": "Spa and wellness",
            "employee_count": rng.integers(3, 60, count),
            "plan": ["Trade plus" if big else "Trade" for big in (rng.random(count) < 0.3)],
            "website": [f"https://{domain}" for domain in domains],
            "attributes": "{}",
            "created_at": now_seconds,
            "updated_at": now_seconds,
        },
    )
    member_company, member_slot = np.nonzero(contacts >= 0)
    member_customer = contacts[member_company, member_slot]
    titles = np.array(shop.CONTACT_TITLES, dtype=object)
    contact_rows = Rows(
        CompanyContact,
        member_company.size,
        {
            "id": ids.take(CompanyContact, member_company.size),
            "company": company_ids[member_company],
            "customer": people.ids[member_customer],
            "title": titles[np.minimum(member_slot, titles.size - 1)].tolist(),
            "created_at": now_seconds,
            "updated_at": now_seconds,
        },
    )

    # Orders: every few weeks (Gamma intervals) from when the spa became a client.
    catalogue = static.catalogue
    begin = np.where(rng.random(count) < 0.5, 0.0, rng.uniform(0, HISTORY_DAYS - 30, count))
    end = np.where(rng.random(count) < 0.15, rng.uniform(begin, HISTORY_DAYS), float(HISTORY_DAYS))
    day = begin + rng.exponential(B2B_MEAN_DAYS_BETWEEN_ORDERS / 2, count)
    order_company: list[np.ndarray] = []
    order_day: list[np.ndarray] = []
    while True:
        active = np.flatnonzero(day < end)
        if active.size == 0:
            break
        order_company.append(active)
        order_day.append(day[active])
        day[active] += rng.gamma(4.0, B2B_MEAN_DAYS_BETWEEN_ORDERS / 4.0, active.size)
    company_of = np.concatenate(order_company) if order_company else np.zeros(0, np.int64)
    days = np.concatenate(order_day) if order_day else np.zeros(0)
    size = company_of.size
    slot = rng.integers(0, contact_count[company_of]) if size else np.zeros(0, np.int64)
    customer = contacts[company_of, slot]
    # Business hours at the contact's place.
    clock = (rng.uniform(9, 17, size) * HOUR).astype(np.int64)
    seconds = (
        history_start + np.floor(days).astype(np.int64) * DAY + clock - people.offset[customer]
    )
    product_count = catalogue.price_cents.size
    log_weights = np.where(catalogue.is_consumable, np.log(catalogue.popularity), -np.inf)
    keys = log_weights[None, :] + rng.gumbel(size=(size, product_count))
    picks = np.argsort(-keys, axis=1)[:, :5]
    line_count = rng.integers(2, 6, size)
    line_order, line_rank = np.nonzero(np.arange(5)[None, :] < line_count[:, None])
    orders = Orders(
        customer=customer,
        seconds=seconds,
        number=np.zeros(size, dtype=np.int64),
        is_b2b=np.ones(size, dtype=bool),
        line_order=line_order,
        line_product=picks[line_order, line_rank],
        line_quantity=np.array(B2B_QUANTITIES)[
            rng.integers(0, len(B2B_QUANTITIES), line_order.size)
        ],
    )
    return [company_rows, contact_rows], orders_select(orders, seconds <= now_seconds - MINUTE)


@dataclass
class OrderFacts:
    ids: np.ndarray
    external: list[str]
    source: np.ndarray
    status: np.ndarray  # object array of OrderStatus values
    subtotal: np.ndarray
    discount: np.ndarray
    shipping: np.ndarray
    tax: np.ndarray
    total: np.ndarray
    refunded: np.ndarray
    coupon: np.ndarray  # object array
    cancelled_at: np.ndarray
    refunded_at: np.ndarray
    line_unit: np.ndarray
    line_total: np.ndarray
    line_starts: np.ndarray  # first line of each order


def order_rows_build(
    rng: np.random.Generator,
    static: StaticFacts,
    people: People,
    orders: Orders,
    now_seconds: int,
    shop_ids: ShopIds,
    ids: IdAllocator,
) -> tuple[list[Rows], OrderFacts]:
    """Orders, lines and refunds with amounts exact in integer cents."""
    size = orders.customer.size
    order_ids = ids.take(Order, size)
    prices = static.catalogue.price_cents[orders.line_product]
    b2b_line = orders.is_b2b[orders.line_order]
    unit = np.where(b2b_line, (prices * B2B_PRICE_PERCENT + 50) // 100, prices)
    line_total = unit * orders.line_quantity
    line_starts = segment_starts(orders.line_order)
    if line_starts.size != size:
        raise AssertionError("every order needs at least one line")
    subtotal = np.add.reduceat(line_total, line_starts) if size else np.zeros(0, np.int64)

    coupons = np.array([code for code, _ in shop.COUPONS], dtype=object)
    percents = np.array([percent for _, percent in shop.COUPONS], dtype=np.int64)
    first = orders.number == 0
    welcome = ~orders.is_b2b & first & (rng.random(size) < WELCOME_COUPON_SHARE)
    later = ~orders.is_b2b & ~first & (rng.random(size) < LATER_COUPON_SHARE)
    coupon_index = np.where(welcome, 0, np.where(later, rng.integers(1, coupons.size, size), -1))
    coupon = np.where(coupon_index >= 0, coupons[np.maximum(coupon_index, 0)], "")
    discount = np.where(
        coupon_index >= 0, subtotal * percents[np.maximum(coupon_index, 0)] // 100, 0
    )
    net = subtotal - discount
    shipping = np.where(
        orders.is_b2b | (net >= shop.FREE_SHIPPING_FROM_CENTS), 0, shop.SHIPPING_CENTS
    )
    vat = static.vat[people.market[orders.customer]]
    tax = ((net + shipping) * vat + 5_000) // 10_000  # half up, in cents
    total = net + shipping + tax

    # Status: most completed (spas' orders fulfilled), a few cancelled or refunded, the freshest
    # sometimes still pending.
    age_days = (now_seconds - orders.seconds) / DAY
    draw = rng.random(size)
    settled = age_days > 21
    status = np.where(orders.is_b2b, OrderStatus.FULFILLED.value, OrderStatus.COMPLETED.value)
    status = status.astype(object)
    cancelled = settled & (draw < CANCELLED_SHARE)
    refunded = settled & (draw >= CANCELLED_SHARE) & (draw < CANCELLED_SHARE + REFUNDED_SHARE)
    multi_line = np.diff(np.r_[line_starts, orders.line_order.size]) > 1
    partial = (
        settled
        & multi_line
        & (draw >= CANCELLED_SHARE + REFUNDED_SHARE)
        & (draw < CANCELLED_SHARE + REFUNDED_SHARE + PARTIALLY_REFUNDED_SHARE)
    )
    pending = (age_days < RECENT_PENDING_DAYS) & (draw < 0.3) & ~orders.is_b2b
    status[cancelled] = OrderStatus.CANCELLED.value
    status[refunded] = OrderStatus.REFUNDED.value
    status[partial] = OrderStatus.PARTIALLY_REFUNDED.value
    status[pending] = OrderStatus.PENDING.value
    last_line_total = (
        line_total[np.r_[line_starts[1:], line_total.size] - 1] if size else line_total
    )
    refunded_amount = np.where(refunded, total, 0)
    refunded_amount = np.where(partial, np.minimum(last_line_total, total // 2), refunded_amount)
    partial &= refunded_amount > 0
    refunded_amount = np.where(refunded | partial, refunded_amount, 0)
    later_seconds = orders.seconds + (rng.uniform(1, 20, size) * DAY).astype(np.int64)
    later_seconds = np.minimum(later_seconds, now_seconds - MINUTE)
    cancelled_at = np.where(
        cancelled, orders.seconds + (rng.uniform(0.05, 1, size) * DAY).astype(np.int64), NULL_TIME
    )
    refunded_at = np.where(refunded | partial, later_seconds, NULL_TIME)

    source = np.where(orders.is_b2b, shop_ids.back_office_source_id, shop_ids.web_source_id)
    external = [
        f"{'BO' if b2b else 'WS'}{order_id:09d}"
        for order_id, b2b in zip(order_ids.tolist(), orders.is_b2b.tolist(), strict=True)
    ]
    order_rows = Rows(
        Order,
        size,
        {
            "id": order_ids,
            "source": source,
            "external_id": external,
            "customer": people.ids[orders.customer],
            "status": status.tolist(),
            "currency": shop.CURRENCY,
            "subtotal": subtotal,
            "discount_total": discount,
            "shipping_total": shipping,
            "tax_total": tax,
            "total": total,
            "refunded_total": refunded_amount,
            "coupon": coupon.tolist(),
            "placed_at": orders.seconds,
            "cancelled_at": cancelled_at,
            "created_at": now_seconds,
            "updated_at": now_seconds,
        },
    )
    line_count = orders.line_order.size
    skus = np.array(static.product_skus, dtype=object)
    names = np.array(static.product_names, dtype=object)
    line_rows = Rows(
        OrderLine,
        line_count,
        {
            "id": ids.take(OrderLine, line_count),
            "order": order_ids[orders.line_order],
            "position": rank_within(orders.line_order) + 1,
            "product": shop_ids.product_ids[orders.line_product],
            "sku": skus[orders.line_product].tolist(),
            "name": names[orders.line_product].tolist(),
            "quantity": orders.line_quantity,
            "unit_price": unit,
            "discount": 0,
            "line_total": line_total,
        },
    )
    refund_of = np.flatnonzero(refunded | partial)
    reasons = np.array(
        ["Changed my mind", "Arrived damaged", "Skin reaction", "Wrong item sent"], dtype=object
    )
    refund_ids = ids.take(Refund, refund_of.size)
    refund_rows = Rows(
        Refund,
        refund_of.size,
        {
            "id": refund_ids,
            "order": order_ids[refund_of],
            "external_id": [f"RF{refund_id:09d}" for refund_id in refund_ids.tolist()],
            "amount": refunded_amount[refund_of],
            "reason": reasons[rng.integers(0, reasons.size, refund_of.size)].tolist(),
            "refunded_at": refunded_at[refund_of],
            "created_at": now_seconds,
            "updated_at": now_seconds,
        },
    )
    facts = OrderFacts(
        ids=order_ids,
        external=external,
        source=source,
        status=status,
        subtotal=subtotal,
        discount=discount,
        shipping=shipping,
        tax=tax,
        total=total,
        refunded=refunded_amount,
        coupon=coupon,
        cancelled_at=cancelled_at,
        refunded_at=refunded_at,
        line_unit=unit,
        line_total=line_total,
        line_starts=line_starts,
    )
    return [order_rows, line_rows, refund_rows], facts
