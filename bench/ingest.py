"""Ingestion throughput: the live server (gunicorn, 2 workers) against a raw insert reference.

Run: .venv/bin/python bench/ingest.py [--batches 400] [--clients 4] [--database-url URL]
     [--users 2000] [--spacing-ms 1]

Patron's figure: events per second durably stored, sent as 100-event /v1/batch requests by
concurrent clients over loopback, counted in the database afterwards. The reference, measured
in the same run on the same machine: the same events inserted by one process in 100-row
transactions into an equivalent table with the same unique key (SQLite: sqlite3 executemany
with Patron's PRAGMAs and secondary indexes; PostgreSQL: psycopg COPY). Also printed: the
server workers' CPU per batch, which a busy machine moves far less. The last line is one
JSON object.
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


def make_events(batches: int, users: int, spacing_ms: int) -> list[list[dict]]:
    """Track and page events from a pool of users, each with a unique messageId, spacing_ms
    apart in event time and ending five minutes ago: by default each user sends one every
    2 s, a browsing session; with users * spacing_ms over a minute, every batch moves its
    customers' last seen times (which Patron keeps to the minute)."""
    started = datetime.now(UTC) - timedelta(
        minutes=5, milliseconds=batches * BATCH_SIZE * spacing_ms
    )
    out = []
    for batch_number in range(batches):
        batch = []
        for position in range(BATCH_SIZE):
            index = batch_number * BATCH_SIZE + position
            user = index % users
            moment = (started + timedelta(milliseconds=index * spacing_ms)).isoformat()
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


def workers_cpu_seconds(server_pid: int) -> float | None:
    """CPU seconds the server's worker processes have used; None where /proc does not say.

    Unlike events/s this hardly moves with what else the machine is running, so it shows
    whether a change made the request path cheaper even on a busy box.
    """
    try:
        children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
        total = 0
        for child in children:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime and stime, in clock ticks
    except OSError:
        return None
    return total / os.sysconf("SC_CLK_TCK")


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
                index % 2000 + 1,  # a customer id, as Patron's rows carry one
                False,
            )
            for index, event in enumerate(batch)
        ]
        for batch in batches
    ]


COLUMNS = (
    "source_id, message_id, type, name, user_id, anonymous_id, properties, context, "
    "original_timestamp, sent_at, received_at, timestamp, customer_id, is_timestamp_clamped"
)
# The secondary indexes of events_event (patron/events/models.py), so that the reference
# table costs what Patron's does on every insert.
INDEXES = (
    "CREATE INDEX {table}_customer_time ON {table} (customer_id, timestamp)",
    "CREATE INDEX {table}_name_time ON {table} (type, name, timestamp)",
    "CREATE INDEX {table}_anonymous ON {table} (anonymous_id)",
    "CREATE INDEX {table}_received ON {table} (received_at)",
    "CREATE INDEX {table}_source_received ON {table} (source_id, received_at)",
)


def reference_sqlite(batches: list[list[dict]], directory: Path) -> float:
    connection = sqlite3.connect(directory / "reference.sqlite3", isolation_level=None)
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        "temp_store=MEMORY",
        "cache_size=-65536",
    ):
        connection.execute(f"PRAGMA {pragma}")
    connection.execute(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL, message_id TEXT NOT NULL, "
        "type TEXT NOT NULL, name TEXT NOT NULL, user_id TEXT NOT NULL, anonymous_id TEXT NOT NULL, "
        "properties TEXT NOT NULL, context TEXT NOT NULL, original_timestamp TEXT, sent_at TEXT, "
        "received_at TEXT NOT NULL, timestamp TEXT NOT NULL, customer_id INTEGER, "
        "is_timestamp_clamped BOOL NOT NULL, UNIQUE (source_id, message_id))"
    )
    for index in INDEXES:
        connection.execute(index.format(table="events"))
    rows = reference_rows(batches)
    started = time.perf_counter()
    for batch in rows:
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            f"INSERT OR IGNORE INTO events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            "received_at timestamptz NOT NULL, timestamp timestamptz NOT NULL, customer_id bigint, "
            "is_timestamp_clamped boolean NOT NULL, UNIQUE (source_id, message_id))"
        )
        for index in INDEXES:
            connection.execute(index.format(table="bench_reference_events"))
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
    parser.add_argument(
        "--spacing-ms", type=int, default=1, help="event time between one event and the next"
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
        batches = make_events(arguments.batches, arguments.users, arguments.spacing_ms)
        port = free_port()
        # The server exactly as `patron serve` runs it (its gunicorn options, its logger).
        server = subprocess.Popen(
            [
                str(BIN / "patron"),
                "serve",
                "--port",
                str(port),
                "--workers",
                str(arguments.workers),
            ],
            env={**environment, "GUNICORN_CMD_ARGS": "--log-level warning"},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_until_serving(port, write_key)
            cpu_before = workers_cpu_seconds(server.pid)
            elapsed = send_all(port, write_key, batches, arguments.clients)
            cpu_after = workers_cpu_seconds(server.pid)
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
    cpu_per_batch = (
        None
        if cpu_before is None or cpu_after is None
        else round((cpu_after - cpu_before) / arguments.batches * 1000, 2)
    )
    print(f"server CPU per 100-event batch: {cpu_per_batch} ms")
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
                "server_cpu_ms_per_batch": cpu_per_batch,
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "date": datetime.now(UTC).date().isoformat(),
            }
        )
    )


if __name__ == "__main__":
    main()
