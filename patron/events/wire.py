"""Reading a /v1 request off the wire: the write key in the headers, the body within its caps.

The caps hold while reading: a body is never read past 5 MiB, and gzip is inflated in
steps that stop at 5 MiB, so a small gzip bomb costs no more memory than an honest batch.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import zlib
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

MAXIMUM_BODY_BYTES = 5 * 1024 * 1024  # Segment's limit, both on the wire and inflated
_INFLATE_STEP_BYTES = 256 * 1024  # small steps, so the cap is checked often
_ACCEPTED_CONTENT_TYPES = {"", "application/json", "text/plain"}
# JSON escapes that decode to characters PostgreSQL refuses: NUL and UTF-16 surrogates.
_UNSAFE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


class Refused(Exception):
    """A request answered with an error before anything is stored."""

    def __init__(
        self, status: int, code: str, message: str, *, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


def _too_large(what: str) -> Refused:
    return Refused(
        400, "payload_too_large", f"{what} is larger than {MAXIMUM_BODY_BYTES:,} bytes (5 MiB)"
    )


def write_key_from_authorization(header: str) -> str | None:
    """The write key of an HTTP Basic header (key as user name, empty password), or None."""
    if not header.strip():
        return None
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise Refused(
            401,
            "invalid_write_key",
            "use HTTP Basic with the write key as user name and an empty password",
        )
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise Refused(401, "invalid_write_key", "the Basic credentials are not base64") from error
    write_key, _, password = decoded.partition(":")
    if password:
        raise Refused(
            401,
            "invalid_write_key",
            "the password must be empty: a write key is the user name alone",
        )
    if not write_key:
        raise Refused(401, "invalid_write_key", "the Basic credentials hold no write key")
    return write_key


def _inflate(data: bytes) -> bytes:
    output = bytearray()
    remaining = data
    while remaining:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        pending = remaining
        try:
            while pending:
                room = MAXIMUM_BODY_BYTES + 1 - len(output)
                output += inflater.decompress(pending, min(room, _INFLATE_STEP_BYTES))
                if len(output) > MAXIMUM_BODY_BYTES:
                    raise _too_large("the inflated body")
                pending = inflater.unconsumed_tail
            while not inflater.eof:
                room = MAXIMUM_BODY_BYTES + 1 - len(output)
                chunk = inflater.decompress(b"", min(room, _INFLATE_STEP_BYTES))
                output += chunk
                if len(output) > MAXIMUM_BODY_BYTES:
                    raise _too_large("the inflated body")
                if not chunk:
                    break
        except zlib.error as error:
            raise Refused(400, "invalid_request", "the body is not valid gzip") from error
        if not inflater.eof:
            raise Refused(400, "invalid_request", "the gzip body ends early")
        # gzip allows several members one after another; each inflates on its own.
        remaining = inflater.unused_data
    return bytes(output)


def body_read(request: HttpRequest) -> bytes:
    """The request body, inflated if gzip; Refused when over a cap or in another encoding."""
    content_type = request.content_type or ""
    if content_type.lower() not in _ACCEPTED_CONTENT_TYPES:
        raise Refused(
            400,
            "invalid_request",
            f"Content-Type must be application/json or text/plain, not {content_type[:60]}",
        )
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity", "gzip", "x-gzip"):
        raise Refused(
            400,
            "unsupported_encoding",
            f"Content-Encoding {encoding[:40]!r} is not supported; send gzip or none",
        )
    declared = request.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > MAXIMUM_BODY_BYTES:
        raise _too_large("the body")
    data = request.read(MAXIMUM_BODY_BYTES + 1)
    if len(data) > MAXIMUM_BODY_BYTES:
        raise _too_large("the body")
    if encoding in ("gzip", "x-gzip"):
        data = _inflate(data)
    return data


@dataclass(frozen=True)
class ParsedBody:
    value: Any
    # Whether a number in it is beyond a double's range (1e400), which json.loads reads as
    # infinity and no JSON column can store: only then is the batch searched for where.
    has_infinite_numbers: bool


def json_parse(data: bytes) -> ParsedBody:
    """The parsed JSON; Refused(invalid_json) for anything JSON does not allow (NaN included)."""
    infinite_seen = False

    def refuse_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    def read_float(text: str) -> float:
        # Every number with a point or an exponent comes here, integers do not (Python's
        # are exact at any length). Noting infinity while parsing is exact, where a scan of
        # the text for long exponents also matched most UUIDs, and cost more than parsing.
        nonlocal infinite_seen
        value = float(text)
        if math.isinf(value):
            infinite_seen = True
        return value

    try:
        value = json.loads(
            data.decode("utf-8-sig"), parse_constant=refuse_constant, parse_float=read_float
        )
    except UnicodeDecodeError as error:
        raise Refused(400, "invalid_json", "the body is not UTF-8 text") from error
    except (ValueError, RecursionError) as error:
        raise Refused(400, "invalid_json", f"the body is not valid JSON: {error}"[:300]) from error
    return ParsedBody(value=value, has_infinite_numbers=infinite_seen)


def may_hold_unsafe_characters(data: bytes) -> bool:
    """Whether the JSON text escapes a NUL or a surrogate; a fast scan instead of a walk."""
    return _UNSAFE_ESCAPE.search(data) is not None
