"""The customers, identities, tags, notes, attributes and companies REST endpoints."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from patron.accounts.models import ApiKey, AuditEntry, Scope
from patron.accounts.services.keys import api_key_revoke
from patron.core import clock
from patron.customers.models import (
    AttributeDefinition,
    Company,
    CompanyContact,
    Customer,
    CustomerTag,
    Identity,
    IdentityKind,
    Note,
)
from patron.customers.services.companies import company_contact_add, company_upsert
from patron.customers.services.profile import customer_create, identity_add

pytestmark = pytest.mark.django_db

READ = Scope.CUSTOMERS_READ
WRITE = Scope.CUSTOMERS_WRITE
Body = dict[str, Any] | Callable[[dict[str, int]], dict[str, Any]] | None


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def call(client, method: str, path: str, secret: str | None = None, body: Any = None):
    headers = bearer(secret) if secret else {}
    if body is None:
        return getattr(client, method)(path, headers=headers)
    return getattr(client, method)(
        path, data=json.dumps(body), content_type="application/json", headers=headers
    )


@pytest.fixture
def writer(make_api_key) -> str:
    return make_api_key(READ, WRITE, name="crm sync").secret


@pytest.fixture
def reader(make_api_key) -> str:
    return make_api_key(READ, name="dashboard").secret


@pytest.fixture
def world(system_actor) -> dict[str, int]:
    """One customer with a spare identity and a tag, and one company."""
    customer = customer_create(
        actor=system_actor,
        fields={"first_name": "Ana", "email": "ana@example.com"},
        tags=["regular"],
    )
    spare, _ = identity_add(
        customer=customer, kind=IdentityKind.USER_ID, value="u-1", actor=system_actor
    )
    company, _ = company_upsert(actor=system_actor, fields={"name": "Acme"})
    return {"customer": customer.pk, "spare_identity": spare.pk, "company": company.pk}


ENDPOINTS: list[tuple[str, str, Body, str]] = [
    ("get", "/api/customers", None, READ),
    ("post", "/api/customers", {"first_name": "Bo"}, WRITE),
    ("get", "/api/customers/{customer}", None, READ),
    ("patch", "/api/customers/{customer}", {"city": "Lyon"}, WRITE),
    ("get", "/api/customers/{customer}/identities", None, READ),
    ("post", "/api/customers/{customer}/identities", {"kind": "user_id", "value": "u-9"}, WRITE),
    ("delete", "/api/customers/{customer}/identities/{spare_identity}", None, WRITE),
    ("post", "/api/customers/{customer}/tags", {"tags": ["vip"]}, WRITE),
    ("delete", "/api/customers/{customer}/tags/regular", None, WRITE),
    ("get", "/api/customers/{customer}/notes", None, READ),
    ("post", "/api/customers/{customer}/notes", {"body": "Called about the refund"}, WRITE),
    ("get", "/api/attributes", None, READ),
    ("post", "/api/attributes", {"key": "size", "label": "Size", "type": "text"}, WRITE),
    ("get", "/api/companies", None, READ),
    ("post", "/api/companies", {"name": "Globex"}, WRITE),
    ("get", "/api/companies/{company}", None, READ),
    ("patch", "/api/companies/{company}", {"plan": "pro"}, WRITE),
    ("get", "/api/companies/{company}/contacts", None, READ),
    (
        "post",
        "/api/companies/{company}/contacts",
        lambda ids: {"customer_id": ids["customer"]},
        WRITE,
    ),
]


def _request(endpoint: tuple[str, str, Body, str], ids: dict[str, int]) -> tuple[str, str, Any]:
    method, template, body, _ = endpoint
    return method, template.format(**ids), body(ids) if callable(body) else body


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_without_a_key_every_endpoint_answers_401(client, world, endpoint):
    method, path, body = _request(endpoint, world)

    response = call(client, method, path, body=body)

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_a_source_write_key_cannot_use_the_api(client, world, web_source, endpoint):
    method, path, body = _request(endpoint, world)

    response = call(client, method, path, web_source.secret, body)

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_a_revoked_key_answers_401(client, world, make_api_key, system_actor, endpoint):
    secret = make_api_key(READ, WRITE).secret
    api_key_revoke(key=ApiKey.objects.get(), actor=system_actor)
    method, path, body = _request(endpoint, world)

    response = call(client, method, path, secret, body)

    assert response.status_code == 401


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_a_key_without_the_scope_is_forbidden_and_changes_nothing(
    client, world, make_api_key, endpoint
):
    scope = endpoint[3]
    secret = make_api_key(*(other for other in Scope.values if other != scope)).secret
    audit_before = AuditEntry.objects.count()
    method, path, body = _request(endpoint, world)

    response = call(client, method, path, secret, body)

    assert response.status_code == 403
    assert response.json() == {
        "code": "forbidden",
        "message": f"this key lacks the scope {scope}",
    }
    assert AuditEntry.objects.count() == audit_before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_a_key_with_the_scope_is_served(client, world, make_api_key, endpoint):
    secret = make_api_key(endpoint[3]).secret
    method, path, body = _request(endpoint, world)

    response = call(client, method, path, secret, body)

    assert response.status_code in {200, 201, 204}, response.content


def test_create_normalises_tags_and_links_identities(client, writer):
    response = call(
        client,
        "post",
        "/api/customers",
        writer,
        {
            "first_name": "Ana",
            "last_name": "Lopez",
            "email": " Ana@Example.COM ",
            "phone": "020 7946 0958",
            "country": "gb",
            "external_id": "shop-17",
            "tags": ["VIP", "vip", "Newsletter"],
        },
    )

    assert response.status_code == 201
    body = response.json()
    customer = Customer.objects.get()
    assert body["id"] == customer.pk
    assert (body["email"], body["phone"], body["country"]) == (
        "ana@example.com",
        "+442079460958",
        "GB",
    )
    assert body["tags"] == ["Newsletter", "VIP"]
    assert body["external_ids"] == ["shop-17"]
    assert sorted(Identity.objects.values_list("kind", "value")) == [
        ("email", "ana@example.com"),
        ("external_id", "shop-17"),
        ("phone", "+442079460958"),
    ]
    created = AuditEntry.objects.get(action="customer.created")
    key = ApiKey.objects.get(name="crm sync")
    assert (created.actor_kind, created.actor_identifier) == ("api_key", str(key.pk))
    assert created.customer_id == customer.pk


def test_an_email_of_another_customer_is_a_conflict(client, writer, system_actor):
    customer_create(actor=system_actor, fields={"email": "ana@example.com"})

    response = call(client, "post", "/api/customers", writer, {"email": "ANA@example.com"})

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert Customer.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_name": "Ana", "nickname": "A"}, "nickname"),
        ({"first_name": 5}, "first_name"),
        ({"first_name": "A" * 201}, "first_name"),
        ({"email": "ana-at-example.com"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"country": "XX"}, "country"),
        ({"lifecycle_stage": "vip"}, "lifecycle_stage"),
        ({"attributes": {"shoe_size": 41}}, "attributes.shoe_size"),
        ({"tags": ["x" * 101]}, "tags[1]"),
        ({"tags": ["ok", " "]}, "tags[2]"),
        ({"external_id": ""}, "external_id"),
        ({"tags": "vip"}, "tags"),
    ],
)
def test_bad_input_is_refused_naming_the_field(client, writer, body, field):
    response = call(client, "post", "/api/customers", writer, body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert response.json()["message"].startswith(f"{field}:")
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"'])
def test_a_body_that_is_not_a_json_object_is_refused(client, writer, raw):
    response = client.post(
        "/api/customers", data=raw, content_type="application/json", headers=bearer(writer)
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert Customer.objects.count() == 0


def test_markup_is_stored_verbatim_and_returned_as_a_json_string(client, writer):
    script = "<script>alert('x')</script>"

    response = call(client, "post", "/api/customers", writer, {"first_name": script})

    assert response["Content-Type"].startswith("application/json")
    assert response.json()["first_name"] == script
    assert Customer.objects.get().first_name == script


def test_declared_attributes_are_checked_against_their_type(client, writer):
    call(
        client,
        "post",
        "/api/attributes",
        writer,
        {"key": "shoe_size", "label": "Shoe size", "type": "integer"},
    )

    refused = call(client, "post", "/api/customers", writer, {"attributes": {"shoe_size": "big"}})
    accepted = call(client, "post", "/api/customers", writer, {"attributes": {"shoe_size": 41}})

    assert refused.status_code == 400
    assert refused.json()["message"].startswith("attributes.shoe_size:")
    assert accepted.status_code == 201
    assert accepted.json()["attributes"] == {"shoe_size": 41}


def test_read_missing_customer_is_a_404_in_the_error_shape(client, reader):
    response = call(client, "get", "/api/customers/987654", reader)

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "no customer with id 987654"}


@pytest.mark.parametrize(
    ("path", "message_start"),
    [
        ("/api/customers/abc", "customer_id:"),
        ("/api/customers/99999999999999999999", "customer_id:"),
    ],
)
def test_an_id_that_cannot_exist_is_a_400(client, reader, path, message_start):
    response = call(client, "get", path, reader)

    assert response.status_code == 400
    assert response.json()["message"].startswith(message_start)


def test_patch_changes_only_the_fields_sent(client, writer, world, system_actor):
    call(
        client, "post", "/api/attributes", writer, {"key": "vip", "label": "VIP", "type": "boolean"}
    )
    call(
        client,
        "post",
        "/api/attributes",
        writer,
        {"key": "notes", "label": "Notes", "type": "text"},
    )
    customer = Customer.objects.get(pk=world["customer"])
    customer.city = "Paris"
    customer.attributes = {"vip": True, "notes": "likes tea"}
    customer.save()

    response = call(
        client,
        "patch",
        f"/api/customers/{customer.pk}",
        writer,
        {"last_name": "Lopez", "city": None, "attributes": {"vip": None, "notes": "tea only"}},
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["first_name"], body["last_name"], body["city"]) == ("Ana", "Lopez", "")
    assert body["email"] == "ana@example.com"
    assert body["attributes"] == {"notes": "tea only"}
    update = AuditEntry.objects.get(action="customer.updated")
    assert sorted(update.changes) == ["attributes.notes", "attributes.vip", "city", "last_name"]


def test_patch_to_an_email_someone_else_has_is_a_conflict_and_changes_nothing(
    client, writer, world, system_actor
):
    customer_create(actor=system_actor, fields={"email": "bo@example.com"})

    response = call(
        client,
        "patch",
        f"/api/customers/{world['customer']}",
        writer,
        {"email": "bo@example.com", "city": "Lyon"},
    )

    assert response.status_code == 409
    customer = Customer.objects.get(pk=world["customer"])
    assert (customer.email, customer.city) == ("ana@example.com", "")
    assert not AuditEntry.objects.filter(action="customer.updated").exists()


def test_patch_with_an_unknown_field_changes_nothing(client, writer, world):
    response = call(
        client, "patch", f"/api/customers/{world['customer']}", writer, {"city": "Lyon", "x": 1}
    )

    assert response.status_code == 400
    assert response.json()["message"] == "x: is not a known field"
    assert Customer.objects.get(pk=world["customer"]).city == ""


@pytest.fixture
def crowd(system_actor) -> dict[str, int]:
    ana = customer_create(
        actor=system_actor,
        fields={
            "first_name": "Ana",
            "last_name": "Lopez",
            "email": "ana@example.com",
            "phone": "+442079460958",
            "country": "GB",
            "lifecycle_stage": "active",
        },
        external_id="shop-17",
        tags=["VIP"],
    )
    bob = customer_create(
        actor=system_actor,
        fields={"first_name": "Bob", "last_name": "Anders", "email": "bob@example.org"},
    )
    cleo = customer_create(
        actor=system_actor,
        fields={"first_name": "Cleo", "last_name": "Zed", "email": "zed@example.net"},
    )
    company, _ = company_upsert(actor=system_actor, fields={"name": "Acme"})
    company_contact_add(company=company, customer=cleo, actor=system_actor)
    return {"ana": ana.pk, "bob": bob.pk, "cleo": cleo.pk, "company": company.pk}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=an", ["ana", "bob"]),
        ("q=LOP", ["ana"]),
        ("q=ana%20lo", ["ana"]),
        ("q=zed@", ["cleo"]),
        ("q=%2B44%2020%207946", ["ana"]),
        ("q=SHOP-1", ["ana"]),
        ("q=nobody", []),
        ("email=ANA@example.com", ["ana"]),
        ("lifecycle_stage=active", ["ana"]),
        ("country=gb", ["ana"]),
        ("tag=vip", ["ana"]),
        ("company_id={company}", ["cleo"]),
        ("q=a&country=GB", ["ana"]),
    ],
)
def test_list_searches_and_filters(client, reader, crowd, query, expected):
    response = call(client, "get", "/api/customers?" + query.format(**crowd), reader)

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["items"]] == sorted(
        (crowd[name] for name in expected), reverse=True
    )


def test_list_filters_by_update_time(client, reader, crowd):
    Customer.objects.filter(pk=crowd["bob"]).update(updated_at=clock.now() - timedelta(days=3))
    since = (clock.now() - timedelta(days=1)).isoformat().replace("+00:00", "Z")

    response = call(client, "get", f"/api/customers?updated_since={since}", reader)

    assert [item["id"] for item in response.json()["items"]] == [crowd["cleo"], crowd["ana"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("email=not-an-email", "email"),
        ("lifecycle_stage=vip", "lifecycle_stage"),
        ("country=XX", "country"),
        ("updated_since=yesterday", "updated_since"),
        ("limit=501", "limit"),
        ("limit=0", "limit"),
        ("cursor=bm90LWEtY3Vyc29y", "cursor"),
        ("lifecycle=active", "lifecycle"),
    ],
)
def test_list_refuses_bad_parameters_naming_them(client, reader, query, field):
    response = call(client, "get", "/api/customers?" + query, reader)

    assert response.status_code == 400
    assert response.json()["message"].startswith(f"{field}")


def test_cursor_pagination_walks_every_customer_exactly_once(client, reader, system_actor):
    created = {
        customer_create(actor=system_actor, fields={"first_name": f"P{number}"}).pk
        for number in range(7)
    }
    seen: list[int] = []
    sizes: list[int] = []
    path = "/api/customers?limit=3"
    while True:
        page = call(client, "get", path, reader).json()
        sizes.append(len(page["items"]))
        seen.extend(item["id"] for item in page["items"])
        if page["next_cursor"] is None:
            break
        path = f"/api/customers?limit=3&cursor={page['next_cursor']}"

    assert sizes == [3, 3, 1]
    assert seen == sorted(created, reverse=True)


@pytest.mark.parametrize("limit", [2, 20])
def test_list_costs_the_same_queries_whatever_the_page_size(
    client, reader, system_actor, django_assert_num_queries, limit
):
    for number in range(20):
        customer_create(
            actor=system_actor,
            fields={"first_name": f"P{number}"},
            external_id=f"x-{number}",
            tags=["a", "b"],
        )
    call(client, "get", "/api/customers?limit=1", reader)  # the key's last use is now recorded

    # key lookup, one page of customers, their tags, their external ids
    with django_assert_num_queries(4):
        response = call(client, "get", f"/api/customers?limit={limit}", reader)

    assert len(response.json()["items"]) == limit


def test_identities_are_listed_and_added_normalised(client, writer, world):
    path = f"/api/customers/{world['customer']}/identities"

    added = call(client, "post", path, writer, {"kind": "email", "value": "Ana.L@Example.com"})
    again = call(client, "post", path, writer, {"kind": "email", "value": "ana.l@example.com"})
    listed = call(client, "get", path, writer)

    assert added.status_code == 201
    assert again.status_code == 200 and again.json()["id"] == added.json()["id"]
    assert [(item["kind"], item["value"]) for item in listed.json()["items"]] == [
        ("email", "ana@example.com"),
        ("user_id", "u-1"),
        ("email", "ana.l@example.com"),
    ]
    assert AuditEntry.objects.filter(action="customer.identity_added").count() == 2


def test_an_identity_of_another_customer_is_a_conflict(client, writer, world, system_actor):
    customer_create(actor=system_actor, fields={"email": "bo@example.com"})

    response = call(
        client,
        "post",
        f"/api/customers/{world['customer']}/identities",
        writer,
        {"kind": "email", "value": "bo@example.com"},
    )

    assert response.status_code == 409
    assert Identity.objects.filter(customer_id=world["customer"]).count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "email", "value": "nope"}, "value"),
        ({"kind": "phone", "value": "12"}, "value"),
        ({"kind": "fax", "value": "1"}, "kind"),
        ({"kind": "user_id", "value": ""}, "value"),
        ({"kind": "user_id", "value": 12}, "value"),
    ],
)
def test_a_bad_identity_is_refused_naming_the_field(client, writer, world, body, field):
    response = call(client, "post", f"/api/customers/{world['customer']}/identities", writer, body)

    assert response.status_code == 400
    assert response.json()["message"].startswith(f"{field}:")


def test_removing_an_identity_is_audited(client, writer, world):
    response = call(
        client,
        "delete",
        f"/api/customers/{world['customer']}/identities/{world['spare_identity']}",
        writer,
    )

    assert response.status_code == 204
    assert not Identity.objects.filter(pk=world["spare_identity"]).exists()
    removed = AuditEntry.objects.get(action="customer.identity_removed")
    assert removed.changes == {"user_id": ["u-1", None]}


def test_the_profile_email_and_the_last_identity_cannot_be_removed(client, writer, system_actor):
    with_email = customer_create(actor=system_actor, fields={"email": "ana@example.com"})
    only_user_id = customer_create(actor=system_actor, fields={"first_name": "Bo"})
    last, _ = identity_add(
        customer=only_user_id, kind=IdentityKind.USER_ID, value="u-2", actor=system_actor
    )
    email_identity = Identity.objects.get(customer=with_email)
    identity_add(customer=with_email, kind=IdentityKind.USER_ID, value="u-3", actor=system_actor)

    profile = call(
        client,
        "delete",
        f"/api/customers/{with_email.pk}/identities/{email_identity.pk}",
        writer,
    )
    only = call(client, "delete", f"/api/customers/{only_user_id.pk}/identities/{last.pk}", writer)

    assert profile.status_code == 409
    assert "profile's email" in profile.json()["message"]
    assert only.status_code == 409
    assert Identity.objects.count() == 3
    assert not AuditEntry.objects.filter(action="customer.identity_removed").exists()


def test_an_identity_of_another_customer_cannot_be_removed_through_this_one(
    client, writer, world, system_actor
):
    other = customer_create(actor=system_actor, fields={"email": "bo@example.com"})
    identity = Identity.objects.get(customer=other)

    response = call(
        client, "delete", f"/api/customers/{world['customer']}/identities/{identity.pk}", writer
    )

    assert response.status_code == 404
    assert Identity.objects.filter(pk=identity.pk).exists()


def test_tags_are_added_once_ignoring_case_and_removed(client, writer, world):
    path = f"/api/customers/{world['customer']}/tags"

    added = call(client, "post", path, writer, {"tags": ["VIP", "Regular"]})
    removed = call(client, "delete", f"{path}/REGULAR", writer)
    missing = call(client, "delete", f"{path}/never", writer)

    assert added.json()["tags"] == ["regular", "VIP"]
    assert removed.status_code == 204
    assert missing.status_code == 404
    assert list(
        CustomerTag.objects.filter(customer_id=world["customer"]).values_list(
            "tag__name", flat=True
        )
    ) == ["VIP"]
    tagged = AuditEntry.objects.filter(action="customer.tagged").order_by("pk").last()
    assert tagged is not None and tagged.changes == {"tags": [None, ["VIP"]]}


def test_notes_are_added_with_their_author_and_listed_newest_first(client, writer, world):
    path = f"/api/customers/{world['customer']}/notes"

    first = call(client, "post", path, writer, {"body": "Called about <b>sizes</b>"})
    call(client, "post", path, writer, {"body": "Sent a sample"})
    empty = call(client, "post", path, writer, {"body": ""})
    listed = call(client, "get", path, writer)

    assert first.status_code == 201
    assert first.json()["author_label"] == "API key crm sync"
    assert [item["body"] for item in listed.json()["items"]] == [
        "Sent a sample",
        "Called about <b>sizes</b>",
    ]
    assert empty.status_code == 400
    assert Note.objects.count() == 2


def test_attributes_are_declared_once_with_their_choices(client, writer):
    declared = call(
        client,
        "post",
        "/api/attributes",
        writer,
        {"key": "skin_type", "label": "Skin type", "type": "choice", "choices": ["dry", "oily"]},
    )
    again = call(
        client,
        "post",
        "/api/attributes",
        writer,
        {"key": "skin_type", "label": "X", "type": "text"},
    )
    no_choices = call(
        client, "post", "/api/attributes", writer, {"key": "tone", "label": "T", "type": "choice"}
    )
    bad_key = call(
        client,
        "post",
        "/api/attributes",
        writer,
        {"key": "Skin Type", "label": "T", "type": "text"},
    )
    listed = call(client, "get", "/api/attributes", writer)

    assert declared.status_code == 201
    assert declared.json()["choices"] == ["dry", "oily"]
    assert again.status_code == 409
    assert no_choices.status_code == 400 and no_choices.json()["message"].startswith("choices:")
    assert bad_key.status_code == 400 and bad_key.json()["message"].startswith("key:")
    assert [item["key"] for item in listed.json()["items"]] == ["skin_type"]
    assert AttributeDefinition.objects.count() == 1


def test_a_company_is_created_then_found_again_by_domain(client, writer):
    created = call(
        client,
        "post",
        "/api/companies",
        writer,
        {
            "name": "Acme",
            "domain": "www.Acme.example",
            "employee_count": 12,
            "attributes": {"tier": 1},
        },
    )
    found = call(
        client, "post", "/api/companies", writer, {"domain": "acme.example", "plan": "pro"}
    )

    assert created.status_code == 201
    assert found.status_code == 200
    assert found.json()["id"] == created.json()["id"]
    assert (found.json()["domain"], found.json()["plan"], found.json()["attributes"]) == (
        "acme.example",
        "pro",
        {"tier": 1},
    )
    assert Company.objects.count() == 1


def test_company_patch_merges_attributes_and_guards_the_domain(client, writer, system_actor):
    acme, _ = company_upsert(
        actor=system_actor, fields={"name": "Acme"}, attributes={"tier": 1, "region": "EU"}
    )
    company_upsert(actor=system_actor, fields={"name": "Globex", "domain": "globex.example"})

    patched = call(
        client,
        "patch",
        f"/api/companies/{acme.pk}",
        writer,
        {"industry": "Retail", "attributes": {"tier": None, "seats": 5}},
    )
    taken = call(client, "patch", f"/api/companies/{acme.pk}", writer, {"domain": "globex.example"})
    nameless = call(client, "patch", f"/api/companies/{acme.pk}", writer, {"name": None})
    wrong_type = call(client, "patch", f"/api/companies/{acme.pk}", writer, {"employee_count": "5"})

    assert patched.status_code == 200
    assert patched.json()["attributes"] == {"region": "EU", "seats": 5}
    assert patched.json()["industry"] == "Retail"
    assert taken.status_code == 409
    assert nameless.status_code == 400 and nameless.json()["message"].startswith("name:")
    assert wrong_type.status_code == 400
    acme.refresh_from_db()
    assert (acme.name, acme.domain) == ("Acme", None)


def test_companies_are_searched_by_name_prefix_and_missing_ones_are_404(
    client, reader, system_actor
):
    for name in ("Acme", "acorn labs", "Globex"):
        company_upsert(actor=system_actor, fields={"name": name})

    found = call(client, "get", "/api/companies?q=AC", reader)
    missing = call(client, "get", "/api/companies/987654", reader)

    assert [item["name"] for item in found.json()["items"]] == ["acorn labs", "Acme"]
    assert missing.status_code == 404
    assert missing.json() == {"code": "not_found", "message": "no company with id 987654"}


def test_contacts_are_added_once_and_listed(client, writer, world, system_actor):
    path = f"/api/companies/{world['company']}/contacts"

    added = call(client, "post", path, writer, {"customer_id": world["customer"], "title": "CEO"})
    again = call(client, "post", path, writer, {"customer_id": world["customer"]})
    unknown = call(client, "post", path, writer, {"customer_id": 987654})
    listed = call(client, "get", path, writer)

    assert added.status_code == 201
    assert added.json() == {
        "customer_id": world["customer"],
        "display_name": "Ana",
        "email": "ana@example.com",
        "title": "CEO",
        "created_at": added.json()["created_at"],
    }
    assert again.status_code == 200
    assert unknown.status_code == 400
    assert unknown.json()["message"] == "customer_id: no customer with id 987654"
    assert [item["customer_id"] for item in listed.json()["items"]] == [world["customer"]]
    assert CompanyContact.objects.count() == 1
    assert AuditEntry.objects.filter(action="company.contact_added").count() == 1


def test_unknown_paths_and_methods_answer_in_the_error_shape(client, reader, world):
    unknown = call(client, "get", "/api/customerz", reader)
    slash = call(client, "get", "/api/customers/", reader)
    method = call(client, "put", f"/api/customers/{world['customer']}", reader, {})

    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    assert slash.status_code == 404 and "trailing slash" in slash.json()["message"]
    assert method.status_code == 405
    assert method.json()["code"] == "method_not_allowed"
    assert method["Allow"] == "GET, PATCH"


def test_a_body_over_the_upload_limit_is_refused_as_too_large(client, writer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    response = call(client, "post", "/api/customers", writer, {"city": "x" * 2000})

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert Customer.objects.count() == 0


@pytest.fixture
def crowded_company(system_actor) -> dict[str, int]:
    """A customer with six identities and six notes, a company with six contacts."""
    company, _ = company_upsert(actor=system_actor, fields={"name": "Acme"})
    customer = customer_create(actor=system_actor, fields={"email": "ana@example.com"})
    for number in range(6):
        identity_add(
            customer=customer, kind=IdentityKind.USER_ID, value=f"u-{number}", actor=system_actor
        )
        Note.objects.create(customer=customer, body=f"note {number}", author_kind="system")
        AttributeDefinition.objects.create(key=f"a{number}", label="A", type="text")
        company_upsert(actor=system_actor, fields={"name": f"Other {number}"})
        contact = customer_create(actor=system_actor, fields={"first_name": f"C{number}"})
        company_contact_add(company=company, customer=contact, actor=system_actor)
    return {"customer": customer.pk, "company": company.pk}


@pytest.mark.parametrize(
    ("template", "queries"),
    [
        # key lookup, the customer or company named in the path, one page
        ("/api/customers/{customer}/identities", 3),
        ("/api/customers/{customer}/notes", 3),
        ("/api/companies/{company}/contacts", 3),
        # key lookup, one page
        ("/api/attributes", 2),
        ("/api/companies", 2),
    ],
)
@pytest.mark.parametrize("limit", [1, 5])
def test_other_lists_cost_the_same_queries_whatever_the_page_size(
    client, reader, crowded_company, django_assert_num_queries, template, queries, limit
):
    path = template.format(**crowded_company)
    call(client, "get", path, reader)  # the key's last use is now recorded

    with django_assert_num_queries(queries):
        response = call(client, "get", f"{path}?limit={limit}", reader)

    assert len(response.json()["items"]) == limit
    assert response.json()["next_cursor"] is not None
