"""Reads of products and categories."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from patron.catalog.models import Category, Product
from patron.core.errors import NotFound


def product_count() -> int:
    return Product.objects.count()


def product_get(sku: str) -> Product:
    product = Product.objects.select_related("category").filter(sku=sku).first()
    if product is None:
        raise NotFound(f"no product with SKU {sku[:128]!r}", field="sku")
    return product


def product_list(*, q: str | None = None, category: str | None = None) -> QuerySet[Product]:
    """Products narrowed by a prefix of SKU or name and by a category (with its subcategories).

    `category` is a slug such as skincare-serums, as products show it.
    """
    queryset = Product.objects.select_related("category")
    if q and q.strip():
        text = q.strip()
        queryset = queryset.annotate(lower_name=Lower("name")).filter(
            Q(sku__istartswith=text) | Q(lower_name__startswith=text.lower())
        )
    if category is not None:
        queryset = queryset.filter(category__in=category_tree_ids(category))
    return queryset


def category_tree_ids(slug: str) -> set[int]:
    """The category with this slug and every category below it: one query per level."""
    level = set(Category.objects.filter(slug=slug.strip().lower()).values_list("pk", flat=True))
    found: set[int] = set()
    while level - found:
        found |= level
        level = set(Category.objects.filter(parent__in=level).values_list("pk", flat=True))
    return found


# The workspace's product list and page.

MAXIMUM_BRANDS_LISTED = 500  # a filter's choices; a catalogue with more brands gets search


@dataclass(frozen=True)
class ProductSearch:
    """What the workspace product list is narrowed by, already parsed by the page's form.

    `text` matches a SKU or brand by prefix and a name anywhere (case-insensitive);
    `category` is a slug and takes its subcategories with it.
    """

    text: str = ""
    category: str | None = None
    brand: str | None = None
    stock_status: str | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None


def product_search(search: ProductSearch) -> QuerySet[Product]:
    """Products matching every condition, with `sort_name` (the name, any case) to order by."""
    queryset = Product.objects.select_related("category").annotate(sort_name=Lower("name"))
    text = search.text.strip()
    if text:
        queryset = queryset.filter(
            Q(sku__istartswith=text) | Q(brand__istartswith=text) | Q(name__icontains=text)
        )
    if search.category:
        queryset = queryset.filter(category__in=category_tree_ids(search.category))
    if search.brand:
        queryset = queryset.filter(brand=search.brand)
    if search.stock_status:
        queryset = queryset.filter(stock_status=search.stock_status)
    if search.price_min is not None:
        queryset = queryset.filter(price__gte=search.price_min)
    if search.price_max is not None:
        queryset = queryset.filter(price__lte=search.price_max)
    return queryset


def product_get_by_id(product_id: int) -> Product:
    product = Product.objects.select_related("category").filter(pk=product_id).first()
    if product is None:
        raise NotFound(f"no product with id {product_id}", field="id")
    return product


@dataclass(frozen=True)
class CategoryChoice:
    slug: str
    name: str
    depth: int  # 0 for a top-level category


def category_tree() -> list[CategoryChoice]:
    """Every category in tree order (parents before their children): one query.

    Categories number in the hundreds at most, so the tree is walked in Python.
    """
    categories = list(Category.objects.order_by("name", "pk"))
    children: dict[int | None, list[Category]] = {}
    for category in categories:
        children.setdefault(category.parent_id, []).append(category)
    ordered: list[CategoryChoice] = []
    stack = [(category, 0) for category in reversed(children.get(None, []))]
    while stack:
        category, depth = stack.pop()
        ordered.append(CategoryChoice(slug=category.slug, name=category.name, depth=depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(category.pk, [])))
    return ordered


def category_path(category_id: int | None) -> list[Category]:
    """The category and its ancestors, root first: one query whatever the depth."""
    if category_id is None:
        return []
    by_id = {category.pk: category for category in Category.objects.all()}
    path: list[Category] = []
    current = by_id.get(category_id)
    while current is not None and current not in path:
        path.append(current)
        current = by_id.get(current.parent_id) if current.parent_id else None
    return path[::-1]


def brand_list() -> list[str]:
    """Brands products carry, alphabetically, read from the brand index."""
    return list(
        Product.objects.exclude(brand="")
        .order_by("brand")
        .values_list("brand", flat=True)
        .distinct()[:MAXIMUM_BRANDS_LISTED]
    )


@dataclass(frozen=True)
class ProductFacts:
    """Every product as arrays indexed by position; `index_of` maps a product id to it."""

    product_id: np.ndarray  # int64
    name: list[str]
    brand: list[str]  # "" when none
    category_name: list[str]  # "" when none
    category_id: np.ndarray  # int64, -1 when none
    supply_days: np.ndarray  # float64, nan when not stated
    is_repeatable: np.ndarray  # bool
    price_cents: np.ndarray  # float64 list price, nan when not stated
    currency: list[str]

    def index_of(self, product_ids: np.ndarray) -> np.ndarray:
        """Positions of these product ids; -1 for ids not in the catalogue (or -1)."""
        if self.product_id.size == 0:
            return np.full(product_ids.shape, -1, dtype=np.int64)
        order = np.argsort(self.product_id)
        sorted_ids = self.product_id[order]
        found = np.clip(np.searchsorted(sorted_ids, product_ids), 0, sorted_ids.size - 1)
        return np.where(sorted_ids[found] == product_ids, order[found], -1)


def product_facts() -> ProductFacts:
    """The catalogue for scoring: a few thousand rows at most, read in one query."""
    rows = list(
        Product.objects.order_by("id").values_list(
            "id",
            "name",
            "brand",
            "category_id",
            "category__name",
            "supply_days",
            "is_repeatable",
            "price",
            "currency",
        )
    )
    return ProductFacts(
        product_id=np.array([row[0] for row in rows], dtype=np.int64),
        name=[row[1] for row in rows],
        brand=[row[2] for row in rows],
        category_name=[row[4] or "" for row in rows],
        category_id=np.array([-1 if row[3] is None else row[3] for row in rows], dtype=np.int64),
        supply_days=np.array(
            [np.nan if row[5] is None else float(row[5]) for row in rows], dtype=np.float64
        ),
        is_repeatable=np.array([row[6] for row in rows], dtype=bool),
        price_cents=np.array(
            [np.nan if row[7] is None else float(row[7]) * 100 for row in rows], dtype=np.float64
        ),
        currency=[row[8] for row in rows],
    )
