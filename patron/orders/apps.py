"""Django app config for orders: registers the handlers orders keeps for lower apps' hooks."""

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "patron.orders"
    label = "orders"

    def ready(self) -> None:
        from patron.core import hooks
        from patron.customers.services.merge import CUSTOMER_MERGED
        from patron.orders.services import reassign

        hooks.register(CUSTOMER_MERGED, reassign.on_customer_merged)
