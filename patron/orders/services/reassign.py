"""Moving a merged-away customer's orders and carts to the customer they were merged into."""

from __future__ import annotations

from patron.customers.services.merge import CustomerMerge
from patron.orders.models import Cart, Order
from patron.orders.services.figures import customer_order_figures_refresh


def on_customer_merged(*, merge: CustomerMerge) -> None:
    """CUSTOMER_MERGED handler: runs inside the merge's transaction, before the delete."""
    # updated_at moves too: the dashboard's incremental refresh finds changed orders by it, and
    # a merged customer's orders change who counts as new and who as returning.
    Order.objects.filter(customer_id=merge.source_id).update(
        customer_id=merge.target_id, updated_at=merge.at
    )
    Cart.objects.filter(customer_id=merge.source_id).update(
        customer_id=merge.target_id, updated_at=merge.at
    )
    # Both: the source row is deleted after this, but until then it must not claim the orders.
    customer_order_figures_refresh([merge.source_id, merge.target_id])
