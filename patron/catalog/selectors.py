"""Reads of products and categories."""

from __future__ import annotations

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
