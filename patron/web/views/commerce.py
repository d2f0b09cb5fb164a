"""Orders and products: lists with filters and detail pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from patron.accounts.permissions import Permission
from patron.web.access import requires


@requires(Permission.ORDERS_VIEW)
def order_list(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return render(request, "web/placeholder.html", {"heading": "Orders"})


@requires(Permission.CATALOG_VIEW)
def product_list(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return render(request, "web/placeholder.html", {"heading": "Products"})


urlpatterns = [
    path("orders/", order_list, name="order_list"),
    path("products/", product_list, name="product_list"),
]
