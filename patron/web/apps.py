"""Django app config for web: registers the customer page's built-in panels and timeline."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "patron.web"
    label = "web"

    def ready(self) -> None:
        from patron.web.timeline import built_in_sources_register
        from patron.web.views.customer_page import built_in_panels_register
        from patron.web.views.insights import predictions_panel_register

        built_in_panels_register()
        predictions_panel_register()
        built_in_sources_register()
