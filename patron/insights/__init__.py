"""Per-customer scores and predictions, each with its confidence and reasons."""
