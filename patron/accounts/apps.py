"""Django app config for accounts: the audit hook other apps call, and sign-in signal receivers."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig


def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from patron.accounts.services.logins import client_address, login_succeeded_record

    login_succeeded_record(user=user, address=client_address(request))


def _login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    from patron.accounts.services.logins import client_address, login_failed_record

    # Django has already masked the password in credentials; only the name is read.
    login_failed_record(
        username=str(credentials.get("username") or ""), address=client_address(request)
    )


def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from patron.accounts.services.logins import client_address, logout_record

    if user is not None and user.is_authenticated:
        logout_record(user=user, address=client_address(request))


class AccountsConfig(AppConfig):
    name = "patron.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.contrib.auth import signals

        from patron.accounts.services.audit import audit_record_from_hook
        from patron.core import hooks

        hooks.register(hooks.AUDIT_RECORD, audit_record_from_hook)
        signals.user_logged_in.connect(_logged_in, dispatch_uid="patron.accounts.logged_in")
        signals.user_login_failed.connect(
            _login_failed, dispatch_uid="patron.accounts.login_failed"
        )
        signals.user_logged_out.connect(_logged_out, dispatch_uid="patron.accounts.logged_out")
