"""Logging filters: secrets (keys, passwords, tokens) never reach a log line."""

from __future__ import annotations

import logging
import re

_SECRET_PATTERNS = [
    re.compile(r"(?i)(authorization:\s*basic\s+)[A-Za-z0-9+/=]+"),
    re.compile(r"(?i)(authorization:\s*bearer\s+)\S+"),
    re.compile(
        r"(?i)((?:write_?key|api_?key|password|secret|token)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"
    ),
    re.compile(r"(ptk_)[A-Za-z0-9_-]{8,}"),
    # Segment clients put the write key in the settings URL, which access logs would record.
    re.compile(r"(/v1/projects/)[^/\s\"]+"),
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda match: match.group(1) + "[redacted]", text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True
