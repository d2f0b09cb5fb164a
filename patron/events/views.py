"""The Segment-compatible HTTP endpoints under /v1: read, authenticate, hand to batch_ingest.

Plain Django views rather than Ninja, so that bodies, gzip, headers and status codes are
exactly Segment's: 200 {"success": true} once the batch is committed, otherwise JSON
{"code", "message"} with 400, 401, 429 or 503. No cookie is read or set.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from time import monotonic
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from patron.accounts.models import Source
from patron.accounts.services.keys import secret_hash, source_authenticate
from patron.core import clock
from patron.core.errors import ValidationFailed
from patron.events.services.ingest import batch_ingest
from patron.events.services.messages import MAXIMUM_BATCH_EVENTS
from patron.events.services.rate_limit import ingest_rate_reserve
from patron.events.wire import (
    Refused,
    body_read,
    json_parse,
    may_hold_unsafe_characters,
    write_key_from_authorization,
)

logger = logging.getLogger(__name__)

# Long enough for a locked SQLite writer or a restarting database to come back.
UNAVAILABLE_RETRY_AFTER_SECONDS = 5
_PREFLIGHT_MAX_AGE_SECONDS = 86_400
_ALLOWED_HEADERS = "Content-Type, Content-Encoding, Authorization"

# How long a web process trusts a write key it has looked up, so that a client sending
# batch after batch costs no key lookup each time: a revoked key keeps working for at most
# this long in each process that accepted it just before (see docs/ingestion.md).
SOURCE_REMEMBERED_SECONDS = 5.0
# Write keys remembered per process at most; a workspace has a handful of sources.
_SOURCES_REMEMBERED = 1000
# key hash -> (monotonic time until which it is trusted, its source)
_sources: dict[str, tuple[float, Source]] = {}


def _cors(response: HttpResponse) -> HttpResponse:
    # Any site may send events with a write key, never with cookies: no credentials allowed.
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _error(status: int, code: str, message: str, retry_after: int | None = None) -> HttpResponse:
    response = JsonResponse({"code": code, "message": message}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return _cors(response)


def _preflight(request: HttpRequest, methods: str) -> HttpResponse:
    response = HttpResponse(status=200)
    response["Access-Control-Allow-Methods"] = methods
    response["Access-Control-Allow-Headers"] = (
        request.headers.get("Access-Control-Request-Headers") or _ALLOWED_HEADERS
    )
    response["Access-Control-Max-Age"] = str(_PREFLIGHT_MAX_AGE_SECONDS)
    return _cors(response)


def _refused_invalid_key(message: str = "the write key is not valid") -> Refused:
    return Refused(401, "invalid_write_key", message)


def _source_for(write_key: str) -> Source:
    """The write key's source, from this process's memory when looked up lately."""
    key_hash = secret_hash(write_key)
    now = monotonic()
    remembered = _sources.get(key_hash)
    if remembered is not None and remembered[0] > now:
        return remembered[1]
    source = source_authenticate(write_key)
    if source is None:
        _sources.pop(key_hash, None)
        raise _refused_invalid_key()
    if len(_sources) >= _SOURCES_REMEMBERED:
        _sources.clear()  # rare (that many live keys): start afresh rather than track age
    _sources[key_hash] = (now + SOURCE_REMEMBERED_SECONDS, source)
    return source


def _authenticate(header_key: str | None, header_source: Source | None, body_key: Any) -> Source:
    if body_key in (None, ""):
        body_key = None
    elif not isinstance(body_key, str):
        raise _refused_invalid_key("writeKey must be text")
    if header_key is not None and body_key is not None and header_key != body_key:
        raise _refused_invalid_key("the write keys in the Authorization header and body differ")
    if header_source is not None:
        return header_source
    if body_key is None:
        raise _refused_invalid_key(
            "a write key is required: HTTP Basic with the key as user name, or writeKey in the body"
        )
    return _source_for(body_key)


def _ingest(request: HttpRequest, forced_type: str | None) -> HttpResponse:
    received_at = clock.now()
    header_key = write_key_from_authorization(request.headers.get("Authorization", ""))
    # A wrong key in the header is refused before the body is read.
    header_source = _source_for(header_key) if header_key is not None else None
    data = body_read(request)
    parsed = json_parse(data)
    payload = parsed.value
    if not isinstance(payload, dict):
        raise Refused(400, "invalid_request", "the body must be a JSON object")
    source = _authenticate(header_key, header_source, payload.get("writeKey"))
    if forced_type is None:
        items = payload.get("batch")
        if not isinstance(items, list):
            raise Refused(400, "invalid_request", "batch must be a list of events")
        if len(items) > MAXIMUM_BATCH_EVENTS:
            raise Refused(
                400,
                "payload_too_large",
                f"the batch holds {len(items):,} events; at most {MAXIMUM_BATCH_EVENTS:,}",
            )
        batch_sent_at = payload.get("sentAt")
    else:
        items, batch_sent_at = [payload], None
    retry_after = ingest_rate_reserve(source=source, events=len(items), now=received_at)
    if retry_after is not None:
        raise Refused(
            429,
            "rate_limited",
            f"more than {settings.PATRON_INGEST_RATE_LIMIT_PER_MINUTE:,} events a minute "
            "for this write key",
            retry_after=retry_after,
        )
    batch_ingest(
        source=source,
        items=items,
        received_at=received_at,
        batch_sent_at=batch_sent_at,
        forced_type=forced_type,
        may_need_cleaning=may_hold_unsafe_characters(data),
        may_hold_huge_numbers=parsed.has_infinite_numbers,
    )
    return _cors(JsonResponse({"success": True}))


def _unavailable(error: Exception) -> HttpResponse:
    logger.warning("ingestion could not reach or commit to the database: %s", error)
    return _error(
        503,
        "unavailable",
        "the database cannot store events right now; retry later",
        UNAVAILABLE_RETRY_AFTER_SECONDS,
    )


def _endpoint(forced_type: str | None) -> Callable[[HttpRequest], HttpResponse]:
    @csrf_exempt
    def view(request: HttpRequest) -> HttpResponse:
        if request.method == "OPTIONS":
            return _preflight(request, "POST, OPTIONS")
        if request.method != "POST":
            response = _error(405, "method_not_allowed", "send events with POST")
            response["Allow"] = "POST, OPTIONS"
            return response
        try:
            return _ingest(request, forced_type)
        except Refused as refused:
            return _error(refused.status, refused.code, refused.message, refused.retry_after)
        except ValidationFailed as error:
            return _error(400, error.code, error.message)
        except (OperationalError, InterfaceError) as error:
            # Locked (SQLite) or unreachable (PostgreSQL), whether on the key lookup or the
            # commit: nothing was stored, and the client should come back.
            return _unavailable(error)
        except Exception:
            # A bug must still answer JSON, so that clients report it instead of parsing HTML.
            logger.exception("ingestion failed")
            return _error(500, "internal_error", "the batch was not stored")

    return view


batch = _endpoint(None)
identify = _endpoint("identify")
track = _endpoint("track")
page = _endpoint("page")
screen = _endpoint("screen")
group = _endpoint("group")
alias = _endpoint("alias")


@csrf_exempt
def project_settings(request: HttpRequest, write_key: str) -> HttpResponse:
    """What analytics.js loads before sending: where to send, nothing else turned on."""
    if request.method == "OPTIONS":
        return _preflight(request, "GET, OPTIONS")
    if request.method != "GET":
        response = _error(405, "method_not_allowed", "read settings with GET")
        response["Allow"] = "GET, OPTIONS"
        return response
    try:
        source = source_authenticate(write_key)
    except (OperationalError, InterfaceError) as error:
        return _unavailable(error)
    if source is None:
        return _error(401, "invalid_write_key", "the write key is not valid")
    host = request.get_host()
    return _cors(
        JsonResponse(
            {
                "integrations": {
                    "Segment.io": {
                        "apiKey": write_key,
                        "apiHost": f"{host}/v1",
                        "protocol": request.scheme,
                        "unbundledIntegrations": [],
                        "addBundledMetadata": False,
                        "maybeBundledConfigIds": {},
                    }
                },
                "plan": {"track": {"__default": {"enabled": True}}, "identify": {}, "group": {}},
                "edgeFunction": {},
                "analyticsNextEnabled": True,
                "middlewareSettings": {},
                "enabledMiddleware": {},
                "metrics": {"sampleRate": 0},
                "legacyVideoPluginsEnabled": False,
                "remotePlugins": [],
            }
        )
    )


@csrf_exempt
def not_found(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        return _preflight(request, "POST, GET, OPTIONS")
    return _error(404, "not_found", f"no endpoint at {request.path[:200]}")
