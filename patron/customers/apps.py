"""Django app config for customers."""

from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "patron.customers"
    label = "customers"
