"""Workspace pages, one module per area; web is the only layer that may read every app."""
