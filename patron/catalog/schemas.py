"""Request and response shapes of the products API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from ninja import Schema
from pydantic import ConfigDict, Field, StrictBool, StrictInt, StrictStr

from patron.catalog.models import Product, StockStatus
from patron.core.api import PageQuery

CategoryName = Annotated[StrictStr, Field(max_length=200)]


class ProductIn(Schema):
    """The fields to set; fields left out keep their stored value."""

    model_config = ConfigDict(extra="forbid")

    name: StrictStr | None = Field(None, max_length=300)
    brand: StrictStr | None = Field(None, max_length=200)
    category: (
        Annotated[StrictStr, Field(max_length=1700)]
        | Annotated[list[CategoryName], Field(max_length=8)]
        | None
    ) = Field(
        None, description="A path such as 'Skincare > Serums' or a list of names; null removes it"
    )
    price: Decimal | None = Field(None, description="In currency; at most two decimal places")
    currency: StrictStr | None = Field(None, max_length=3, description="ISO 4217, e.g. EUR")
    image_url: StrictStr | None = Field(None, max_length=2048)
    url: StrictStr | None = Field(None, max_length=2048)
    stock_status: StockStatus | None = None
    supply_days: StrictInt | None = Field(
        None, ge=1, le=3650, description="How long one unit lasts, e.g. 60 for a 60-day jar"
    )
    is_repeatable: StrictBool | None = Field(
        None, description="False for things bought once, such as gift sets"
    )


class ProductListQuery(PageQuery):
    model_config = ConfigDict(extra="forbid")

    q: StrictStr | None = Field(None, max_length=300, description="Prefix of the SKU or name")
    category: StrictStr | None = Field(
        None, max_length=200, description="Category slug; subcategories are included"
    )


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    brand: str
    category: str | None
    category_slug: str | None
    price: Decimal | None
    currency: str
    image_url: str
    url: str
    stock_status: StockStatus
    supply_days: int | None
    is_repeatable: bool
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_category(product: Product) -> str | None:
        return product.category.name if product.category else None

    @staticmethod
    def resolve_category_slug(product: Product) -> str | None:
        return product.category.slug if product.category else None


class ProductPage(Schema):
    items: list[ProductOut]
    next_cursor: str | None
