"""How many events each write key may send per minute, counted in Django's cache.

With the default local-memory cache every web process counts on its own, so the limit
holds per process; with PATRON_REDIS_URL set the count is shared by all of them.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from django.conf import settings
from django.core.cache import cache

from patron.accounts.models import Source

_WINDOW_SECONDS = 60
# Long enough to outlive its minute on a slow clock; the key is per minute anyway.
_KEY_LIFETIME_SECONDS = 2 * _WINDOW_SECONDS


def ingest_rate_reserve(*, source: Source, events: int, now: datetime) -> int | None:
    """Count the events against this minute; the seconds to wait if over the limit, else None.

    Refused events are given back, so a client that waits and retries is not punished for
    the attempts that were turned away.
    """
    limit = settings.PATRON_INGEST_RATE_LIMIT_PER_MINUTE
    if limit <= 0:
        return None
    minute = int(now.timestamp()) // _WINDOW_SECONDS
    # The key holds part of the key hash, not the id: ids are reused by test databases and
    # restored backups, hashes never.
    key = f"patron:ingest-rate:{source.write_key_hash[:16]}:{minute}"
    cache.add(key, 0, timeout=_KEY_LIFETIME_SECONDS)
    try:
        count = cache.incr(key, events)
    except ValueError:
        # Expired between add and incr: this request starts the minute.
        cache.set(key, events, timeout=_KEY_LIFETIME_SECONDS)
        count = events
    if count <= limit:
        return None
    with contextlib.suppress(ValueError):  # the minute ended meanwhile: nothing to give back
        cache.decr(key, events)
    return max(1, _WINDOW_SECONDS - int(now.timestamp()) % _WINDOW_SECONDS)
