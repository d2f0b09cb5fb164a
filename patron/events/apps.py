"""Django app config for events: registers the handlers events keeps for lower apps' hooks."""

from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "patron.events"
    label = "events"

    def ready(self) -> None:
        from patron.core import hooks
        from patron.customers.services.merge import CUSTOMER_MERGED
        from patron.events.services import reassign

        hooks.register(CUSTOMER_MERGED, reassign.on_customer_merged)
