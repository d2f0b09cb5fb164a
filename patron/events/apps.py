"""Django app config for events."""

from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "patron.events"
    label = "events"
