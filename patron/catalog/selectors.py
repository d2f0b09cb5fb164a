"""Reads of products and categories."""

from __future__ import annotations

from patron.catalog.models import Product


def product_count() -> int:
    return Product.objects.count()
