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
    sections = []
    for section in NAVIGATION:
        links = []
        for entry in section.entries:
            if entry.permission not in allowed:
                continue
            url = reverse(entry.url_name)
            is_current = request.path == url or (url != "/" and request.path.startswith(url))
            links.append(MenuLink(entry.label, url, is_current))
        if links:
            sections.append((section.title, links))
    # {% if can.CUSTOMERS_EDIT %} hides a button the role could not use anyway.
    return {
        "navigation": sections,
        "can": {permission.name: permission in allowed for permission in Permission},
    }
