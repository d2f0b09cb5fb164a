"""Writes for accounts, split by sub-domain: keys, audit, users."""
