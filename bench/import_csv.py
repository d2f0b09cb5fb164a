"""Benchmark: `patron import customers|orders` of a generated CSV into a fresh database.

Prints rows per second and peak memory, beside a reference measured in the same run on the
same database engine: a plain csv.reader pass plus the fastest raw insert of the same rows
into one plain table (sqlite3 executemany; COPY on PostgreSQL), with no validation, no
identities and no audit. The last line is one JSON object.

    .venv/bin/python bench/import_csv.py --rows 1000000
    .venv/bin/python bench/import_csv.py --kind orders --rows 1000000
    .venv/bin/python bench/import_csv.py --rows 200000 \\
        --database-url postgres://postgres@127.0.0.1:5432/scratch   # an empty database

SQLite runs in a temporary directory; a PostgreSQL database must exist and be empty (the
benchmark migrates it and leaves the imported rows for you to drop with the database).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

CUSTOMER_COLUMNS = (
    "external_id",
    "email",
    "first_name",
    "last_name",
    "country",
    "city",
    "lifecycle_stage",
)
ORDER_COLUMNS = (
    "order_id",
    "customer_email",
    "placed_at",
    "currency",
    "sku",
    "product_name",
    "quantity",
    "unit_price",
)
FIRST_NAMES = ("Ana", "Ben", "Chloé", "Dara", "Emma", "Felix", "Grace", "Hiro", "Ines", "Jon")
LAST_NAMES = ("Silva", "Okafor", "Martin", "Ó Briain", "Clarke", "Wagner", "Lee", "Sato")
PLACES = (("GB", "London"), ("FR", "Paris"), ("DE", "Berlin"), ("US", "Austin"), ("IE", "Cork"))
STAGES = ("lead", "new", "active", "at_risk")
LINES_PER_ORDER = 2
ORDERS_PER_BUYER = 5  # a shop's export: most buyers come back a few times
PRODUCTS = 500


def generate_customers(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(CUSTOMER_COLUMNS)
        for number in range(rows):
            country, city = PLACES[number % len(PLACES)]
            writer.writerow(
                (
                    f"C-{number}",
                    f"customer{number}@example.com",
                    FIRST_NAMES[number % len(FIRST_NAMES)],
                    LAST_NAMES[number % len(LAST_NAMES)],
                    country,
                    city,
                    STAGES[number % len(STAGES)],
                )
            )


def generate_orders(path: Path, rows: int) -> None:
    """One row per order line, LINES_PER_ORDER lines per order."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(ORDER_COLUMNS)
        for number in range(rows):
            order = number // LINES_PER_ORDER
            product = (number * 7) % PRODUCTS
            writer.writerow(
                (
                    f"O-{order}",
                    f"buyer{order // ORDERS_PER_BUYER}@example.com",
                    f"2025-{1 + order % 12:02d}-{1 + order % 28:02d}T{order % 24:02d}:30:00Z",
                    "EUR",
                    f"SKU-{product}",
                    f"Product {product}",
                    1 + number % 3,
                    f"{5 + product % 40}.{number % 100:02d}",
                )
            )


def peak_rss_megabytes(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # kilobytes on Linux


def patron_import(
    path: Path, kind: str, data_directory: Path, database_url: str | None
) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of the import alone."""
    os.environ["PATRON_DATA_DIR"] = str(data_directory)
    if database_url:
        os.environ["PATRON_DATABASE_URL"] = database_url
    else:
        os.environ.pop("PATRON_DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "patron.config.settings.base"
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, skip_checks=True)
    started, started_cpu = time.perf_counter(), time.process_time()
    call_command("import_csv", kind, str(path), verbosity=0, skip_checks=True)
    return time.perf_counter() - started, time.process_time() - started_cpu


def imported_count(kind: str) -> int:
    if kind == "customers":
        from patron.customers.selectors import customer_count

        return customer_count()
    from patron.orders.selectors import order_line_count

    return order_line_count()


def reference_sqlite(path: Path, columns: tuple[str, ...], database: Path) -> float:
    started = time.perf_counter()
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(f"CREATE TABLE reference (id INTEGER PRIMARY KEY, {', '.join(columns)})")
    with path.open(encoding="utf-8", newline="") as file, connection:
        reader = csv.reader(file)
        next(reader)
        connection.executemany(
            f"INSERT INTO reference ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})",
            reader,
        )
    connection.close()
    return time.perf_counter() - started


def reference_postgresql(path: Path, columns: tuple[str, ...], database_url: str) -> float:
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE reference (id bigint GENERATED BY DEFAULT AS IDENTITY "
            f"PRIMARY KEY, {', '.join(f'{name} text' for name in columns)})"
        )
        with (
            path.open(encoding="utf-8", newline="") as file,
            cursor.copy(f"COPY reference ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            reader = csv.reader(file)
            next(reader)
            for row in reader:
                copy.write_row(row)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--kind", choices=("customers", "orders"), default="customers")
    parser.add_argument("--database-url", help="an empty PostgreSQL database; SQLite if absent")
    arguments = parser.parse_args()
    rows, kind, database_url = arguments.rows, arguments.kind, arguments.database_url
    columns = CUSTOMER_COLUMNS if kind == "customers" else ORDER_COLUMNS
    engine = "PostgreSQL" if database_url else "SQLite"
    with tempfile.TemporaryDirectory(prefix="patron-bench-import-") as directory:
        root = Path(directory)
        path = root / f"{kind}.csv"
        (generate_customers if kind == "customers" else generate_orders)(path, rows)
        size = path.stat().st_size
        if database_url:
            reference_seconds = reference_postgresql(path, columns, database_url)
            reference_what = "csv.reader + psycopg COPY into one plain table"
        else:
            reference_seconds = reference_sqlite(path, columns, root / "reference.sqlite3")
            reference_what = "csv.reader + sqlite3 executemany into one plain table"
        print(f"reference ({engine}): {reference_what}: {reference_seconds:.1f} s")
        patron_seconds, cpu_seconds = patron_import(path, kind, root / "patron", database_url)
        peak = peak_rss_megabytes()
        # The process that cleans rows beside the import (files of 10,000 rows or more).
        worker_peak = peak_rss_megabytes(resource.RUSAGE_CHILDREN)
        found = imported_count(kind)
        if found != rows:
            raise SystemExit(f"expected {rows} imported rows, found {found}")
        print(
            f"patron import {kind} ({engine}): {rows:,} rows ({size / 1e6:.0f} MB) in "
            f"{patron_seconds:.1f} s = {rows / patron_seconds:,.0f} rows/s "
            f"({cpu_seconds:.1f} s CPU in this process); peak RSS {peak:,.0f} MB "
            f"(cleaning process {worker_peak:,.0f} MB)"
        )
        print(
            json.dumps(
                {
                    "benchmark": f"import_csv {kind}",
                    "engine": engine,
                    "rows": rows,
                    "figure": {
                        "rows_per_second": round(rows / patron_seconds),
                        "seconds": round(patron_seconds, 1),
                        "cpu_seconds": round(cpu_seconds, 1),
                        "peak_rss_megabytes": round(peak),
                        "worker_peak_rss_megabytes": round(worker_peak),
                    },
                    "reference": {
                        "what": reference_what,
                        "rows_per_second": round(rows / reference_seconds),
                        "seconds": round(reference_seconds, 1),
                    },
                    "ratio": round(patron_seconds / reference_seconds, 1),
                }
            )
        )


if __name__ == "__main__":
    main()
