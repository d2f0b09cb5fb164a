"""Patron: a self-hosted CRM built on customer psychology."""

__version__ = "0.1.0"
