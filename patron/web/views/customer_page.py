"""The customer 360 page: profile, identities, notes, figures, products and one timeline."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from patron.accounts.permissions import Permission
from patron.web.access import requires


@requires(Permission.CUSTOMERS_VIEW)
def customer_detail(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return render(request, "web/placeholder.html", {"heading": "Customer"})


urlpatterns = [
    path("customers/<int:customer_id>/", customer_detail, name="customer_detail"),
]
