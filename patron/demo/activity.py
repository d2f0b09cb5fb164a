"""Events and carts: the web funnel before orders, visits, abandoned carts and newsletters."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np

from patron.core.bulk import NULL_TIME, Rows
from patron.demo import shop
from patron.demo.commerce import OrderFacts, Orders
from patron.demo.facts import (
    DAY,
    HOUR,
    MINUTE,
    IdAllocator,
    ShopIds,
    StaticFacts,
    json_text,
    local_clock,
    money_text,
    rank_within,
)
from patron.demo.people import People
from patron.demo.process import HISTORY_DAYS, Purchases, choose_weighted
from patron.events.models import Event, EventType
from patron.orders.models import Cart, CartLine, CartStatus

BROWSE_SESSIONS_PER_YEAR = 2.0  # visits without buying, per tracked customer
ABANDONED_CARTS_PER_YEAR = 0.6  # per tracked customer
CHECKOUT_STARTED_SHARE = 0.4  # of abandoned carts that reached the checkout
LAPSED_BROWSING_DAYS = 90.0  # people keep visiting a while after their last order
LEAD_BROWSING_DAYS = 120.0  # sign-ups who never buy drift away after a few months
# Email: one newsletter a month, each to a slice of the customers who consented at that time;
# a quarter keeps the volume at a few sends per customer a year.
CAMPAIGN_AUDIENCE_SHARE = 0.25
CLICK_SHARE_OF_OPENS = 0.3
# The mail clients people read with, as their image requests name them (context.userAgent),
# and how common each is among those not using Apple Mail Privacy Protection. Position 0 is
# "no user agent" (events other than opens).
MAIL_CLIENT_USER_AGENTS: tuple[str, ...] = (
    "",
    # Apple Mail on an iPhone, and on a Mac, with Mail Privacy Protection off.
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",
    # Gmail fetches images through its proxy when the reader opens the message.
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    "Mozilla/4.0 (compatible; ms-office; MSOffice 16)",  # Outlook on Windows
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 Thunderbird/115.11.0",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.179 Mobile Safari/537.36",
    # Apple's privacy proxy: exactly this, nothing more. Only the machine opens carry it.
    "Mozilla/5.0",
)
MAIL_CLIENT_WEIGHTS = (0.0, 0.2, 0.08, 0.4, 0.17, 0.05, 0.1, 0.0)
APPLE_MAIL_CLIENTS = (1, 2)  # iPhone, Mac
APPLE_PROXY_CLIENT = 7
# Apple Mail Privacy Protection users: Apple's proxy fetches every delivered message's images a
# few seconds after delivery, whether or not anyone reads it — the machine opens engagement
# scoring must leave out. About a quarter of readers in shops' statistics.
APPLE_PRIVACY_SHARE = 0.25
APPLE_PREFETCH_SECONDS = (1, 8)


class EventParts:
    """Event groups collected before they are sorted per customer and given ids."""

    def __init__(self) -> None:
        self.customer: list[np.ndarray] = []
        self.seconds: list[np.ndarray] = []
        self.source: list[np.ndarray] = []
        self.type: list[np.ndarray] = []
        self.name: list[np.ndarray] = []
        self.properties: list[list[str]] = []
        self.user_agent: list[np.ndarray] = []  # positions in MAIL_CLIENT_USER_AGENTS

    def add(
        self,
        *,
        customer: np.ndarray,
        seconds: np.ndarray,
        source: np.ndarray | int,
        type: str,
        name: np.ndarray | str,
        properties: list[str],
        user_agent: np.ndarray | None = None,
    ) -> None:
        size = customer.size
        self.customer.append(customer)
        self.seconds.append(seconds)
        self.source.append(np.broadcast_to(np.asarray(source, dtype=np.int64), (size,)))
        self.type.append(np.full(size, type, dtype=object))
        self.name.append(
            name if isinstance(name, np.ndarray) else np.full(size, name, dtype=object)
        )
        self.properties.append(properties)
        self.user_agent.append(
            np.zeros(size, dtype=np.int8) if user_agent is None else user_agent.astype(np.int8)
        )


@dataclass
class Events:
    """The chunk's event rows and, per event, whose and when (for first and last seen)."""

    rows: Rows
    customer: np.ndarray  # chunk index per event, sorted
    seconds: np.ndarray
    is_activity: np.ndarray  # the customer did something (not just an email delivered)


def activity_windows(
    rng: np.random.Generator,
    people: People,
    purchases: Purchases,
    history_start: int,
    now_seconds: int,
) -> tuple[np.ndarray, np.ndarray]:
    """When each customer visits the shop: from first seen until a while after they lapse."""
    count = people.ids.size
    begin = np.maximum(people.first_seen, history_start)
    lapse_end = history_start + (
        (
            np.minimum(purchases.dropout_day, HISTORY_DAYS)
            + rng.exponential(LAPSED_BROWSING_DAYS, count)
        )
        * DAY
    ).astype(np.int64)
    lead_end = people.first_seen + (rng.exponential(LEAD_BROWSING_DAYS, count) * DAY).astype(
        np.int64
    )
    end = np.where(np.isfinite(purchases.dropout_day), lapse_end, now_seconds)
    end = np.where(purchases.is_lead, lead_end, end)
    end = np.clip(end, begin, now_seconds - MINUTE)
    return begin, end


def _sessions(
    rng: np.random.Generator,
    people: People,
    begin: np.ndarray,
    end: np.ndarray,
    per_year: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Visits of tracked customers: (customer index, start seconds) at their usual hours."""
    years = (end - begin) / (365.25 * DAY)
    counts = rng.poisson(per_year * years * people.is_tracked)
    customer = np.repeat(np.arange(people.ids.size), counts)
    span = end[customer] - begin[customer]
    moment = begin[customer] + (rng.random(customer.size) * span).astype(np.int64)
    local_midnight = (moment + people.offset[customer]) // DAY * DAY - people.offset[customer]
    start = local_midnight + local_clock(rng, people.preferred_hour[customer], 2.0)
    keep = (start >= begin[customer]) & (start <= end[customer])
    return customer[keep], start[keep]


def abandoned_carts_generate(
    rng: np.random.Generator,
    static: StaticFacts,
    people: People,
    windows: tuple[np.ndarray, np.ndarray],
    now_seconds: int,
    shop_ids: ShopIds,
    ids: IdAllocator,
    events: EventParts,
) -> list[Rows]:
    """Carts left behind with one or two products, and the events that built them."""
    customer, start = _sessions(rng, people, *windows, ABANDONED_CARTS_PER_YEAR)
    size = customer.size
    cart_ids = ids.take(Cart, size)
    external = [f"cart-{cart_id}" for cart_id in cart_ids.tolist()]
    catalogue = static.catalogue
    keys = np.log(catalogue.popularity)[None, :] + rng.gumbel(
        size=(size, catalogue.price_cents.size)
    )
    picks = np.argsort(-keys, axis=1)[:, :2]
    line_count = rng.integers(1, 3, size)
    line_cart, line_rank = np.nonzero(np.arange(2)[None, :] < line_count[:, None])
    line_product = picks[line_cart, line_rank]
    added_at = start[line_cart] + (line_rank + 1) * (rng.uniform(30, 240, line_cart.size)).astype(
        np.int64
    )
    last_added = start + line_count * 240
    started = rng.random(size) < CHECKOUT_STARTED_SHARE
    checkout_at = np.minimum(last_added + 120, now_seconds - MINUTE)
    checkout_started_at = np.where(started, checkout_at, NULL_TIME)
    last_activity = np.where(started, checkout_at, np.minimum(last_added, now_seconds - MINUTE))
    skus = np.array(static.product_skus, dtype=object)
    names = np.array(static.product_names, dtype=object)
    cart_rows = Rows(
        Cart,
        size,
        {
            "id": cart_ids,
            "source": shop_ids.web_source_id,
            "external_id": external,
            "customer": people.ids[customer],
            "status": CartStatus.ABANDONED.value,
            "currency": shop.CURRENCY,
            "last_activity_at": last_activity,
            "checkout_started_at": checkout_started_at,
            "created_at": now_seconds,
            "updated_at": now_seconds,
        },
    )
    line_rows = Rows(
        CartLine,
        line_cart.size,
        {
            "id": ids.take(CartLine, line_cart.size),
            "cart": cart_ids[line_cart],
            "product": shop_ids.product_ids[line_product],
            "sku": skus[line_product].tolist(),
            "name": names[line_product].tolist(),
            "quantity": 1,
            "unit_price": catalogue.price_cents[line_product],
        },
    )
    events.add(
        customer=customer,
        seconds=start,
        source=shop_ids.web_source_id,
        type=EventType.PAGE.value,
        name="Product",
        properties=[static.product_page[p] for p in picks[:, 0].tolist()],
    )
    events.add(
        customer=customer[line_cart],
        seconds=np.minimum(added_at, now_seconds - MINUTE),
        source=shop_ids.web_source_id,
        type=EventType.TRACK.value,
        name="Product Added",
        properties=[
            f'{{"cart_id": "{external[c]}", {static.added_properties[p][1:]}'
            for c, p in zip(line_cart.tolist(), line_product.tolist(), strict=True)
        ],
    )
    started_carts = np.flatnonzero(started)
    events.add(
        customer=customer[started_carts],
        seconds=checkout_at[started_carts],
        source=shop_ids.web_source_id,
        type=EventType.TRACK.value,
        name="Checkout Started",
        properties=[
            json_text({"cart_id": external[c], "currency": shop.CURRENCY})
            for c in started_carts.tolist()
        ],
    )
    return [cart_rows, line_rows]


def browsing_generate(
    rng: np.random.Generator,
    static: StaticFacts,
    people: People,
    windows: tuple[np.ndarray, np.ndarray],
    shop_ids: ShopIds,
    events: EventParts,
) -> None:
    """Visits without a purchase: home, a collection, a product, or fewer."""
    customer, start = _sessions(rng, people, *windows, BROWSE_SESSIONS_PER_YEAR)
    pages = rng.integers(1, 4, customer.size)
    visit = np.repeat(np.arange(customer.size), pages)
    step = rank_within(visit)
    depth = 3 - pages[visit] + step  # 0 home, 1 collection, 2 product: visits end on a product
    product = choose_weighted(rng, static.catalogue.popularity, customer.size)[visit]
    seconds = start[visit] + step * rng.integers(20, 180, visit.size)
    category = [static.product_category[p] for p in product.tolist()]
    properties = [
        static.home_page
        if level == 0
        else static.category_page[slug]
        if level == 1
        else static.product_page[p]
        for level, slug, p in zip(depth.tolist(), category, product.tolist(), strict=True)
    ]
    page_names = np.array(["Home", "Collection", "Product"], dtype=object)
    events.add(
        customer=customer[visit],
        seconds=seconds,
        source=shop_ids.web_source_id,
        type=EventType.PAGE.value,
        name=page_names[depth],
        properties=properties,
    )


def order_events_generate(
    rng: np.random.Generator,
    static: StaticFacts,
    people: People,
    orders: Orders,
    facts: OrderFacts,
    shop_ids: ShopIds,
    events: EventParts,
) -> None:
    """Order Completed for every order; the web funnel before it for tracked customers."""
    products = np.array(
        [f'{{"sku": {json.dumps(p.sku)}, "quantity": QTY, "price": PRICE}}' for p in shop.PRODUCTS],
        dtype=object,
    )
    line_json = [
        template.replace("QTY", str(quantity)).replace("PRICE", money_text(unit))
        for template, quantity, unit in zip(
            products[orders.line_product].tolist(),
            orders.line_quantity.tolist(),
            facts.line_unit.tolist(),
            strict=True,
        )
    ]
    ends = np.r_[facts.line_starts[1:], orders.line_order.size].tolist()
    properties = [
        f'{{"order_id": "{external}", "total": {money_text(total)}, '
        f'"discount": {money_text(discount)}, "shipping": {money_text(shipping)}, '
        f'"tax": {money_text(tax)}, '
        f'"coupon": "{coupon}", "currency": "{shop.CURRENCY}", '
        f'"products": [{", ".join(line_json[start:end])}]}}'
        for external, total, discount, shipping, tax, coupon, start, end in zip(
            facts.external,
            facts.total.tolist(),
            facts.discount.tolist(),
            facts.shipping.tolist(),
            facts.tax.tolist(),
            facts.coupon.tolist(),
            facts.line_starts.tolist(),
            ends,
            strict=True,
        )
    ]
    events.add(
        customer=orders.customer,
        seconds=orders.seconds,
        source=facts.source,
        type=EventType.TRACK.value,
        name="Order Completed",
        properties=properties,
    )

    # The funnel: product page, Product Added, Checkout Started, minutes before the order.
    funnel = np.flatnonzero(~orders.is_b2b & people.is_tracked[orders.customer])
    first_product = orders.line_product[facts.line_starts[funnel]]
    lead_time = rng.uniform(4, 40, funnel.size) * MINUTE
    viewed = orders.seconds[funnel] - lead_time.astype(np.int64)
    added = orders.seconds[funnel] - (lead_time * rng.uniform(0.3, 0.7, funnel.size)).astype(
        np.int64
    )
    checkout = orders.seconds[funnel] - (lead_time * rng.uniform(0.05, 0.2, funnel.size)).astype(
        np.int64
    )
    customer = orders.customer[funnel]
    source = shop_ids.web_source_id
    events.add(
        customer=customer,
        seconds=viewed,
        source=source,
        type=EventType.PAGE.value,
        name="Product",
        properties=[static.product_page[p] for p in first_product.tolist()],
    )
    events.add(
        customer=customer,
        seconds=added,
        source=source,
        type=EventType.TRACK.value,
        name="Product Added",
        properties=[static.added_properties[p] for p in first_product.tolist()],
    )
    events.add(
        customer=customer,
        seconds=checkout,
        source=source,
        type=EventType.TRACK.value,
        name="Checkout Started",
        properties=[
            f'{{"value": {money_text(value)}, "currency": "{shop.CURRENCY}"}}'
            for value in facts.subtotal[funnel].tolist()
        ],
    )

    # Cancellations and refunds, from the shop's back end.
    for name, when, amount in (
        ("Order Cancelled", facts.cancelled_at, facts.total),
        ("Order Refunded", facts.refunded_at, facts.refunded),
    ):
        which = np.flatnonzero(when != NULL_TIME)
        events.add(
            customer=orders.customer[which],
            seconds=when[which],
            source=facts.source[which],
            type=EventType.TRACK.value,
            name=name,
            properties=[
                f'{{"order_id": "{facts.external[i]}", "total": {money_text(value)}, '
                f'"currency": "{shop.CURRENCY}"}}'
                for i, value in zip(which.tolist(), amount[which].tolist(), strict=True)
            ],
        )


def email_events_generate(
    rng: np.random.Generator,
    people: People,
    purchases: Purchases,
    history_start: int,
    now_seconds: int,
    shop_ids: ShopIds,
    events: EventParts,
) -> None:
    """Monthly newsletters to a slice of those consented at the time; opens and clicks follow."""
    # On the 4th of each calendar month at 08:00 UTC: one send per month, so the campaign id
    # (named by month) names exactly one send.
    first_month = np.datetime64(history_start, "s").astype("datetime64[M]")
    months = first_month + np.arange(HISTORY_DAYS * 12 // 365 + 2)
    sends = (months.astype("datetime64[s]").astype(np.int64) + 3 * DAY + 8 * HOUR).astype(np.int64)
    sends = sends[(sends >= history_start) & (sends <= now_seconds - DAY)]
    granted = people.email_granted
    withdrawn = np.where(
        people.email_withdrawn == NULL_TIME, np.iinfo(np.int64).max, people.email_withdrawn
    )
    eligible = (
        (granted[:, None] != NULL_TIME)
        & (granted[:, None] <= sends[None, :])
        & (withdrawn[:, None] > sends[None, :])
    )
    chosen = eligible & (rng.random(eligible.shape) < CAMPAIGN_AUDIENCE_SHARE)
    customer, campaign = np.nonzero(chosen)
    delivered = sends[campaign] + rng.integers(0, 20 * MINUTE, customer.size)
    # People who stopped buying mostly stop reading too.
    lapsed = history_start + purchases.dropout_day[customer] * DAY < sends[campaign]
    open_chance = people.engagement[customer] * np.where(lapsed, 0.3, 1.0)
    opened = rng.random(customer.size) < open_chance
    opened_at = delivered + (rng.exponential(5.0, customer.size) * HOUR).astype(np.int64)
    opened &= opened_at <= now_seconds - MINUTE
    clicked = opened & (rng.random(customer.size) < CLICK_SHARE_OF_OPENS)
    clicked_at = opened_at + rng.integers(5, 180, customer.size)
    clicked &= clicked_at <= now_seconds - MINUTE
    # Each reader's mail client; Apple's privacy proxy opens every delivery within seconds.
    has_apple_privacy = rng.random(people.ids.size) < APPLE_PRIVACY_SHARE
    client = np.where(
        has_apple_privacy,
        rng.choice(APPLE_MAIL_CLIENTS, size=people.ids.size),
        rng.choice(len(MAIL_CLIENT_WEIGHTS), size=people.ids.size, p=MAIL_CLIENT_WEIGHTS),
    )
    prefetched = has_apple_privacy[customer]
    low, high = APPLE_PREFETCH_SECONDS
    prefetched_at = delivered + rng.integers(low, high + 1, customer.size)

    base: list[str] = []
    links: list[str] = []
    for send in sends.tolist():
        moment = datetime.fromtimestamp(send, tz=UTC)
        theme = shop.CAMPAIGN_THEMES[moment.month - 1]
        identifier = f"newsletter-{moment:%Y-%m}"
        name = f"{moment:%B %Y}: {theme}"
        base.append(json_text({"campaign_id": identifier, "campaign_name": name}))
        featured = shop.CATEGORIES[moment.month % len(shop.CATEGORIES)].slug
        link = f"{shop.SHOP_URL}/collections/{featured}"
        links.append(
            json_text({"campaign_id": identifier, "campaign_name": name, "link_url": link})
        )
    proxy = np.full(customer.size, APPLE_PROXY_CLIENT)
    for name, mask, when, texts, agent in (
        ("Email Delivered", np.ones(customer.size, dtype=bool), delivered, base, None),
        ("Email Opened", opened, opened_at, base, client[customer]),
        ("Email Opened", prefetched, prefetched_at, base, proxy),
        ("Email Link Clicked", clicked, clicked_at, links, None),
    ):
        which = np.flatnonzero(mask)
        events.add(
            customer=customer[which],
            seconds=when[which],
            source=shop_ids.web_source_id,
            type=EventType.TRACK.value,
            name=name,
            properties=[texts[c] for c in campaign[which].tolist()],
            user_agent=None if agent is None else agent[which],
        )


def events_assemble(
    rng: np.random.Generator,
    static: StaticFacts,
    people: People,
    parts: EventParts,
    ids: IdAllocator,
) -> Events:
    """Sort every event by customer and time, then give them ids and message ids."""
    customer = np.concatenate(parts.customer)
    seconds = np.concatenate(parts.seconds)
    order = np.lexsort((seconds, customer))
    customer = customer[order]
    seconds = seconds[order]
    names = np.concatenate(parts.name)[order]
    properties_all = [text for group in parts.properties for text in group]
    properties = [properties_all[i] for i in order.tolist()]
    event_ids = ids.take(Event, customer.size)
    # One context per market and user agent, picked per event without a Python loop.
    agent = np.concatenate(parts.user_agent)[order].astype(np.int64)
    contexts = np.array(_contexts_with_user_agents(tuple(static.contexts)), dtype=object)
    context_index = people.market[customer] * len(MAIL_CLIENT_USER_AGENTS) + agent
    # Only guests carry an anonymous id; a chunk without any writes the constant.
    anonymous_ids: list[str] | str = ""
    if (people.anonymous_ids != "").any():
        anonymous_ids = people.anonymous_ids[customer].tolist()
    # Clients send within seconds; the clocks here agree, so timestamp = original timestamp.
    sent = seconds + rng.integers(0, 4, customer.size)
    rows = Rows(
        Event,
        customer.size,
        {
            "id": event_ids,
            "source": np.concatenate(parts.source)[order],
            "message_id": [f"demo-{event_id:012d}" for event_id in event_ids.tolist()],
            "type": np.concatenate(parts.type)[order].tolist(),
            "name": names.tolist(),
            "customer": people.ids[customer],
            "user_id": people.user_ids[customer].tolist(),
            "anonymous_id": anonymous_ids,
            "properties": properties,
            "context": contexts[context_index].tolist(),
            "original_timestamp": seconds,
            "sent_at": sent,
            "received_at": sent,
            "timestamp": seconds,
            "is_timestamp_clamped": False,
        },
    )
    # Deliveries and the privacy proxy's prefetches are not the person doing anything.
    is_activity = (names != "Email Delivered") & (agent != APPLE_PROXY_CLIENT)
    return Events(rows=rows, customer=customer, seconds=seconds, is_activity=is_activity)


@lru_cache(maxsize=1)
def _contexts_with_user_agents(market_contexts: tuple[str, ...]) -> list[str]:
    """Context texts by market x MAIL_CLIENT_USER_AGENTS position (0: no userAgent)."""
    texts = []
    for market_context in market_contexts:
        texts.append(market_context)
        for user_agent in MAIL_CLIENT_USER_AGENTS[1:]:
            texts.append(json_text(json.loads(market_context) | {"userAgent": user_agent}))
    return texts
