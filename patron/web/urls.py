"""Workspace URLs: each area's module lists its own pages."""

from __future__ import annotations

from patron.web.views import (
    access,
    commerce,
    companies,
    customer_page,
    customers,
    dashboard,
    data,
    insights,
    merge,
)

app_name = "web"

# merge before customer_page: customers/duplicates/ must not be read as a customer id.
urlpatterns = [
    *access.urlpatterns,
    *dashboard.urlpatterns,
    *merge.urlpatterns,
    *customers.urlpatterns,
    *customer_page.urlpatterns,
    *companies.urlpatterns,
    *commerce.urlpatterns,
    *data.urlpatterns,
    *insights.urlpatterns,
]
