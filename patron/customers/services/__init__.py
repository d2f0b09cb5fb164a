"""Writes for customers, split by sub-domain: profile, identities, attributes, companies, merge."""
