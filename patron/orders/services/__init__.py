"""Writes for orders and carts."""
