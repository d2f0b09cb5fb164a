"""A registry through which a lower app tells higher ones that something happened.

Handlers run inside the caller's transaction and must only enqueue work (with
transaction.on_commit) or make small idempotent writes of their own; they are
registered in AppConfig.ready().
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

Handler = Callable[..., None]
_handlers: dict[str, list[Handler]] = defaultdict(list)

# Apps that may not import accounts (catalog sits beside it) audit their writes through this
# hook; accounts registers its audit_record for it. The payload is audit_record's arguments.
AUDIT_RECORD = "core.audit_record"


def register(hook: str, handler: Handler) -> None:
    if handler not in _handlers[hook]:
        _handlers[hook].append(handler)


def dispatch(hook: str, **payload: Any) -> None:
    for handler in list(_handlers[hook]):
        handler(**payload)


def registered(hook: str) -> list[Handler]:
    return list(_handlers[hook])
