"""The CDNOW purchase logs read into the per-customer summary arrays of Fader, Hardie & Lee (2005).

Research data for validating the lifetime estimators: it is read from outside the repository
(``<repository>/../shared/data/cdnow`` or ``/work/shared/data/cdnow``) and
never shipped. The paper's set-up: purchases of one customer on one day are one transaction,
the calibration period runs 1997-01-01 .. 1997-09-30, the holdout 1997-10-01 .. 1998-06-30,
and time is measured in weeks.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_FILE_NAME = "CDNOW_sample.txt"
MASTER_FILE_NAME = "CDNOW_master.txt"
CALIBRATION_END = np.datetime64("1997-09-30")  # the paper's T counts days up to this date
HOLDOUT_START = np.datetime64("1997-10-01")
HOLDOUT_END = np.datetime64("1998-06-30")
DAYS_PER_WEEK = 7.0


@dataclass(frozen=True)
class CdnowSummary:
    """One entry per customer, ordered by customer id; times in weeks.

    frequency: repeat transactions in calibration (x); recency: weeks from the first purchase
    to the last calibration purchase (t_x); age: weeks from the first purchase to the end of
    calibration (T); holdout_purchases: transactions in the holdout; average_value: mean
    dollar value of the calibration repeat transactions (the first one excluded), 0 when none.
    """

    customer_id: np.ndarray
    frequency: np.ndarray
    recency: np.ndarray
    age: np.ndarray
    holdout_purchases: np.ndarray
    average_value: np.ndarray


def cdnow_directory() -> Path:
    """The directory that holds the CDNOW files: the workplace's shared data beside the checkout
    (never copied into the repository); FileNotFoundError naming the places looked in if none."""
    repository_root = Path(__file__).resolve().parents[3]
    candidates = [
        repository_root.parent / "shared" / "data" / "cdnow",
        Path("/work/shared/data/cdnow"),
    ]
    for candidate in candidates:
        if (candidate / SAMPLE_FILE_NAME).is_file() and (candidate / MASTER_FILE_NAME).is_file():
            return candidate
    looked_in = ", ".join(str(candidate) for candidate in candidates)
    raise FileNotFoundError(
        f"CDNOW data not found: no {SAMPLE_FILE_NAME} and {MASTER_FILE_NAME} in {looked_in}"
    )


def cdnow_sample_summary() -> CdnowSummary:
    """The 2,357-customer sample in the paper's order; customer_id holds the master file's ids."""
    # Columns: master customer id, sample id, date, number of CDs, dollar value.
    table = np.loadtxt(cdnow_directory() / SAMPLE_FILE_NAME, dtype=np.float64, ndmin=2)
    master_ids = table[:, 0].astype(np.int64)
    sample_ids = table[:, 1].astype(np.int64)
    # Grouped by sample id so the rows come in the paper's order (sample ids do not follow
    # master ids); each sample id stands for exactly one master id.
    summary = _summarise(
        customer_ids=sample_ids,
        dates=_dates_from_numbers(table[:, 2].astype(np.int64)),
        values=table[:, 4],
    )
    master_id_by_sample_id = np.zeros(sample_ids.max() + 1, dtype=np.int64)
    master_id_by_sample_id[sample_ids] = master_ids
    return dataclasses.replace(summary, customer_id=master_id_by_sample_id[summary.customer_id])


def cdnow_master_summary() -> CdnowSummary:
    """All 23,570 customers whose first purchase was in the first quarter of 1997."""
    # Columns: customer id, date, number of CDs, dollar value; one header line.
    table = np.loadtxt(cdnow_directory() / MASTER_FILE_NAME, dtype=np.float64, skiprows=1, ndmin=2)
    return _summarise(
        customer_ids=table[:, 0].astype(np.int64),
        dates=_dates_from_numbers(table[:, 1].astype(np.int64)),
        values=table[:, 3],
    )


def _dates_from_numbers(numbers: np.ndarray) -> np.ndarray:
    """YYYYMMDD integers as datetime64[D]."""
    years = (numbers // 10000 - 1970).astype("datetime64[Y]")
    months = years.astype("datetime64[M]") + (numbers // 100 % 100 - 1).astype("timedelta64[M]")
    return months.astype("datetime64[D]") + (numbers % 100 - 1).astype("timedelta64[D]")


def _summarise(customer_ids: np.ndarray, dates: np.ndarray, values: np.ndarray) -> CdnowSummary:
    # One transaction per customer and day, its value the day's total (the paper's set-up).
    day_numbers = dates.astype(np.int64)
    pairs = np.stack([customer_ids, day_numbers], axis=1)
    unique_pairs, transaction_index = np.unique(pairs, axis=0, return_inverse=True)
    transaction_index = transaction_index.reshape(-1)
    transaction_values = np.bincount(transaction_index, weights=values)
    transaction_customers = unique_pairs[:, 0]
    transaction_days = unique_pairs[:, 1]

    customers, customer_index = np.unique(transaction_customers, return_inverse=True)
    customer_index = customer_index.reshape(-1)
    # np.unique sorts by customer then day, so each customer's first row is the first purchase.
    first_row = np.searchsorted(transaction_customers, customers, side="left")
    first_day = transaction_days[first_row]
    is_first = np.zeros(len(transaction_days), dtype=bool)
    is_first[first_row] = True

    calibration_end = CALIBRATION_END.astype(np.int64)
    holdout_start = HOLDOUT_START.astype(np.int64)
    holdout_end = HOLDOUT_END.astype(np.int64)
    is_calibration_repeat = (transaction_days <= calibration_end) & ~is_first
    is_holdout = (transaction_days >= holdout_start) & (transaction_days <= holdout_end)

    customer_count = len(customers)
    frequency = np.bincount(
        customer_index, weights=is_calibration_repeat, minlength=customer_count
    ).astype(np.int64)
    last_day = np.full(customer_count, np.iinfo(np.int64).min)
    calibration_rows = transaction_days <= calibration_end
    np.maximum.at(last_day, customer_index[calibration_rows], transaction_days[calibration_rows])
    repeat_value_total = np.bincount(
        customer_index,
        weights=np.where(is_calibration_repeat, transaction_values, 0.0),
        minlength=customer_count,
    )
    holdout_purchases = np.bincount(
        customer_index, weights=is_holdout, minlength=customer_count
    ).astype(np.int64)
    average_value = np.divide(
        repeat_value_total,
        frequency,
        out=np.zeros(customer_count),
        where=frequency > 0,
    )
    return CdnowSummary(
        customer_id=customers,
        frequency=frequency,
        recency=(last_day - first_day) / DAYS_PER_WEEK,
        age=(calibration_end - first_day) / DAYS_PER_WEEK,
        holdout_purchases=holdout_purchases,
        average_value=average_value,
    )
