"""REST router for orders, their refunds and cancellation.

Authentication and scopes are attached where config/api.py mounts this router.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router, Status

from patron.accounts.selectors import source_find
from patron.catalog.services.products import clean_money
from patron.core import clock
from patron.core.actors import Actor
from patron.core.api import RowId, request_actor
from patron.core.errors import ValidationFailed
from patron.core.pagination import Page, keyset_page
from patron.customers import selectors as customer_selectors
from patron.customers.models import Customer
from patron.customers.services.profile import customer_for_email
from patron.customers.validation import clean_datetime
from patron.orders import selectors
from patron.orders.models import Order
from patron.orders.schemas import CancelIn, OrderIn, OrderListQuery, OrderOut, OrderPage, RefundIn
from patron.orders.services import orders as order_services

router = Router(tags=["orders"])

_ORDER_REFERENCES = {"source", "customer_id", "email"}


@router.post("", response={200: OrderOut, 201: OrderOut})
def order_create(request: HttpRequest, payload: OrderIn) -> Status[Order]:
    """Record an order. Idempotent on (source, external_id): 201 the first time, 200 with the
    same id when it is sent again; a resend with other values or lines replaces them."""
    actor = request_actor(request)
    order_input = order_services.order_clean(
        payload.model_dump(exclude_none=True, exclude=_ORDER_REFERENCES)
    )
    source = source_find(payload.source)
    if source is None:
        raise ValidationFailed(f"no source named or numbered {payload.source!r}", field="source")
    with transaction.atomic():
        customer = _buyer(customer_id=payload.customer_id, email=payload.email, actor=actor)
        # Known before recording only to choose 201 or 200; two first sends racing each
        # other both answer 201, with the same order.
        is_known = (
            selectors.order_find(source_id=source.pk, external_id=order_input.external_id)
            is not None
        )
        order, _ = order_services.order_record(
            source=source, customer=customer, order=order_input, actor=actor
        )
    return Status(200 if is_known else 201, selectors.order_get_for_display(order.pk))


def _buyer(*, customer_id: int | None, email: str | None, actor: Actor) -> Customer:
    if customer_id is not None and email is None:
        customer = customer_selectors.customer_find(customer_id)
        if customer is None:
            raise ValidationFailed(f"no customer with id {customer_id}", field="customer_id")
        return customer
    if email is not None and customer_id is None:
        customer, _ = customer_for_email(email=email, actor=actor)
        return customer
    raise ValidationFailed("send exactly one of customer_id and email", field="customer_id")


@router.get("", response=OrderPage)
def order_list(request: HttpRequest, query: Query[OrderListQuery]) -> Page[Order]:
    """Orders, newest first, with lines and refunds."""
    filters = selectors.OrderFilters(**query.model_dump(exclude={"cursor", "limit"}))
    return keyset_page(
        selectors.order_list(filters=filters), cursor=query.cursor, limit=query.limit
    )


@router.get("/{order_id}", response=OrderOut)
def order_read(request: HttpRequest, order_id: RowId) -> Order:
    """One order with its lines and refunds."""
    return selectors.order_get_for_display(order_id)


@router.post("/{order_id}/refunds", response={200: OrderOut, 201: OrderOut})
def order_refund(request: HttpRequest, order_id: RowId, payload: RefundIn) -> Status[Order]:
    """Refund part or all of an order. Idempotent on refund_id: 201 when recorded now, 200
    when this refund was already recorded. Answers with the updated order."""
    _, created = order_services.order_refund(
        order=selectors.order_get(order_id),
        external_id=payload.refund_id.strip(),
        amount=clean_money(payload.amount, field="amount", allow_none=True),
        refunded_at=(
            clean_datetime(payload.refunded_at, field="refunded_at")
            if payload.refunded_at
            else clock.now()
        ),
        reason=payload.reason,
        actor=request_actor(request),
    )
    return Status(201 if created else 200, selectors.order_get_for_display(order_id))


@router.post("/{order_id}/cancel", response=OrderOut)
def order_cancel(request: HttpRequest, order_id: RowId, payload: CancelIn | None = None) -> Order:
    """Cancel the order (the body is optional). Cancelling a cancelled order changes nothing."""
    cancelled_at = payload.cancelled_at if payload is not None else None
    order_services.order_cancel(
        order=selectors.order_get(order_id),
        cancelled_at=(
            clean_datetime(cancelled_at, field="cancelled_at") if cancelled_at else clock.now()
        ),
        actor=request_actor(request),
    )
    return selectors.order_get_for_display(order_id)
