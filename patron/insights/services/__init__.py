"""Writes and rules of the insights app, one module per concern."""
