"""Customers, identities, companies, tags, notes, milestones and custom attributes."""
