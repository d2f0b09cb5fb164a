"""Django app config for privacy: registers the handlers privacy keeps for lower apps' hooks."""

from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "patron.privacy"
    label = "privacy"

    def ready(self) -> None:
        from patron.core import hooks
        from patron.customers.services.merge import CUSTOMER_MERGED
        from patron.privacy import services

        hooks.register(CUSTOMER_MERGED, services.on_customer_merged)
