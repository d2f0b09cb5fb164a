"""The demo shop generator: a believable skincare and wellness web shop, bulk-loaded."""
