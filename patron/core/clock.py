"""The one place that asks for the current time, so tests and backtests can pin it."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()
