"""REST router for products, addressed by SKU.

Authentication and scopes are attached where config/api.py mounts this router.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Status

from patron.catalog import selectors
from patron.catalog.models import Product
from patron.catalog.schemas import ProductIn, ProductListQuery, ProductOut, ProductPage
from patron.catalog.services import products as product_services
from patron.core.api import request_actor
from patron.core.pagination import Page, keyset_page

router = Router(tags=["products"])


@router.put("/{sku}", response={200: ProductOut, 201: ProductOut})
def product_upsert(request: HttpRequest, sku: str, payload: ProductIn) -> Status[Product]:
    """Create the product with this SKU or change the fields sent (fields left out keep
    their value): 201 when created, 200 when it existed."""
    product, created = product_services.product_upsert(
        sku=product_services.clean_sku(sku),
        fields=product_services.product_clean(payload.model_dump(exclude_unset=True)),
        actor=request_actor(request),
    )
    return Status(201 if created else 200, selectors.product_get(product.sku))


@router.get("/{sku}", response=ProductOut)
def product_read(request: HttpRequest, sku: str) -> Product:
    """One product."""
    return selectors.product_get(sku)


@router.get("", response=ProductPage)
def product_list(request: HttpRequest, query: Query[ProductListQuery]) -> Page[Product]:
    """Products, newest first, narrowed by a SKU or name prefix and a category."""
    return keyset_page(
        selectors.product_list(q=query.q, category=query.category),
        cursor=query.cursor,
        limit=query.limit,
    )
