"""What every chunk reuses: id allocation, the catalogue's JSON fragments, names, helpers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from django.db import models

from patron.demo import shop
from patron.demo.process import Catalogue

DAY = 86_400
HOUR = 3_600
MINUTE = 60


class IdAllocator:
    """Hands out consecutive ids per model, starting from the tables' next free ids."""

    def __init__(self, next_ids: dict[type[models.Model], int]) -> None:
        self._next = dict(next_ids)

    def take(self, model: type[models.Model], count: int) -> np.ndarray:
        first = self._next[model]
        self._next[model] = first + count
        return np.arange(first, first + count, dtype=np.int64)


@dataclass(frozen=True)
class ShopIds:
    """Database ids of what exists before the population: sources, catalogue."""

    web_source_id: int
    back_office_source_id: int
    product_ids: np.ndarray  # aligned with shop.PRODUCTS


def json_text(value: Any) -> str:
    return json.dumps(value, separators=(", ", ": "))


def money_text(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def segment_starts(keys: np.ndarray) -> np.ndarray:
    """Index where each run of equal consecutive keys starts."""
    if keys.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])


def rank_within(keys: np.ndarray) -> np.ndarray:
    """0, 1, 2 ... within each run of equal consecutive keys."""
    starts = segment_starts(keys)
    lengths = np.diff(np.r_[starts, keys.size])
    return np.arange(keys.size) - np.repeat(starts, lengths)


def local_clock(
    rng: np.random.Generator, preferred_hour: np.ndarray, spread_hours: float
) -> np.ndarray:
    """Seconds after local midnight around each person's preferred hour."""
    hours = (preferred_hour + rng.normal(0.0, spread_hours, preferred_hour.size)) % 24.0
    return (hours * HOUR).astype(np.int64)


@dataclass(frozen=True)
class StaticFacts:
    """The shop's facts as arrays and ready-made JSON fragments, shared by every chunk."""

    catalogue: Catalogue
    market_weights: np.ndarray
    offsets: np.ndarray  # seconds east of UTC per market
    vat: np.ndarray
    product_names: list[str]
    product_skus: list[str]
    product_page: list[str]  # page-event properties per product
    category_page: dict[str, str]
    home_page: str
    added_properties: list[str]  # Product Added properties per product (quantity 1)
    product_category: list[str]
    contexts: list[str]  # event context per market
    first_names: dict[str, np.ndarray]
    last_names: dict[str, np.ndarray]
    first_slugs: dict[str, np.ndarray]
    last_slugs: dict[str, np.ndarray]


def _page(path: str, title: str) -> str:
    return json_text({"path": path, "title": title, "url": shop.SHOP_URL + path})


def _facts_build() -> StaticFacts:
    products = shop.PRODUCTS
    category_names = {category.slug: category.name for category in shop.CATEGORIES}
    names = {
        pool: (np.array(first, dtype=object), np.array(last, dtype=object))
        for pool, (first, last) in shop.NAME_POOLS.items()
    }
    return StaticFacts(
        catalogue=Catalogue.from_shop(),
        market_weights=np.array([market.weight for market in shop.MARKETS]),
        offsets=np.array([round(m.utc_offset_hours * HOUR) for m in shop.MARKETS], np.int64),
        vat=np.array([market.vat_basis_points for market in shop.MARKETS], dtype=np.int64),
        product_names=[product.name for product in products],
        product_skus=[product.sku for product in products],
        product_page=[
            _page(f"/products/{product.sku.lower()}", f"{product.name} | {product.brand}")
            for product in products
        ],
        category_page={
            slug: _page(f"/collections/{slug}", name) for slug, name in category_names.items()
        },
        home_page=_page("/", "Skincare and wellness"),
        added_properties=[
            json_text(
                {
                    "product_id": product.sku,
                    "sku": product.sku,
                    "name": product.name,
                    "brand": product.brand,
                    "category": category_names[product.category_slug],
                    "price": product.price_cents / 100,
                    "currency": shop.CURRENCY,
                    "quantity": 1,
                }
            )
            for product in products
        ],
        product_category=[product.category_slug for product in products],
        contexts=[
            json_text(
                {
                    "library": {"name": "patron-demo", "version": "1"},
                    "locale": market.locale,
                    "timezone": market.timezone,
                }
            )
            for market in shop.MARKETS
        ],
        first_names={pool: value[0] for pool, value in names.items()},
        last_names={pool: value[1] for pool, value in names.items()},
        first_slugs={
            pool: np.array([shop.ascii_slug(n) for n in value[0]], dtype=object)
            for pool, value in names.items()
        },
        last_slugs={
            pool: np.array([shop.ascii_slug(n) for n in value[1]], dtype=object)
            for pool, value in names.items()
        },
    )


@lru_cache(maxsize=1)
def static_facts() -> StaticFacts:
    """Built once per process; immutable afterwards, so generator threads may share it."""
    return _facts_build()
