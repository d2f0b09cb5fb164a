"""Moving a merged-away customer's orders and carts to the customer they were merged into."""

from __future__ import annotations

from patron.customers.services.merge import CustomerMerge
from patron.orders.models import Cart, Order


def on_customer_merged(*, merge: CustomerMerge) -> None:
    """CUSTOMER_MERGED handler: runs inside the merge's transaction, before the delete."""
    Order.objects.filter(customer_id=merge.source_id).update(customer_id=merge.target_id)
    Cart.objects.filter(customer_id=merge.source_id).update(customer_id=merge.target_id)
