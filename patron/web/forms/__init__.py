"""Workspace forms, one module per area: parse and validate input before a service runs."""
