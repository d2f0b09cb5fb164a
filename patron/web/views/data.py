"""Data in: sources and their write keys, the live event debugger, CSV import."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from patron.accounts.permissions import Permission
from patron.web.access import requires


@requires(Permission.DATA_VIEW)
def source_list(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return render(request, "web/placeholder.html", {"heading": "Sources"})


@requires(Permission.DATA_VIEW)
def event_debugger(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return render(request, "web/placeholder.html", {"heading": "Live events"})


@requires(Permission.DATA_IMPORT)
def import_list(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return render(request, "web/placeholder.html", {"heading": "Import"})


urlpatterns = [
    path("data/sources/", source_list, name="source_list"),
    path("data/events/", event_debugger, name="event_debugger"),
    path("data/imports/", import_list, name="import_list"),
]
