"""The event store and its ingestion: Segment-compatible API, CSV import, identity resolution."""
