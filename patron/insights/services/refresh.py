"""The insights refresh: every customer's scores from the facts, in bulk or for a few customers.

A full refresh reads the population in id ranges (gather), fits what needs the whole population
once (BG/NBD, Gamma-Gamma, RFM percentiles, product cycles, the send-time histogram), scores
every customer with numpy and writes the rows back range by range. Rescoring a few customers
(after a new order or event) reuses the population stored by the last full refresh, so one
customer's scores take one gather of one id and no fit.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from django.conf import settings
from django.db import connection, connections, transaction

from patron.catalog.selectors import product_facts
from patron.core import clock
from patron.core.bulk import (
    NULL_TIME,
    PreparedRows,
    Rows,
    StagedRows,
    indexes_drop,
    indexes_restore,
    is_postgresql,
    rows_prepare,
    rows_stage,
    rows_write,
    staging_attached,
)
from patron.core.progress import ProgressCallback, ignore_progress
from patron.customers.services.figures import customer_id_bounds
from patron.customers.services.lifecycle import customer_lifecycle_stages_write
from patron.insights.estimators import bgnbd, gamma_gamma, lifecycle, replenishment, rfm, send_time
from patron.insights.models import (
    Band,
    Confidence,
    CustomerInsight,
    Fit,
    FitKind,
    InsightRun,
    ReplenishmentDue,
    RunStatus,
)
from patron.insights.services.gather import (
    DAY_SECONDS,
    Catalogue,
    Gathered,
    facts_gather,
)
from patron.orders.facts import purchase_currency_counts

logger = logging.getLogger(__name__)

# Customers per range: one range's facts (about 10 orders, 13 lines and 30 events a customer in
# the demo shop) stay a few hundred MB of Python objects while they are converted, and a range
# takes a few seconds, so the progress bar moves steadily.
BATCH_CUSTOMERS = 20_000
# Names the file where the insight tables' dropped indexes wait during a refresh.
INDEX_PURPOSE = "insights-refresh"
# How long after its due date a lapsed (customer, product) pair is still stored.
LAPSED_PAIR_KEEP_DAYS = 365
# Processes reading, or scoring, ranges at once: one per core of the 2-core machines Patron
# targets first; more would only queue on the database.
RANGE_PROCESSES = 2
# A population fit needs enough buyers to say anything about the population: below these, the
# predictions say "not enough data" rather than extrapolate from a handful of people.
MINIMUM_BUYERS = 30
MINIMUM_REPEAT_BUYERS = 10
# Churn bands on the probability of no purchase within the churn window.
CHURN_HIGH = 0.75
CHURN_MEDIUM = 0.40
# Prediction confidence by what the customer's own history holds.
HIGH_CONFIDENCE_REPEATS = 4
# RFM percentiles kept for rescoring single customers between full refreshes.
_PERCENTILES = np.linspace(0, 100, 101)


@dataclass(frozen=True)
class RefreshOptions:
    as_of: datetime
    horizon_days: int
    churn_days: int
    reporting_currency: str
    rules: lifecycle.LifecycleRules
    is_backtest: bool = False


@dataclass
class Population:
    """What scoring a customer needs to know of everyone else."""

    bgnbd_fit: bgnbd.BgNbdFit | None = None
    gamma_gamma_fit: gamma_gamma.GammaGammaFit | None = None
    buyer_count: int = 0
    repeat_buyer_count: int = 0
    recency_percentiles: list[float] = field(default_factory=list)
    frequency_percentiles: list[float] = field(default_factory=list)
    monetary_percentiles: list[float] = field(default_factory=list)
    product_cycle_days: dict[int, float] = field(default_factory=dict)  # product id -> days
    replenishment_prior_intervals: float | None = None
    send_hour_histogram: list[float] = field(default_factory=lambda: [0.0] * 24)
    send_weekday_histogram: list[float] = field(default_factory=lambda: [0.0] * 7)
    calibration_start_day: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "buyer_count": self.buyer_count,
            "repeat_buyer_count": self.repeat_buyer_count,
            "recency_percentiles": self.recency_percentiles,
            "frequency_percentiles": self.frequency_percentiles,
            "monetary_percentiles": self.monetary_percentiles,
            "product_cycle_days": {
                str(key): value for key, value in self.product_cycle_days.items()
            },
            "replenishment_prior_intervals": self.replenishment_prior_intervals,
            "send_hour_histogram": self.send_hour_histogram,
            "send_weekday_histogram": self.send_weekday_histogram,
        }


def _now_day(as_of: datetime) -> float:
    return as_of.timestamp() / DAY_SECONDS


class PurchaseSummary(Protocol):
    """What the lifetime inputs read: a range's OrderSummary, or the Gathered range holding it."""

    @property
    def order_count(self) -> np.ndarray: ...

    @property
    def purchase_days(self) -> np.ndarray: ...

    @property
    def first_day(self) -> np.ndarray: ...

    @property
    def last_day(self) -> np.ndarray: ...

    @property
    def value_cents(self) -> np.ndarray: ...

    @property
    def other_currency_orders(self) -> np.ndarray: ...

    @property
    def first_day_value_cents(self) -> np.ndarray: ...


def lifetime_inputs(gathered: PurchaseSummary, as_of_day: float) -> dict[str, np.ndarray]:
    """BG/NBD's x, t_x and T in days (whole purchase days; T from the first purchase day)."""
    buyers = gathered.order_count > 0
    frequency = np.where(buyers, gathered.purchase_days - 1, 0).astype(np.float64)
    recency = np.where(buyers, gathered.last_day - gathered.first_day, 0.0)
    age = np.where(buyers, np.floor(as_of_day) - gathered.first_day, 0.0)
    return {"frequency": frequency, "recency": recency, "age": np.maximum(age, recency)}


def repeat_average_value(gathered: PurchaseSummary) -> tuple[np.ndarray, np.ndarray]:
    """Gamma-Gamma's inputs: repeat purchases and their mean value in the reporting currency.

    Only customers whose purchases are all in the reporting currency take part: a value in
    another currency is not converted (no silent mixing), so their repeats would be missing.
    """
    repeats = np.maximum(gathered.purchase_days - 1, 0).astype(np.float64)
    usable = (repeats > 0) & (gathered.other_currency_orders == 0)
    repeat_value = gathered.value_cents - gathered.first_day_value_cents
    with np.errstate(invalid="ignore", divide="ignore"):
        average = np.where(usable, repeat_value / np.where(repeats > 0, repeats, 1), 0.0)
    return np.where(usable, repeats, 0.0), np.maximum(average, 0.0)


def bgnbd_fit_distinct(
    frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> bgnbd.BgNbdFit:
    """BG/NBD over buyers' (x, t_x, T) in whole days. Many customers share a row, so the
    distinct rows are fitted with weights: a million customers are a few hundred thousand."""
    # Sorted by x, then t_x, then T (np.unique's row order) with lexsort: a third of the time
    # of np.unique over rows.
    ordered = np.stack([frequency, recency, age], axis=1)[np.lexsort((age, recency, frequency))]
    starts = np.flatnonzero(np.r_[True, np.any(ordered[1:] != ordered[:-1], axis=1)])
    rows = ordered[starts]
    weights = np.diff(np.r_[starts, ordered.shape[0]]).astype(np.float64)
    return bgnbd.bgnbd_fit(rows[:, 0], rows[:, 1], rows[:, 2], weights=weights)


def population_fit(parts: Sequence[Gathered], options: RefreshOptions) -> Population:
    """Fit everything that needs the whole population, from the gathered ranges."""
    population = Population()
    as_of_day = _now_day(options.as_of)
    inputs = [lifetime_inputs(part, as_of_day) for part in parts]
    buyers = (
        np.concatenate([part.order_count > 0 for part in parts])
        if parts
        else np.zeros(0, dtype=bool)
    )
    population.buyer_count = int(buyers.sum())
    frequency = np.concatenate([item["frequency"] for item in inputs]) if parts else np.zeros(0)
    recency = np.concatenate([item["recency"] for item in inputs]) if parts else np.zeros(0)
    age = np.concatenate([item["age"] for item in inputs]) if parts else np.zeros(0)
    population.repeat_buyer_count = int((buyers & (frequency > 0)).sum())
    if population.buyer_count:
        first_days = np.concatenate([part.first_day for part in parts])
        population.calibration_start_day = float(np.nanmin(first_days))
    if (
        population.buyer_count >= MINIMUM_BUYERS
        and population.repeat_buyer_count >= MINIMUM_REPEAT_BUYERS
    ):
        try:
            population.bgnbd_fit = bgnbd_fit_distinct(
                frequency[buyers], recency[buyers], age[buyers]
            )
        except (ValueError, FloatingPointError) as error:
            logger.warning("BG/NBD fit failed: %s", error)
        value_parts = [repeat_average_value(part) for part in parts]
        repeats = np.concatenate([item[0] for item in value_parts])
        average = np.concatenate([item[1] for item in value_parts])
        valued = (repeats > 0) & (average > 0)
        if valued.sum() >= MINIMUM_REPEAT_BUYERS:
            try:
                population.gamma_gamma_fit = gamma_gamma.gamma_gamma_fit(
                    repeats[valued], average[valued]
                )
            except (ValueError, FloatingPointError) as error:
                logger.warning("Gamma-Gamma fit failed: %s", error)
    if population.buyer_count:
        last_days = np.concatenate([part.last_day for part in parts])[buyers]
        orders = np.concatenate([part.order_count for part in parts])[buyers]
        values = np.concatenate([part.value_cents for part in parts])[buyers]
        population.recency_percentiles = np.percentile(as_of_day - last_days, _PERCENTILES).tolist()
        population.frequency_percentiles = np.percentile(orders, _PERCENTILES).tolist()
        population.monetary_percentiles = np.percentile(values, _PERCENTILES).tolist()

    return population if not parts else _priors_from_pairs(population, parts)


def _priors_from_pairs(population: Population, parts: Sequence[Gathered]) -> Population:
    """Product cycles, the replenishment prior and the send-time histogram."""
    products = product_facts()
    pair_product = np.concatenate([part.pair_product for part in parts])
    purchase_count = np.concatenate([part.pair_purchase_count for part in parts])
    span = np.concatenate([part.pair_span_days for part in parts])
    units_before_last = np.concatenate([part.pair_units_before_last for part in parts])
    cycles = replenishment.product_cycles(
        pair_product=pair_product,
        pair_purchase_count=purchase_count,
        pair_span_days=span,
        pair_units_before_last=units_before_last,
        product_count=len(products.name),
        supply_days=products.supply_days,
    )
    # One prior strength for the whole population, so a customer rescored alone between
    # refreshes is blended exactly as in the refresh.
    with np.errstate(invalid="ignore", divide="ignore"):
        own = np.where(
            (purchase_count >= 2) & (units_before_last > 0) & (span > 0),
            span / np.where(units_before_last > 0, units_before_last, 1),
            np.nan,
        )
        deviation = np.log(own) - np.log(cycles.cycle_days[pair_product])
    population.replenishment_prior_intervals = replenishment.replenishment_prior_strength(
        log_deviation=deviation, interval_count=np.maximum(purchase_count - 1, 0)
    )
    population.product_cycle_days = {
        int(product_id): float(days)
        for product_id, days in zip(products.product_id, cycles.cycle_days, strict=True)
        if np.isfinite(days)
    }
    hours = np.concatenate([part.signal_hour for part in parts]).astype(np.int64)
    weekdays = np.concatenate([part.signal_weekday for part in parts]).astype(np.int64)
    weights = np.concatenate([part.signal_weight for part in parts])
    population.send_hour_histogram = np.bincount(hours, weights=weights, minlength=24).tolist()
    population.send_weekday_histogram = np.bincount(weekdays, weights=weights, minlength=7).tolist()
    return population


def _score_from_percentiles(values: np.ndarray, percentiles: list[float]) -> np.ndarray:
    """Quintile 1..5 of each value among the population (5 = highest), tied values alike."""
    if not percentiles:
        return np.zeros(values.size, dtype=np.int64)
    table = np.asarray(percentiles)
    values = np.nan_to_num(values, nan=table[0])  # non-buyers: scored 0 by the caller
    # The share of the population at or below a value, with ties counted half (midpoint).
    below = np.interp(values, table, _PERCENTILES, left=0.0, right=100.0)
    below_strict = np.interp(values - 1e-9, table, _PERCENTILES, left=0.0, right=100.0)
    position = (below + below_strict) / 200.0
    return np.clip(np.floor(position * 5) + 1, 1, 5).astype(np.int64)


@dataclass
class Scores:
    """Per-customer columns ready to write, and the pairs' replenishment rows."""

    insight_columns: dict[str, Any]
    stages: np.ndarray
    pair_columns: dict[str, Any]
    pair_count: int

    def prepared(self, gathered: Gathered) -> tuple[PreparedRows, PreparedRows | None]:
        """The rows converted for the database: CPU work that may run beside a write."""
        insights = rows_prepare(Rows(CustomerInsight, gathered.count, self.insight_columns))
        pairs = (
            rows_prepare(Rows(ReplenishmentDue, self.pair_count, self.pair_columns))
            if self.pair_count
            else None
        )
        return insights, pairs


def _cents_or_null(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), np.round(values), NULL_TIME).astype(np.int64)


def _seconds_or_null(days: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(days), np.round(days * DAY_SECONDS), NULL_TIME).astype(np.int64)


def _nullable(values: np.ndarray, missing: np.ndarray) -> list[Any]:
    objects = values.astype(object)
    objects[missing] = None
    return list(objects.tolist())


def customers_score(
    gathered: Gathered,
    population: Population,
    options: RefreshOptions,
    computed_at: datetime,
    catalogue: Catalogue,
) -> Scores:
    """Every figure of the gathered customers, vectorised, given the population."""
    count = gathered.count
    as_of_day = _now_day(options.as_of)
    buyers = gathered.order_count > 0
    inputs = lifetime_inputs(gathered, as_of_day)
    frequency, recency, age = inputs["frequency"], inputs["recency"], inputs["age"]

    predicted = np.full(count, np.nan)
    alive = np.full(count, np.nan)
    churn = np.full(count, np.nan)
    next_order = np.full(count, np.nan)
    expected_value = np.full(count, np.nan)
    fit = population.bgnbd_fit
    if fit is not None and buyers.any():
        index = np.flatnonzero(buyers)
        f, r, a = frequency[index], recency[index], age[index]
        predicted[index] = bgnbd.bgnbd_expected_purchases(fit, options.horizon_days, f, r, a)
        alive[index] = bgnbd.bgnbd_probability_alive(fit, f, r, a)
        churn[index] = bgnbd.bgnbd_churn_probability(fit, options.churn_days, f, r, a)
        next_order[index] = as_of_day + bgnbd.bgnbd_next_purchase_wait(
            fit, options.horizon_days, f, r, a
        )
    value_fit = population.gamma_gamma_fit
    if value_fit is not None and fit is not None and buyers.any():
        repeats, average = repeat_average_value(gathered)
        index = np.flatnonzero(buyers & (gathered.other_currency_orders == 0))
        expected_value[index] = gamma_gamma.gamma_gamma_expected_value(
            value_fit, repeats[index], average[index]
        )
    predicted_value = predicted * expected_value

    confidence = np.full(count, Confidence.NONE.value, dtype=object)
    if fit is not None:
        confidence[buyers] = Confidence.LOW.value
        confidence[buyers & (frequency >= 1)] = Confidence.MEDIUM.value
        confidence[buyers & (frequency >= HIGH_CONFIDENCE_REPEATS)] = Confidence.HIGH.value
    band = np.full(count, "", dtype=object)
    known_churn = np.isfinite(churn)
    band[known_churn] = Band.LOW.value
    band[known_churn & (churn >= CHURN_MEDIUM)] = Band.MEDIUM.value
    band[known_churn & (churn >= CHURN_HIGH)] = Band.HIGH.value

    recency_days = np.where(buyers, as_of_day - gathered.last_day, np.nan)
    recency_score = np.where(
        buyers, 6 - _score_from_percentiles(recency_days, population.recency_percentiles), 0
    )
    frequency_score = np.where(
        buyers,
        _score_from_percentiles(
            gathered.order_count.astype(np.float64), population.frequency_percentiles
        ),
        0,
    )
    monetary_score = np.where(
        buyers, _score_from_percentiles(gathered.value_cents, population.monetary_percentiles), 0
    )
    groups = rfm.rfm_groups(
        rfm.RfmScores(
            recency=recency_score.astype(np.int8),
            frequency=frequency_score.astype(np.int8),
            monetary=monetary_score.astype(np.int8),
            order_count=gathered.order_count.astype(np.int64),
        )
    )
    stages = lifecycle.lifecycle_stages(
        order_count=gathered.order_count,
        days_since_first_order=np.where(buyers, as_of_day - gathered.first_day, np.nan),
        days_since_last_order=recency_days,
        previous_gap_days=gathered.previous_gap_days,
        rules=options.rules,
    )
    timing = send_time.send_time_estimate(
        customer_index=gathered.signal_customer,
        local_hour=gathered.signal_hour,
        local_weekday=gathered.signal_weekday,
        weights=gathered.signal_weight,
        customer_count=count,
        population_hour_histogram=np.asarray(population.send_hour_histogram),
        population_weekday_histogram=np.asarray(population.send_weekday_histogram),
    )
    has_timing = timing.best_hour >= 0
    mean_gap = np.where(frequency > 0, recency / np.where(frequency > 0, frequency, 1), np.nan)
    insight_columns: dict[str, Any] = {
        "customer_id": gathered.customer_id,
        "computed_at": int(computed_at.timestamp()),
        "as_of": int(options.as_of.timestamp()),
        "order_count": gathered.order_count,
        "repeat_count": frequency.astype(np.int64),
        "first_order_at": _seconds_or_null(gathered.first_day),
        "last_order_at": _seconds_or_null(gathered.last_day),
        "mean_days_between_orders": _nullable(mean_gap, ~np.isfinite(mean_gap)),
        "currency": options.reporting_currency,
        "historic_value": np.round(gathered.value_cents).astype(np.int64),
        "other_currency_order_count": gathered.other_currency_orders,
        "recency_score": recency_score,
        "frequency_score": frequency_score,
        "monetary_score": monetary_score,
        "rfm_group": groups.tolist(),
        "horizon_days": options.horizon_days,
        "predicted_orders": _nullable(predicted, ~np.isfinite(predicted)),
        "predicted_value": _cents_or_null(predicted_value),
        "expected_order_value": _cents_or_null(expected_value),
        "probability_alive": _nullable(alive, ~np.isfinite(alive)),
        "prediction_confidence": confidence.tolist(),
        "churn_days": options.churn_days,
        "churn_probability": _nullable(churn, ~known_churn),
        "churn_band": band.tolist(),
        "next_order_at": _seconds_or_null(next_order),
        "engagement_score": _nullable(
            gathered.engagement_score, ~np.isfinite(gathered.engagement_score)
        ),
        "engagement_tier": list(gathered.engagement_tier),
        "human_open_count": gathered.human_opens,
        "machine_open_count": gathered.machine_opens,
        "click_count": gathered.clicks,
        "visit_day_count": gathered.visit_days,
        "best_hour": _nullable(timing.best_hour.astype(np.int64), ~has_timing),
        "best_weekday": _nullable(timing.best_weekday.astype(np.int64), ~has_timing),
        "send_time_observations": timing.observation_count,
        "send_time_confidence": np.where(
            has_timing, timing.confidence, Confidence.NONE.value
        ).tolist(),
        "top_categories": _named_shares(
            gathered.top_categories, gathered.top_category_shares, catalogue.category_names
        ),
        "top_brands": _named_shares(
            gathered.top_brands, gathered.top_brand_shares, catalogue.brand_names
        ),
        "price_band": list(gathered.price_band),
        "discount_share": _nullable(gathered.discount_share, ~np.isfinite(gathered.discount_share)),
    }
    pair_columns, pair_count = _replenishment_columns(
        gathered, population, catalogue, as_of_day, computed_at
    )
    return Scores(insight_columns, stages, pair_columns, pair_count)


def _named_shares(keys: np.ndarray, shares: np.ndarray, names: list[str]) -> list[str]:
    """JSON text of [[name, share], ...] per customer, best first (names encoded once)."""
    encoded = [json.dumps(name) for name in names]
    texts = []
    for row_keys, row_shares in zip(keys.tolist(), np.round(shares, 3).tolist(), strict=True):
        pairs = [
            f"[{encoded[key]}, {share}]"
            for key, share in zip(row_keys, row_shares, strict=True)
            if key >= 0
        ]
        texts.append("[" + ", ".join(pairs) + "]")
    return texts


def _replenishment_columns(
    gathered: Gathered,
    population: Population,
    catalogue: Catalogue,
    as_of_day: float,
    computed_at: datetime,
) -> tuple[dict[str, Any], int]:
    products = catalogue.products
    cycle_by_position = np.array(
        [population.product_cycle_days.get(int(pid), np.nan) for pid in products.product_id],
        dtype=np.float64,
    )
    if gathered.pair_product.size == 0 or cycle_by_position.size == 0:
        return {}, 0
    estimate = replenishment.replenishment_estimate(
        pair_product=gathered.pair_product,
        pair_purchase_count=gathered.pair_purchase_count,
        pair_span_days=gathered.pair_span_days,
        pair_units_before_last=gathered.pair_units_before_last,
        pair_units_last=gathered.pair_units_last,
        pair_last_day=gathered.pair_last_day,
        product_cycle_days=cycle_by_position,
        as_of_day=as_of_day,
        prior_intervals=population.replenishment_prior_intervals,
    )
    # Pairs lapsed for more than a year are history, not a replenishment: the customer's page
    # shows what they bought; storing them would double the table (half the demo shop's pairs).
    is_old_lapse = (estimate.state == replenishment.ReplenishmentState.LAPSED.value) & (
        estimate.due_day < as_of_day - LAPSED_PAIR_KEEP_DAYS
    )
    keep = np.flatnonzero((estimate.state != "") & ~is_old_lapse)
    own = estimate.customer_cycle_days[keep]
    columns = {
        "customer_id": gathered.customer_id[gathered.pair_customer[keep]],
        "product_id": products.product_id[gathered.pair_product[keep]],
        "computed_at": int(computed_at.timestamp()),
        "purchase_count": gathered.pair_purchase_count[keep],
        "units_last": gathered.pair_units_last[keep].astype(np.int64),
        "last_purchased_at": np.round(gathered.pair_last_day[keep] * DAY_SECONDS).astype(np.int64),
        "customer_cycle_days": _nullable(own, ~np.isfinite(own)),
        "product_cycle_days": cycle_by_position[gathered.pair_product[keep]],
        "expected_cycle_days": estimate.expected_cycle_days[keep],
        "due_at": np.round(estimate.due_day[keep] * DAY_SECONDS).astype(np.int64),
        "state": list(estimate.state[keep]),
        "confidence": list(estimate.confidence[keep]),
    }
    return columns, int(keep.size)


@dataclass
class ScoredRange:
    """One range's new rows and its customers' changed lifecycle stages, ready to write."""

    low: int
    high: int
    prepared: list[PreparedRows]  # written with executemany or COPY, or else
    staged: StagedRows | None  # staged by a scoring process, copied in inside SQLite
    stage_customer_ids: list[int]
    stages: list[str]


def _range_scored(
    low: int,
    high: int,
    gathered: Gathered,
    context: _ScoringContext,
    staging_path: Path | None = None,
) -> ScoredRange:
    """Score a range and convert its rows (CPU only: safe in a thread or a forked process);
    with staging_path, stage them in that scratch file."""
    options = context.options
    scores = customers_score(
        gathered, context.population, options, context.computed_at, context.catalogue
    )
    insight_rows, pair_rows = scores.prepared(gathered)
    prepared = [insight_rows] if pair_rows is None else [insight_rows, pair_rows]
    if options.is_backtest:
        changed = np.zeros(gathered.count, dtype=bool)  # a backtest leaves stages alone
    else:
        changed = scores.stages != gathered.current_stage
    staged = rows_stage(prepared, path=staging_path) if staging_path is not None else None
    return ScoredRange(
        low=low,
        high=high,
        prepared=[] if staged is not None else prepared,
        staged=staged,
        stage_customer_ids=gathered.customer_id[changed].tolist(),
        stages=scores.stages[changed].tolist(),
    )


def _range_write(scored: ScoredRange) -> None:
    """Replace the range's insight and replenishment rows, and its customers' stages."""
    low, high = scored.low, scored.high
    try:
        attached = staging_attached(scored.staged) if scored.staged is not None else nullcontext()
        with attached as copy_staged, transaction.atomic():
            CustomerInsight.objects.filter(customer_id__gte=low, customer_id__lt=high).delete()
            ReplenishmentDue.objects.filter(customer_id__gte=low, customer_id__lt=high).delete()
            if copy_staged is not None:
                copy_staged()
            for rows in scored.prepared:
                rows_write(rows)
            if scored.stage_customer_ids:
                customer_lifecycle_stages_write(
                    customer_ids=scored.stage_customer_ids, stages=scored.stages
                )
    finally:
        if scored.staged is not None:
            scored.staged.close()


@dataclass(frozen=True)
class _ScoringContext:
    """What scoring any range needs besides its own facts."""

    population: Population
    options: RefreshOptions
    computed_at: datetime
    catalogue: Catalogue


@dataclass(frozen=True)
class _ScoringTasks:
    ranges: list[tuple[int, int]]
    parts: list[Gathered]
    context: _ScoringContext
    scratch: Path


# Set while scoring processes run: they are forked after it is set and inherit it, so a
# range's facts (hundreds of MB in all) are never pickled to them.
_scoring_tasks: _ScoringTasks | None = None


def _staged_range_score(index: int) -> ScoredRange:
    tasks = _scoring_tasks
    assert tasks is not None, "runs only in a process forked by _ranges_scored"
    low, high = tasks.ranges[index]
    return _range_scored(
        low,
        high,
        tasks.parts[index],
        tasks.context,
        staging_path=tasks.scratch / f"range-{index}.sqlite3",
    )


def _ranges_scored(
    ranges: list[tuple[int, int]], parts: list[Gathered], context: _ScoringContext
) -> Iterator[ScoredRange]:
    """Each range scored and converted, in order, ahead of the caller writing it.

    On SQLite, with several ranges and outside a transaction, RANGE_PROCESSES forked processes
    score ranges and stage their rows in scratch files, which the caller copies in with
    INSERT ... SELECT: binding values, the costly part of writing, then runs on every core
    instead of in this process (measured at 1 M customers: scoring and writing took 50 s
    instead of 75 s). Otherwise a thread scores the next range while the caller writes this
    one: numpy and the database driver release the GIL for much of their work.
    """
    global _scoring_tasks
    processes = _range_processes(len(ranges))
    if processes > 1 and not is_postgresql():
        with tempfile.TemporaryDirectory(prefix="insights-", dir=settings.DATA_DIR) as scratch:
            _scoring_tasks = _ScoringTasks(ranges, parts, context, Path(scratch))
            try:
                _before_fork()
                with multiprocessing.get_context("fork").Pool(processes) as pool:
                    yield from pool.imap(_staged_range_score, range(len(ranges)))
            finally:
                _scoring_tasks = None
        return
    with ThreadPoolExecutor(max_workers=1) as scorer:

        def submitted(index: int) -> Future[ScoredRange] | None:
            if index >= len(ranges):
                return None
            low, high = ranges[index]
            return scorer.submit(_range_scored, low, high, parts[index], context)

        pending = submitted(0)
        for index in range(len(ranges)):
            assert pending is not None
            scored = pending.result()
            pending = submitted(index + 1)
            yield scored


def customer_id_ranges() -> list[tuple[int, int]]:
    """Id ranges of BATCH_CUSTOMERS ids covering every customer."""
    bounds = customer_id_bounds()
    if bounds is None:
        return []
    low, high = bounds
    return [
        (start, min(start + BATCH_CUSTOMERS, high + 1))
        for start in range(low, high + 1, BATCH_CUSTOMERS)
    ]


def _range_gather(
    task: tuple[int, int, RefreshOptions, Catalogue],
) -> Gathered:
    low, high, options, catalogue = task
    return facts_gather(
        customer_low=low,
        customer_high=high,
        as_of=options.as_of,
        reporting_currency=options.reporting_currency,
        catalogue=catalogue,
    )


def _ranges_gather(
    ranges: list[tuple[int, int]], options: RefreshOptions, catalogue: Catalogue
) -> Iterator[Gathered]:
    """Each range's facts, in order; read by RANGE_PROCESSES forked processes when there is
    more than one range (reading and converting rows is half of a refresh, and it runs on
    every core)."""
    tasks = [(low, high, options, catalogue) for low, high in ranges]
    processes = _range_processes(len(tasks))
    if processes < 2:
        yield from map(_range_gather, tasks)
        return
    _before_fork()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        yield from pool.imap(_range_gather, tasks)


def _range_processes(range_count: int) -> int:
    """How many forked processes may work on ranges: 1 (this process alone) with one range,
    one core, no fork, or inside a transaction (a fork could not see its uncommitted rows)."""
    processes = min(RANGE_PROCESSES, os.cpu_count() or 1)
    if (
        range_count < 2
        or connection.in_atomic_block
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        return 1
    return processes


def _before_fork() -> None:
    # Children open their own connections if they need one: none may inherit this process's.
    connections.close_all()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # else a child's copy of a buffer could be written twice


def reporting_currency_choose(configured: str, as_of: datetime) -> str:
    """The configured currency, else the one most purchases are in, else EUR for an empty shop."""
    if configured:
        return configured
    counts = purchase_currency_counts(as_of=as_of)
    return next(iter(counts), "EUR")


def _progress_save(run: InsightRun, stage: str, done: int, total: int) -> None:
    run.stage, run.done, run.total = stage, done, total
    InsightRun.objects.filter(pk=run.pk).update(stage=stage, done=done, total=total)


def insights_refresh(
    run: InsightRun, options: RefreshOptions, *, progress: ProgressCallback = ignore_progress
) -> InsightRun:
    """Recompute every customer's insights; the run records progress, fits and outcome."""
    started = clock.now()
    InsightRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, started_at=started)
    # A refresh killed while its indexes were dropped gets them back first.
    indexes_restore(purpose=INDEX_PURPOSE)
    try:
        ranges = customer_id_ranges()
        total = 2 * len(ranges) + 1
        catalogue = Catalogue.build(product_facts())
        phase_started = time.perf_counter()
        parts = []
        for done, part in enumerate(_ranges_gather(ranges, options, catalogue), start=1):
            parts.append(part)
            _progress_save(run, "reading", done, total)
            progress(done, total)
        read_seconds = time.perf_counter() - phase_started
        phase_started = time.perf_counter()
        population = population_fit(parts, options)
        customer_count = sum(part.count for part in parts)
        fit_seconds = time.perf_counter() - phase_started
        phase_started = time.perf_counter()
        _progress_save(run, "fitting", len(ranges) + 1, total)
        progress(len(ranges) + 1, total)
        context = _ScoringContext(population, options, clock.now(), catalogue)
        # With more than one range nearly every row is rewritten: the plain indexes are built
        # once afterwards instead of updated row by row (filtered insight lists read without
        # them for the minute this takes).
        is_rebuilding_indexes = len(ranges) > 1
        if is_rebuilding_indexes:
            indexes_drop([CustomerInsight, ReplenishmentDue], purpose=INDEX_PURPOSE)
        for index, scored in enumerate(_ranges_scored(ranges, parts, context)):
            _range_write(scored)
            done = len(ranges) + 2 + index
            _progress_save(run, "writing", done, total)
            progress(done, total)
        if is_rebuilding_indexes:
            indexes_restore(purpose=INDEX_PURPOSE)
        # Operators compare these between nights; they are the benchmark's breakdown too.
        logger.info(
            "insights refresh of %d customers in %d ranges: read %.1f s, fitted %.1f s, "
            "scored and written %.1f s",
            customer_count,
            len(ranges),
            read_seconds,
            fit_seconds,
            time.perf_counter() - phase_started,
        )
        with transaction.atomic():
            _fits_save(run, population, options, context.computed_at)
            InsightRun.objects.filter(pk=run.pk).update(
                status=RunStatus.DONE,
                finished_at=clock.now(),
                customer_count=customer_count,
                population=population.as_json(),
                reporting_currency=options.reporting_currency,
            )
    except Exception as error:
        indexes_restore(purpose=INDEX_PURPOSE)
        InsightRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, finished_at=clock.now(), error=str(error)[:2000]
        )
        raise
    run.refresh_from_db()
    return run


def _fits_save(
    run: InsightRun, population: Population, options: RefreshOptions, computed_at: datetime
) -> None:
    start_day = population.calibration_start_day
    calibration_start = (
        datetime.fromtimestamp(start_day * DAY_SECONDS, tz=UTC) if start_day else options.as_of
    )
    for kind, fit in (
        (FitKind.BG_NBD, population.bgnbd_fit),
        (FitKind.GAMMA_GAMMA, population.gamma_gamma_fit),
    ):
        if fit is None:
            continue
        Fit.objects.create(
            run=run,
            kind=kind,
            parameters=fit.as_dict(),
            standard_errors={
                name: (None if not np.isfinite(value) else float(value))
                for name, value in fit.standard_errors.items()
            },
            log_likelihood=float(fit.log_likelihood),
            customer_count=int(fit.customer_count),
            is_converged=bool(fit.is_converged),
            calibration_start=calibration_start,
            calibration_end=options.as_of,
            currency=options.reporting_currency if kind == FitKind.GAMMA_GAMMA else "",
            created_at=computed_at,
        )


def population_from_run(run: InsightRun) -> Population:
    """The population stored by a finished refresh, for rescoring single customers."""
    stored = run.population
    population = Population(
        buyer_count=stored.get("buyer_count", 0),
        repeat_buyer_count=stored.get("repeat_buyer_count", 0),
        recency_percentiles=stored.get("recency_percentiles", []),
        frequency_percentiles=stored.get("frequency_percentiles", []),
        monetary_percentiles=stored.get("monetary_percentiles", []),
        product_cycle_days={
            int(key): float(value) for key, value in stored.get("product_cycle_days", {}).items()
        },
        replenishment_prior_intervals=stored.get("replenishment_prior_intervals"),
        send_hour_histogram=stored.get("send_hour_histogram", [0.0] * 24),
        send_weekday_histogram=stored.get("send_weekday_histogram", [0.0] * 7),
    )
    for stored in run.fits.all():
        fields = {
            **stored.parameters,
            "standard_errors": stored.standard_errors,
            "log_likelihood": stored.log_likelihood,
            "customer_count": stored.customer_count,
            "is_converged": stored.is_converged,
        }
        if stored.kind == FitKind.BG_NBD:
            population.bgnbd_fit = bgnbd.BgNbdFit(**fields)
        else:
            population.gamma_gamma_fit = gamma_gamma.GammaGammaFit(**fields)
    return population


def customers_rescore(customer_ids: Sequence[int], run: InsightRun, options: RefreshOptions) -> int:
    """Rescore these customers with the population of a finished run; returns how many."""
    population = population_from_run(run)
    context = _ScoringContext(population, options, clock.now(), Catalogue.build(product_facts()))
    rescored = 0
    for customer_id in sorted(set(customer_ids)):
        gathered = facts_gather(
            customer_low=customer_id,
            customer_high=customer_id + 1,
            as_of=options.as_of,
            reporting_currency=options.reporting_currency,
            catalogue=context.catalogue,
        )
        if gathered.count == 0:
            continue  # merged away or erased since the event
        _range_write(_range_scored(customer_id, customer_id + 1, gathered, context))
        rescored += 1
    return rescored
