"""Signing in and out, passwords, staff users, API keys and the audit log."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from patron.accounts.permissions import Permission
from patron.web.access import requires


@requires(Permission.DASHBOARD_VIEW)
def password_change(request: HttpRequest) -> HttpResponse:
    return render(request, "web/placeholder.html", {"heading": "Change password"})


@requires(Permission.USERS_MANAGE)
def user_list(request: HttpRequest) -> HttpResponse:
    return render(request, "web/placeholder.html", {"heading": "Staff"})


@requires(Permission.API_KEYS_MANAGE)
def api_key_list(request: HttpRequest) -> HttpResponse:
    return render(request, "web/placeholder.html", {"heading": "API keys"})


@requires(Permission.AUDIT_VIEW)
def audit_log(request: HttpRequest) -> HttpResponse:
    return render(request, "web/placeholder.html", {"heading": "Audit log"})


urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password/", password_change, name="password_change"),
    path("settings/staff/", user_list, name="user_list"),
    path("settings/api-keys/", api_key_list, name="api_key_list"),
    path("settings/audit/", audit_log, name="audit_log"),
]
