"""Mechanism shared by every app: base model, actors, clock, errors, pagination, hooks."""
