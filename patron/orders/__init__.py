"""Orders, order lines, refunds and carts."""
