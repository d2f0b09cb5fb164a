"""Request and response shapes of the orders API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from ninja import Schema
from pydantic import ConfigDict, Field, StrictInt, StrictStr

from patron.core.api import MAXIMUM_ROW_ID, PageQuery, TimestampText
from patron.orders.models import Order, OrderStatus
from patron.orders.services.orders import MAXIMUM_LINES, MAXIMUM_QUANTITY

RowIdNumber = Annotated[StrictInt, Field(ge=1, le=MAXIMUM_ROW_ID)]
CategoryName = Annotated[StrictStr, Field(max_length=200)]


class LineIn(Schema):
    model_config = ConfigDict(extra="forbid")

    sku: Annotated[StrictStr, Field(min_length=1, max_length=128)] | RowIdNumber
    quantity: StrictInt = Field(1, ge=1, le=MAXIMUM_QUANTITY)
    unit_price: Decimal = Field(description="Price of one unit before the line discount")
    discount: Decimal | None = Field(None, description="Discount on the whole line")
    name: StrictStr | None = Field(None, max_length=300)
    brand: StrictStr | None = Field(None, max_length=200)
    category: (
        Annotated[StrictStr, Field(max_length=1700)]
        | Annotated[list[CategoryName], Field(max_length=8)]
        | None
    ) = Field(None, description="A path such as 'Skincare > Serums' or a list of names")
    image_url: StrictStr | None = Field(None, max_length=2048)
    url: StrictStr | None = Field(None, max_length=2048)


class OrderIn(Schema):
    """An order as the shop knows it; totals left out are derived from the lines."""

    model_config = ConfigDict(extra="forbid")

    source: RowIdNumber | Annotated[StrictStr, Field(min_length=1, max_length=120)] = Field(
        description="The source (shop, app) the order belongs to: its id or its name"
    )
    customer_id: RowIdNumber | None = Field(None, description="Send this or email")
    email: StrictStr | None = Field(
        None, max_length=320, description="Send this or customer_id; a new email creates a customer"
    )
    external_id: Annotated[StrictStr, Field(min_length=1, max_length=255)] | RowIdNumber = Field(
        description="The shop's order number; with the source it makes the order unique"
    )
    status: OrderStatus | None = None
    currency: StrictStr = Field(max_length=3, description="ISO 4217, e.g. EUR")
    placed_at: TimestampText
    lines: list[LineIn] = Field(min_length=1, max_length=MAXIMUM_LINES)
    subtotal: Decimal | None = None
    discount_total: Decimal | None = None
    shipping_total: Decimal | None = None
    tax_total: Decimal | None = None
    total: Decimal | None = None
    coupon: StrictStr | None = Field(None, max_length=200)


class RefundIn(Schema):
    model_config = ConfigDict(extra="forbid")

    refund_id: StrictStr = Field(
        min_length=1,
        max_length=255,
        description="The shop's id for this refund; sent twice, it counts once",
    )
    amount: Decimal | None = Field(None, description="Left out, whatever remains is refunded")
    reason: StrictStr = Field("", max_length=500)
    refunded_at: TimestampText | None = Field(None, description="Defaults to now")


class CancelIn(Schema):
    model_config = ConfigDict(extra="forbid")

    cancelled_at: TimestampText | None = Field(None, description="Defaults to now")


class OrderListQuery(PageQuery):
    model_config = ConfigDict(extra="forbid")

    customer_id: int | None = Field(None, ge=1, le=MAXIMUM_ROW_ID)
    status: OrderStatus | None = None
    placed_since: TimestampText | None = None
    placed_before: TimestampText | None = None


class LineOut(Schema):
    position: int
    sku: str
    name: str
    product_id: int | None
    quantity: int
    unit_price: Decimal
    discount: Decimal
    line_total: Decimal


class RefundOut(Schema):
    id: int
    external_id: str
    amount: Decimal
    reason: str
    refunded_at: datetime


class OrderOut(Schema):
    id: int
    source: str
    external_id: str
    customer_id: int
    status: OrderStatus
    currency: str
    subtotal: Decimal
    discount_total: Decimal
    shipping_total: Decimal
    tax_total: Decimal
    total: Decimal
    refunded_total: Decimal
    coupon: str
    placed_at: datetime
    cancelled_at: datetime | None
    lines: list[LineOut]
    refunds: list[RefundOut]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_source(order: Order) -> str:
        return order.source.name


class OrderPage(Schema):
    items: list[OrderOut]
    next_cursor: str | None
