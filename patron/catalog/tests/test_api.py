"""The products REST endpoints: upsert by SKU, read, search."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps

from patron.catalog.models import Category, Product
from patron.catalog.services.products import product_clean, product_upsert

pytestmark = pytest.mark.django_db

# Scope values as text: catalog sits beside accounts and does not import it.
READ = "catalog:read"
WRITE = "catalog:write"
ALL_SCOPES = (
    "customers:read",
    "customers:write",
    READ,
    WRITE,
    "orders:read",
    "orders:write",
    "events:read",
)


def audit_entries() -> Any:
    # Looked up by label for the same reason: the hook that writes these lives in accounts.
    return apps.get_model("accounts", "AuditEntry").objects


def call(client, method: str, path: str, secret: str | None = None, body: Any = None):
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    if body is None:
        return getattr(client, method)(path, headers=headers)
    return getattr(client, method)(
        path, data=json.dumps(body), content_type="application/json", headers=headers
    )


@pytest.fixture
def writer(make_api_key) -> str:
    return make_api_key(READ, WRITE, name="shop sync").secret


@pytest.fixture
def reader(make_api_key) -> str:
    return make_api_key(READ).secret


@pytest.fixture
def serum() -> Product:
    product, _ = product_upsert(
        sku="SER-30",
        fields=product_clean({"name": "Night serum", "category": "Skincare > Serums"}),
    )
    return product


ENDPOINTS = [
    ("get", "/api/products", None, READ),
    ("get", "/api/products/SER-30", None, READ),
    ("put", "/api/products/SER-30", {"price": "29.90", "currency": "EUR"}, WRITE),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_without_a_key_every_endpoint_answers_401(client, serum, endpoint):
    method, path, body, _ = endpoint

    response = call(client, method, path, body=body)

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_a_source_write_key_cannot_use_the_api(client, serum, web_source, endpoint):
    method, path, body, _ = endpoint

    response = call(client, method, path, web_source.secret, body)

    assert response.status_code == 401


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_a_key_without_the_scope_is_forbidden_and_changes_nothing(
    client, serum, make_api_key, endpoint
):
    method, path, body, scope = endpoint
    secret = make_api_key(*(other for other in ALL_SCOPES if other != scope)).secret

    response = call(client, method, path, secret, body)

    assert response.status_code == 403
    assert response.json() == {
        "code": "forbidden",
        "message": f"this key lacks the scope {scope}",
    }
    serum.refresh_from_db()
    assert serum.price is None


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_a_key_with_the_scope_is_served(client, serum, make_api_key, endpoint):
    method, path, body, scope = endpoint

    response = call(client, method, path, make_api_key(scope).secret, body)

    assert response.status_code == 200


def test_put_creates_then_changes_only_the_fields_sent_and_audits_both(client, writer):
    created = call(
        client,
        "put",
        "/api/products/MOIST-60",
        writer,
        {
            "name": "Hydra moisturiser",
            "price": "24.00",
            "currency": "eur",
            "category": ["Skincare", "Moisturisers"],
            "supply_days": 60,
        },
    )
    changed = call(client, "put", "/api/products/MOIST-60", writer, {"price": 26.5})
    unchanged = call(client, "put", "/api/products/MOIST-60", writer, {"price": "26.50"})

    assert created.status_code == 201
    assert changed.status_code == 200 and unchanged.status_code == 200
    body = unchanged.json()
    assert (body["name"], body["price"], body["currency"], body["supply_days"]) == (
        "Hydra moisturiser",
        "26.50",
        "EUR",
        60,
    )
    assert (body["category"], body["category_slug"]) == ("Moisturisers", "skincare-moisturisers")
    product = Product.objects.get(sku="MOIST-60")
    assert product.price == Decimal("26.50")
    actions = list(
        audit_entries()
        .filter(subject_type="product", subject_id=str(product.pk))
        .order_by("pk")
        .values_list("action", "actor_kind")
    )
    assert actions == [("product.created", "api_key"), ("product.updated", "api_key")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Serum", "colour": "red"}, "colour"),
        ({"name": 5}, "name"),
        ({"name": "N" * 301}, "name"),
        ({"price": "-1"}, "price"),
        ({"price": "1.001"}, "price"),
        ({"price": True}, "price"),
        ({"currency": "euro"}, "currency"),
        ({"currency": "E1R"}, "currency"),
        ({"supply_days": "90"}, "supply_days"),
        ({"supply_days": 0}, "supply_days"),
        ({"is_repeatable": "yes"}, "is_repeatable"),
        ({"image_url": "javascript:alert(1)"}, "image_url"),
        ({"stock_status": "plenty"}, "stock_status"),
    ],
)
def test_bad_input_is_refused_naming_the_field(client, writer, body, field):
    response = call(client, "put", "/api/products/NEW-1", writer, body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert response.json()["message"].startswith(f"{field}:")
    assert not Product.objects.exists()


def test_an_oversized_sku_is_refused(client, writer):
    response = call(client, "put", "/api/products/" + "S" * 129, writer, {"name": "x"})

    assert response.status_code == 400
    assert response.json()["message"].startswith("sku:")
    assert not Product.objects.exists()


def test_malformed_json_is_refused(client, writer):
    response = client.put(
        "/api/products/NEW-1",
        data="{price: 1}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {writer}"},
    )

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_request",
        "message": "the request body is not valid JSON",
    }


def test_markup_in_a_name_is_kept_verbatim(client, writer):
    name = '<img src=x onerror="alert(1)"> Serum'

    response = call(client, "put", "/api/products/XSS-1", writer, {"name": name})

    assert response.json()["name"] == name
    assert Product.objects.get(sku="XSS-1").name == name


def test_a_missing_product_is_a_404(client, reader):
    response = call(client, "get", "/api/products/NOPE-1", reader)

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "no product with SKU 'NOPE-1'"}


@pytest.fixture
def shelf() -> dict[str, int]:
    rows = {
        "SER-30": {"name": "Night serum", "category": "Skincare > Serums"},
        "SER-15": {"name": "Day serum", "category": "Skincare > Serums > Travel"},
        "MOIST-60": {"name": "Serious moisturiser", "category": "Skincare > Moisturisers"},
        "MUG-1": {"name": "Mug", "category": "Home"},
    }
    return {
        sku: product_upsert(sku=sku, fields=product_clean(fields))[0].pk
        for sku, fields in rows.items()
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=SER", ["SER-30", "SER-15", "MOIST-60"]),
        ("q=ser-1", ["SER-15"]),
        ("q=SER-3", ["SER-30"]),
        ("q=day", ["SER-15"]),
        ("category=skincare-serums", ["SER-30", "SER-15"]),
        ("category=skincare", ["SER-30", "SER-15", "MOIST-60"]),
        ("category=garden", []),
        ("q=mug&category=home", ["MUG-1"]),
    ],
)
def test_list_searches_by_sku_or_name_prefix_and_category(client, reader, shelf, query, expected):
    response = call(client, "get", "/api/products?" + query, reader)

    assert response.status_code == 200
    assert [item["sku"] for item in response.json()["items"]] == sorted(
        expected, key=lambda sku: shelf[sku], reverse=True
    )


def test_list_walks_every_product_exactly_once(client, reader, shelf):
    seen: list[str] = []
    path = "/api/products?limit=3"
    while path:
        page = call(client, "get", path, reader).json()
        seen.extend(item["sku"] for item in page["items"])
        path = page["next_cursor"] and f"/api/products?limit=3&cursor={page['next_cursor']}"

    assert sorted(seen) == sorted(shelf)
    assert len(seen) == len(shelf) == 4


@pytest.mark.parametrize("limit", [1, 4])
def test_list_costs_the_same_queries_whatever_the_page_size(
    client, reader, shelf, django_assert_num_queries, limit
):
    call(client, "get", "/api/products?limit=1", reader)  # the key's last use is now recorded

    # key lookup, one page of products with their categories joined
    with django_assert_num_queries(2):
        response = call(client, "get", f"/api/products?limit={limit}", reader)

    assert len(response.json()["items"]) == limit


def test_categories_of_a_path_are_created_once(client, writer):
    call(client, "put", "/api/products/A-1", writer, {"category": "Skincare > Serums"})
    call(client, "put", "/api/products/A-2", writer, {"category": ["Skincare", "Serums"]})

    assert sorted(Category.objects.values_list("slug", flat=True)) == [
        "skincare",
        "skincare-serums",
    ]
