"""Django app config for privacy."""

from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "patron.privacy"
    label = "privacy"
