"""Consent ledger writes that follow a customer: moving records when two customers merge."""

from __future__ import annotations

from patron.customers.services.merge import CustomerMerge
from patron.privacy.models import ConsentRecord


def on_customer_merged(*, merge: CustomerMerge) -> None:
    """CUSTOMER_MERGED handler: the source's consent history becomes the target's.

    Records keep their own times, so the latest record per purpose and channel across both
    people is what is in force after the merge.
    """
    ConsentRecord.objects.filter(customer_id=merge.source_id).update(customer_id=merge.target_id)
