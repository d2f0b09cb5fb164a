"""Benchmark `patron demo-data`: wall time and peak memory of a fresh load of N customers.

Runs migrate and the demo_data command as child processes against a new temporary data
directory (SQLite) or the PostgreSQL database given with --database-url, so the child's peak
RSS is measured alone (RUSAGE_CHILDREN). The reference, measured in the same run on the same
machine: a raw sqlite3 executemany of as many order rows as the load produced, into a plain
table with the orders table's columns and no indexes or constraints. The last line printed
is one JSON object with the figure, the reference and their ratio.

    .venv/bin/python bench/demo_data.py --customers 1000000
    .venv/bin/python bench/demo_data.py --customers 200000 \\
        --database-url postgres://postgres@127.0.0.1:5432/patron_bench
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = {"sqlite": 600, "postgresql": 1200}  # the targets at 1 M customers
TARGET_PEAK_BYTES = 2 * 1024**3
REFERENCE_BATCH = 100_000


def _run(arguments: list[str], environment: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *arguments],
        cwd=ROOT,
        env=environment,
        check=True,
    )
    return time.perf_counter() - started


def _counts(environment: dict[str, str]) -> dict[str, int]:
    script = (
        "import json; from patron.web.selectors import installation_stats; "
        "print(json.dumps(installation_stats().as_dict()))"
    )
    output = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", script],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def _reference_seconds(directory: Path, rows: int) -> float:
    """Raw sqlite3 executemany of `rows` order-shaped rows into a plain table; inserts timed."""
    database = sqlite3.connect(directory / "reference.sqlite3", isolation_level=None)
    database.execute("PRAGMA journal_mode=WAL")
    database.execute("PRAGMA synchronous=NORMAL")
    database.execute(
        "CREATE TABLE plain_order (id integer PRIMARY KEY, created_at datetime, "
        "updated_at datetime, external_id varchar(255), status varchar(20), currency varchar(3), "
        "subtotal decimal, discount_total decimal, shipping_total decimal, tax_total decimal, "
        "total decimal, refunded_total decimal, coupon varchar(200), placed_at datetime, "
        "cancelled_at datetime, customer_id bigint, source_id bigint)"
    )
    sql = "INSERT INTO plain_order VALUES (" + ", ".join(["?"] * 17) + ")"
    elapsed = 0.0
    for start in range(0, rows, REFERENCE_BATCH):
        batch = [
            (
                row_id + 1,
                "2025-01-01 00:00:00",
                "2025-01-01 00:00:00",
                f"WS{row_id:09d}",
                "completed",
                "EUR",
                "41.00",
                "0.00",
                "4.95",
                "8.74",
                "54.69",
                "0.00",
                "",
                f"2024-{row_id % 12 + 1:02d}-{row_id % 28 + 1:02d} 19:{row_id % 60:02d}:00",
                None,
                row_id // 10 + 1,
                1,
            )
            for row_id in range(start, min(start + REFERENCE_BATCH, rows))
        ]
        began = time.perf_counter()
        database.execute("BEGIN")
        database.executemany(sql, batch)
        database.execute("COMMIT")
        elapsed += time.perf_counter() - began
    database.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--database-url", default="", help="A PostgreSQL URL; its tables are created (migrate)."
    )
    parser.add_argument("--keep", action="store_true", help="Keep the temporary directory.")
    options = parser.parse_args()

    directory = Path(tempfile.mkdtemp(prefix="patron-bench-demo-"))
    environment = {**os.environ, "PATRON_DATA_DIR": str(directory)}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    if options.database_url:
        environment["PATRON_DATABASE_URL"] = options.database_url
    else:
        environment.pop("PATRON_DATABASE_URL", None)
    database = "postgresql" if options.database_url.startswith("postgres") else "sqlite"
    try:
        _run(["migrate", "--no-input", "--verbosity", "0"], environment)
        seconds = _run(
            [
                "demo_data",
                "--customers",
                str(options.customers),
                "--seed",
                str(options.seed),
                "--no-progress",
            ],
            environment,
        )
        # Linux reports ru_maxrss in KiB: the largest child, i.e. the demo_data process.
        peak_bytes = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        counts = _counts(environment)
        database_bytes = sum(
            path.stat().st_size for path in directory.glob("patron.sqlite3*") if path.is_file()
        )
        reference = _reference_seconds(directory, counts["orders"])
    finally:
        if not options.keep:
            shutil.rmtree(directory, ignore_errors=True)
    result = {
        "benchmark": "demo_data",
        "database": database,
        "customers": options.customers,
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(peak_bytes / 1024**2),
        "counts": counts,
        "sqlite_file_mb": round(database_bytes / 1024**2) if database == "sqlite" else None,
        "rows_per_second": round(
            sum(counts[k] for k in ("customers", "identities", "orders", "order_lines", "events"))
            / seconds
        ),
        "reference": {
            "what": f"raw sqlite3 executemany of {counts['orders']:,} order rows, plain table",
            "seconds": round(reference, 1),
        },
        "ratio": round(seconds / reference, 2) if reference else None,
        "target_seconds_at_1m": TARGET_SECONDS[database],
        "is_peak_within_target": peak_bytes < TARGET_PEAK_BYTES,
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        "load_average_at_end": round(os.getloadavg()[0], 2),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
