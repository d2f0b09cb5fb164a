"""Django app config for insights: rescoring customers when lower apps report new facts."""

from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "patron.insights"
    label = "insights"

    def ready(self) -> None:
        from patron.core import hooks
        from patron.events.services.ingest import EVENTS_STORED
        from patron.insights.services.incremental import on_customers_changed
        from patron.orders.services.figures import CUSTOMER_ORDERS_CHANGED

        hooks.register(EVENTS_STORED, on_customers_changed)
        hooks.register(CUSTOMER_ORDERS_CHANGED, on_customers_changed)
