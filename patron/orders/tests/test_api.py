"""The orders REST endpoints: idempotent recording, reads, refunds and cancellation."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from patron.accounts.models import AuditEntry, Scope, Source
from patron.customers.models import Customer
from patron.customers.services.profile import customer_create
from patron.orders.models import Order, OrderLine, OrderStatus, Refund
from patron.orders.services.orders import order_clean, order_record

pytestmark = pytest.mark.django_db

READ = Scope.ORDERS_READ
WRITE = Scope.ORDERS_WRITE


def call(client, method: str, path: str, secret: str | None = None, body: Any = None):
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    if method == "get":
        return client.get(path, headers=headers)
    # No body at all, as curl sends a bare POST, when there is nothing to say.
    data = "" if body is None else json.dumps(body)
    return getattr(client, method)(
        path, data=data, content_type="application/json", headers=headers
    )


def order_body(**changes: Any) -> dict[str, Any]:
    return {
        "source": "Web shop",
        "email": "ana@example.com",
        "external_id": "1001",
        "currency": "eur",
        "placed_at": "2026-03-01T10:00:00Z",
        "shipping_total": "4.90",
        "lines": [
            {
                "sku": "MOIST-60",
                "name": "Hydra moisturiser",
                "quantity": 2,
                "unit_price": "24.00",
                "category": "Skincare > Moisturisers",
            },
            {"sku": "SPF-50", "unit_price": 19.5, "discount": "2.50"},
        ],
        **changes,
    }


@pytest.fixture
def writer(make_api_key) -> str:
    return make_api_key(READ, WRITE, name="shop sync").secret


@pytest.fixture
def reader(make_api_key) -> str:
    return make_api_key(READ).secret


@pytest.fixture
def shop(web_source, system_actor) -> tuple[Source, Customer]:
    source = Source.objects.get(pk=web_source.id)
    customer = customer_create(actor=system_actor, fields={"email": "ana@example.com"})
    return source, customer


def record(shop: tuple[Source, Customer], actor: Any, **changes: Any) -> Order:
    source, customer = shop
    raw = order_body(**changes)
    order, _ = order_record(source=source, customer=customer, order=order_clean(raw), actor=actor)
    return order


@pytest.fixture
def placed(shop, system_actor) -> Order:
    return record(shop, system_actor)


ENDPOINTS = [
    ("get", "/api/orders", None, READ),
    ("post", "/api/orders", order_body(external_id="2002"), WRITE),
    ("get", "/api/orders/{order}", None, READ),
    ("post", "/api/orders/{order}/refunds", {"refund_id": "r-1", "amount": "5.00"}, WRITE),
    ("post", "/api/orders/{order}/cancel", None, WRITE),
]


def _request(endpoint: tuple[str, str, Any, str], order: Order) -> tuple[str, str, Any]:
    method, template, body, _ = endpoint
    return method, template.format(order=order.pk), body


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_without_a_key_every_endpoint_answers_401(client, placed, endpoint):
    method, path, body = _request(endpoint, placed)

    response = call(client, method, path, body=body)

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_a_source_write_key_cannot_use_the_api(client, placed, web_source, endpoint):
    method, path, body = _request(endpoint, placed)

    response = call(client, method, path, web_source.secret, body)

    assert response.status_code == 401


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_a_key_without_the_scope_is_forbidden_and_changes_nothing(
    client, placed, make_api_key, endpoint
):
    scope = endpoint[3]
    secret = make_api_key(*(other for other in Scope.values if other != scope)).secret
    audit_before = AuditEntry.objects.count()
    method, path, body = _request(endpoint, placed)

    response = call(client, method, path, secret, body)

    assert response.status_code == 403
    assert response.json() == {
        "code": "forbidden",
        "message": f"this key lacks the scope {scope}",
    }
    assert AuditEntry.objects.count() == audit_before
    assert Order.objects.count() == 1


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_a_key_with_the_scope_is_served(client, placed, make_api_key, endpoint):
    method, path, body = _request(endpoint, placed)

    response = call(client, method, path, make_api_key(endpoint[3]).secret, body)

    assert response.status_code in {200, 201}, response.content


def test_the_same_order_twice_is_recorded_once(client, writer, shop):
    first = call(client, "post", "/api/orders", writer, order_body())
    second = call(client, "post", "/api/orders", writer, order_body())

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    body = first.json()
    assert (body["source"], body["customer_id"], body["currency"]) == (
        "Web shop",
        shop[1].pk,
        "EUR",
    )
    assert (body["subtotal"], body["total"]) == ("65.00", "69.90")
    assert [(line["position"], line["sku"], line["line_total"]) for line in body["lines"]] == [
        (1, "MOIST-60", "48.00"),
        (2, "SPF-50", "17.00"),
    ]
    assert Order.objects.count() == 1
    assert OrderLine.objects.count() == 2
    assert AuditEntry.objects.filter(action="order.created").count() == 1
    assert not AuditEntry.objects.filter(action="order.updated").exists()


def test_a_corrected_resend_replaces_the_lines(client, writer, placed):
    corrected = order_body(lines=[{"sku": "MOIST-60", "quantity": 3, "unit_price": "24.00"}])

    response = call(client, "post", "/api/orders", writer, corrected)

    assert response.status_code == 200
    assert response.json()["id"] == placed.pk
    assert [(line["sku"], line["quantity"]) for line in response.json()["lines"]] == [
        ("MOIST-60", 3)
    ]
    assert AuditEntry.objects.filter(action="order.updated").count() == 1


def test_an_order_for_a_new_email_creates_the_customer(client, writer, web_source):
    response = call(
        client, "post", "/api/orders", writer, order_body(email="New.Buyer@Example.com")
    )

    assert response.status_code == 201
    customer = Customer.objects.get()
    assert customer.email == "new.buyer@example.com"
    assert response.json()["customer_id"] == customer.pk


def test_an_order_names_its_source_by_id_and_its_customer_by_id(client, writer, shop):
    source, customer = shop

    response = call(
        client,
        "post",
        "/api/orders",
        writer,
        order_body(source=source.pk, email=None, customer_id=customer.pk),
    )

    assert response.status_code == 201
    assert response.json()["customer_id"] == customer.pk


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"source": "Nowhere"}, "source"),
        ({"source": 987654}, "source"),
        ({"email": None}, "customer_id"),
        ({"customer_id": 1}, "customer_id"),
        ({"email": None, "customer_id": 987654}, "customer_id"),
        ({"email": "not-an-email"}, "email"),
        ({"colour": "red"}, "colour"),
        ({"currency": "euro"}, "currency"),
        ({"currency": "E1R"}, "currency"),
        ({"placed_at": "yesterday"}, "placed_at"),
        ({"placed_at": 1767225600}, "placed_at"),
        ({"lines": []}, "lines"),
        ({"lines": [{"sku": "A", "unit_price": "1", "colour": "red"}]}, "lines[1].colour"),
        ({"lines": [{"sku": "A", "unit_price": "1", "quantity": "2"}]}, "lines[1].quantity"),
        ({"lines": [{"sku": "A"}]}, "lines[1].unit_price"),
        ({"lines": [{"sku": "A", "unit_price": "-1"}]}, "lines[1].unit_price"),
        ({"lines": [{"sku": "A", "unit_price": "1.005"}]}, "lines[1].unit_price"),
        ({"coupon": "C" * 201}, "coupon"),
        ({"total": "ten"}, "total"),
    ],
)
def test_bad_input_is_refused_naming_the_field(client, writer, shop, changes, field):
    response = call(client, "post", "/api/orders", writer, order_body(**changes))

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert response.json()["message"].startswith(f"{field}:")
    assert not Order.objects.exists()
    assert Customer.objects.count() == 1


def test_markup_in_a_coupon_is_kept_verbatim(client, writer, shop):
    coupon = "<script>alert(1)</script>"

    response = call(client, "post", "/api/orders", writer, order_body(coupon=coupon))

    assert response.json()["coupon"] == coupon
    assert Order.objects.get().coupon == coupon


def test_read_shows_lines_and_refunds_and_a_missing_order_is_404(client, writer, placed):
    call(
        client,
        "post",
        f"/api/orders/{placed.pk}/refunds",
        writer,
        {"refund_id": "r-1", "amount": 5},
    )

    found = call(client, "get", f"/api/orders/{placed.pk}", writer)
    missing = call(client, "get", "/api/orders/987654", writer)

    assert [line["sku"] for line in found.json()["lines"]] == ["MOIST-60", "SPF-50"]
    assert [(refund["external_id"], refund["amount"]) for refund in found.json()["refunds"]] == [
        ("r-1", "5.00")
    ]
    assert missing.status_code == 404
    assert missing.json() == {"code": "not_found", "message": "no order with id 987654"}


def test_refunds_count_once_and_never_exceed_the_total(client, writer, placed):
    path = f"/api/orders/{placed.pk}/refunds"

    partial = call(client, "post", path, writer, {"refund_id": "r-1", "amount": "9.90"})
    repeated = call(client, "post", path, writer, {"refund_id": "r-1", "amount": "9.90"})
    too_much = call(client, "post", path, writer, {"refund_id": "r-2", "amount": "60.01"})
    rest = call(client, "post", path, writer, {"refund_id": "r-3", "reason": "<b>damaged</b>"})

    assert partial.status_code == 201
    assert partial.json()["status"] == OrderStatus.PARTIALLY_REFUNDED
    assert repeated.status_code == 200
    assert repeated.json()["refunded_total"] == "9.90"
    assert too_much.status_code == 400
    assert too_much.json()["message"].startswith("amount:")
    assert rest.status_code == 201
    assert (rest.json()["status"], rest.json()["refunded_total"]) == ("refunded", "69.90")
    assert sorted(Refund.objects.values_list("external_id", "amount")) == [
        ("r-1", Decimal("9.90")),
        ("r-3", Decimal("60.00")),
    ]
    assert AuditEntry.objects.filter(action="order.refunded").count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"refund_id": ""}, "refund_id"),
        ({"refund_id": "r-1", "amount": "-5"}, "amount"),
        ({"refund_id": "r-1", "refunded_at": "soon"}, "refunded_at"),
        ({"refund_id": "r-1", "note": "x"}, "note"),
    ],
)
def test_a_bad_refund_is_refused_naming_the_field(client, writer, placed, body, field):
    response = call(client, "post", f"/api/orders/{placed.pk}/refunds", writer, body)

    assert response.status_code == 400
    assert response.json()["message"].startswith(f"{field}:")
    assert not Refund.objects.exists()


def test_cancel_is_idempotent_and_takes_an_optional_time(client, writer, placed):
    path = f"/api/orders/{placed.pk}/cancel"

    first = call(client, "post", path, writer, {"cancelled_at": "2026-03-02T09:00:00Z"})
    second = call(client, "post", path, writer)
    refused = call(client, "post", path, writer, {"when": "now"})

    assert first.status_code == 200 and second.status_code == 200
    assert first.json()["status"] == "cancelled"
    assert second.json()["cancelled_at"] == "2026-03-02T09:00:00Z"
    assert refused.status_code == 400
    assert AuditEntry.objects.filter(action="order.cancelled").count() == 1


@pytest.fixture
def history(shop, system_actor) -> dict[str, int]:
    source, customer = shop
    other = customer_create(actor=system_actor, fields={"email": "bo@example.com"})
    january = record(shop, system_actor, external_id="A", placed_at="2026-01-15T10:00:00Z")
    february = record(shop, system_actor, external_id="B", placed_at="2026-02-15T10:00:00Z")
    march, _ = order_record(
        source=source,
        customer=other,
        order=order_clean(order_body(external_id="C", placed_at="2026-03-15T10:00:00Z")),
        actor=system_actor,
    )
    Order.objects.filter(pk=february.pk).update(status=OrderStatus.CANCELLED)
    return {
        "january": january.pk,
        "february": february.pk,
        "march": march.pk,
        "ana": customer.pk,
        "bo": other.pk,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["march", "february", "january"]),
        ("customer_id={ana}", ["february", "january"]),
        ("status=cancelled", ["february"]),
        ("placed_since=2026-02-01", ["march", "february"]),
        ("placed_before=2026-02-15T10:00:00Z", ["january"]),
        ("placed_since=2026-02-01&placed_before=2026-03-01&customer_id={ana}", ["february"]),
    ],
)
def test_list_filters(client, reader, history, query, expected):
    response = call(client, "get", "/api/orders?" + query.format(**history), reader)

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["items"]] == [history[name] for name in expected]


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=lost", "status"), ("placed_since=someday", "placed_since"), ("sort=id", "sort")],
)
def test_list_refuses_bad_filters_naming_them(client, reader, query, field):
    response = call(client, "get", "/api/orders?" + query, reader)

    assert response.status_code == 400
    assert response.json()["message"].startswith(f"{field}:")


def test_list_walks_every_order_exactly_once(client, reader, shop, system_actor):
    created = {record(shop, system_actor, external_id=f"N-{number}").pk for number in range(5)}
    seen: list[int] = []
    path = "/api/orders?limit=2"
    while path:
        page = call(client, "get", path, reader).json()
        seen.extend(item["id"] for item in page["items"])
        path = page["next_cursor"] and f"/api/orders?limit=2&cursor={page['next_cursor']}"

    assert seen == sorted(created, reverse=True)


@pytest.mark.parametrize("limit", [1, 6])
def test_list_costs_the_same_queries_whatever_the_page_size(
    client, reader, shop, system_actor, django_assert_num_queries, limit
):
    for number in range(6):
        record(shop, system_actor, external_id=f"N-{number}")
    call(client, "get", "/api/orders?limit=1", reader)  # the key's last use is now recorded

    # key lookup, one page of orders with their sources joined, their lines, their refunds
    with django_assert_num_queries(4):
        response = call(client, "get", f"/api/orders?limit={limit}", reader)

    assert len(response.json()["items"]) == limit
