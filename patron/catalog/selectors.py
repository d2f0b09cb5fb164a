"""Reads of products and categories."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

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
