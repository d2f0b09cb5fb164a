"""Ingestion throughput: the live server (gunicorn, 2 workers) against a raw insert reference.

Run: .venv/bin/python bench/ingest.py [--batches 400] [--clients 4] [--database-url URL]

Patron's figure: events per second durably stored, sent as 100-event /v1/batch requests by
concurrent clients over loopback, counted in the database afterwards. The reference, measured
in the same run on the same machine: the same events inserted by one process in 100-row
transactions into an equivalent table with the same unique key (SQLite: sqlite3 executemany
with Patron's PRAGMAs; PostgreSQL: psycopg COPY). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import platform
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

BATCH_SIZE = 100  # the batch size the issue names, and the Segment clients' default flush size
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def make_events(batches: int, users: int) -> list[list[dict]]:
    """Track and page events from a pool of users, each with a unique messageId."""
    started = datetime.now(UTC) - timedelta(minutes=5)
    out = []
    for batch_number in range(batches):
        batch = []
        for position in range(BATCH_SIZE):
            index = batch_number * BATCH_SIZE + position
            user = index % users
            moment = (started + timedelta(milliseconds=index)).isoformat()
            common = {
                "messageId": str(uuid.uuid4()),
                "userId": f"user-{user}",
                "anonymousId": f"anon-{user}",
                "timestamp": moment,
                "context": {"library": {"name": "bench", "version": "1"}, "ip": "127.0.0.1"},
            }
            if index % 3 == 0:
                batch.append(
                    {
                        **common,
                        "type": "page",
                        "name": "Product",
                        "properties": {"path": f"/p/{index % 40}", "title": "Serum"},
                    }
                )
            else:
                batch.append(
                    {
                        **common,
                        "type": "track",
                        "event": "Product Viewed",
                        "properties": {"sku": f"SKU-{index % 40}", "price": 24.5},
                    }
                )
        out.append(batch)
    return out


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def patron(arguments: list[str], environment: dict[str, str]) -> str:
    result = subprocess.run(
        [str(BIN / "patron"), *arguments],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def wait_until_serving(port: int, write_key: str) -> None:
    for _ in range(300):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", f"/v1/projects/{write_key}/settings")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start")


def send_all(port: int, write_key: str, batches: list[list[dict]], clients: int) -> float:
    authorization = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    bodies = [
        json.dumps({"batch": batch, "sentAt": datetime.now(UTC).isoformat()}).encode()
        for batch in batches
    ]

    def worker(share: list[bytes]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for body in share:
            for _ in range(20):  # a 429/503 asks the client to retry, as Segment clients do
                connection.request(
                    "POST",
                    "/v1/batch",
                    body=body,
                    headers={"Content-Type": "application/json", "Authorization": authorization},
                )
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    break
                if response.status not in (429, 503):
                    raise SystemExit(f"unexpected status {response.status}")
                time.sleep(0.05)
            else:
                raise SystemExit("gave up after 20 retries")

    shares = [bodies[index::clients] for index in range(clients)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for future in [pool.submit(worker, share) for share in shares]:
            future.result()
    return time.perf_counter() - started


def reference_rows(batches: list[list[dict]]) -> list[list[tuple]]:
    received = datetime.now(UTC).isoformat()
    return [
        [
            (
                1,
                event["messageId"],
                event["type"],
                event.get("event", event.get("name", "")),
                event["userId"],
                event["anonymousId"],
                json.dumps(event["properties"]),
                json.dumps(event["context"]),
                event["timestamp"],
                received,
                received,
                event["timestamp"],
            )
            for event in batch
        ]
        for batch in batches
    ]


COLUMNS = (
    "source_id, message_id, type, name, user_id, anonymous_id, properties, context, "
    "original_timestamp, sent_at, received_at, timestamp"
)


def reference_sqlite(batches: list[list[dict]], directory: Path) -> float:
    connection = sqlite3.connect(directory / "reference.sqlite3", isolation_level=None)
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        "temp_store=MEMORY",
    ):
        connection.execute(f"PRAGMA {pragma}")
    connection.execute(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL, message_id TEXT NOT NULL, "
        "type TEXT NOT NULL, name TEXT NOT NULL, user_id TEXT NOT NULL, anonymous_id TEXT NOT NULL, "
        "properties TEXT NOT NULL, context TEXT NOT NULL, original_timestamp TEXT, sent_at TEXT, "
        "received_at TEXT NOT NULL, timestamp TEXT NOT NULL, UNIQUE (source_id, message_id))"
    )
    rows = reference_rows(batches)
    started = time.perf_counter()
    for batch in rows:
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            f"INSERT OR IGNORE INTO events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            batch,
        )
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def reference_postgresql(batches: list[list[dict]], database_url: str) -> float:
    import psycopg

    rows = reference_rows(batches)
    with psycopg.connect(database_url, autocommit=False) as connection:
        connection.execute("DROP TABLE IF EXISTS bench_reference_events")
        connection.execute(
            "CREATE TABLE bench_reference_events (id bigserial PRIMARY KEY, source_id bigint NOT NULL, "
            "message_id varchar(255) NOT NULL, type varchar(16) NOT NULL, name varchar(255) NOT NULL, "
            "user_id varchar(255) NOT NULL, anonymous_id varchar(255) NOT NULL, properties jsonb NOT NULL, "
            "context jsonb NOT NULL, original_timestamp timestamptz, sent_at timestamptz, "
            "received_at timestamptz NOT NULL, timestamp timestamptz NOT NULL, UNIQUE (source_id, message_id))"
        )
        connection.commit()
        started = time.perf_counter()
        for batch in rows:
            with (
                connection.cursor() as cursor,
                cursor.copy(f"COPY bench_reference_events ({COLUMNS}) FROM STDIN") as copy,
            ):
                for row in batch:
                    copy.write_row(row)
            connection.commit()
        elapsed = time.perf_counter() - started
        connection.execute("DROP TABLE bench_reference_events")
        connection.commit()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=400, help="100-event batches to send")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client connections")
    parser.add_argument(
        "--users", type=int, default=2000, help="distinct users the events come from"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--database-url", default="", help="PostgreSQL URL (default: a fresh SQLite file)"
    )
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="patron-bench-ingest-") as temporary:
        directory = Path(temporary)
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith("PATRON_")
        }
        environment.update(
            {
                "PATRON_DATA_DIR": str(directory),
                "PATRON_INGEST_RATE_LIMIT_PER_MINUTE": "100000000",
                "PATRON_LOG_LEVEL": "WARNING",
            }
        )
        if arguments.database_url:
            environment["PATRON_DATABASE_URL"] = arguments.database_url
        patron(["migrate"], environment)
        write_key = json.loads(
            patron(["source", "create", f"bench-{uuid.uuid4().hex[:6]}", "--json"], environment)
        )["write_key"]
        before = json.loads(patron(["stats", "--json"], environment))["events"]
        batches = make_events(arguments.batches, arguments.users)
        port = free_port()
        server = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "patron.config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(arguments.workers),
                "--log-level",
                "warning",
            ],
            env=environment,
            cwd=ROOT,
        )
        try:
            wait_until_serving(port, write_key)
            elapsed = send_all(port, write_key, batches, arguments.clients)
        finally:
            server.terminate()
            server.wait(timeout=30)
        stored = json.loads(patron(["stats", "--json"], environment))["events"] - before
        sent = arguments.batches * BATCH_SIZE
        if stored != sent:
            raise SystemExit(f"stored {stored} events but sent {sent}")
        if arguments.database_url:
            reference_elapsed = reference_postgresql(batches, arguments.database_url)
            reference_name = "psycopg COPY, one 100-row transaction per batch"
        else:
            reference_elapsed = reference_sqlite(batches, directory)
            reference_name = "sqlite3 executemany, one 100-row transaction per batch"

    figure = sent / elapsed
    reference = sent / reference_elapsed
    print(f"events sent and stored:      {sent:,}")
    print(
        f"Patron (gunicorn x{arguments.workers}, {arguments.clients} clients): {figure:,.0f} events/s"
    )
    print(f"reference ({reference_name}): {reference:,.0f} events/s")
    print(
        json.dumps(
            {
                "benchmark": "ingest",
                "database": "postgresql" if arguments.database_url else "sqlite",
                "events": sent,
                "figure_events_per_second": round(figure),
                "reference_events_per_second": round(reference),
                "reference": reference_name,
                "ratio": round(figure / reference, 3),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "date": datetime.now(UTC).date().isoformat(),
            }
        )
    )


if __name__ == "__main__":
    main()
