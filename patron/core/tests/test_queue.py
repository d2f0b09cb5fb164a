"""The SQLite task queue's durability settings."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from huey.contrib.djhuey import HUEY

from patron.core.queue import SqliteQueue


def test_the_sqlite_queue_commits_in_wal_mode_without_an_fsync_per_task(tmp_path: Path) -> None:
    # given a queue in a fresh file
    queue = SqliteQueue("patron-test", filename=str(tmp_path / "queue.sqlite3"))

    # when a task is enqueued and read back
    queue.storage.enqueue(b"wake up")
    connection = queue.storage.conn

    # then
    assert queue.storage.dequeue() == b"wake up"
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_the_application_uses_it_without_redis() -> None:
    # The test settings run without PATRON_REDIS_URL, as `make demo` does.
    assert settings.HUEY["huey_class"] == "patron.core.queue.SqliteQueue"
    assert isinstance(HUEY, SqliteQueue)
