"""Best send hour and weekday per customer in their own time zone, shrunk toward the population."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from patron.insights.estimators.arrays import indexes, same_sizes, vector

HOURS = 24
WEEKDAYS = 7
SECONDS_PER_HOUR = 3_600
SECONDS_PER_DAY = 86_400
EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)
# Pseudo-observations of the population's pattern added to each customer's own: with three,
# one or two clicks move the best hour only where they agree with each other or the crowd.
PRIOR_OBSERVATIONS = 3.0
# A click at 19:00 is also evidence for 18:00 and 20:00 (people keep rough habits): half stays
# on the hour, a quarter goes to each neighbour, wrapping round midnight.
HOUR_SMOOTHING = (0.25, 0.5, 0.25)
# Observations behind a customer's own estimate: a dozen shows a habit, four a hint.
HIGH_CONFIDENCE_OBSERVATIONS = 12
MEDIUM_CONFIDENCE_OBSERVATIONS = 4
# Customers per block of histograms: 100,000 x 31 float64 columns is about 25 MB.
BATCH_CUSTOMERS = 100_000


class SendTimeConfidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    POPULATION = "population"  # no own data: the population's best time


@dataclass(frozen=True)
class LocalTimes:
    hour: np.ndarray  # int8 0..23
    weekday: np.ndarray  # int8, 0 = Monday .. 6 = Sunday
    fallback_count: int  # rows whose zone was empty, unknown or invalid


@dataclass(frozen=True)
class SendTime:
    best_hour: np.ndarray  # int8, -1 for none
    best_weekday: np.ndarray  # int8, -1 for none
    observation_count: np.ndarray  # int64
    confidence: np.ndarray  # SendTimeConfidence values
    population_best_hour: int  # -1 when nobody has data
    population_best_weekday: int


def _zone(name: object) -> ZoneInfo | None:
    if not isinstance(name, str) or not name.strip():
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError and OSError: names that are not keys at all ("../x", "a\0b").
        return None


def local_times(
    utc_seconds: np.ndarray, zone_names: np.ndarray, *, fallback_zone: str
) -> LocalTimes:
    """Local hour and weekday of UTC instants in each row's IANA zone, exact across DST.

    For each distinct zone the UTC offset is looked up per distinct UTC day, and per UTC hour
    on the days it changes (offsets change on whole UTC hours in nearly every zone), and
    mapped back with numpy, so millions of rows cost a few hundred lookups per zone. Empty,
    unknown or invalid zone names use fallback_zone; how many did is reported.
    """
    seconds = vector("utc_seconds", utc_seconds)
    if seconds.size and not np.issubdtype(seconds.dtype, np.integer):
        raise ValueError(f"utc_seconds must hold integers, got {seconds.dtype}")
    seconds = seconds.astype(np.int64, copy=False)
    names = vector("zone_names", zone_names, dtype=object)
    same_sizes(utc_seconds=seconds, zone_names=names)
    fallback = _zone(fallback_zone)
    if fallback is None:
        raise ValueError(f"fallback_zone {fallback_zone!r} is not a known IANA time zone")

    offsets = np.zeros(seconds.size, dtype=np.int64)
    fallback_count = 0
    texts = np.array(["" if name is None else str(name) for name in names], dtype=object)
    if texts.size:
        distinct, inverse = np.unique(texts, return_inverse=True)
        inverse = inverse.ravel()
        for position, name in enumerate(distinct.tolist()):
            rows = np.flatnonzero(inverse == position)
            zone = _zone(name)
            if zone is None:
                zone = fallback
                fallback_count += rows.size
            hours, hour_inverse = np.unique(seconds[rows] // SECONDS_PER_HOUR, return_inverse=True)
            offsets[rows] = _hour_offsets(zone, hours)[hour_inverse.ravel()]
    local = seconds + offsets
    return LocalTimes(
        hour=((local // SECONDS_PER_HOUR) % HOURS).astype(np.int8),
        weekday=((local // SECONDS_PER_DAY + EPOCH_WEEKDAY) % WEEKDAYS).astype(np.int8),
        fallback_count=fallback_count,
    )


def _hour_offsets(zone: ZoneInfo, hours: np.ndarray) -> np.ndarray:
    """UTC offsets of a zone at the start of each (sorted, distinct) UTC hour.

    An offset changes on a few days a year: it is looked up at the start and end of each
    distinct day, and hour by hour only on days where the two differ.
    """
    days, day_of_hour = np.unique(hours // HOURS, return_inverse=True)
    starts = np.array(
        [_offset_seconds(zone, int(day) * SECONDS_PER_DAY) for day in days.tolist()],
        dtype=np.int64,
    )
    ends = np.array(
        [_offset_seconds(zone, (int(day) + 1) * SECONDS_PER_DAY) for day in days.tolist()],
        dtype=np.int64,
    )
    offsets = starts[day_of_hour.ravel()]
    changing = np.flatnonzero((starts != ends)[day_of_hour.ravel()])
    offsets[changing] = [
        _offset_seconds(zone, int(hour) * SECONDS_PER_HOUR) for hour in hours[changing].tolist()
    ]
    return offsets


# Ranges of customers share zones and days: a refresh asks for the same few thousand offsets
# again and again.
@lru_cache(maxsize=1 << 16)
def _offset_seconds(zone: ZoneInfo, utc_second: int) -> int:
    offset = datetime.fromtimestamp(utc_second, tz=UTC).astimezone(zone).utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


def _smooth_hours(histogram: np.ndarray) -> np.ndarray:
    """Circular smoothing along the last axis (hours), wrapping round midnight."""
    before, centre, after = HOUR_SMOOTHING
    return (
        before * np.roll(histogram, 1, axis=-1)
        + centre * histogram
        + after * np.roll(histogram, -1, axis=-1)
    )


def send_time_estimate(
    *,
    customer_index: np.ndarray,
    local_hour: np.ndarray,
    local_weekday: np.ndarray,
    weights: np.ndarray,
    customer_count: int,
    prior_strength: float = PRIOR_OBSERVATIONS,
    population_hour_histogram: np.ndarray | None = None,
    population_weekday_histogram: np.ndarray | None = None,
) -> SendTime:
    """Each customer's most likely hour and weekday to act, from weighted local observations.

    Each customer's hour histogram is smoothed circularly and added to prior_strength
    pseudo-observations spread like the population's (smoothed) histogram; the best hour is
    the peak of that sum, and likewise the weekday (not smoothed: weekdays differ in kind).
    Customers without observations get the population's best and confidence "population".
    Ties go to the earliest hour or weekday. The population histograms (weights per local hour
    and weekday) default to the observations given; a caller scoring a few customers passes the
    whole population's, stored by the last full run.
    """
    if not np.isfinite(prior_strength) or prior_strength < 0:
        raise ValueError(f"prior_strength must be a non-negative number, got {prior_strength}")
    customers = indexes("customer_index", customer_index, count=customer_count)
    hours = indexes("local_hour", local_hour, count=HOURS)
    weekdays = indexes("local_weekday", local_weekday, count=WEEKDAYS)
    weight = vector("weights", weights, dtype=np.float64)
    same_sizes(customer_index=customers, local_hour=hours, local_weekday=weekdays, weights=weight)
    if not np.all(np.isfinite(weight)) or np.any(weight < 0):
        raise ValueError("weights must be finite and not negative")

    if population_hour_histogram is None:
        population_hour_histogram = np.bincount(hours, weights=weight, minlength=HOURS)
    if population_weekday_histogram is None:
        population_weekday_histogram = np.bincount(weekdays, weights=weight, minlength=WEEKDAYS)
    population_hours = _smooth_hours(
        vector("population_hour_histogram", population_hour_histogram, size=HOURS, dtype=np.float64)
    )
    population_weekdays = vector(
        "population_weekday_histogram",
        population_weekday_histogram,
        size=WEEKDAYS,
        dtype=np.float64,
    )
    has_population = population_hours.sum() > 0
    population_best_hour = int(np.argmax(population_hours)) if has_population else -1
    population_best_weekday = int(np.argmax(population_weekdays)) if has_population else -1
    hour_prior = population_hours / population_hours.sum() if has_population else population_hours
    weekday_prior = (
        population_weekdays / population_weekdays.sum() if has_population else population_weekdays
    )

    observation_count = np.bincount(customers, minlength=customer_count).astype(np.int64)
    best_hour = np.full(customer_count, population_best_hour, dtype=np.int8)
    best_weekday = np.full(customer_count, population_best_weekday, dtype=np.int8)
    observed = np.flatnonzero(observation_count > 0)
    # Histograms only for customers with observations, in blocks, to bound memory.
    compact = np.full(customer_count, -1, dtype=np.int64)
    compact[observed] = np.arange(observed.size)
    row = compact[customers]
    for start in range(0, observed.size, BATCH_CUSTOMERS):
        stop = min(start + BATCH_CUSTOMERS, observed.size)
        size = stop - start
        inside = (row >= start) & (row < stop)
        local_row = row[inside] - start
        hour_histogram = np.bincount(
            local_row * HOURS + hours[inside], weights=weight[inside], minlength=size * HOURS
        ).reshape(size, HOURS)
        weekday_histogram = np.bincount(
            local_row * WEEKDAYS + weekdays[inside],
            weights=weight[inside],
            minlength=size * WEEKDAYS,
        ).reshape(size, WEEKDAYS)
        hour_posterior = _smooth_hours(hour_histogram) + prior_strength * hour_prior
        weekday_posterior = weekday_histogram + prior_strength * weekday_prior
        best_hour[observed[start:stop]] = np.argmax(hour_posterior, axis=1)
        best_weekday[observed[start:stop]] = np.argmax(weekday_posterior, axis=1)

    confidence = np.full(customer_count, SendTimeConfidence.POPULATION.value, dtype=object)
    confidence[observation_count > 0] = SendTimeConfidence.LOW.value
    confidence[observation_count >= MEDIUM_CONFIDENCE_OBSERVATIONS] = (
        SendTimeConfidence.MEDIUM.value
    )
    confidence[observation_count >= HIGH_CONFIDENCE_OBSERVATIONS] = SendTimeConfidence.HIGH.value
    return SendTime(
        best_hour=best_hour,
        best_weekday=best_weekday,
        observation_count=observation_count,
        confidence=confidence,
        population_best_hour=population_best_hour,
        population_best_weekday=population_best_weekday,
    )
