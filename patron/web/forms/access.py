"""Forms of the access pages: sign-in with throttling, passwords, staff, API keys, audit filters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.utils import timezone

from patron.accounts.models import Role, Scope, User
from patron.accounts.selectors import ApiKeyFilters, AuditFilters, UserFilters
from patron.accounts.services.keys import actor_for_user
from patron.accounts.services.logins import (
    client_address,
    login_throttle_get,
    login_throttled_record,
    password_reset_requested_record,
    password_reset_throttle_get,
    password_reset_throttled_record,
)
from patron.accounts.services.users import user_password_set


class SignInForm(auth_forms.AuthenticationForm):
    """Django's sign-in, refused outright while too many recent attempts failed.

    The check comes before the password is tried, so even the right password is refused: a
    guesser learns nothing from the answer while the lock holds.
    """

    def clean(self) -> dict[str, Any]:
        username = str(self.cleaned_data.get("username") or "")
        address = client_address(self.request)
        throttle = login_throttle_get(username=username, address=address)
        if throttle is not None:
            login_throttled_record(username=username, address=address, throttle=throttle)
            retry_at = timezone.localtime(throttle.retry_at)
            raise forms.ValidationError(
                "Too many failed sign-ins. Try again after %(time)s UTC, or reset your password.",
                code="throttled",
                params={"time": retry_at.strftime("%H:%M")},
            )
        return super().clean()


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Saving goes through the audited service; the view keeps the current session signed in."""

    def save(self, commit: bool = True) -> User:
        user: User = self.user
        user_password_set(
            user=user,
            password=self.cleaned_data["new_password1"],
            actor=actor_for_user(user),
            action="user.password_changed",
        )
        return user


class SetPasswordForm(auth_forms.SetPasswordForm):
    """The form behind an emailed link (invitation or reset)."""

    def save(self, commit: bool = True) -> User:
        user: User = self.user
        user_password_set(
            user=user,
            password=self.cleaned_data["new_password1"],
            actor=actor_for_user(user),
            action="user.password_set",
        )
        return user


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset request, audited and throttled per typed email and per client address.

    Throttling happens at save, after the form is valid, so the page answers a refused request
    exactly as it answers a known or an unknown address: only the mail is not sent.
    """

    def save(self, *args: Any, **kwargs: Any) -> None:
        email = str(self.cleaned_data["email"])
        address = client_address(kwargs.get("request"))
        throttle = password_reset_throttle_get(email=email, address=address)
        if throttle is not None:
            password_reset_throttled_record(email=email, address=address, throttle=throttle)
            return
        password_reset_requested_record(email=email, address=address)
        super().save(*args, **kwargs)


class InviteForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="What they type to sign in.")
    email = forms.EmailField(max_length=254, help_text="The invitation goes here.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


_STATUS_CHOICES = [("", "Any status"), ("active", "Active"), ("inactive", "Deactivated")]
_ORDER_CHOICES = [("newest", "Newest first"), ("oldest", "Oldest first")]


def _status(value: str) -> bool | None:
    return {"active": True, "inactive": False, "revoked": False}.get(value)


class UserFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", max_length=150)
    role = forms.ChoiceField(required=False, choices=[("", "Any role"), *Role.choices])
    status = forms.ChoiceField(required=False, choices=_STATUS_CHOICES)
    order = forms.ChoiceField(required=False, choices=_ORDER_CHOICES, label="Sort")

    def filters(self) -> UserFilters:
        data = self.cleaned_data if self.is_valid() else {}
        return UserFilters(
            search=str(data.get("q") or "").strip(),
            role=str(data.get("role") or ""),
            is_active=_status(str(data.get("status") or "")),
        )

    def is_newest_first(self) -> bool:
        return not self.is_valid() or self.cleaned_data.get("order") != "oldest"


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=120, help_text="Who uses it, so you know what breaks when you revoke it."
    )
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Give a key only what its program needs.",
    )


class ApiKeyFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", max_length=120)
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Any status"), ("active", "Active"), ("revoked", "Revoked")],
    )
    order = forms.ChoiceField(required=False, choices=_ORDER_CHOICES, label="Sort")

    def filters(self) -> ApiKeyFilters:
        data = self.cleaned_data if self.is_valid() else {}
        return ApiKeyFilters(
            search=str(data.get("q") or "").strip(),
            is_active=_status(str(data.get("status") or "")),
        )

    def is_newest_first(self) -> bool:
        return not self.is_valid() or self.cleaned_data.get("order") != "oldest"


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=255, help_text="Part of a name")
    action = forms.CharField(
        required=False, max_length=64, help_text="An action or its start, e.g. login."
    )
    subject_type = forms.CharField(required=False, max_length=64, label="Subject type")
    customer = forms.IntegerField(required=False, min_value=1, label="Customer id")
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "must be on or after the From date")
        return cleaned

    def filters(self) -> AuditFilters:
        # Fields with errors are left out; the page shows the errors next to them.
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return AuditFilters(
            actor=str(data.get("actor") or "").strip(),
            action=str(data.get("action") or "").strip(),
            subject_type=str(data.get("subject_type") or "").strip(),
            customer_id=data.get("customer"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
