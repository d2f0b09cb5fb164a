"""Unit tests of local times across time zones and DST, and of the best send hour and weekday."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from patron.insights.estimators.send_time import (
    PRIOR_OBSERVATIONS,
    SendTime,
    local_times,
    send_time_estimate,
)


def _utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def test_local_times_are_exact_across_daylight_saving_changes() -> None:
    # given instants on both sides of Berlin's and New York's spring changes, one in Kolkata
    # (+05:30), one before 1970, and a row with an unknown and one with an empty zone
    seconds = np.array(
        [
            _utc("2026-03-29 00:30:00"),  # Berlin 01:30 CET, Sunday
            _utc("2026-03-29 01:30:00"),  # Berlin 03:30 CEST
            _utc("2026-03-08 06:59:59"),  # New York 01:59 EST
            _utc("2026-03-08 07:00:00"),  # New York 03:00 EDT
            _utc("2026-11-25 20:45:00"),  # Kolkata 02:15 on Thursday
            _utc("1969-12-31 23:00:00"),  # Berlin 1970-01-01 00:00, a Thursday
            _utc("2026-11-25 12:00:00"),  # fallback Europe/Lisbon: 12:00 WET, Wednesday
            _utc("2026-07-01 12:00:00"),  # fallback: 13:00 WEST
        ],
        dtype=np.int64,
    )
    zones = np.array(
        [
            "Europe/Berlin",
            "Europe/Berlin",
            "America/New_York",
            "America/New_York",
            "Asia/Kolkata",
            "Europe/Berlin",
            "Not/AZone",
            "",
        ],
        dtype=object,
    )

    # when
    result = local_times(seconds, zones, fallback_zone="Europe/Lisbon")

    # then
    assert result.hour.tolist() == [1, 3, 1, 3, 2, 0, 12, 13]
    assert result.weekday.tolist() == [6, 6, 6, 6, 3, 3, 2, 2]
    assert result.fallback_count == 2
    assert result.hour.dtype == np.int8


def test_local_times_agree_with_zoneinfo_over_a_year_of_hours() -> None:
    # given every 7th hour for a year in a zone with DST and a half-hour one
    seconds = np.arange(_utc("2026-01-01 00:00:00"), _utc("2027-01-01 00:00:00"), 7 * 3600)
    for zone_name in ("Europe/London", "Australia/Adelaide"):
        zones = np.full(seconds.size, zone_name, dtype=object)

        # when
        result = local_times(seconds, zones, fallback_zone="UTC")

        # then
        zone = ZoneInfo(zone_name)
        expected = [datetime.fromtimestamp(s, tz=zone) for s in seconds.tolist()]
        assert result.hour.tolist() == [moment.hour for moment in expected]
        assert result.weekday.tolist() == [moment.weekday() for moment in expected]


def test_local_times_refuse_bad_input() -> None:
    # when / then
    with pytest.raises(ValueError, match="fallback_zone 'Nowhere' is not a known IANA time zone"):
        local_times(np.zeros(1, dtype=np.int64), np.array(["UTC"], object), fallback_zone="Nowhere")
    with pytest.raises(ValueError, match="utc_seconds must hold integers"):
        local_times(np.zeros(1), np.array(["UTC"], object), fallback_zone="UTC")
    with pytest.raises(ValueError, match="arrays must have the same length"):
        local_times(np.zeros(2, dtype=np.int64), np.array(["UTC"], object), fallback_zone="UTC")
    empty = local_times(np.zeros(0, dtype=np.int64), np.zeros(0, object), fallback_zone="UTC")
    assert empty.hour.tolist() == [] and empty.fallback_count == 0


def _estimate(
    customers: list[int],
    hours: list[int],
    weekdays: list[int],
    count: int,
    *,
    weights: list[float] | None = None,
    prior_strength: float = PRIOR_OBSERVATIONS,
) -> SendTime:
    return send_time_estimate(
        customer_index=np.array(customers, dtype=np.int64),
        local_hour=np.array(hours, dtype=np.int64),
        local_weekday=np.array(weekdays, dtype=np.int64),
        weights=np.ones(len(customers)) if weights is None else np.array(weights),
        customer_count=count,
        prior_strength=prior_strength,
    )


def test_a_clear_habit_wins_and_customers_without_data_get_the_population() -> None:
    # given a crowd (customers 1..20) that acts at 9:00 on Tuesdays, customer 0 who clicked at
    # 20:00 on Saturdays a dozen times, and customer 21 without any observation
    crowd = list(range(1, 21))
    customers = [0] * 12 + crowd
    hours = [20] * 12 + [9] * 20
    weekdays = [5] * 12 + [1] * 20

    # when
    result = _estimate(customers, hours, weekdays, 22)

    # then
    assert (result.population_best_hour, result.population_best_weekday) == (9, 1)
    assert (result.best_hour[0], result.best_weekday[0]) == (20, 5)
    assert (result.best_hour[1], result.best_weekday[1]) == (9, 1)
    assert (result.best_hour[21], result.best_weekday[21]) == (9, 1)
    assert result.confidence[[0, 1, 21]].tolist() == ["high", "low", "population"]
    assert result.observation_count[[0, 1, 21]].tolist() == [12, 1, 0]


def test_one_stray_click_does_not_beat_the_population_but_two_agreeing_do() -> None:
    # given a crowd of 40 acting at 19:00 on Mondays; customer 0 clicked once at 7:00,
    # customer 1 twice at 7:00 (shrinkage toward the crowd's peak, PRIOR_OBSERVATIONS = 3)
    crowd = list(range(2, 42))
    customers = [0, 1, 1, *crowd]
    hours = [7, 7, 7] + [19] * 40
    weekdays = [3, 3, 3] + [0] * 40

    # when
    result = _estimate(customers, hours, weekdays, 42)

    # then: one observation (0.5 on its hour after smoothing) loses to 3 pseudo-observations
    # shaped like the crowd (about 1.4 on 19:00); two (1.0) also lose; four (2.0) win
    assert PRIOR_OBSERVATIONS == 3.0
    assert result.best_hour[:2].tolist() == [19, 19]
    strong = _estimate([0] * 4 + crowd, [7] * 4 + [19] * 40, [3] * 4 + [0] * 40, 42)
    assert (strong.best_hour[0], strong.best_weekday[0]) == (7, 3)
    assert strong.confidence[0] == "medium"


def test_circular_smoothing_joins_hours_across_midnight() -> None:
    # given a customer with clicks at 23:00, 0:00 and 1:00, and clicks worth 1.8 at 12:00; no
    # prior
    # when
    result = _estimate(
        [0, 0, 0, 0], [23, 0, 1, 12], [0] * 4, 1, weights=[1, 1, 1, 1.8], prior_strength=0.0
    )

    # then: midnight has 0.5 + 0.25 from 23:00 + 0.25 from 1:00 = 1.0 against noon's 0.9;
    # without wrapping round, 23:00 would not count and noon would win
    assert result.best_hour.tolist() == [0]


def test_nobody_with_data_gives_no_best_time() -> None:
    # when
    result = _estimate([], [], [], 3)

    # then
    assert result.best_hour.tolist() == [-1, -1, -1]
    assert result.best_weekday.tolist() == [-1, -1, -1]
    assert result.confidence.tolist() == ["population"] * 3
    assert (result.population_best_hour, result.population_best_weekday) == (-1, -1)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"local_hour": np.array([24])}, r"local_hour must lie in 0\.\.23"),
        ({"local_weekday": np.array([7])}, r"local_weekday must lie in 0\.\.6"),
        ({"customer_index": np.array([1])}, r"customer_index must lie in 0\.\.0"),
        ({"weights": np.array([-1.0])}, "weights must be finite and not negative"),
        ({"weights": np.array([1.0, 1.0])}, "arrays must have the same length"),
        ({"prior_strength": -1.0}, "prior_strength must be a non-negative number"),
    ],
)
def test_send_time_refuses_bad_input(arguments: dict[str, object], message: str) -> None:
    # given
    valid: dict[str, object] = {
        "customer_index": np.array([0]),
        "local_hour": np.array([9]),
        "local_weekday": np.array([1]),
        "weights": np.array([1.0]),
        "customer_count": 1,
    }

    # when / then
    with pytest.raises(ValueError, match=message):
        send_time_estimate(**(valid | arguments))  # type: ignore[arg-type]
