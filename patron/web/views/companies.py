"""Companies (B2B accounts): list and account page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from patron.accounts.permissions import Permission
from patron.web.access import requires


@requires(Permission.COMPANIES_VIEW)
def company_list(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return render(request, "web/placeholder.html", {"heading": "Companies"})


urlpatterns = [
    path("companies/", company_list, name="company_list"),
]
