"""The read-only events and ingestion-warnings REST endpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from patron.accounts.models import Scope, Source
from patron.accounts.services.keys import source_create
from patron.customers.models import Customer
from patron.customers.services.profile import customer_create
from patron.events.models import Event, EventType, IngestionWarning

pytestmark = pytest.mark.django_db

READ = Scope.EVENTS_READ
START = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def call(client, path: str, secret: str | None = None):
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return client.get(path, headers=headers)


@pytest.fixture
def reader(make_api_key) -> str:
    return make_api_key(READ).secret


@pytest.fixture
def source(web_source) -> Source:
    return Source.objects.get(pk=web_source.id)


def store(source: Source, number: int, customer: Customer | None = None, **fields: Any) -> Event:
    values: dict[str, Any] = {
        "type": EventType.TRACK,
        "name": "Product Viewed",
        "properties": {"sku": f"S-{number}"},
        "timestamp": START + timedelta(hours=number),
        "received_at": START + timedelta(hours=number),
        **fields,
    }
    return Event.objects.create(
        source=source, message_id=f"m-{number}", customer=customer, **values
    )


def warn(source: Source, number: int, **fields: Any) -> IngestionWarning:
    values: dict[str, Any] = {
        "code": "invalid_timestamp",
        "field": "timestamp",
        "message": "not a date",
        "received_at": START + timedelta(hours=number),
        **fields,
    }
    return IngestionWarning.objects.create(source=source, message_id=f"w-{number}", **values)


@pytest.fixture
def event(source) -> Event:
    return store(source, 0)


@pytest.fixture
def stored(source, system_actor) -> dict[str, int]:
    ana = customer_create(actor=system_actor, fields={"email": "ana@example.com"})
    viewed = store(source, 1, ana)
    identified = store(source, 2, ana, type=EventType.IDENTIFY, name="")
    completed = store(source, 3, None, name="Order Completed", properties={"total": 12})
    return {
        "ana": ana.pk,
        "viewed": viewed.pk,
        "identified": identified.pk,
        "completed": completed.pk,
    }


ENDPOINTS = ["/api/events", "/api/events/{event}", "/api/ingestion-warnings"]


@pytest.mark.parametrize("template", ENDPOINTS)
def test_without_a_key_every_endpoint_answers_401(client, event, template):
    response = call(client, template.format(event=event.pk))

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


@pytest.mark.parametrize("template", ENDPOINTS)
def test_a_source_write_key_cannot_read_events(client, event, web_source, template):
    response = call(client, template.format(event=event.pk), web_source.secret)

    assert response.status_code == 401


@pytest.mark.parametrize("template", ENDPOINTS)
def test_a_key_without_the_scope_is_forbidden(client, event, make_api_key, template):
    secret = make_api_key(*(scope for scope in Scope.values if scope != READ)).secret

    response = call(client, template.format(event=event.pk), secret)

    assert response.status_code == 403
    assert response.json() == {
        "code": "forbidden",
        "message": "this key lacks the scope events:read",
    }


@pytest.mark.parametrize("template", ENDPOINTS)
def test_a_key_with_the_scope_is_served(client, event, reader, template):
    response = call(client, template.format(event=event.pk), reader)

    assert response.status_code == 200


def test_events_cannot_be_written_through_the_api(client, make_api_key):
    secret = make_api_key(*Scope.values).secret

    response = client.post(
        "/api/events",
        data="{}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert not Event.objects.exists()


def test_an_event_is_shown_as_received(client, reader, source):
    markup = "<script>alert(1)</script>"
    event = store(
        source,
        5,
        properties={"title": markup, "nested": {"list": [1, None, True]}},
        context={"ip": "192.0.2.1"},
        user_id="u-1",
    )

    response = call(client, f"/api/events/{event.pk}", reader)

    assert response.json() == {
        "id": event.pk,
        "source": "Web shop",
        "message_id": "m-5",
        "type": "track",
        "name": "Product Viewed",
        "customer_id": None,
        "user_id": "u-1",
        "anonymous_id": "",
        "properties": {"title": markup, "nested": {"list": [1, None, True]}},
        "context": {"ip": "192.0.2.1"},
        "timestamp": "2026-03-01T15:00:00Z",
        "original_timestamp": None,
        "sent_at": None,
        "received_at": "2026-03-01T15:00:00Z",
        "is_timestamp_clamped": False,
    }


def test_a_missing_event_is_a_404(client, reader):
    response = call(client, "/api/events/987654", reader)

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "no event with id 987654"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["completed", "identified", "viewed"]),
        ("customer_id={ana}", ["identified", "viewed"]),
        ("type=identify", ["identified"]),
        ("type=track&name=Order%20Completed", ["completed"]),
        ("since=2026-03-01T12:00:00Z", ["completed", "identified"]),
        ("before=2026-03-01T12:00:00Z", ["viewed"]),
        ("since=2026-03-01T11:30:00Z&before=2026-03-01T12:30:00", ["identified"]),
    ],
)
def test_list_filters(client, reader, stored, query, expected):
    response = call(client, "/api/events?" + query.format(**stored), reader)

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["items"]] == [stored[name] for name in expected]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("type=click", "type"),
        ("since=tomorrow", "since"),
        ("customer_id=abc", "customer_id"),
        ("name=" + "n" * 256, "name"),
        ("customer=1", "customer"),
    ],
)
def test_list_refuses_bad_filters_naming_them(client, reader, query, field):
    response = call(client, "/api/events?" + query, reader)

    assert response.status_code == 400
    assert response.json()["message"].startswith(f"{field}:")


def test_list_walks_every_event_exactly_once(client, reader, source):
    created = [store(source, number).pk for number in range(7)]
    seen: list[int] = []
    path = "/api/events?limit=3"
    while path:
        page = call(client, path, reader).json()
        seen.extend(item["id"] for item in page["items"])
        path = page["next_cursor"] and f"/api/events?limit=3&cursor={page['next_cursor']}"

    assert seen == sorted(created, reverse=True)


@pytest.mark.parametrize("limit", [1, 8])
def test_list_costs_the_same_queries_whatever_the_page_size(
    client, reader, source, django_assert_num_queries, limit
):
    for number in range(8):
        store(source, number)
    call(client, "/api/events?limit=1", reader)  # the key's last use is now recorded

    # key lookup, one page of events with their sources joined
    with django_assert_num_queries(2):
        response = call(client, f"/api/events?limit={limit}", reader)

    assert len(response.json()["items"]) == limit


def test_warnings_are_filtered_by_source_name_or_id_and_time(client, reader, source, system_actor):
    app = Source.objects.get(pk=source_create(name="App", actor=system_actor).id)
    early = warn(source, 1)
    late = warn(source, 5, code="unknown_type", field="type", excerpt='{"type": "<b>"}')
    other = warn(app, 6)

    by_name = call(client, "/api/ingestion-warnings?source=Web%20shop", reader)
    by_id = call(client, f"/api/ingestion-warnings?source={app.pk}", reader)
    since = call(client, "/api/ingestion-warnings?since=2026-03-01T12:00:00Z", reader)

    assert [item["id"] for item in by_name.json()["items"]] == [late.pk, early.pk]
    assert [item["id"] for item in by_id.json()["items"]] == [other.pk]
    assert [item["id"] for item in since.json()["items"]] == [other.pk, late.pk]
    assert by_name.json()["items"][0] == {
        "id": late.pk,
        "source": "Web shop",
        "message_id": "w-5",
        "code": "unknown_type",
        "field": "type",
        "message": "not a date",
        "excerpt": '{"type": "<b>"}',
        "received_at": "2026-03-01T15:00:00Z",
    }


def test_warnings_walk_every_page_exactly_once_at_a_fixed_query_cost(
    client, reader, source, django_assert_num_queries
):
    created = [warn(source, number).pk for number in range(5)]
    call(client, "/api/ingestion-warnings?limit=1", reader)  # the key's last use is recorded
    seen: list[int] = []
    path = "/api/ingestion-warnings?limit=2"
    while path:
        # key lookup, one page of warnings with their sources joined
        with django_assert_num_queries(2):
            page = call(client, path, reader).json()
        seen.extend(item["id"] for item in page["items"])
        path = page["next_cursor"] and (
            f"/api/ingestion-warnings?limit=2&cursor={page['next_cursor']}"
        )

    assert seen == sorted(created, reverse=True)
