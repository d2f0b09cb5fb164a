"""Django app config for catalog."""

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "patron.catalog"
    label = "catalog"
