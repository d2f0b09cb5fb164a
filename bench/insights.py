"""Insights refresh on a large shop: wall time and peak memory, the fits against lifetimes, and
the RFM aggregation against hand-written SQL.

Run: .venv/bin/python bench/insights.py --data-dir DIR [--customers 1000000]
     [--database-url postgres://postgres@127.0.0.1:5432/bench]

DIR holds the SQLite database (or, with --database-url, only the queue); when the database has
no customers, `patron demo-data --customers N` fills it first (a million customers, about nine
million orders, take 20-30 minutes on SQLite). Measured, in this order:

1. The full refresh, `patron insights refresh`, as a child process: wall time and peak RSS.
   Targets (issue 5): at most 90 s and 2.5 GB on SQLite for 1 M customers.
2. The RFM aggregation: Patron's path (each id range's purchases read by orders.facts and
   summarised per customer by insights' order_summary) beside hand-written SQL that computes
   the same summary per customer: purchases, distinct purchase days (the BG/NBD counts days,
   not orders), first and last purchase day, value in the reporting currency, purchases in
   other currencies and the first day's value (the Gamma-Gamma leaves the first purchase
   out). Target: at most 1.5x. The benchmark checks that both give the same figures, and
   also times the plain GROUP BY of count, last purchase and value that an engineer might
   write first: it answers fewer questions, so it is printed beside, not used as the target.
3. The fits: BG/NBD and Gamma-Gamma on the population's arrays (as the refresh builds them:
   distinct (x, t_x, T) rows with weights; repeat buyers' mean values) by Patron's estimators
   and by lifetimes 0.11 (BetaGeoFitter, GammaGammaFitter) on the same arrays, same run.
   Target: Patron no slower.
4. Rescoring single customers with the stored population, as after a new order (target:
   within a second).

The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))


RESCORE_SAMPLE = 50  # customers rescored one by one, spread over the id range


def environment_for(arguments: argparse.Namespace) -> dict[str, str]:
    environment = {**os.environ, "PATRON_DATA_DIR": str(arguments.data_dir)}
    if arguments.database_url:
        environment["PATRON_DATABASE_URL"] = arguments.database_url
    else:
        environment.pop("PATRON_DATABASE_URL", None)
    return environment


def prepare(arguments: argparse.Namespace) -> None:
    environment = environment_for(arguments)
    subprocess.run([str(BIN / "patron"), "migrate"], env=environment, check=True)
    # demo-data skips a database that already has customers.
    subprocess.run(
        [str(BIN / "patron"), "demo-data", "--customers", str(arguments.customers)],
        env=environment,
        check=True,
    )


def refresh_measure(arguments: argparse.Namespace) -> dict[str, float]:
    started = time.perf_counter()
    subprocess.run(
        [str(BIN / "patron"), "insights", "refresh"], env=environment_for(arguments), check=True
    )
    seconds = time.perf_counter() - started
    peak_kilobytes = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"refresh_seconds": seconds, "refresh_peak_rss_mb": peak_kilobytes / 1024}


def in_process(arguments: argparse.Namespace) -> dict[str, Any]:
    os.environ.update(environment_for(arguments))
    from patron.config.env import settings_module

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module())
    import django

    django.setup()
    import numpy as np
    from django.db import connection

    from patron.core import clock
    from patron.insights.estimators import bgnbd, gamma_gamma
    from patron.insights.services.gather import DAY_SECONDS, order_summary
    from patron.insights.services.refresh import (
        customer_id_ranges,
        lifetime_inputs,
        repeat_average_value,
        reporting_currency_choose,
    )
    from patron.orders.facts import order_facts
    from patron.orders.models import Order, OrderStatus

    as_of = clock.now()
    currency = reporting_currency_choose("", as_of)
    as_of_day = as_of.timestamp() / DAY_SECONDS
    ranges = customer_id_ranges()

    # 2. RFM aggregation: Patron's path, then the hand-written SQL, twice each (best of two).
    def patron_path() -> list[Any]:
        summaries = []
        for low, high in ranges:
            orders = order_facts(
                customer_low=low, customer_high=high, as_of=as_of, currency=currency
            )
            ids = np.arange(low, high, dtype=np.int64)  # every id of the range
            summaries.append(order_summary(ids, orders))
        return summaries

    table = connection.ops.quote_name(Order._meta.db_table)
    purchases = f"FROM {table} WHERE placed_at <= %s AND status NOT IN (%s, %s)"
    purchase_parameters: list[Any] = [as_of, OrderStatus.CANCELLED, OrderStatus.REFUNDED]
    plain_statement = (
        f"SELECT customer_id, MAX(placed_at), COUNT(*), SUM(total - refunded_total) {purchases} "
        "GROUP BY customer_id"
    )
    if connection.vendor == "sqlite":
        day = "unixepoch(placed_at) / 86400"
    else:
        day = "CAST(FLOOR(EXTRACT(EPOCH FROM placed_at)) AS bigint) / 86400"
    # Per customer and day first, then per customer. The first day's value rides in the low
    # bits of MIN(day << 40 | value): one pass, no join or window (cents stay below 2**40).
    summary_statement = (
        "SELECT customer_id, SUM(purchases), COUNT(*), MIN(day), MAX(day), SUM(value), "
        "SUM(other_currency), MIN(day * 1099511627776 + value) %% 1099511627776 "
        "FROM (SELECT customer_id, "
        f"{day} AS day, COUNT(*) AS purchases, "
        "SUM(CASE WHEN currency = %s "
        "THEN CAST(ROUND((total - refunded_total) * 100) AS bigint) ELSE 0 END) AS value, "
        "SUM(CASE WHEN currency = %s THEN 0 ELSE 1 END) AS other_currency "
        f"{purchases} GROUP BY customer_id, day) AS days GROUP BY customer_id"
    )

    def plain_path() -> int:
        with connection.cursor() as cursor:
            cursor.execute(plain_statement, purchase_parameters)
            return len(cursor.fetchall())

    def summary_path() -> list[tuple[int, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(summary_statement, [currency, currency, *purchase_parameters])
            return cursor.fetchall()

    patron_times, reference_times, plain_times = [], [], []
    summaries: list[Any] = []
    by_sql: list[tuple[int, ...]] = []
    for _ in range(2):
        started = time.perf_counter()
        summaries = patron_path()
        patron_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        by_sql = summary_path()
        reference_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        plain_path()
        plain_times.append(time.perf_counter() - started)
    buyers_by_sql = len(by_sql)
    summaries_agree = _summaries_agree(summaries, ranges, by_sql)

    # 3. The fits on the arrays the refresh builds.
    inputs = [lifetime_inputs(summary, as_of_day) for summary in summaries]
    buyers = np.concatenate([summary.order_count > 0 for summary in summaries])
    frequency = np.concatenate([item["frequency"] for item in inputs])[buyers]
    recency = np.concatenate([item["recency"] for item in inputs])[buyers]
    age = np.concatenate([item["age"] for item in inputs])[buyers]
    rows, weights = np.unique(
        np.stack([frequency, recency, age], axis=1), axis=0, return_counts=True
    )
    values = [repeat_average_value(summary) for summary in summaries]
    repeats = np.concatenate([item[0] for item in values])
    # In currency units rather than cents: lifetimes starts every parameter at 1 and does not
    # converge on values in the thousands (the estimates scale: p and q stay, gamma divides).
    average = np.concatenate([item[1] for item in values]) / 100
    valued = (repeats > 0) & (average > 0)

    started = time.perf_counter()
    ours_bgnbd = bgnbd.bgnbd_fit(rows[:, 0], rows[:, 1], rows[:, 2], weights=weights * 1.0)
    ours_bgnbd_seconds = time.perf_counter() - started
    started = time.perf_counter()
    ours_gamma = gamma_gamma.gamma_gamma_fit(repeats[valued], average[valued])
    ours_gamma_seconds = time.perf_counter() - started

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandas as pd
        from lifetimes import BetaGeoFitter, GammaGammaFitter

        started = time.perf_counter()
        reference_bgnbd = BetaGeoFitter(penalizer_coef=0.0).fit(
            pd.Series(rows[:, 0]),
            pd.Series(rows[:, 1]),
            pd.Series(rows[:, 2]),
            weights=weights,
        )
        reference_bgnbd_seconds = time.perf_counter() - started
        from lifetimes.utils import ConvergenceError

        started = time.perf_counter()
        try:
            reference_gamma_parameters = dict(
                GammaGammaFitter(penalizer_coef=0.0)
                .fit(pd.Series(repeats[valued]), pd.Series(average[valued]))
                .params_
            )
        except ConvergenceError:
            reference_gamma_parameters = {"did_not_converge": float("nan")}
        reference_gamma_seconds = time.perf_counter() - started

    # 4. Rescoring single customers with the stored population (what a new order triggers).
    from patron.insights.services.refresh import customers_rescore
    from patron.insights.services.runs import run_latest_done, run_options

    run = run_latest_done()
    assert run is not None
    options = run_options(run, is_rescoring=True)
    sample = np.linspace(ranges[0][0], ranges[-1][1] - 1, RESCORE_SAMPLE).astype(int).tolist()
    rescore_times = []
    for customer_id in sample:
        started = time.perf_counter()
        customers_rescore([customer_id], run, options)
        rescore_times.append(time.perf_counter() - started)

    return {
        "rescore_median_ms": float(np.median(rescore_times) * 1000),
        "rescore_max_ms": float(np.max(rescore_times) * 1000),
        "database": connection.vendor,
        "buyers": int(buyers.sum()),
        "buyers_by_sql": buyers_by_sql,
        "orders_counted": int(sum(int(summary.order_count.sum()) for summary in summaries)),
        "rfm_patron_seconds": min(patron_times),
        "rfm_sql_seconds": min(reference_times),
        "rfm_ratio": min(patron_times) / min(reference_times),
        "rfm_summaries_agree": summaries_agree,
        "rfm_plain_sql_seconds": min(plain_times),
        "rfm_plain_ratio": min(patron_times) / min(plain_times),
        "bgnbd_rows": int(rows.shape[0]),
        "gamma_gamma_customers": int(valued.sum()),
        "bgnbd": ours_bgnbd.as_dict(),
        "bgnbd_lifetimes": {key: float(value) for key, value in reference_bgnbd.params_.items()},
        "gamma_gamma": ours_gamma.as_dict(),
        "gamma_gamma_lifetimes": {
            key: float(value) for key, value in reference_gamma_parameters.items()
        },
        "fit_patron_seconds": ours_bgnbd_seconds + ours_gamma_seconds,
        "fit_lifetimes_seconds": reference_bgnbd_seconds + reference_gamma_seconds,
        "fit_ratio": (ours_bgnbd_seconds + ours_gamma_seconds)
        / (reference_bgnbd_seconds + reference_gamma_seconds),
        "fit_seconds": {
            "bgnbd": ours_bgnbd_seconds,
            "gamma_gamma": ours_gamma_seconds,
            "bgnbd_lifetimes": reference_bgnbd_seconds,
            "gamma_gamma_lifetimes": reference_gamma_seconds,
        },
    }


def _summaries_agree(
    summaries: list[Any], ranges: list[tuple[int, int]], rows: list[tuple[int, ...]]
) -> bool:
    """Whether Patron's per-range summaries and the SQL's rows give every buyer the same figures."""
    import numpy as np

    if not rows:
        return all(int(summary.order_count.sum()) == 0 for summary in summaries)
    table = np.array(rows, dtype=np.int64)
    ids = np.concatenate([np.arange(low, high, dtype=np.int64) for low, high in ranges])
    order_count = np.concatenate([summary.order_count for summary in summaries])
    bought = order_count > 0
    if not np.array_equal(ids[bought], np.sort(table[:, 0])):
        return False
    table = table[np.argsort(table[:, 0])]

    def column(name: str) -> Any:
        return np.concatenate([getattr(summary, name) for summary in summaries])[bought]

    return all(
        np.array_equal(np.asarray(ours, dtype=np.int64), theirs)
        for ours, theirs in (
            (order_count[bought], table[:, 1]),
            (column("purchase_days"), table[:, 2]),
            (column("first_day"), table[:, 3]),
            (column("last_day"), table[:, 4]),
            (np.rint(column("value_cents")), table[:, 5]),
            (column("other_currency_orders"), table[:, 6]),
            (np.rint(column("first_day_value_cents")), table[:, 7]),
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="")
    arguments = parser.parse_args()
    arguments.data_dir.mkdir(parents=True, exist_ok=True)
    prepare(arguments)
    figures: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        **refresh_measure(arguments),
    }
    figures.update(in_process(arguments))
    print()
    print(
        f"database: {figures['database']}, {figures['buyers']:,} buyers, "
        f"{figures['orders_counted']:,} purchases"
    )
    print(
        f"full refresh:     {figures['refresh_seconds']:8.1f} s   peak RSS "
        f"{figures['refresh_peak_rss_mb']:,.0f} MB   (targets on SQLite: 90 s, 2,560 MB)"
    )
    print(
        f"RFM aggregation:  {figures['rfm_patron_seconds']:8.2f} s   hand-written SQL "
        f"{figures['rfm_sql_seconds']:.2f} s   ratio {figures['rfm_ratio']:.2f} (target 1.5); "
        f"same figures: {figures['rfm_summaries_agree']}"
    )
    print(
        f"  plain GROUP BY (count, last purchase, value): {figures['rfm_plain_sql_seconds']:.2f} s"
        f"   ratio {figures['rfm_plain_ratio']:.2f}"
    )
    print(
        f"fits:             {figures['fit_patron_seconds']:8.3f} s   lifetimes "
        f"{figures['fit_lifetimes_seconds']:.3f} s   ratio {figures['fit_ratio']:.2f} (target 1.0)"
    )
    print(
        f"  BG/NBD on {figures['bgnbd_rows']:,} distinct rows: Patron {figures['bgnbd']}, "
        f"lifetimes {figures['bgnbd_lifetimes']}"
    )
    print(
        f"  Gamma-Gamma on {figures['gamma_gamma_customers']:,} repeat buyers: Patron "
        f"{figures['gamma_gamma']}, lifetimes {figures['gamma_gamma_lifetimes']}"
    )
    print(
        f"rescoring one customer: median {figures['rescore_median_ms']:.0f} ms, "
        f"slowest {figures['rescore_max_ms']:.0f} ms of {RESCORE_SAMPLE} (target: within a second)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
