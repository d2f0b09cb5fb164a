"""Reasons in words written from stored figures (no database: unsaved rows)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from patron.insights.models import ReplenishmentDue
from patron.insights.reasons import replenishment_reason

AS_OF = datetime(2026, 6, 30, tzinfo=UTC)


def due(**fields: object) -> ReplenishmentDue:
    values: dict[str, object] = {
        "purchase_count": 4,
        "units_last": 1,
        "last_purchased_at": AS_OF - timedelta(days=55),
        "customer_cycle_days": 58.0,
        "product_cycle_days": 60.0,
        "expected_cycle_days": 58.0,
        "due_at": AS_OF + timedelta(days=3),
        "state": "due_soon",
        "confidence": "high",
        **fields,
    }
    return ReplenishmentDue(**values)


def test_a_regular_buyer_reads_as_the_issue_writes_it() -> None:
    assert replenishment_reason(due(), "Hydra moisturiser", AS_OF) == (
        "bought Hydra moisturiser 4 times, every 58 days a unit on average; last 55 days ago "
        "→ due in 3 days"
    )


def test_a_blend_that_moves_the_date_is_said_and_a_passed_date_reads_as_ago() -> None:
    text = replenishment_reason(
        due(
            purchase_count=2,
            customer_cycle_days=124.0,
            product_cycle_days=60.0,
            expected_cycle_days=67.0,
            last_purchased_at=AS_OF - timedelta(days=79),
            due_at=AS_OF - timedelta(days=12),
            state="due",
        ),
        "Micellar water",
        AS_OF,
    )
    assert text == (
        "bought Micellar water twice, every 124 days a unit on average (it usually lasts "
        "60 days, so 67 days is expected); last 79 days ago → due 12 days ago"
    )


def test_one_purchase_leans_on_the_product_and_states_name_overdue_and_lapsed() -> None:
    once = due(
        purchase_count=1,
        customer_cycle_days=None,
        units_last=2,
        last_purchased_at=AS_OF - timedelta(days=200),
        due_at=AS_OF - timedelta(days=80),
        state="overdue",
    )
    assert replenishment_reason(once, "Serum", AS_OF) == (
        "bought Serum once, 200 days ago; it usually lasts 120 days → overdue by 80 days"
    )
    once.state = "lapsed"
    assert replenishment_reason(once, "Serum", AS_OF).endswith(
        "→ overdue by 80 days: probably buys it elsewhere now"
    )
