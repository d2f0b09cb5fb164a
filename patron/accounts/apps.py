"""Django app config for accounts: registers the audit handler other apps reach by hook."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "patron.accounts"
    label = "accounts"

    def ready(self) -> None:
        from patron.accounts.services.audit import audit_record_from_hook
        from patron.core import hooks

        hooks.register(hooks.AUDIT_RECORD, audit_record_from_hook)
