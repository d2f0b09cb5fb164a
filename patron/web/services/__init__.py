"""Writes to what the workspace itself stores (saved views), one module per concern."""
