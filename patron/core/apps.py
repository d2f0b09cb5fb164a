"""Django app config for core."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "patron.core"
    label = "core"
