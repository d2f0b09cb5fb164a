"""Writes for the catalog."""
