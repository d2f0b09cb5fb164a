"""Secrets never reach a log line: the logging filter and gunicorn's access log."""

from __future__ import annotations

import logging
from datetime import timedelta
from types import SimpleNamespace

from gunicorn.config import Config

from patron.config.gunicorn import RedactingLogger
from patron.core.logging import RedactSecretsFilter, redact

WRITE_KEY = "Zq3vJx9mW2k4s8TnP0aLr7cY1dF6gH5j"


def test_redact_blanks_keys_in_paths_headers_and_assignments():
    assert WRITE_KEY not in redact(f"Unauthorized: /v1/projects/{WRITE_KEY}/settings")
    assert WRITE_KEY not in redact(f"Authorization: Basic {WRITE_KEY}")
    assert WRITE_KEY not in redact(f'{{"writeKey": "{WRITE_KEY}"}}')
    assert "ptk_" + WRITE_KEY not in redact(f"key ptk_{WRITE_KEY} used")
    assert redact("nothing secret here") == "nothing secret here"


def test_filter_rewrites_the_formatted_message():
    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "Bad key %s", (f"writeKey={WRITE_KEY}",), None
    )

    RedactSecretsFilter().filter(record)

    assert WRITE_KEY not in record.getMessage()
    assert "[redacted]" in record.getMessage()


def test_gunicorn_access_atoms_hide_basic_user_and_key_in_path():
    logger = RedactingLogger(Config())
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/v1/projects/{WRITE_KEY}/settings",
        "PATH_INFO": f"/v1/projects/{WRITE_KEY}/settings",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_AUTHORIZATION": "Basic WnEzdkp4OW1XMms0czhUblAwYUxyN2NZMWRGNmdINWo6",
        "REMOTE_ADDR": "127.0.0.1",
    }
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    request = SimpleNamespace(headers=[("AUTHORIZATION", environ["HTTP_AUTHORIZATION"])])

    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=3))

    assert atoms["u"] == "-"
    assert WRITE_KEY not in atoms["r"] and WRITE_KEY not in atoms["U"]
    assert "{authorization}i" not in atoms
