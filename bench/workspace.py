"""Workspace page speed on a large shop: server time of the main pages beside hand-written SQL.

Run: .venv/bin/python bench/workspace.py --data-dir DIR [--customers 1000000] [--samples 60]

DIR holds a Patron SQLite database; when it has none, one is made with `patron demo-data
--customers N` (a million customers take 10-30 minutes). Each page is requested in this
process through Django's test client, signed in as an admin, with production-like settings
(DEBUG off, cached templates): the time is the server's, from request to rendered response,
without a network. Pages timed: the customer list with a filter, the customer list with a
search, the customer page (a sample of customers, the one with the longest history among
them) and the dashboard (its figures drawn afresh each time: the cache is cleared).

The reference, measured in the same run on the same connection: the SQL an engineer would
write by hand to fetch what each page shows (rows, counts, tags, timeline heads, figures),
with nothing rendered. Targets (issue 4): each page at most 3x its SQL and under 150 ms p99 on
SQLite, with a fixed number of queries per page. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Scenario:
    name: str
    urls: Callable[[int], list[str]]  # how many → the URLs to request, one per sample
    reference: Callable[[str], None]  # one URL → run the hand-written SQL for it


def prepare(data_directory: Path, customers: int) -> None:
    environment = {**os.environ, "PATRON_DATA_DIR": str(data_directory)}
    environment.pop("PATRON_DATABASE_URL", None)
    has_database = (data_directory / "patron.sqlite3").exists()
    subprocess.run([str(BIN / "patron"), "migrate"], env=environment, check=True)
    # The pages link the stylesheet through the manifest, as `patron serve` does.
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "collectstatic", "--no-input", "-v0"],
        env=environment,
        check=True,
    )
    if not has_database:
        print(f"making a {customers:,}-customer demo shop in {data_directory} …", flush=True)
        subprocess.run(
            [str(BIN / "patron"), "demo-data", "--customers", str(customers)],
            env=environment,
            check=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--seed", type=int, default=11)
    arguments = parser.parse_args()
    arguments.data_dir.mkdir(parents=True, exist_ok=True)
    prepare(arguments.data_dir, arguments.customers)

    os.environ["PATRON_DATA_DIR"] = str(arguments.data_dir)
    os.environ.pop("PATRON_DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "patron.config.settings.base"
    import django

    django.setup()
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from patron.accounts.models import Role, User

    user, _ = User.objects.get_or_create(
        username="bench-admin", defaults={"role": Role.ADMIN, "email": "bench@example.com"}
    )
    client = Client()
    client.force_login(user)
    randomness = random.Random(arguments.seed)

    def sql(statement: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(statement, list(parameters))
            return list(cursor.fetchall())

    customer_count = sql("SELECT max(id) FROM customers_customer")[0][0]
    # Emails of real customers, for searches that find someone (as staff type them: a prefix).
    search_emails = [
        row[0]
        for row in sql(
            "SELECT email FROM customers_customer WHERE id IN ("
            + ",".join(str(randomness.randint(1, customer_count)) for _ in range(400))
            + ") AND email IS NOT NULL"
        )
    ]

    list_columns = (
        "id, first_name, last_name, email, phone, country, lifecycle_stage, order_count, "
        "total_spent, last_order_at, created_at"
    )

    def tags_of(ids: list[int]) -> None:
        if ids:
            sql(
                "SELECT ct.customer_id, t.name FROM customers_customertag ct "
                "JOIN customers_tag t ON t.id = ct.tag_id WHERE ct.customer_id IN ("
                + ",".join(map(str, ids))
                + ")"
            )

    # The filter the issue names: a lifecycle stage in one market, most recent buyers first.
    filtered_url = "/customers/?lifecycle_stage=at_risk&country=DE&sort=-last_order"

    def filtered_reference(url: str) -> None:
        condition = "lifecycle_stage = 'at_risk' AND country = 'DE'"
        sql(
            f"SELECT count(*) FROM (SELECT 1 FROM customers_customer WHERE {condition} LIMIT 10000)"
        )
        rows = sql(
            f"SELECT {list_columns} FROM customers_customer WHERE {condition} "
            "ORDER BY last_order_at DESC, id DESC LIMIT 51"
        )
        tags_of([row[0] for row in rows[:50]])

    def search_urls(count: int) -> list[str]:
        return [
            f"/customers/?q={search_emails[index % len(search_emails)][:9]}"
            for index in range(count)
        ]

    def search_reference(url: str) -> None:
        prefix = url.split("q=", 1)[1]
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        # Names and emails starting with the text, the customer's external ids too.
        condition = (
            "(email >= %s AND email < %s) OR (lower(last_name) >= %s AND lower(last_name) < %s) "
            "OR (lower(first_name) >= %s AND lower(first_name) < %s) OR id IN (SELECT "
            "customer_id FROM customers_identity WHERE kind IN ('external_id', 'user_id') AND "
            "value >= %s AND value < %s)"
        )
        parameters = [prefix, upper] * 4
        sql(
            f"SELECT count(*) FROM (SELECT 1 FROM customers_customer WHERE {condition} LIMIT 10000)",
            parameters,
        )
        rows = sql(
            f"SELECT {list_columns} FROM customers_customer WHERE {condition} "
            "ORDER BY lower(last_name), lower(first_name), id LIMIT 51",
            parameters,
        )
        tags_of([row[0] for row in rows[:50]])

    def customer_urls(count: int) -> list[str]:
        ids = [randomness.randint(1, customer_count) for _ in range(count)]
        # The one with the longest order history in the sample range stands in for the
        # "whatever the history length" case.
        longest = sql("SELECT id FROM customers_customer ORDER BY order_count DESC LIMIT 1")
        ids[0] = longest[0][0]
        return [f"/customers/{customer_id}/" for customer_id in ids]

    timeline_page = 30

    def customer_reference(url: str) -> None:
        customer_id = int(url.strip("/").split("/")[1])
        sql("SELECT * FROM customers_customer WHERE id = %s", [customer_id])
        sql("SELECT * FROM customers_identity WHERE customer_id = %s", [customer_id])
        tags_of([customer_id])
        sql(
            "SELECT c.* FROM customers_companycontact cc JOIN customers_company c "
            "ON c.id = cc.company_id WHERE cc.customer_id = %s",
            [customer_id],
        )
        sql("SELECT * FROM customers_milestone WHERE customer_id = %s", [customer_id])
        sql(
            "SELECT * FROM customers_note WHERE customer_id = %s ORDER BY created_at DESC",
            [customer_id],
        )
        sql(
            "SELECT purpose, channel, status, max(recorded_at) FROM privacy_consentrecord "
            "WHERE customer_id = %s GROUP BY purpose, channel",
            [customer_id],
        )
        # Key figures and the products bought, each one aggregate.
        sql(
            "SELECT count(*), sum(total), min(placed_at), max(placed_at) FROM orders_order "
            "WHERE customer_id = %s AND status != 'cancelled'",
            [customer_id],
        )
        sql(
            "SELECT l.sku, max(l.name), count(DISTINCT l.order_id), sum(l.quantity), "
            "max(o.placed_at), min(o.placed_at) FROM orders_orderline l JOIN orders_order o "
            "ON o.id = l.order_id WHERE o.customer_id = %s AND o.status != 'cancelled' "
            "GROUP BY l.sku ORDER BY count(DISTINCT l.order_id) DESC",
            [customer_id],
        )
        # The timeline's first page: the newest of each kind, merged.
        sql(
            "SELECT * FROM orders_order WHERE customer_id = %s ORDER BY placed_at DESC LIMIT %s",
            [customer_id, timeline_page + 1],
        )
        sql(
            "SELECT r.* FROM orders_refund r JOIN orders_order o ON o.id = r.order_id "
            "WHERE o.customer_id = %s ORDER BY r.refunded_at DESC LIMIT %s",
            [customer_id, timeline_page + 1],
        )
        sql(
            "SELECT * FROM orders_cart WHERE customer_id = %s ORDER BY last_activity_at DESC "
            "LIMIT %s",
            [customer_id, timeline_page + 1],
        )
        sql(
            "SELECT * FROM events_event WHERE customer_id = %s ORDER BY timestamp DESC LIMIT %s",
            [customer_id, timeline_page + 1],
        )
        sql(
            "SELECT * FROM accounts_auditentry WHERE customer_id = %s ORDER BY created_at DESC "
            "LIMIT %s",
            [customer_id, timeline_page + 1],
        )

    dashboard_url = "/?period=365d"

    def dashboard_reference(url: str) -> None:
        # The rollups the page reads for a year: daily sales, top products, cohorts, stages.
        sql("SELECT * FROM orders_salesday WHERE day >= date('now', '-730 days') ORDER BY day")
        sql(
            "SELECT product_id, sum(units), sum(revenue) FROM orders_productsalesmonth "
            "WHERE month >= date('now', '-365 days') GROUP BY product_id "
            "ORDER BY sum(revenue) DESC LIMIT 10"
        )
        sql("SELECT * FROM orders_cohortmonth WHERE cohort_month >= date('now', '-400 days')")
        sql("SELECT * FROM orders_stagecount")

    scenarios = (
        Scenario(
            "customer list, filtered", lambda count: [filtered_url] * count, filtered_reference
        ),
        Scenario("customer list, search", search_urls, search_reference),
        Scenario("customer page", customer_urls, customer_reference),
        Scenario("dashboard", lambda count: [dashboard_url] * count, dashboard_reference),
    )

    results: dict[str, Any] = {}
    for scenario in scenarios:
        urls = scenario.urls(arguments.samples)
        for url in urls[:3]:  # warm the page cache and Python's caches
            client.get(url)
            scenario.reference(url)
        page_times, reference_times, query_counts = [], [], set()
        for url in urls:
            cache.clear()
            started = time.perf_counter()
            response = client.get(url)
            page_times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
            started = time.perf_counter()
            scenario.reference(url)
            reference_times.append(time.perf_counter() - started)
        for url in urls[:5]:
            cache.clear()
            with CaptureQueriesContext(connection) as captured:
                client.get(url)
            # Sign-in bookkeeping (session, user) is not the page's own work.
            query_counts.add(len(captured.captured_queries))
        figures = {
            "page_p50_ms": round(statistics.median(page_times) * 1000, 1),
            "page_p99_ms": round(percentile(page_times, 0.99) * 1000, 1),
            "sql_p50_ms": round(statistics.median(reference_times) * 1000, 1),
            "sql_p99_ms": round(percentile(reference_times, 0.99) * 1000, 1),
            "queries": sorted(query_counts),
        }
        figures["ratio_p50"] = round(figures["page_p50_ms"] / max(figures["sql_p50_ms"], 0.1), 2)
        figures["ratio_p99"] = round(figures["page_p99_ms"] / max(figures["sql_p99_ms"], 0.1), 2)
        results[scenario.name] = figures
        print(
            f"{scenario.name:26} page p50 {figures['page_p50_ms']:7.1f} ms  p99 "
            f"{figures['page_p99_ms']:7.1f} ms | SQL p50 {figures['sql_p50_ms']:7.1f} ms  p99 "
            f"{figures['sql_p99_ms']:7.1f} ms | ratio p50 {figures['ratio_p50']:5.2f}  p99 "
            f"{figures['ratio_p99']:5.2f} | queries {figures['queries']}",
            flush=True,
        )

    print(
        json.dumps(
            {
                "benchmark": "workspace",
                "customers": customer_count,
                "samples": arguments.samples,
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                "load_average": round(os.getloadavg()[0], 2),
                "pages": results,
                "worst_ratio_p99": max(page["ratio_p99"] for page in results.values()),
                "worst_page_p99_ms": max(page["page_p99_ms"] for page in results.values()),
            }
        )
    )


if __name__ == "__main__":
    main()
