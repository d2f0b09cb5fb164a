"""URL map: /v1 Segment-compatible ingestion, /api REST, and the workspace."""

from __future__ import annotations

from django.urls import include, path

from patron.config.api import api

urlpatterns = [
    path("v1/", include("patron.events.ingest_urls")),
    path("api/", api.urls),
    path("", include("patron.web.urls")),
]

# Styled pages that say what went wrong; under /api/ and /v1/ they answer JSON instead.
# A 500 uses Django's own handler: 500.html needs neither the database nor the request.
handler403 = "patron.web.views.access.permission_denied"
handler404 = "patron.web.views.access.page_not_found"
