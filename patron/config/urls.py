"""URL map: /v1 Segment-compatible ingestion, /api REST, and the workspace."""

from __future__ import annotations

from django.urls import include, path

from patron.config.api import api

urlpatterns = [
    path("v1/", include("patron.events.ingest_urls")),
    path("api/", api.urls),
    path("", include("patron.web.urls")),
]
