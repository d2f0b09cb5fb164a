"""Template helpers shared by workspace pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.http import HttpRequest

register = template.Library()


@register.simple_tag
def query_replace(request: HttpRequest, **changes: Any) -> str:
    """The current query string with some parameters replaced (None removes one), encoded."""
    query = request.GET.copy()
    for name, value in changes.items():
        if value is None or value == "":
            query.pop(name, None)
        else:
            query[name] = value
    return query.urlencode()
