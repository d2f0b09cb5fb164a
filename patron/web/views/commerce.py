"""Orders and products: lists with filters, detail pages, and staff refunds and cancellations."""

from __future__ import annotations

import secrets
from typing import TypeVar

from django.contrib import messages
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse

from patron.accounts.permissions import Permission
from patron.accounts.selectors import audit_list_for_subject, source_choices
from patron.catalog.selectors import (
    brand_list,
    category_path,
    category_tree,
    product_get,
    product_get_by_id,
    product_search,
)
from patron.core import clock
from patron.core.errors import NotFound, PatronError, ValidationFailed
from patron.core.pagination import Page, keyset_page_sorted
from patron.orders.models import Order, OrderStatus
from patron.orders.selectors import (
    customer_purchase_figures,
    order_get,
    order_get_for_page,
    order_search,
    order_units,
    orders_with_product,
    product_sales,
)
from patron.orders.services.orders import order_cancel, order_refund
from patron.web.access import requires, staff_actor
from patron.web.forms.commerce import (
    CancelForm,
    OrderFilterForm,
    ProductFilterForm,
    RefundForm,
)
from patron.web.pages import render_page

PAGE_SIZE = 50
RECENT_ORDERS_PAGE_SIZE = 20  # a product page's order list sits under its figures
HISTORY_SHOWN = 50  # an order's status changes rarely pass a handful; older ones are in the log
RowT = TypeVar("RowT", bound=Model)
STATUS_TONES: dict[str, str] = {
    OrderStatus.PENDING: "warn",
    OrderStatus.COMPLETED: "good",
    OrderStatus.FULFILLED: "good",
    OrderStatus.CANCELLED: "bad",
    OrderStatus.PARTIALLY_REFUNDED: "warn",
    OrderStatus.REFUNDED: "bad",
}
STOCK_TONES = {
    "in_stock": "good",
    "low_stock": "warn",
    "out_of_stock": "bad",
    "preorder": "accent",
    "discontinued": "bad",
}


def _sorted_page(
    request: HttpRequest, rows: QuerySet[RowT], *, sort: str, limit: int
) -> Page[RowT]:
    """One keyset page by `sort` (a column, `-` for descending); a mangled cursor restarts."""
    keys = [sort.removeprefix("-")]
    descending = sort.startswith("-")
    try:
        return keyset_page_sorted(
            rows, keys=keys, descending=descending, cursor=request.GET.get("cursor"), limit=limit
        )
    except ValidationFailed:
        return keyset_page_sorted(rows, keys=keys, descending=descending, cursor=None, limit=limit)


def _with_tones(orders: list[Order]) -> list[Order]:
    for order in orders:
        order.status_tone = STATUS_TONES.get(order.status, "")  # type: ignore[attr-defined]
    return orders


def _is_filtered(form: OrderFilterForm | ProductFilterForm) -> bool:
    return any(
        value not in (None, "")
        for name, value in form.data.items()
        if name not in ("sort", "cursor")
    )


# Orders.


@requires(Permission.ORDERS_VIEW)
def order_list(request: HttpRequest) -> HttpResponse:
    form = OrderFilterForm(request.GET, sources=source_choices())
    page: Page[Order] | None = None
    sort = ""
    if form.is_valid():
        sort = form.sort_value()
        page = _sorted_page(request, order_search(form.search()), sort=sort, limit=PAGE_SIZE)
        units = order_units([order.pk for order in page.items])
        for order in _with_tones(page.items):
            order.item_count = units.get(order.pk, 0)  # type: ignore[attr-defined]
    context = {"form": form, "page": page, "sort": sort, "is_filtered": _is_filtered(form)}
    return render_page(request, "web/commerce/order_list.html", "listing", context)


@requires(Permission.ORDERS_VIEW)
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _order_for_page(order_id)
    lines = list(order.lines.all())
    context = {
        "order": _with_tones([order])[0],
        "lines": lines,
        "refunds": list(order.refunds.all()),
        "units": sum(line.quantity for line in lines),
        "remaining": order.total - order.refunded_total,
        "customer_figures": customer_purchase_figures(customer_id=order.customer_id),
        "history": audit_list_for_subject(
            subject_type="order", subject_id=str(order.pk), limit=HISTORY_SHOWN
        ),
    }
    return render(request, "web/commerce/order_detail.html", context)


def _order_for_page(order_id: int) -> Order:
    try:
        return order_get_for_page(order_id)
    except NotFound as error:
        raise Http404(error.message) from error


def _order(order_id: int) -> Order:
    try:
        return order_get(order_id)
    except NotFound as error:
        raise Http404(error.message) from error


@requires(Permission.ORDERS_EDIT)
def order_refund_confirm(request: HttpRequest, order_id: int) -> HttpResponse:
    """Asks for the amount and reason, then refunds through the audited service."""
    order = _order(order_id)
    if request.method == "POST":
        form = RefundForm(request.POST)
        if form.is_valid():
            try:
                refund, created = order_refund(
                    order=order,
                    external_id=f"workspace-{form.cleaned_data['token']}",
                    amount=form.cleaned_data["amount"],
                    refunded_at=clock.now(),
                    actor=staff_actor(request),
                    reason=form.cleaned_data["reason"],
                )
            except PatronError as error:
                form.add_error("amount" if error.field == "amount" else None, error.message)
            else:
                if created:
                    messages.success(
                        request, f"Refunded {refund.amount} {order.currency} on this order."
                    )
                return redirect("web:order_detail", order_id=order.pk)
    else:
        form = RefundForm(initial={"token": secrets.token_hex(16)})
    form.fields["amount"].label = f"Amount ({order.currency})"
    context = {"order": order, "form": form, "remaining": order.total - order.refunded_total}
    return render(request, "web/commerce/order_refund.html", context)


@requires(Permission.ORDERS_EDIT)
def order_cancel_confirm(request: HttpRequest, order_id: int) -> HttpResponse:
    """Asks to confirm, then cancels through the audited service."""
    order = _order(order_id)
    if request.method == "POST":
        form = CancelForm(request.POST)
        if form.is_valid():
            if order_cancel(order=order, cancelled_at=clock.now(), actor=staff_actor(request)):
                messages.success(request, "The order is cancelled.")
            else:
                messages.info(request, "The order was already cancelled.")
            return redirect("web:order_detail", order_id=order.pk)
    else:
        form = CancelForm()
    return render(request, "web/commerce/order_cancel.html", {"order": order, "form": form})


# Products.


@requires(Permission.CATALOG_VIEW)
def product_list(request: HttpRequest) -> HttpResponse:
    form = ProductFilterForm(request.GET, categories=category_tree(), brands=brand_list())
    page = None
    sort = ""
    if form.is_valid():
        sort = form.sort_value()
        page = _sorted_page(request, product_search(form.search()), sort=sort, limit=PAGE_SIZE)
        for product in page.items:
            product.stock_tone = STOCK_TONES.get(product.stock_status, "")  # type: ignore[attr-defined]
    context = {"form": form, "page": page, "sort": sort, "is_filtered": _is_filtered(form)}
    return render_page(request, "web/commerce/product_list.html", "listing", context)


@requires(Permission.CATALOG_VIEW)
def product_detail(request: HttpRequest, product_id: int) -> HttpResponse:
    try:
        product = product_get_by_id(product_id)
    except NotFound as error:
        raise Http404(error.message) from error
    orders = _sorted_page(
        request,
        orders_with_product(product.pk),
        sort="-placed_at",
        limit=RECENT_ORDERS_PAGE_SIZE,
    )
    context = {
        "product": product,
        "stock_tone": STOCK_TONES.get(product.stock_status, ""),
        "category_path": category_path(product.category_id),
        "page": orders,
        "orders": _with_tones(orders.items),
        # Shown as a link only: the page never loads a picture from another host.
        "image_link": _web_link(product.image_url),
        "shop_link": _web_link(product.url),
    }
    return render_page(request, "web/commerce/product_detail.html", "orders", context)


@requires(Permission.CATALOG_VIEW)
def product_sales_figures(request: HttpRequest, product_id: int) -> HttpResponse:
    """The product page's sales figures, which the page loads after it shows."""
    try:
        product = product_get_by_id(product_id)
    except NotFound as error:
        raise Http404(error.message) from error
    context = {"product": product, "sales": product_sales(product.pk)}
    return render(request, "web/commerce/product_detail.html#sales", context)


def _web_link(url: str) -> str:
    """The URL if it is safe to link to (http or https), else empty: shown as text instead."""
    return url if url.lower().startswith(("https://", "http://")) else ""


@requires(Permission.CATALOG_VIEW)
def product_by_sku(request: HttpRequest, sku: str) -> HttpResponse:
    try:
        product = product_get(sku)
    except NotFound as error:
        raise Http404(error.message) from error
    return redirect(reverse("web:product_detail", kwargs={"product_id": product.pk}))


urlpatterns = [
    path("orders/", order_list, name="order_list"),
    path("orders/<int:order_id>/", order_detail, name="order_detail"),
    path("orders/<int:order_id>/refund/", order_refund_confirm, name="order_refund"),
    path("orders/<int:order_id>/cancel/", order_cancel_confirm, name="order_cancel"),
    path("products/", product_list, name="product_list"),
    path("products/<int:product_id>/", product_detail, name="product_detail"),
    path("products/<int:product_id>/sales/", product_sales_figures, name="product_sales"),
    path("products/sku/<path:sku>/", product_by_sku, name="product_by_sku"),
]
