"""Measures of how well per-customer forecasts match what customers did afterwards."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class CalibrationRow:
    """Customers with one calibration-period frequency (or at least it, in the last row)."""

    frequency_label: str  # "0", "1", … or "7+" for the last, open-ended row
    customer_count: int
    mean_predicted: float  # nan when the row has no customers
    mean_actual: float


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for the positive ``labels``; ties count half.

    It equals the Mann-Whitney U of the positives' scores over n_positive * n_negative, with
    tied scores given their average rank.
    """
    score_values = np.asarray(scores, dtype=np.float64).reshape(-1)
    label_values = np.asarray(labels).reshape(-1)
    if len(score_values) != len(label_values):
        raise ValueError(
            f"scores and labels must have equal lengths, got {len(score_values)} "
            f"and {len(label_values)}"
        )
    if not np.all(np.isfinite(score_values)):
        raise ValueError("scores must be finite")
    is_positive = label_values.astype(bool)
    positive_count = int(is_positive.sum())
    negative_count = len(is_positive) - positive_count
    if positive_count == 0 or negative_count == 0:
        raise ValueError("labels must contain both classes to compute an ROC AUC")
    ranks = stats.rankdata(score_values, method="average")
    u_statistic = ranks[is_positive].sum() - positive_count * (positive_count + 1) / 2
    return float(u_statistic / (positive_count * negative_count))


def calibration_by_frequency(
    frequency: np.ndarray,
    predicted: np.ndarray,
    actual: np.ndarray,
    *,
    max_frequency: int = 7,
) -> list[CalibrationRow]:
    """Mean predicted beside mean actual for each frequency below max_frequency, then the rest."""
    frequencies = np.asarray(frequency, dtype=np.float64).reshape(-1)
    predictions = np.asarray(predicted, dtype=np.float64).reshape(-1)
    actuals = np.asarray(actual, dtype=np.float64).reshape(-1)
    if not len(frequencies) == len(predictions) == len(actuals):
        raise ValueError(
            "frequency, predicted and actual must have equal lengths, got "
            f"{len(frequencies)}, {len(predictions)} and {len(actuals)}"
        )
    if not np.all(np.isfinite(frequencies)) or np.any(frequencies < 0):
        raise ValueError("frequency must be finite and non-negative")
    if max_frequency < 1:
        raise ValueError(f"max_frequency must be at least 1, got {max_frequency}")
    groups = np.minimum(frequencies, max_frequency).astype(np.int64)
    counts = np.bincount(groups, minlength=max_frequency + 1)
    predicted_totals = np.bincount(groups, weights=predictions, minlength=max_frequency + 1)
    actual_totals = np.bincount(groups, weights=actuals, minlength=max_frequency + 1)
    rows = []
    for group in range(max_frequency + 1):
        count = int(counts[group])
        rows.append(
            CalibrationRow(
                frequency_label=str(group) if group < max_frequency else f"{max_frequency}+",
                customer_count=count,
                mean_predicted=float(predicted_totals[group] / count) if count else float("nan"),
                mean_actual=float(actual_totals[group] / count) if count else float("nan"),
            )
        )
    return rows
