"""What every workspace view shares: whether htmx asked for a region, rendering a page or
that region, and a service's problems shown next to the form fields they name."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from patron.core.errors import PatronError


def is_htmx(request: HttpRequest) -> bool:
    """An htmx request for a region. A history restore (the back button after htmx's cache
    is gone) wants the whole page, so it does not count."""
    # django-htmx's middleware sets request.htmx; HttpRequest's type does not know it.
    details: Any = getattr(request, "htmx", None)
    return bool(details) and not details.history_restore_request


def render_page(
    request: HttpRequest, template: str, region: str, context: dict[str, Any]
) -> HttpResponse:
    """The full page, or only its named partial when htmx swaps that region: one template
    renders both, so a swap shows the same markup as a full load."""
    return render(request, f"{template}#{region}" if is_htmx(request) else template, context)


def service_errors_show(form: forms.Form, error: PatronError) -> None:
    """A service's problems next to the fields they name; the rest above the form."""
    for problem in error.problems:
        form.add_error(problem.field if problem.field in form.fields else None, problem.message)
