"""Real Segment clients and the request shapes of others against a live Patron server.

The official Python library (segment-analytics-python) sends to a live test server, with
gzip on and off, in its synchronous mode and with its background thread. The shapes of an
older Python client (the write key only in the body) and of the browser library
(analytics.js: text/plain, key in the body, an Origin) are sent with requests.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from segment.analytics import Client
from segment.analytics import request as segment_request
from segment.analytics.request import APIError

from patron.accounts.services.keys import CreatedSecret
from patron.customers.models import Company, Customer, Identity, IdentityKind
from patron.events.models import Event, IngestionWarning
from patron.orders.models import Cart, CartStatus, Order

# Far beyond what a loopback request needs; only a hung server would ever reach it.
REQUEST_TIMEOUT_SECONDS = 30


@pytest.fixture(autouse=True)
def _close_kept_alive_connections():
    """The library keeps its HTTP connection alive, and with it the server thread and that
    thread's database connection; closing it lets the test database be dropped at the end."""
    yield
    segment_request._session.close()


def segment_client(live_server, write_key: str, **options) -> Client:
    return Client(
        write_key,
        host=live_server.url,
        timeout=REQUEST_TIMEOUT_SECONDS,
        max_retries=0,
        **options,
    )


@pytest.mark.parametrize("is_gzip", [False, True], ids=["plain", "gzip"])
def test_the_python_library_in_sync_mode_stores_every_call(
    live_server, web_source: CreatedSecret, is_gzip
):
    client = segment_client(live_server, web_source.secret, sync_mode=True, gzip=is_gzip)
    when = datetime(2026, 2, 1, 9, 30, tzinfo=UTC)

    client.page(anonymous_id="anon-1", name="Home", properties={"path": "/"}, timestamp=when)
    client.track(
        anonymous_id="anon-1",
        event="Product Added",
        properties={"sku": "SERUM-30", "name": "Serum", "price": 24.5, "quantity": 2},
    )
    client.identify(
        user_id="user-1",
        anonymous_id="anon-1",
        traits={"email": "ana@example.com", "firstName": "Ana", "plan": "pro"},
    )
    client.group(user_id="user-1", group_id="acme", traits={"name": "Acme", "employees": 40})
    client.track(
        user_id="user-1",
        event="Order Completed",
        properties={
            "order_id": "1001",
            "total": 49.0,
            "currency": "EUR",
            "products": [{"sku": "SERUM-30", "price": 24.5, "quantity": 2}],
        },
    )
    client.screen(user_id="user-1", name="Settings")
    client.alias(previous_id="old-device", user_id="user-1")

    assert Event.objects.count() == 7
    customer = Customer.objects.get()
    assert (customer.first_name, customer.email, customer.is_identified) == (
        "Ana",
        "ana@example.com",
        True,
    )
    assert set(Event.objects.values_list("customer_id", flat=True)) == {customer.pk}
    page = Event.objects.get(type="page")
    assert page.original_timestamp == when
    assert page.timestamp == page.received_at - (page.sent_at - page.original_timestamp)
    assert Company.objects.get().contacts.get() == customer
    order = Order.objects.get()
    assert (order.total, order.customer_id) == (Decimal("49.00"), customer.pk)
    assert Cart.objects.get().status == CartStatus.CONVERTED
    assert Identity.objects.get(kind=IdentityKind.ANONYMOUS_ID, value="old-device").customer_id == (
        customer.pk
    )
    assert IngestionWarning.objects.count() == 0


@pytest.mark.parametrize("is_gzip", [False, True], ids=["plain", "gzip"])
def test_the_python_library_background_thread_delivers_batches(
    live_server, web_source: CreatedSecret, is_gzip
):
    errors: list[Exception] = []
    client = segment_client(
        live_server,
        web_source.secret,
        gzip=is_gzip,
        upload_size=100,
        on_error=lambda error, batch: errors.append(error),
    )

    for number in range(250):
        client.track(user_id=f"user-{number % 25}", event="Viewed", properties={"n": number})
    client.flush()
    client.join()

    assert errors == []
    assert Event.objects.count() == 250
    assert Customer.objects.count() == 25


def test_the_python_library_reports_our_error_codes(live_server, web_source: CreatedSecret):
    client = segment_client(live_server, "not-a-write-key", sync_mode=True)

    with pytest.raises(APIError) as raised:
        client.track(user_id="user-1", event="Viewed")

    assert (raised.value.status, raised.value.code) == (401, "invalid_write_key")
    assert Event.objects.count() == 0


def test_a_retried_upload_is_stored_once(live_server, web_source: CreatedSecret):
    client = segment_client(live_server, web_source.secret, sync_mode=True)
    message_id = str(uuid.uuid4())

    for _ in range(3):
        client.track(user_id="user-1", event="Viewed", message_id=message_id)

    assert Event.objects.filter(message_id=message_id).count() == 1


def test_an_older_python_client_with_the_key_only_in_the_body(
    live_server, web_source: CreatedSecret
):
    sent_at = datetime.now(tz=UTC)
    body = {
        "batch": [
            {
                "type": "track",
                "event": "Signed Up",
                "userId": "user-9",
                "properties": {"plan": "basic"},
                "timestamp": (sent_at - timedelta(seconds=30)).isoformat(),
                "messageId": "legacy-1",
                "context": {"library": {"name": "analytics-python", "version": "1.2.9"}},
                "integrations": {},
            }
        ],
        "sentAt": sent_at.isoformat(),
        "writeKey": web_source.secret,
    }

    response = requests.post(
        f"{live_server.url}/v1/batch",
        data=json.dumps(body),
        headers={"Content-Type": "application/json", "User-Agent": "analytics-python/1.2.9"},
        timeout=REQUEST_TIMEOUT_SECONDS,
    )

    assert response.status_code == 200
    assert response.json() == {"success": True}
    event = Event.objects.get()
    assert event.message_id == "legacy-1"
    assert event.context["message"] == {"integrations": {}}
    # Sent 30 s after the call, so stored 30 s before it arrived, whatever the clocks say.
    assert timedelta(seconds=29) < event.received_at - event.timestamp < timedelta(seconds=31)


def _browser_message(write_key: str, kind: str, **fields) -> dict:
    now = datetime.now(tz=UTC).isoformat().replace("+00:00", "Z")
    return {
        "timestamp": now,
        "integrations": {},
        "type": kind,
        "anonymousId": "9c1a7e1e-0000-4000-8000-000000000001",
        "userId": None,
        "context": {
            "page": {
                "path": "/shop",
                "url": "https://shop.example/shop",
                "title": "Shop <b>sale</b>",
                "referrer": "",
            },
            "userAgent": "Mozilla/5.0",
            "locale": "pt-PT",
            "library": {"name": "analytics.js", "version": "next-1.70.0"},
        },
        "messageId": f"ajs-next-{uuid.uuid4().hex}",
        "writeKey": write_key,
        "sentAt": now,
        "_metadata": {"bundled": ["Segment.io"], "unbundled": []},
        **fields,
    }


def test_the_browser_library_shape(live_server, web_source: CreatedSecret):
    origin = "https://shop.example"
    headers = {"Content-Type": "text/plain;charset=UTF-8", "Origin": origin}
    settings = requests.get(
        f"{live_server.url}/v1/projects/{web_source.secret}/settings",
        headers={"Origin": origin},
        timeout=REQUEST_TIMEOUT_SECONDS,
    )
    api_host = settings.json()["integrations"]["Segment.io"]["apiHost"]
    base = f"http://{api_host}"

    calls = [
        ("p", _browser_message(web_source.secret, "page", name="Shop", properties={})),
        (
            "t",
            _browser_message(
                web_source.secret,
                "track",
                event="<script>alert(1)</script>",
                properties={"query": "<img src=x onerror=alert(1)>"},
            ),
        ),
        (
            "i",
            _browser_message(
                web_source.secret, "identify", userId="user-7", traits={"email": "b@example.com"}
            ),
        ),
    ]
    responses = [
        requests.post(
            f"{base}/{path}",
            data=json.dumps(body),
            headers=headers,
            timeout=REQUEST_TIMEOUT_SECONDS,
        )
        for path, body in calls
    ]

    assert settings.status_code == 200
    assert [response.status_code for response in responses] == [200, 200, 200]
    assert all(response.headers["Access-Control-Allow-Origin"] == "*" for response in responses)
    assert all("Set-Cookie" not in response.headers for response in responses)
    assert Event.objects.count() == 3
    customer = Customer.objects.get()
    assert (customer.email, customer.locale) == ("b@example.com", "pt-PT")
    track = Event.objects.get(type="track")
    assert track.name == "<script>alert(1)</script>"
    assert track.properties == {"query": "<img src=x onerror=alert(1)>"}
    assert "_metadata" not in json.dumps(track.context)


def test_the_browser_library_batch_endpoint(live_server, web_source: CreatedSecret):
    body = {
        "batch": [
            _browser_message(web_source.secret, "page", name="Shop", properties={}),
            _browser_message(web_source.secret, "track", event="Viewed", properties={}),
        ],
        "writeKey": web_source.secret,
        "sentAt": datetime.now(tz=UTC).isoformat(),
    }

    preflight = requests.options(
        f"{live_server.url}/v1/b",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=REQUEST_TIMEOUT_SECONDS,
    )
    response = requests.post(
        f"{live_server.url}/v1/b",
        data=json.dumps(body),
        headers={"Content-Type": "text/plain", "Origin": "https://shop.example"},
        timeout=REQUEST_TIMEOUT_SECONDS,
    )

    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert response.status_code == 200
    assert Event.objects.count() == 2


def test_markup_sent_as_an_event_comes_back_from_the_api_as_a_json_string(
    live_server, web_source: CreatedSecret, make_api_key
):
    client = segment_client(live_server, web_source.secret, sync_mode=True)
    reader = make_api_key("events:read")
    markup = "<script>alert(document.cookie)</script>"

    client.track(user_id="user-1", event=markup, properties={"note": markup})
    response = requests.get(
        f"{live_server.url}/api/events",
        headers={"Authorization": f"Bearer {reader.secret}"},
        timeout=REQUEST_TIMEOUT_SECONDS,
    )

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    (item,) = response.json()["items"]
    assert (item["name"], item["properties"]) == (markup, {"note": markup})
