"""The helpers every workspace view shares: which requests get only a region."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django_htmx.middleware import HtmxMiddleware

from patron.web.pages import is_htmx


def _through_middleware(headers: dict[str, str]) -> HttpRequest:
    request = RequestFactory().get("/customers/", headers=headers)
    HtmxMiddleware(lambda request: HttpResponse())(request)
    return request


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, False),
        ({"HX-Request": "true"}, True),
        # The back button after htmx's history cache is gone: the whole page, not a region.
        ({"HX-Request": "true", "HX-History-Restore-Request": "true"}, False),
    ],
)
def test_only_an_htmx_swap_asks_for_a_region(headers, expected):
    assert is_htmx(_through_middleware(headers)) is expected


def test_a_request_that_never_met_the_middleware_is_a_full_page():
    assert is_htmx(RequestFactory().get("/")) is False
