"""Signing in and out, passwords, staff users, API keys, the audit log and the error pages."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import path, reverse, reverse_lazy
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from patron.accounts.models import AuditEntry
from patron.accounts.permissions import Permission
from patron.accounts.selectors import (
    api_key_get,
    api_key_list,
    audit_list,
    audit_list_for_subject,
    user_admin_names,
    user_get,
    user_list,
)
from patron.accounts.services.keys import api_key_create, api_key_revoke
from patron.accounts.services.logins import client_address, password_reset_completed_record
from patron.accounts.services.users import (
    user_deactivate,
    user_invitation_resend,
    user_invite,
    user_reactivate,
    user_role_change,
)
from patron.core.errors import NotFound, PatronError, ValidationFailed
from patron.core.pagination import Page, keyset_page
from patron.web.access import requires, staff_actor, staff_user
from patron.web.forms.access import (
    ApiKeyFilterForm,
    ApiKeyForm,
    AuditFilterForm,
    InviteForm,
    PasswordChangeForm,
    PasswordResetForm,
    RoleForm,
    SetPasswordForm,
    SignInForm,
    UserFilterForm,
)
from patron.web.pages import render_page, service_errors_show

PAGE_SIZE = 50
# A long changes value (a whole imported row) would push the table off screen; the start is
# enough to recognise it.
_CHANGES_SUMMARY_LENGTH = 240
# Paths answered by the APIs: their errors stay JSON even when Django produces them.
_JSON_PREFIXES = ("/api/", "/v1/")


def _page(request: HttpRequest, rows: QuerySet[Any], *, newest_first: bool = True) -> Page[Any]:
    """One keyset page; a cursor mangled by hand starts again at the first page."""
    try:
        return keyset_page(
            rows, cursor=request.GET.get("cursor"), limit=PAGE_SIZE, newest_first=newest_first
        )
    except ValidationFailed:
        return keyset_page(rows, cursor=None, limit=PAGE_SIZE, newest_first=newest_first)


# Sign-in, sign-out, passwords.


class SignInView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    """Changing the password signs every other session out (their hash no longer matches)."""

    template_name = "web/access/password_change.html"
    form_class = PasswordChangeForm
    success_url = reverse_lazy("web:dashboard")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, "Password changed. Your other sessions are signed out.")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """The answer is the same whether or not the address belongs to anyone."""

    template_name = "web/access/password_reset.html"
    form_class = PasswordResetForm
    email_template_name = "web/access/email/password_reset.txt"
    subject_template_name = "web/access/email/password_reset_subject.txt"
    success_url = reverse_lazy("web:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Where both a reset email and an invitation lead: choose a password, then sign in."""

    template_name = "web/access/password_reset_confirm.html"
    form_class = SetPasswordForm
    success_url = reverse_lazy("web:password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        # An invited person has no usable password yet (and Django mails resets only to those
        # who have one), so a usable password here means the link was a reset.
        is_reset = form.user.has_usable_password()
        response = super().form_valid(form)
        if is_reset:
            password_reset_completed_record(user=form.user, address=client_address(self.request))
        return response


_password_change = PasswordChangeView.as_view()


@requires(Permission.DASHBOARD_VIEW)
def password_change(request: HttpRequest) -> HttpResponse:
    """Any signed-in role may change their own password."""
    return cast(HttpResponse, _password_change(request))


# Staff users.


@requires(Permission.USERS_MANAGE)
def user_list_page(request: HttpRequest) -> HttpResponse:
    form = UserFilterForm(request.GET)
    page = _page(request, user_list(form.filters()), newest_first=form.is_newest_first())
    is_filtered = any(request.GET.get(name) for name in ("q", "role", "status"))
    context = {"form": form, "page": page, "is_filtered": is_filtered}
    return render_page(request, "web/access/user_list.html", "results", context)


def _password_link(request: HttpRequest) -> Any:
    def link(uidb64: str, token: str) -> str:
        relative = reverse("web:password_reset_confirm", kwargs={"uidb64": uidb64, "token": token})
        return request.build_absolute_uri(relative)

    return link


@requires(Permission.USERS_MANAGE)
def user_invite_page(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_invite(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                actor=staff_actor(request),
                password_link=_password_link(request),
            )
        except PatronError as error:
            service_errors_show(form, error)
        else:
            messages.success(
                request, f"Invited {user.username}: an email with a link went to {user.email}."
            )
            return redirect("web:user_detail", user_id=user.pk)
    status = 400 if form.errors else 200
    return render(request, "web/access/user_invite.html", {"form": form}, status=status)


def _user_page(
    request: HttpRequest, user_id: int, role_form: RoleForm | None = None, status: int = 200
) -> HttpResponse:
    try:
        member = user_get(user_id)
    except NotFound as error:
        raise _not_found(error) from error
    context = {
        "member": member,
        "role_form": role_form or RoleForm(initial={"role": member.role}),
        "is_self": member.pk == staff_user(request).pk,
        "history": [
            _audit_row(entry)
            for entry in audit_list_for_subject(
                subject_type="user", subject_id=str(member.pk), limit=20
            )
        ],
    }
    return render(request, "web/access/user_detail.html", context, status=status)


@requires(Permission.USERS_MANAGE)
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    return _user_page(request, user_id)


@requires(Permission.USERS_MANAGE)
@require_POST
def user_role(request: HttpRequest, user_id: int) -> HttpResponse:
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            member = user_role_change(
                user_id=user_id,
                role=form.cleaned_data["role"],
                actor=staff_actor(request),
                acting_user_id=staff_user(request).pk,
            )
        except NotFound as error:
            raise _not_found(error) from error
        except PatronError as error:
            service_errors_show(form, error)
        else:
            messages.success(request, f"{member.username} is now {member.get_role_display()}.")
            return redirect("web:user_detail", user_id=user_id)
    return _user_page(request, user_id, role_form=form, status=400)


@requires(Permission.USERS_MANAGE)
@require_POST
def user_activation(request: HttpRequest, user_id: int) -> HttpResponse:
    is_active = request.POST.get("active") == "1"
    try:
        if is_active:
            member = user_reactivate(user_id=user_id, actor=staff_actor(request))
            messages.success(request, f"{member.username} can sign in again.")
        else:
            member = user_deactivate(
                user_id=user_id, actor=staff_actor(request), acting_user_id=staff_user(request).pk
            )
            messages.success(
                request, f"{member.username} is deactivated and signed out everywhere."
            )
    except NotFound as error:
        raise _not_found(error) from error
    except PatronError as error:
        messages.error(request, error.message[:1].upper() + error.message[1:] + ".")
    return redirect("web:user_detail", user_id=user_id)


@requires(Permission.USERS_MANAGE)
@require_POST
def user_invitation(request: HttpRequest, user_id: int) -> HttpResponse:
    try:
        member = user_invitation_resend(
            user_id=user_id, actor=staff_actor(request), password_link=_password_link(request)
        )
    except NotFound as error:
        raise _not_found(error) from error
    except PatronError as error:
        messages.error(request, error.message[:1].upper() + error.message[1:] + ".")
    else:
        messages.success(request, f"A new invitation went to {member.email}.")
    return redirect("web:user_detail", user_id=user_id)


# API keys.


@requires(Permission.API_KEYS_MANAGE)
def api_key_list_page(request: HttpRequest) -> HttpResponse:
    form = ApiKeyFilterForm(request.GET)
    page = _page(request, api_key_list(form.filters()), newest_first=form.is_newest_first())
    is_filtered = any(request.GET.get(name) for name in ("q", "status"))
    context = {"form": form, "page": page, "is_filtered": is_filtered}
    return render_page(request, "web/access/api_key_list.html", "results", context)


@requires(Permission.API_KEYS_MANAGE)
def api_key_new(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = api_key_create(
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                actor=staff_actor(request),
                created_by=staff_user(request),
            )
        except PatronError as error:
            for problem in error.problems:
                field = "scopes" if problem.field == "scope" else problem.field
                form.add_error(field if field in form.fields else None, problem.message)
        else:
            # Rendered, not redirected: the secret exists only in this response, which no
            # browser or proxy may keep.
            response = render(request, "web/access/api_key_created.html", {"created": created})
            add_never_cache_headers(response)
            return response
    status = 400 if form.errors else 200
    return render(request, "web/access/api_key_new.html", {"form": form}, status=status)


@requires(Permission.API_KEYS_MANAGE)
def api_key_revoke_page(request: HttpRequest, key_id: int) -> HttpResponse:
    try:
        key = api_key_get(key_id)
    except NotFound as error:
        raise _not_found(error) from error
    if request.method == "POST":
        if key.is_active:
            api_key_revoke(key=key, actor=staff_actor(request))
            messages.success(request, f"Revoked {key.name}: programs using it are refused now.")
        else:
            messages.info(request, f"{key.name} was already revoked.")
        return redirect("web:api_key_list")
    return render(request, "web/access/api_key_revoke.html", {"key": key})


# The audit log.

# Suggestions for the action filter; typed prefixes work for actions not listed.
AUDIT_ACTION_SUGGESTIONS = (
    "login.",
    "login.failed",
    "login.throttled",
    "logout",
    "password_reset.",
    "permission.denied",
    "user.",
    "api_key.",
    "source.",
    "customer.",
    "export",
)


@dataclass(frozen=True)
class AuditRow:
    entry: AuditEntry
    changes: str


def _compact(value: Any) -> str:
    if isinstance(value, list) and len(value) == 2:
        return f"{_compact(value[0])} → {_compact(value[1])}"
    if isinstance(value, str):
        return value
    if value is None:
        return "—"
    return json.dumps(value, default=str, ensure_ascii=False)


def _changes_summary(changes: Any) -> str:
    """field: before → after; … — one line a person can scan."""
    if not isinstance(changes, Mapping):
        text = _compact(changes)
    else:
        text = "; ".join(f"{key}: {_compact(value)}" for key, value in changes.items())
    if len(text) > _CHANGES_SUMMARY_LENGTH:
        return text[: _CHANGES_SUMMARY_LENGTH - 1] + "…"
    return text


def _audit_row(entry: AuditEntry) -> AuditRow:
    return AuditRow(entry=entry, changes=_changes_summary(entry.changes))


@requires(Permission.AUDIT_VIEW)
def audit_log_page(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    form.is_valid()
    page = _page(request, audit_list(form.filters()))
    fields = ("actor", "action", "subject_type", "customer", "date_from", "date_to")
    context = {
        "form": form,
        "page": page,
        "rows": [_audit_row(entry) for entry in page.items],
        "is_filtered": any(request.GET.get(name) for name in fields),
        "action_suggestions": AUDIT_ACTION_SUGGESTIONS,
    }
    response = render_page(request, "web/access/audit_log.html", "results", context)
    response.status_code = 400 if form.errors else 200
    return response


# Error pages (config/urls.py points handler403 and handler404 here).


def _not_found(error: NotFound) -> Http404:
    return Http404(error.message)


def _json_error(status: int, code: str, message: str) -> HttpResponse:
    body = json.dumps({"code": code, "message": message})
    return HttpResponse(body, status=status, content_type="application/json")


# How many admins the 403 page names: enough to find one who is at work today.
_ADMINS_NAMED = 3


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 403 page: what the role lacks (deny()'s message) and whom to ask for it."""
    message = str(exception or "") or "Your role does not allow this page."
    if request.path.startswith(_JSON_PREFIXES):
        return _json_error(403, "forbidden", message)
    context = {"message": message, "admins": user_admin_names(limit=_ADMINS_NAMED)}
    body = loader.render_to_string("403.html", context, request)
    return HttpResponse(body, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith(_JSON_PREFIXES):
        return _json_error(404, "not_found", f"nothing at {request.path}")
    body = loader.render_to_string("404.html", {"path": request.path}, request)
    return HttpResponse(body, status=404)


urlpatterns = [
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="web/access/password_reset_done.html"
        ),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="web/access/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path(
        "account/password/",
        password_change,
        name="password_change",
    ),
    path("settings/staff/", user_list_page, name="user_list"),
    path("settings/staff/invite/", user_invite_page, name="user_invite"),
    path("settings/staff/<int:user_id>/", user_detail, name="user_detail"),
    path("settings/staff/<int:user_id>/role/", user_role, name="user_role"),
    path("settings/staff/<int:user_id>/activation/", user_activation, name="user_activation"),
    path("settings/staff/<int:user_id>/invitation/", user_invitation, name="user_invitation"),
    path("settings/api-keys/", api_key_list_page, name="api_key_list"),
    path("settings/api-keys/new/", api_key_new, name="api_key_new"),
    path("settings/api-keys/<int:key_id>/revoke/", api_key_revoke_page, name="api_key_revoke"),
    path("settings/audit/", audit_log_page, name="audit_log"),
]
