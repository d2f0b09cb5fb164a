"""Validation on the demo shop, whose customers re-buy each product on a known personal cycle:
the per-product replenishment dates beat a customer-level average interval, and the purchase
predictions track a holdout."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from patron.core import clock
from patron.core.actors import Actor
from patron.demo.services import demo_data_load
from patron.insights.models import CustomerInsight, ReplenishmentDue
from patron.insights.services import runs
from patron.insights.services.holdout import holdout_result
from patron.orders.models import OrderLine, OrderStatus

SYSTEM = Actor.system("demo validation")
CUSTOMERS = 2_000
HOLDOUT_DAYS = 120


@pytest.fixture
def demo_shop(db: None) -> None:
    demo_data_load(customers=CUSTOMERS, seed=7)


def _first_purchase_after(as_of_seconds: float) -> dict[tuple[int, int], float]:
    """(customer, product) -> the first day (epoch days) the pair was bought after as_of."""
    rows = (
        OrderLine.objects.filter(
            order__placed_at__gt=clock.now() - timedelta(days=HOLDOUT_DAYS),
            product__isnull=False,
        )
        .exclude(order__status__in=(OrderStatus.CANCELLED, OrderStatus.REFUNDED))
        .values_list("order__customer_id", "product_id", "order__placed_at")
    )
    first: dict[tuple[int, int], float] = {}
    for customer_id, product_id, placed_at in rows:
        day = placed_at.timestamp() / 86_400
        if day * 86_400 > as_of_seconds:
            key = (customer_id, product_id)
            first[key] = min(first.get(key, day), day)
    return first


def test_replenishment_dates_beat_a_customer_level_average_interval(demo_shop) -> None:
    # given insights computed as of the start of a holdout
    as_of = clock.now() - timedelta(days=HOLDOUT_DAYS)
    options = runs.refresh_options(as_of=as_of)
    runs.run_execute(runs.run_create(options=options, actor=SYSTEM), options)
    actual = _first_purchase_after(as_of.timestamp())
    mean_interval = {
        customer_id: float(days)
        for customer_id, days in CustomerInsight.objects.filter(
            mean_days_between_orders__isnull=False
        ).values_list("customer_id", "mean_days_between_orders")
        if days is not None
    }
    # when each re-bought pair's due date and the customer-level guess are compared with the
    # day the customer actually bought the product again
    ours, baseline = [], []
    for due in ReplenishmentDue.objects.all():
        key = (due.customer_id, due.product_id)
        if key not in actual or due.customer_id not in mean_interval:
            continue
        last_day = due.last_purchased_at.timestamp() / 86_400
        ours.append(abs(due.due_at.timestamp() / 86_400 - actual[key]))
        baseline.append(abs(last_day + mean_interval[due.customer_id] - actual[key]))
    # then
    ours_error, baseline_error = float(np.mean(ours)), float(np.mean(baseline))
    print(
        f"replenishment MAE over {len(ours)} re-bought pairs: {ours_error:.1f} days "
        f"(customer-level average interval: {baseline_error:.1f} days)"
    )
    assert len(ours) >= 300
    assert ours_error < baseline_error


def test_purchase_predictions_track_the_demo_holdout(demo_shop) -> None:
    # when
    result = holdout_result(clock.now() - timedelta(days=HOLDOUT_DAYS), clock.now())
    # then
    assert result["is_enough_data"] is True
    predicted, actual = float(result["predicted_total"]), float(result["actual_total"])  # type: ignore[arg-type]
    print(f"demo holdout: predicted {predicted:,.0f} purchase days, actual {actual:,.0f}")
    assert actual > 1_000
    assert 0.75 < predicted / actual < 1.25
    assert result["auc_churn_score"] >= result["auc_probability_alive"]  # type: ignore[operator]
