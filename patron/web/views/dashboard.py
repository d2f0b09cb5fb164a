"""The dashboard: revenue, orders, customers and cohorts over a chosen period."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from patron.accounts.permissions import Permission
from patron.web.access import requires
from patron.web.selectors import installation_stats


@requires(Permission.DASHBOARD_VIEW)
def dashboard(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return render(request, "web/home.html", {"stats": installation_stats()})


urlpatterns = [
    path("", dashboard, name="dashboard"),
]
