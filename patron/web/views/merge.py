"""Likely duplicate customers and merging them."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from patron.accounts.permissions import Permission
from patron.web.access import requires


@requires(Permission.CUSTOMERS_MERGE)
def duplicate_list(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return render(request, "web/placeholder.html", {"heading": "Duplicates"})


urlpatterns = [
    path("customers/duplicates/", duplicate_list, name="duplicate_list"),
]
