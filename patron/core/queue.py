"""The SQLite task queue, committing with the main database's durability."""

from __future__ import annotations

import sqlite3

from huey import SqliteHuey
from huey.storage import SqliteStorage


class SqliteQueueStorage(SqliteStorage):
    """Huey's SQLite storage in WAL mode with `synchronous=NORMAL`, like the main database.

    Huey offers FULL, an fsync for every task enqueued (each ingested batch enqueues a rescore:
    up to a few milliseconds of a server worker's time waiting on the disk), or OFF, which a
    power loss can leave corrupt. NORMAL in WAL mode cannot be corrupted that way and loses
    at most the last wake-ups, as the database may lose its last commits; the queue only
    carries wake-ups (a rescore not run is done by the nightly refresh).
    """

    def _create_connection(self) -> sqlite3.Connection:
        connection = super()._create_connection()
        connection.execute("PRAGMA synchronous = NORMAL")
        return connection


class SqliteQueue(SqliteHuey):
    storage_class = SqliteQueueStorage
