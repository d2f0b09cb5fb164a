"""The events app's commands: CSV import."""
