"""Holdout checks: how well the purchase predictions would have done on the shop's own data.

The check cuts the history at the start of a holdout period the user chooses, fits BG/NBD on
what came before, predicts each customer's purchase days in the holdout and compares them with
what happened: totals, the calibration table by past frequency (as in Fader, Hardie and Lee's
figures), and how well the churn score ranks the customers who bought nothing.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np

from patron.core import clock
from patron.core.actors import Actor
from patron.core.errors import ValidationFailed
from patron.insights.estimators import bgnbd, evaluation
from patron.insights.models import HoldoutCheck, RunStatus
from patron.insights.services.gather import DAY_SECONDS, order_summary
from patron.insights.services.refresh import (
    MINIMUM_BUYERS,
    MINIMUM_REPEAT_BUYERS,
    bgnbd_fit_distinct,
    customer_id_ranges,
    lifetime_inputs,
)
from patron.insights.services.runs import staff_user_of
from patron.orders.facts import order_facts

MINIMUM_HOLDOUT_DAYS = 7
MAXIMUM_HOLDOUT_DAYS = 730


def holdout_arrays(start: datetime, end: datetime) -> dict[str, np.ndarray]:
    """Per customer who bought before `start`: x, t_x, T then, and purchase days in (start, end].

    Whole UTC days, as the refresh counts them: a purchase on the day `start` falls in is in
    the holdout.
    """
    start_day = math.floor(start.timestamp() / DAY_SECONDS)
    parts: dict[str, list[np.ndarray]] = {"frequency": [], "recency": [], "age": [], "actual": []}
    for low, high in customer_id_ranges():
        # Only purchase days matter here, not values: no currency is singled out.
        orders = order_facts(customer_low=low, customer_high=high, as_of=end, currency="")
        ids = np.arange(low, high, dtype=np.int64)
        is_before = orders.placed_seconds // DAY_SECONDS < start_day
        before = order_summary(ids, orders.selected(is_before))
        after = order_summary(ids, orders.selected(~is_before))
        buyers = before.order_count > 0
        inputs = lifetime_inputs(before, float(start_day))
        for name in ("frequency", "recency", "age"):
            parts[name].append(inputs[name][buyers])
        parts["actual"].append(after.purchase_days[buyers].astype(np.float64))
    return {
        name: np.concatenate(values) if values else np.zeros(0) for name, values in parts.items()
    }


def holdout_result(start: datetime, end: datetime) -> dict[str, object]:
    """The check's figures, or a clear reason why there are none."""
    arrays = holdout_arrays(start, end)
    frequency, recency, age, actual = (
        arrays["frequency"],
        arrays["recency"],
        arrays["age"],
        arrays["actual"],
    )
    buyers, repeat_buyers = int(frequency.size), int((frequency > 0).sum())
    if buyers < MINIMUM_BUYERS or repeat_buyers < MINIMUM_REPEAT_BUYERS:
        return {
            "is_enough_data": False,
            "reason": f"{buyers:,} customers bought before the holdout, {repeat_buyers:,} of them "
            f"more than once; the check needs {MINIMUM_BUYERS} and {MINIMUM_REPEAT_BUYERS}.",
        }
    fit = bgnbd_fit_distinct(frequency, recency, age)
    horizon = (end - start).total_seconds() / DAY_SECONDS
    predicted = bgnbd.bgnbd_expected_purchases(fit, horizon, frequency, recency, age)
    no_purchase = bgnbd.bgnbd_probability_no_purchase(fit, horizon, frequency, recency, age)
    churn = bgnbd.bgnbd_churn_probability(fit, horizon, frequency, recency, age)
    alive = bgnbd.bgnbd_probability_alive(fit, frequency, recency, age)
    bought_nothing = actual == 0
    is_mixed = 0 < bought_nothing.sum() < bought_nothing.size
    table = evaluation.calibration_by_frequency(frequency, predicted, actual)
    return {
        "is_enough_data": True,
        "parameters": fit.as_dict(),
        "log_likelihood": fit.log_likelihood,
        "customers": buyers,
        "repeat_customers": repeat_buyers,
        "predicted_total": float(predicted.sum()),
        "actual_total": float(actual.sum()),
        "auc_churn_score": evaluation.roc_auc(churn, bought_nothing) if is_mixed else None,
        "auc_probability_no_purchase": evaluation.roc_auc(no_purchase, bought_nothing)
        if is_mixed
        else None,
        "auc_expected_purchases": evaluation.roc_auc(-predicted, bought_nothing)
        if is_mixed
        else None,
        "auc_probability_alive": evaluation.roc_auc(-alive, bought_nothing) if is_mixed else None,
        "rows": [
            {
                "frequency": row.frequency_label,
                "customers": row.customer_count,
                "predicted": None if math.isnan(row.mean_predicted) else row.mean_predicted,
                "actual": None if math.isnan(row.mean_actual) else row.mean_actual,
            }
            for row in table
        ],
    }


def holdout_check_create(*, holdout_days: int, actor: Actor) -> HoldoutCheck:
    if not MINIMUM_HOLDOUT_DAYS <= holdout_days <= MAXIMUM_HOLDOUT_DAYS:
        raise ValidationFailed(
            f"must be between {MINIMUM_HOLDOUT_DAYS} and {MAXIMUM_HOLDOUT_DAYS} days",
            field="holdout_days",
        )
    end = clock.now()
    return HoldoutCheck.objects.create(
        holdout_days=holdout_days,
        holdout_start=end - timedelta(days=holdout_days),
        holdout_end=end,
        requested_by=staff_user_of(actor),
        created_at=end,
    )


def holdout_check_execute(check_id: int) -> HoldoutCheck | None:
    check = HoldoutCheck.objects.filter(pk=check_id, status=RunStatus.QUEUED).first()
    if check is None:
        return None
    HoldoutCheck.objects.filter(pk=check.pk).update(status=RunStatus.RUNNING)
    try:
        result = holdout_result(check.holdout_start, check.holdout_end)
    except Exception as error:
        HoldoutCheck.objects.filter(pk=check.pk).update(
            status=RunStatus.FAILED, finished_at=clock.now(), error=str(error)[:2000]
        )
        raise
    HoldoutCheck.objects.filter(pk=check.pk).update(
        status=RunStatus.DONE, finished_at=clock.now(), result=result
    )
    check.refresh_from_db()
    return check


def holdout_check_latest() -> HoldoutCheck | None:
    return HoldoutCheck.objects.order_by("-created_at", "-id").first()
