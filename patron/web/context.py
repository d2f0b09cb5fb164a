"""Template context every workspace page gets: the menu for this role and what it may do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from patron.accounts.permissions import Permission, role_permissions
from patron.web.navigation import NAVIGATION


@dataclass(frozen=True)
class MenuLink:
    label: str
    url: str
    is_current: bool


def workspace(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"navigation": (), "can": {}}
    allowed = role_permissions(getattr(user, "role", ""))
    visible = [
        (
            section.title,
            [
                (entry.label, reverse(entry.url_name))
                for entry in section.entries
                if entry.permission in allowed
            ],
        )
        for section in NAVIGATION
    ]
    # The longest menu URL the path starts with is the current page: /customers/duplicates/
    # lights up Duplicates, not Customers as well.
    matches = [url for _, links in visible for _, url in links if _is_within(request.path, url)]
    current = max(matches, key=len, default=None)
    sections = [
        (title, [MenuLink(label, url, url == current) for label, url in links])
        for title, links in visible
        if links
    ]
    # {% if can.CUSTOMERS_EDIT %} hides a button the role could not use anyway.
    return {
        "navigation": sections,
        "can": {permission.name: permission in allowed for permission in Permission},
    }


def _is_within(path: str, url: str) -> bool:
    return path == url or (url != "/" and path.startswith(url))
