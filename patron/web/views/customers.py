"""The customer list: search, filters, sorting, saved views, bulk tagging and CSV export."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from patron.accounts.permissions import Permission
from patron.web.access import requires


@requires(Permission.CUSTOMERS_VIEW)
def customer_list(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return render(request, "web/placeholder.html", {"heading": "Customers"})


urlpatterns = [
    path("customers/", customer_list, name="customer_list"),
]
