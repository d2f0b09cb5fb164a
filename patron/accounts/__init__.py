"""Workspace users, roles, API keys, source write keys and the audit of every write."""
