"""The consent ledger and data-subject rights."""
