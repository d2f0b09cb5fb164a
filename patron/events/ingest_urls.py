"""The /v1 routes of the Segment HTTP Tracking API, with its one-letter short forms.

A trailing slash is accepted rather than redirected, because Segment clients treat a
redirect as a failure; any other path answers JSON 404.
"""

from __future__ import annotations

from django.urls import URLPattern, re_path

from patron.events import views

urlpatterns: list[URLPattern] = [
    re_path(r"^(?:batch|import|b)/?$", views.batch, name="ingest-batch"),
    re_path(r"^(?:identify|i)/?$", views.identify, name="ingest-identify"),
    re_path(r"^(?:track|t)/?$", views.track, name="ingest-track"),
    re_path(r"^(?:page|p)/?$", views.page, name="ingest-page"),
    re_path(r"^(?:screen|s)/?$", views.screen, name="ingest-screen"),
    re_path(r"^(?:group|g)/?$", views.group, name="ingest-group"),
    re_path(r"^(?:alias|a)/?$", views.alias, name="ingest-alias"),
    re_path(
        r"^projects/(?P<write_key>[^/]+)/settings/?$",
        views.project_settings,
        name="ingest-settings",
    ),
    re_path(r"^.*$", views.not_found, name="ingest-not-found"),
]
