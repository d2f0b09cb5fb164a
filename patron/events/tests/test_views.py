"""The /v1 HTTP contract: routes, write keys, bodies and their caps, answers and headers."""

from __future__ import annotations

import base64
import gzip
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patron.accounts.models import AuditEntry, Source
from patron.accounts.services.keys import source_create, source_revoke
from patron.core import clock
from patron.customers.models import Customer, Identity
from patron.events import views
from patron.events.models import Event, IngestionWarning
from patron.events.wire import MAXIMUM_BODY_BYTES

pytestmark = pytest.mark.django_db


def basic(user: str, password: str | None = "") -> str:
    credentials = user if password is None else f"{user}:{password}"
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def event(message_id: str = "m-1", **fields) -> dict:
    return {"type": "track", "event": "Viewed", "userId": "u-1", "messageId": message_id, **fields}


def post(client, path: str, body, *, content_type="application/json", **headers):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(path, data=data, content_type=content_type, headers=headers)


def stored_counts() -> tuple[int, int, int, int, int]:
    return (
        Event.objects.count(),
        Customer.objects.count(),
        Identity.objects.count(),
        IngestionWarning.objects.count(),
        AuditEntry.objects.exclude(action__startswith="source.").count(),
    )


NOTHING = (0, 0, 0, 0, 0)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "message"}
    assert body["code"] == code
    assert body["message"]
    return body


def assert_success(response) -> None:
    assert response.status_code == 200, response.content
    assert response.content == b'{"success": true}'


# --- routes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/batch", "/v1/import", "/v1/b", "/v1/batch/"])
def test_every_batch_route_stores_the_batch(client, web_source, path):
    response = post(
        client,
        path,
        {"batch": [event("m-1"), event("m-2")]},
        Authorization=basic(web_source.secret),
    )

    assert_success(response)
    assert Event.objects.count() == 2


@pytest.mark.parametrize(
    ("paths", "message", "stored_type"),
    [
        (("/v1/identify", "/v1/i"), {"userId": "u-1", "traits": {}}, "identify"),
        (("/v1/track", "/v1/t"), {"userId": "u-1", "event": "Viewed"}, "track"),
        (("/v1/page", "/v1/p"), {"userId": "u-1", "name": "Home"}, "page"),
        (("/v1/screen", "/v1/s"), {"userId": "u-1", "name": "Home"}, "screen"),
        (("/v1/group", "/v1/g"), {"userId": "u-1", "groupId": "g-1"}, "group"),
        (("/v1/alias", "/v1/a"), {"userId": "u-1", "previousId": "a-1"}, "alias"),
    ],
)
def test_single_message_routes_store_their_type(client, web_source, paths, message, stored_type):
    for number, path in enumerate(paths):
        response = post(
            client,
            path,
            {**message, "messageId": f"m-{number}"},
            Authorization=basic(web_source.secret),
        )
        assert_success(response)

    assert list(Event.objects.values_list("type", flat=True)) == [stored_type, stored_type]


def test_a_single_route_refuses_a_message_without_identity(client, web_source):
    response = post(
        client, "/v1/track", {"event": "Viewed"}, Authorization=basic(web_source.secret)
    )

    body = assert_error(response, 400, "invalid_request")
    assert "userId" in body["message"]
    assert stored_counts() == NOTHING


def test_a_single_route_refuses_an_oversized_message(client, web_source):
    response = post(
        client,
        "/v1/track",
        event(properties={"blob": "x" * 40_000}),
        Authorization=basic(web_source.secret),
    )

    assert_error(response, 400, "payload_too_large")
    assert stored_counts() == NOTHING


def test_settings_tell_the_browser_library_where_to_send(client, web_source):
    response = client.get(
        f"/v1/projects/{web_source.secret}/settings", HTTP_ORIGIN="https://a.example"
    )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    settings = response.json()
    assert settings["integrations"]["Segment.io"]["apiKey"] == web_source.secret
    assert settings["integrations"]["Segment.io"]["apiHost"] == "testserver/v1"
    assert settings["integrations"]["Segment.io"]["protocol"] == "http"
    assert settings["metrics"] == {"sampleRate": 0}


def test_settings_for_an_unknown_key_are_refused(client, web_source):
    assert_error(client.get("/v1/projects/not-a-key/settings"), 401, "invalid_write_key")


def test_unknown_paths_and_methods_answer_json(client, web_source):
    assert_error(client.get("/v1/nothing-here"), 404, "not_found")
    assert_error(
        client.post("/v1/nothing-here/", data="{}", content_type="application/json"),
        404,
        "not_found",
    )
    response = client.get("/v1/batch")
    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "POST, OPTIONS"


# --- write keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "how",
    ["basic", "basic without colon", "body", "both the same"],
)
def test_the_write_key_may_come_in_either_place(client, web_source, how):
    headers = {}
    body: dict = {"batch": [event()]}
    if how == "basic":
        headers["Authorization"] = basic(web_source.secret)
    elif how == "basic without colon":
        headers["Authorization"] = basic(web_source.secret, password=None)
    elif how == "body":
        body["writeKey"] = web_source.secret
    else:
        headers["Authorization"] = basic(web_source.secret)
        body["writeKey"] = web_source.secret

    assert_success(post(client, "/v1/batch", body, **headers))
    assert Event.objects.get().source_id == web_source.id


def test_two_different_keys_are_refused(client, web_source, system_actor):
    other = source_create(name="App", actor=system_actor)

    response = post(
        client,
        "/v1/batch",
        {"batch": [event()], "writeKey": other.secret},
        Authorization=basic(web_source.secret),
    )

    assert_error(response, 401, "invalid_write_key")
    assert stored_counts() == NOTHING


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        basic("wrong-key"),
        "Bearer something",
        "Basic not-base64!",
        basic(""),
    ],
)
def test_a_missing_or_wrong_key_is_refused(client, web_source, authorization):
    headers = {"Authorization": authorization} if authorization else {}

    response = post(client, "/v1/batch", {"batch": [event()]}, **headers)

    assert_error(response, 401, "invalid_write_key")
    assert stored_counts() == NOTHING


def test_basic_auth_with_a_password_is_refused(client, web_source):
    response = post(
        client, "/v1/batch", {"batch": [event()]}, Authorization=basic(web_source.secret, "pw")
    )

    assert_error(response, 401, "invalid_write_key")
    assert stored_counts() == NOTHING


def test_the_key_of_a_revoked_source_is_refused(client, web_source, system_actor):
    source_revoke(source=Source.objects.get(pk=web_source.id), actor=system_actor)

    for response in (
        post(client, "/v1/batch", {"batch": [event()]}, Authorization=basic(web_source.secret)),
        post(client, "/v1/batch", {"batch": [event()], "writeKey": web_source.secret}),
    ):
        assert_error(response, 401, "invalid_write_key")
    assert stored_counts() == NOTHING


def test_a_write_key_that_is_not_text_is_refused(client, web_source):
    assert_error(post(client, "/v1/batch", {"batch": [], "writeKey": 5}), 401, "invalid_write_key")


# --- bodies ------------------------------------------------------------------------------------


def test_text_plain_bodies_are_json_too(client, web_source):
    response = post(
        client,
        "/v1/batch",
        {"batch": [event()], "writeKey": web_source.secret},
        content_type="text/plain;charset=UTF-8",
    )

    assert_success(response)


def test_gzip_bodies_are_inflated(client, web_source):
    body = gzip.compress(json.dumps({"batch": [event("m-1"), event("m-2")]}).encode())

    response = post(
        client,
        "/v1/batch",
        body,
        Authorization=basic(web_source.secret),
        Content_Encoding="gzip",
    )

    assert_success(response)
    assert Event.objects.count() == 2


def test_a_gzip_bomb_stops_at_the_cap_and_stores_nothing(client, web_source):
    inflated = b'{"batch": [' + b" " * (MAXIMUM_BODY_BYTES + 1024) + b"]}"
    bomb = gzip.compress(inflated, compresslevel=9)
    assert len(bomb) < 16 * 1024

    response = post(
        client, "/v1/batch", bomb, Authorization=basic(web_source.secret), Content_Encoding="gzip"
    )

    assert_error(response, 400, "payload_too_large")
    assert stored_counts() == NOTHING


def test_invalid_gzip_is_refused(client, web_source):
    for body in (b"not gzip at all", gzip.compress(b'{"batch": []}')[:-6]):
        response = post(
            client,
            "/v1/batch",
            body,
            Authorization=basic(web_source.secret),
            Content_Encoding="gzip",
        )
        assert_error(response, 400, "invalid_request")


def test_an_unsupported_encoding_is_refused(client, web_source):
    response = post(
        client,
        "/v1/batch",
        b"\x1b\x00",
        Authorization=basic(web_source.secret),
        Content_Encoding="br",
    )

    assert_error(response, 400, "unsupported_encoding")


def test_a_body_over_5_mib_is_refused_unread(client, web_source):
    body = json.dumps({"batch": [event(properties={"x": "y" * (MAXIMUM_BODY_BYTES + 10)})]})

    response = post(client, "/v1/batch", body, Authorization=basic(web_source.secret))

    assert_error(response, 400, "payload_too_large")
    assert stored_counts() == NOTHING


def test_more_than_2500_events_are_refused_whole(client, web_source):
    batch = [event(f"m-{number}") for number in range(2501)]

    response = post(client, "/v1/batch", {"batch": batch}, Authorization=basic(web_source.secret))

    assert_error(response, 400, "payload_too_large")
    assert stored_counts() == NOTHING


def test_exactly_2500_events_are_accepted(client, web_source):
    batch = [event(f"m-{number}", userId=f"u-{number % 50}") for number in range(2500)]

    assert_success(
        post(client, "/v1/batch", {"batch": batch}, Authorization=basic(web_source.secret))
    )
    assert Event.objects.count() == 2500
    assert Customer.objects.count() == 50


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"batch": [', "invalid_json"),
        (b"", "invalid_json"),
        (b'{"batch": [{"type": "track", "value": NaN}]}', "invalid_json"),
        (b"\xff\xfe{}", "invalid_json"),
        (b"[" * 100_000 + b"]" * 100_000, "invalid_json"),
        (b'[{"type": "track"}]', "invalid_request"),
        (b'"batch"', "invalid_request"),
        (b'{"batch": {"type": "track"}}', "invalid_request"),
        (b'{"events": []}', "invalid_request"),
    ],
)
def test_malformed_bodies_are_refused_whole(client, web_source, body, code):
    response = post(client, "/v1/batch", body, Authorization=basic(web_source.secret))

    assert_error(response, 400, code)
    assert stored_counts() == NOTHING


def test_another_content_type_is_refused(client, web_source):
    response = post(
        client,
        "/v1/batch",
        "batch=1",
        content_type="application/x-www-form-urlencoded",
        Authorization=basic(web_source.secret),
    )

    assert_error(response, 400, "invalid_request")


def test_a_byte_order_mark_is_tolerated(client, web_source):
    body = b"\xef\xbb\xbf" + json.dumps({"batch": [event()]}).encode()

    assert_success(post(client, "/v1/batch", body, Authorization=basic(web_source.secret)))


def test_bad_events_inside_a_batch_are_dropped_and_the_rest_stored(client, web_source):
    batch = [
        event("m-1"),
        event("m-2", userId={"id": 1}),
        event("m-3", properties=["a"]),
        event("m-4", timestamp="yesterday"),
        event("m-5", properties={"blob": "x" * 33_000}),
        event("m-6", unknownField="dropped silently"),
        "not an event",
        event("m-1"),
    ]

    response = post(client, "/v1/batch", {"batch": batch}, Authorization=basic(web_source.secret))

    assert_success(response)
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["m-1", "m-4", "m-6"]
    assert sorted(IngestionWarning.objects.values_list("message_id", "code", "field")) == [
        ("", "invalid_event", ""),
        ("m-2", "invalid_event", "userId"),
        ("m-3", "invalid_event", "properties"),
        ("m-4", "invalid_timestamp", "timestamp"),
        ("m-5", "event_too_large", ""),
    ]
    assert "unknownField" not in json.dumps(Event.objects.get(message_id="m-6").context)


def test_nul_characters_are_stored_without_them(client, web_source):
    body = '{"batch": [{"type": "track", "event": "A\\u0000", "userId": "u\\ud800",' + (
        ' "messageId": "m-1", "properties": {"k": "v\\u0000"}}]}'
    )

    response = post(client, "/v1/batch", body, Authorization=basic(web_source.secret))

    assert_success(response)
    stored = Event.objects.get()
    assert (stored.name, stored.user_id, stored.properties) == ("A", "u", {"k": "v"})
    assert IngestionWarning.objects.get().code == "characters_removed"


def test_a_number_beyond_a_double_is_stored_as_null_with_a_warning_naming_it(client, web_source):
    # 1e400 is valid JSON text that json.loads reads as infinity, which JSON cannot store;
    # 1e-400 reads as 0.0 and 1e300 is an ordinary double.
    body = (
        '{"batch": [{"type": "track", "event": "A", "userId": "u-1", "messageId": "m-1", '
        '"properties": {"price": 1e400, "items": [{"qty": -1E+999}], "tiny": 1e-400, '
        '"big": 1e300}, "context": {"screen": {"width": 1e309}}}]}'
    )

    response = post(client, "/v1/batch", body, Authorization=basic(web_source.secret))

    assert_success(response)
    stored = Event.objects.get()
    big = stored.properties.pop("big")
    assert stored.properties == {"price": None, "items": [{"qty": None}], "tiny": 0.0}
    assert float(big) == 1e300  # PostgreSQL's jsonb gives it back as the integer it equals
    assert stored.context["screen"] == {"width": None}
    assert sorted(IngestionWarning.objects.values_list("code", "field")) == [
        ("number_out_of_range", "context.screen.width"),
        ("number_out_of_range", "properties.items[0].qty"),
        ("number_out_of_range", "properties.price"),
    ]


def test_a_hostile_event_full_of_huge_numbers_gets_three_warnings(client, web_source):
    huge = ", ".join(f'"n{number}": 1e999' for number in range(1_000))
    body = (
        '{"batch": [{"type": "track", "event": "A", "userId": "u-1", "messageId": "m-1", '
        f'"properties": {{{huge}}}}}]}}'
    )

    response = post(client, "/v1/batch", body, Authorization=basic(web_source.secret))

    assert_success(response)
    assert set(Event.objects.get().properties.values()) == {None}
    assert list(IngestionWarning.objects.values_list("field", flat=True).order_by("id")) == [
        "properties.n0",
        "properties.n1",
        "properties.n2",
    ]


def test_long_strings_within_the_event_limit_are_kept(client, web_source):
    long_text = "é" * 10_000

    response = post(
        client,
        "/v1/batch",
        {"batch": [event(properties={"text": long_text})]},
        Authorization=basic(web_source.secret),
    )

    assert_success(response)
    assert Event.objects.get().properties == {"text": long_text}


def test_a_retried_batch_is_stored_once(client, web_source):
    body = {"batch": [event("m-1"), event("m-2")]}

    for _ in range(3):
        assert_success(post(client, "/v1/batch", body, Authorization=basic(web_source.secret)))

    assert Event.objects.count() == 2


# --- answers and headers -----------------------------------------------------------------------


def test_no_answer_sets_a_cookie(client, web_source):
    responses = [
        post(client, "/v1/batch", {"batch": [event()]}, Authorization=basic(web_source.secret)),
        post(client, "/v1/batch", b"{", Authorization=basic(web_source.secret)),
        post(client, "/v1/batch", {"batch": []}),
        client.get(f"/v1/projects/{web_source.secret}/settings"),
        client.options("/v1/batch"),
    ]

    for response in responses:
        assert "Set-Cookie" not in response.headers
        assert not response.cookies


def test_browser_preflight_is_answered_without_credentials(client):
    response = client.options(
        "/v1/t",
        HTTP_ORIGIN="https://shop.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert response["Access-Control-Allow-Headers"] == "content-type"
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_every_answer_carries_the_cors_header(client, web_source):
    ok = post(client, "/v1/batch", {"batch": [event()]}, Authorization=basic(web_source.secret))
    refused = post(client, "/v1/batch", {"batch": []})

    assert ok["Access-Control-Allow-Origin"] == refused["Access-Control-Allow-Origin"] == "*"


def test_rate_limited_batches_are_refused_with_retry_after(
    client, web_source, settings, monkeypatch
):
    settings.PATRON_INGEST_RATE_LIMIT_PER_MINUTE = 3
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 3, 1, 12, 0, 15, tzinfo=UTC))
    key = basic(web_source.secret)

    first = post(client, "/v1/batch", {"batch": [event("m-1"), event("m-2")]}, Authorization=key)
    second = post(client, "/v1/batch", {"batch": [event("m-3"), event("m-4")]}, Authorization=key)
    third = post(client, "/v1/batch", {"batch": [event("m-5")]}, Authorization=key)

    assert_success(first)
    assert_error(second, 429, "rate_limited")
    assert second["Retry-After"] == "45"
    assert_success(third)
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["m-1", "m-2", "m-5"]


def test_the_rate_limit_counts_per_write_key(
    client, web_source, settings, system_actor, monkeypatch
):
    settings.PATRON_INGEST_RATE_LIMIT_PER_MINUTE = 1
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 3, 1, 12, 0, 15, tzinfo=UTC))
    other = source_create(name="App", actor=system_actor)

    assert_success(post(client, "/v1/t", event("m-1"), Authorization=basic(web_source.secret)))
    assert_success(post(client, "/v1/t", event("m-2"), Authorization=basic(other.secret)))
    assert_error(
        post(client, "/v1/t", event("m-3"), Authorization=basic(web_source.secret)),
        429,
        "rate_limited",
    )


@contextmanager
def database_write_lock() -> Iterator[None]:
    """Another connection holds the write lock; this one gives up after a moment."""
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        connection.connection.execute("PRAGMA busy_timeout = 50")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
            connection.close()
        return
    import psycopg

    parameters = connection.get_connection_params()
    holder_pg = psycopg.connect(**parameters)
    holder_pg.execute("LOCK TABLE events_event IN ACCESS EXCLUSIVE MODE")
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '50ms'")
    try:
        yield
    finally:
        holder_pg.rollback()
        holder_pg.close()
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_database_that_cannot_commit_answers_503_and_stores_nothing(client, web_source):
    with database_write_lock():
        response = post(
            client, "/v1/batch", {"batch": [event()]}, Authorization=basic(web_source.secret)
        )

    body = assert_error(response, 503, "unavailable")
    assert response["Retry-After"] == "5"
    assert "retry" in body["message"]
    assert stored_counts() == NOTHING
    # Once the lock is gone the same batch goes through.
    assert_success(
        post(client, "/v1/batch", {"batch": [event()]}, Authorization=basic(web_source.secret))
    )
    assert Event.objects.count() == 1


@contextmanager
def database_unreachable() -> Iterator[None]:
    """The database cannot be opened at all: a missing SQLite file, a PostgreSQL port shut."""
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-directory/patron.sqlite3"
    else:
        connection.settings_dict.update(HOST="127.0.0.1", PORT="1")
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_answers_503_even_before_the_key_is_checked(client, web_source):
    with database_unreachable():
        batch = post(
            client, "/v1/batch", {"batch": [event()]}, Authorization=basic(web_source.secret)
        )
        settings = client.get(f"/v1/projects/{web_source.secret}/settings")

    for response in (batch, settings):
        assert_error(response, 503, "unavailable")
        assert response["Retry-After"] == "5"
    assert stored_counts() == NOTHING


def test_a_write_key_is_looked_up_once_while_it_is_remembered(client, web_source):
    first = post(
        client, "/v1/batch", {"batch": [event("m-1")]}, Authorization=basic(web_source.secret)
    )
    assert first.status_code == 200

    with CaptureQueriesContext(connection) as captured:
        second = post(
            client, "/v1/batch", {"batch": [event("m-2")]}, Authorization=basic(web_source.secret)
        )

    assert second.status_code == 200
    assert [query for query in captured.captured_queries if "accounts_source" in query["sql"]] == []
    assert Event.objects.count() == 2


def test_a_revoked_key_is_refused_once_the_remembered_window_passes(
    client, web_source, system_actor, monkeypatch
):
    now = [1000.0]
    monkeypatch.setattr(views, "monotonic", lambda: now[0])
    accepted = post(
        client, "/v1/batch", {"batch": [event("m-1")]}, Authorization=basic(web_source.secret)
    )
    assert accepted.status_code == 200
    source_revoke(source=Source.objects.get(pk=web_source.id), actor=system_actor)

    now[0] += views.SOURCE_REMEMBERED_SECONDS - 0.5
    within = post(
        client, "/v1/batch", {"batch": [event("m-2")]}, Authorization=basic(web_source.secret)
    )
    now[0] += 1.0
    after = post(
        client, "/v1/batch", {"batch": [event("m-3")]}, Authorization=basic(web_source.secret)
    )

    assert within.status_code == 200
    assert_error(after, 401, "invalid_write_key")
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["m-1", "m-2"]


def test_an_unknown_key_is_never_remembered(client, web_source, django_assert_num_queries):
    for _ in range(2):
        with django_assert_num_queries(1):
            refused = post(client, "/v1/batch", {"batch": [event()]}, Authorization=basic("nope"))
        assert_error(refused, 401, "invalid_write_key")

    assert stored_counts() == NOTHING
