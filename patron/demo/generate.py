"""One chunk of the demo population as column-wise rows: people, orders, events, carts, spas.

Pure numpy and Python, no database: ids come from an IdAllocator primed with the tables' next
free ids, so children reference parents without a round trip, and the same seed, chunk and
starting ids always give the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from patron.catalog.models import Category, Product, StockStatus
from patron.core.bulk import NULL_TIME, Rows
from patron.customers.models import LifecycleStage
from patron.demo import shop
from patron.demo.activity import (
    EventParts,
    Events,
    abandoned_carts_generate,
    activity_windows,
    browsing_generate,
    email_events_generate,
    events_assemble,
    order_events_generate,
)
from patron.demo.commerce import (
    OrderFacts,
    Orders,
    companies_generate,
    company_target,
    order_rows_build,
    orders_merge,
    web_orders_place,
)
from patron.demo.facts import DAY, IdAllocator, ShopIds, static_facts
from patron.demo.people import People, people_generate
from patron.demo.process import HISTORY_DAYS, purchases_simulate
from patron.orders.models import OrderStatus


@dataclass(frozen=True)
class Chunk:
    tables: list[Rows]
    customers: int
    orders: int
    events: int


def catalogue_rows(
    *,
    ids: IdAllocator,
    existing_categories: dict[str, int],
    existing_products: dict[str, int],
    now_seconds: int,
) -> tuple[list[Rows], dict[str, int], dict[str, int]]:
    """Rows for the categories and products not there yet; returns them with all ids by key."""
    category_ids = dict(existing_categories)
    new_categories = [c for c in shop.CATEGORIES if c.slug not in category_ids]
    for category, new_id in zip(
        new_categories, ids.take(Category, len(new_categories)).tolist(), strict=True
    ):
        category_ids[category.slug] = new_id
    product_ids = dict(existing_products)
    new_products = [p for p in shop.PRODUCTS if p.sku not in product_ids]
    for product, new_id in zip(
        new_products, ids.take(Product, len(new_products)).tolist(), strict=True
    ):
        product_ids[product.sku] = new_id
    tables = [
        Rows(
            Category,
            len(new_categories),
            {
                "id": [category_ids[c.slug] for c in new_categories],
                "name": [c.name for c in new_categories],
                "slug": [c.slug for c in new_categories],
                "parent": [
                    category_ids[c.parent_slug] if c.parent_slug else None for c in new_categories
                ],
                "created_at": now_seconds,
                "updated_at": now_seconds,
            },
        ),
        Rows(
            Product,
            len(new_products),
            {
                "id": [product_ids[p.sku] for p in new_products],
                "sku": [p.sku for p in new_products],
                "name": [p.name for p in new_products],
                "brand": [p.brand for p in new_products],
                "category": [category_ids[p.category_slug] for p in new_products],
                "price": np.array([p.price_cents for p in new_products], dtype=np.int64),
                "currency": shop.CURRENCY,
                "image_url": [f"{shop.SHOP_URL}/images/{p.sku.lower()}.jpg" for p in new_products],
                "url": [f"{shop.SHOP_URL}/products/{p.sku.lower()}" for p in new_products],
                "stock_status": [StockStatus(p.stock_status).value for p in new_products],
                "supply_days": [p.supply_days for p in new_products],
                "is_repeatable": [p.is_repeatable for p in new_products],
                "created_at": now_seconds,
                "updated_at": now_seconds,
            },
        ),
    ]
    return tables, category_ids, product_ids


def chunk_generate(
    *,
    seed: int,
    customer_count: int,
    customers_before: int,
    now_seconds: int,
    shop_ids: ShopIds,
    ids: IdAllocator,
) -> Chunk:
    """All rows for `customer_count` new customers; customers_before places the chunk in the run."""
    # Seeded by position in the population, so an appended chunk differs from the first one.
    rng = np.random.default_rng([seed, customers_before])
    static = static_facts()
    history_start = (now_seconds - HISTORY_DAYS * DAY) // DAY * DAY
    start_date = datetime.fromtimestamp(history_start, tz=UTC)
    start_day_of_year = float(start_date.timetuple().tm_yday - 1)

    purchases = purchases_simulate(rng, static.catalogue, customer_count, start_day_of_year)
    customer_tables, people = people_generate(
        rng, static, purchases, customer_count, history_start, now_seconds, ids
    )
    web = web_orders_place(rng, people, purchases, history_start, now_seconds)
    company_count = company_target(customers_before + customer_count) - company_target(
        customers_before
    )
    company_tables, b2b = companies_generate(
        rng, static, people, company_count, history_start, now_seconds, ids
    )
    orders = orders_merge(web, b2b)
    order_tables, facts = order_rows_build(rng, static, people, orders, now_seconds, shop_ids, ids)

    parts = EventParts()
    windows = activity_windows(rng, people, purchases, history_start, now_seconds)
    order_events_generate(rng, static, people, orders, facts, shop_ids, parts)
    browsing_generate(rng, static, people, windows, shop_ids, parts)
    cart_tables = abandoned_carts_generate(
        rng, static, people, windows, now_seconds, shop_ids, ids, parts
    )
    email_events_generate(rng, people, purchases, history_start, now_seconds, shop_ids, parts)
    events = events_assemble(rng, static, people, parts, ids)
    customer_tables = _people_finish(customer_tables, people, orders, facts, events, now_seconds)
    tables = [*customer_tables, *company_tables, *order_tables, *cart_tables, events.rows]
    return Chunk(
        tables=tables,
        customers=customer_count,
        orders=int(facts.ids.size),
        events=events.rows.count,
    )


def _people_finish(
    tables: list[Rows],
    people: People,
    orders: Orders,
    facts: OrderFacts,
    events: Events,
    now_seconds: int,
) -> list[Rows]:
    """Fill in what depends on the orders and events: first/last seen, lifecycle stage, and
    the order figures (as orders.services.figures defines them; the tests compare the two)."""
    count = people.ids.size
    # A spa's contact may have ordered for it before their own first visit.
    first_seen = people.first_seen.copy()
    np.minimum.at(first_seen, orders.customer, orders.seconds)
    last_seen = people.first_seen.copy()
    np.maximum.at(
        last_seen, events.customer[events.is_activity], events.seconds[events.is_activity]
    )
    np.maximum.at(last_seen, orders.customer, orders.seconds)

    order_counts = np.bincount(orders.customer, minlength=count)
    last_order = np.full(count, NULL_TIME)
    np.maximum.at(last_order, orders.customer, orders.seconds)
    # The longest gap between two orders tells who came back after lapsing.
    gaps = np.diff(orders.seconds, prepend=orders.seconds[:1] if orders.seconds.size else 0)
    same_customer = (
        np.r_[False, orders.customer[1:] == orders.customer[:-1]]
        if orders.customer.size
        else np.zeros(0, bool)
    )
    longest_gap = np.zeros(count, dtype=np.int64)
    np.maximum.at(longest_gap, orders.customer[same_customer], gaps[same_customer])
    recency_days = (now_seconds - last_order) / DAY
    stage = np.full(count, LifecycleStage.LEAD.value, dtype=object)
    has_orders = order_counts > 0
    stage[has_orders] = LifecycleStage.ACTIVE.value
    stage[has_orders & (order_counts == 1) & (recency_days <= 120)] = LifecycleStage.NEW.value
    stage[has_orders & (recency_days <= 120) & (longest_gap > 240 * DAY)] = (
        LifecycleStage.REACTIVATED.value
    )
    stage[has_orders & (recency_days > 120)] = LifecycleStage.AT_RISK.value
    stage[has_orders & (recency_days > 240)] = LifecycleStage.LAPSED.value

    # Written with the customers rather than by an UPDATE of every row afterwards, which at a
    # million customers rewrote the table and six of its indexes (36 s).
    counted = facts.status != OrderStatus.CANCELLED.value
    counted_customer = orders.customer[counted]
    counted_seconds = orders.seconds[counted]
    first_order = np.full(count, np.iinfo(np.int64).max)
    np.minimum.at(first_order, counted_customer, counted_seconds)
    last_counted = np.full(count, NULL_TIME)
    np.maximum.at(last_counted, counted_customer, counted_seconds)
    counted_orders = np.bincount(counted_customer, minlength=count)

    customers, identities, *rest = tables
    customers.columns["order_count"] = counted_orders
    customers.columns["total_spent"] = (
        np.bincount(
            counted_customer,
            weights=(facts.total - facts.refunded)[counted].astype(np.float64),
            minlength=count,
        )
        .round()
        .astype(np.int64)
    )
    customers.columns["first_order_at"] = np.where(counted_orders > 0, first_order, NULL_TIME)
    customers.columns["last_order_at"] = last_counted
    customers.columns["lifecycle_stage"] = stage.tolist()
    customers.columns["first_seen_at"] = first_seen
    customers.columns["last_seen_at"] = last_seen
    identity_customer = identities.columns["customer"]
    identities.columns["last_seen_at"] = last_seen[identity_customer - people.ids[0]]
    return [customers, identities, *rest]
