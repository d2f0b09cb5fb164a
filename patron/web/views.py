"""Workspace pages of the shell."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from patron.web.selectors import installation_stats


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html", {"stats": installation_stats()})
