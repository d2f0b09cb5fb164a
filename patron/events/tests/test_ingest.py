"""Storing batches: dedupe, identity, warnings, traits, groups and the e-commerce spec."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections

from patron.accounts.models import AuditEntry, Source
from patron.catalog.models import Product
from patron.core import hooks
from patron.core.errors import ValidationFailed
from patron.customers.models import (
    AttributeDefinition,
    Company,
    CompanyContact,
    Customer,
    Identity,
    IdentityKind,
    Milestone,
)
from patron.customers.services.merge import customer_merge
from patron.events.models import Event, IngestionWarning
from patron.events.services import ingest as ingest_service
from patron.events.services.ingest import EVENTS_STORED, batch_ingest
from patron.orders.models import Cart, CartLine, CartStatus, Order, OrderStatus, Refund

pytestmark = pytest.mark.django_db

RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def shop(web_source):
    return Source.objects.get(pk=web_source.id)


def ingest(shop, *items, minutes: int = 0, **options):
    return batch_ingest(
        source=shop, items=list(items), received_at=RECEIVED + timedelta(minutes=minutes), **options
    )


def _with_identity(fields):
    if "userId" in fields or "anonymousId" in fields:
        return fields
    return {"userId": "u-1", **fields}


def track(message_id: str, event: str, properties=None, **fields):
    return {
        "type": "track",
        "messageId": message_id,
        "event": event,
        "properties": properties or {},
        **_with_identity(fields),
    }


def identify(message_id: str, traits, **fields):
    return {"type": "identify", "messageId": message_id, "traits": traits, **_with_identity(fields)}


def warnings():
    return sorted(IngestionWarning.objects.values_list("message_id", "code", "field"))


# --- storing -----------------------------------------------------------------------------------


def test_a_batch_is_stored_with_customers_attached(shop):
    result = ingest(
        shop,
        track("m-1", "Viewed", {"sku": "A"}, anonymousId="a-1"),
        {"type": "page", "messageId": "m-2", "anonymousId": "a-1", "name": "Home"},
        track("m-3", "Viewed", userId="u-1"),
    )

    assert (result.received, result.stored, result.duplicates, result.dropped) == (3, 3, 0, 0)
    events = {event.message_id: event for event in Event.objects.all()}
    assert events["m-1"].customer_id == events["m-2"].customer_id
    assert events["m-3"].customer_id != events["m-1"].customer_id
    assert events["m-1"].properties == {"sku": "A"}
    assert events["m-2"].name == "Home"
    assert {event.source_id for event in events.values()} == {shop.pk}
    assert {event.received_at for event in events.values()} == {RECEIVED}
    assert Customer.objects.count() == 2


def test_a_retried_batch_stores_each_event_once(shop):
    batch = [track("m-1", "Viewed", anonymousId="a-1"), track("m-2", "Viewed", anonymousId="a-2")]

    ingest(shop, *batch)
    second = ingest(shop, *batch, minutes=1)

    assert Event.objects.count() == 2
    assert (second.stored, second.duplicates) == (0, 2)
    assert Customer.objects.count() == 2


def test_the_same_message_id_from_another_source_is_another_event(shop, system_actor):
    from patron.accounts.services.keys import source_create

    app = Source.objects.get(pk=source_create(name="App", actor=system_actor).id)

    ingest(shop, track("m-1", "Viewed"))
    ingest(app, track("m-1", "Viewed"))

    assert Event.objects.count() == 2


def test_a_bad_event_is_dropped_alone_with_a_warning(shop):
    result = ingest(
        shop,
        track("m-1", "Viewed"),
        {"type": "track", "messageId": "m-2", "userId": "u-1"},
        {"type": "track", "messageId": "m-3", "event": "Viewed"},
        {"messageId": "m-4", "userId": "u-1"},
        track("m-5", "Viewed"),
    )

    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["m-1", "m-5"]
    assert result.dropped == 3
    assert warnings() == [
        ("m-2", "missing_event_name", "event"),
        ("m-3", "missing_identity", "userId"),
        ("m-4", "invalid_event", "type"),
    ]
    warning = IngestionWarning.objects.get(message_id="m-3")
    assert warning.source_id == shop.pk
    assert warning.received_at == RECEIVED
    assert '"messageId": "m-3"' in warning.excerpt


def test_a_future_event_is_stored_clamped_and_flagged(shop):
    ingest(shop, track("m-1", "Viewed", timestamp="2031-01-01T00:00:00Z"))

    event = Event.objects.get()
    assert (event.timestamp, event.is_timestamp_clamped) == (RECEIVED, True)
    assert event.original_timestamp == datetime(2031, 1, 1, tzinfo=UTC)
    assert warnings() == [("m-1", "invalid_timestamp", "timestamp")]


def test_nul_characters_are_removed_before_storing(shop):
    ingest(shop, track("m-1", "Vie\x00wed", {"note": "a\x00b"}))

    event = Event.objects.get()
    assert (event.name, event.properties) == ("Viewed", {"note": "ab"})
    assert warnings() == [("m-1", "characters_removed", "")]


def test_script_tags_are_stored_verbatim(shop):
    ingest(shop, track("m-1", "<script>alert(1)</script>", {"q": "<img onerror=x>"}))

    event = Event.objects.get()
    assert event.name == "<script>alert(1)</script>"
    assert event.properties == {"q": "<img onerror=x>"}


def test_numbers_orjson_cannot_write_are_stored_as_json_writes_them(shop):
    # Beyond 64 bits orjson refuses; json.loads reads 1e400 as infinity, which has no JSON.
    ingest(
        shop,
        track("m-1", "A", {"big": 2**70, "nested": {"deep": [-(2**65)]}}),
        track("m-2", "B", {"huge": float("inf"), "kept": 1.5}),
    )

    events = {event.message_id: event for event in Event.objects.all()}
    assert events["m-1"].properties == {"big": 2**70, "nested": {"deep": [-(2**65)]}}
    assert events["m-2"].properties == {"huge": None, "kept": 1.5}
    assert warnings() == [("m-2", "number_out_of_range", "properties.huge")]


def test_an_infinite_trait_is_refused_by_its_own_check_only(shop):
    ingest(shop, identify("m-1", {"score": float("inf"), "plan": "gold"}))

    assert warnings() == [("m-1", "invalid_trait", "traits.score")]


def test_customers_first_and_last_seen_follow_event_times(shop):
    ingest(
        shop,
        track("m-1", "A", timestamp="2026-02-01T00:00:00Z", anonymousId="a-1"),
        track("m-2", "B", timestamp="2026-02-03T00:00:00Z", anonymousId="a-1"),
    )
    ingest(shop, track("m-3", "C", timestamp="2026-01-15T00:00:00Z", anonymousId="a-1"))

    customer = Customer.objects.get()
    assert (customer.first_seen_at, customer.last_seen_at) == (
        datetime(2026, 1, 15, tzinfo=UTC),
        datetime(2026, 2, 3, tzinfo=UTC),
    )


def test_a_batch_of_plain_events_costs_the_same_queries_at_any_size(
    shop, django_assert_num_queries
):
    ingest(shop, *[track(f"warm-{number}", "A", userId=f"u-{number}") for number in range(100)])
    small = [track(f"s-{number}", "A", userId=f"u-{number}") for number in range(5)]
    large = [track(f"l-{number}", "A", userId=f"u-{number}") for number in range(100)]

    # savepoint, identities, events insert, release: the customers were seen less than a
    # minute ago, so their seen times stand (test_identities.py covers the UPDATE otherwise).
    # On PostgreSQL the events go in with one COPY, which Django's query log does not see.
    inserts = 1 if connection.vendor == "sqlite" else 0
    with django_assert_num_queries(3 + inserts):
        ingest(shop, *small)
    with django_assert_num_queries(3 + inserts) as large_queries:
        ingest(shop, *large)
    # two minutes on, the seen times move: one UPDATE for all the batch's customers
    later = [track(f"t-{number}", "A", userId=f"u-{number}") for number in range(100)]
    with django_assert_num_queries(4 + inserts):
        ingest(shop, *later, minutes=2)

    logged_inserts = [
        query for query in large_queries.captured_queries if '"events_event"' in query["sql"]
    ]
    assert len(logged_inserts) == inserts
    assert Event.objects.count() == 305
    assert Customer.objects.filter(last_seen_at=RECEIVED + timedelta(minutes=2)).count() == 100


def test_a_batch_repeating_a_stored_message_id_stores_the_rest_once(shop):
    ingest(shop, track("m-1", "Viewed", anonymousId="a-1"))

    result = ingest(
        shop,
        track("m-2", "Viewed", anonymousId="a-2"),
        track("m-1", "Viewed", anonymousId="a-1"),
        identify("m-3", {"email": "ana@example.com"}, userId="u-3"),
        minutes=1,
    )

    assert (result.stored, result.duplicates) == (2, 1)
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["m-1", "m-2", "m-3"]
    assert Customer.objects.count() == 3
    assert Customer.objects.filter(email="ana@example.com").count() == 1
    assert Identity.objects.filter(kind=IdentityKind.ANONYMOUS_ID, value="a-2").count() == 1
    assert (
        AuditEntry.objects.filter(subject_type="customer", action="customer.created").count() == 3
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite writes one at a time")
def test_two_requests_carrying_one_message_id_at_once_store_it_once(web_source, monkeypatch):
    shop = Source.objects.get(pk=web_source.id)
    first_is_storing, first_may_commit = threading.Event(), threading.Event()
    results = {}

    def hold_the_first(**_):
        if threading.current_thread().name == "first":
            first_is_storing.set()
            first_may_commit.wait(30)

    monkeypatch.setitem(
        hooks._handlers, EVENTS_STORED, [*hooks.registered(EVENTS_STORED), hold_the_first]
    )

    def send(*items):
        try:
            results[threading.current_thread().name] = ingest(shop, *items)
        finally:
            connections.close_all()

    first = threading.Thread(name="first", target=send, args=[track("m-1", "A", anonymousId="a-1")])
    second = threading.Thread(
        name="second",
        target=send,
        args=[track("m-1", "A", anonymousId="a-1"), track("m-2", "A", anonymousId="a-2")],
    )
    first.start()
    assert first_is_storing.wait(30)
    second.start()
    # The second request waits on the first's uncommitted rows before the first commits.
    with connection.cursor() as cursor:
        for _ in range(300):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the second request never waited for the first")
    first_may_commit.set()
    first.join(30)
    second.join(30)

    assert (results["first"].stored, results["first"].duplicates) == (1, 0)
    assert (results["second"].stored, results["second"].duplicates) == (1, 1)
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["m-1", "m-2"]
    assert Customer.objects.count() == 2


def test_the_stored_message_id_failure_is_told_by_the_models_constraint():
    assert ingest_service._MESSAGE_ID_CONSTRAINT in {
        constraint.name for constraint in Event._meta.constraints
    }


def test_single_endpoints_refuse_a_message_they_would_drop(shop):
    with pytest.raises(ValidationFailed) as raised:
        ingest(shop, {"messageId": "m-1", "event": "A"}, forced_type="track")

    assert (raised.value.code, raised.value.field) == ("invalid_request", "userId")
    assert Event.objects.count() == 0
    assert IngestionWarning.objects.count() == 0


def test_a_merge_moves_the_events(shop, system_actor):
    ingest(shop, track("m-1", "A", anonymousId="a-1"), track("m-2", "A", userId="u-1"))
    visitor = Customer.objects.get(identities__value="a-1")
    person = Customer.objects.get(identities__value="u-1")

    customer_merge(source=visitor, target=person, actor=system_actor)

    assert set(Event.objects.values_list("customer_id", flat=True)) == {person.pk}


# --- identity through events -------------------------------------------------------------------


def test_identify_merges_the_visitor_and_their_events_into_the_known_user(shop):
    ingest(shop, track("m-1", "Viewed", anonymousId="a-1"), track("m-2", "Bought", userId="u-1"))
    person = Customer.objects.get(identities__value="u-1")

    ingest(shop, identify("m-3", {}, userId="u-1", anonymousId="a-1"), minutes=1)

    assert Customer.objects.count() == 1
    assert set(Event.objects.values_list("customer_id", flat=True)) == {person.pk}


def test_alias_joins_the_previous_id(shop):
    ingest(shop, track("m-1", "Viewed", anonymousId="a-1"), track("m-2", "Bought", userId="u-1"))

    ingest(
        shop,
        {"type": "alias", "messageId": "m-3", "previousId": "a-1", "userId": "u-1"},
        minutes=1,
    )

    assert Customer.objects.count() == 1
    assert Event.objects.get(message_id="m-3").context == {"message": {"previousId": "a-1"}}


# --- identify traits ---------------------------------------------------------------------------


def test_identify_maps_segment_traits_to_the_profile(shop):
    ingest(
        shop,
        identify(
            "m-1",
            {
                "name": "Ana María López",
                "email": "Ana@Example.com",
                "phone": "+44 20 7946 0958",
                "address": {"country": "pt", "city": "Porto", "postalCode": "4000-001"},
                "birthday": "1990-05-01",
                "createdAt": "2020-01-01T00:00:00Z",
                "plan": "pro",
                "seatCount": 3,
            },
            userId="u-1",
            context={"locale": "pt-PT", "timezone": "Europe/Lisbon"},
        ),
    )

    customer = Customer.objects.get()
    assert (customer.first_name, customer.last_name) == ("Ana", "María López")
    assert (customer.email, customer.phone) == ("ana@example.com", "+442079460958")
    assert (customer.country, customer.city) == ("PT", "Porto")
    assert (customer.locale, customer.timezone) == ("pt-PT", "Europe/Lisbon")
    assert customer.attributes == {
        "plan": "pro",
        "seat_count": 3,
        "address_postal_code": "4000-001",
    }
    assert customer.first_seen_at == datetime(2020, 1, 1, tzinfo=UTC)
    assert Milestone.objects.get().date == date(1990, 5, 1)
    assert warnings() == []
    update = AuditEntry.objects.get(action="customer.updated")
    assert (update.actor_kind, update.actor_label) == ("source", "Source Web shop")


def test_snake_case_traits_and_explicit_names_win_over_name(shop):
    ingest(
        shop,
        identify(
            "m-1",
            {"first_name": "Ana", "last_name": "Silva", "name": "Someone Else", "locale": "en-GB"},
        ),
    )

    customer = Customer.objects.get()
    assert (customer.first_name, customer.last_name, customer.locale) == ("Ana", "Silva", "en-GB")


def test_invalid_traits_are_warnings_naming_the_trait_and_the_rest_applies(shop):
    ingest(
        shop,
        identify("m-1", {"email": "not-an-email", "firstName": "Ana", "seats": 3}),
    )
    ingest(shop, identify("m-2", {"seats": "lots", "address": {"country": "Narnia"}}), minutes=1)

    customer = Customer.objects.get()
    assert (customer.first_name, customer.email) == ("Ana", None)
    assert customer.attributes == {"seats": 3}
    assert AttributeDefinition.objects.get(key="seats").type == "integer"
    assert warnings() == [
        ("m-1", "invalid_trait", "traits.email"),
        ("m-2", "invalid_trait", "traits.address.country"),
        ("m-2", "invalid_trait", "traits.seats"),
    ]
    assert Event.objects.count() == 2


def test_identify_traits_apply_once_per_message_id(shop):
    batch = identify("m-1", {"firstName": "Ana", "plan": "pro"})

    ingest(shop, batch)
    audits = AuditEntry.objects.count()
    ingest(shop, batch, minutes=1)

    assert AuditEntry.objects.count() == audits


def test_an_identify_with_the_email_of_an_imported_customer_links_to_them(shop, system_actor):
    from patron.customers.services.profile import customer_create

    imported = customer_create(actor=system_actor, fields={"email": "ana@example.com"})

    ingest(shop, identify("m-1", {"email": "ANA@example.com"}, userId="u-1"))

    assert Customer.objects.count() == 1
    assert Identity.objects.get(kind=IdentityKind.USER_ID).customer_id == imported.pk
    assert Event.objects.get().customer_id == imported.pk


# --- group -------------------------------------------------------------------------------------


def test_group_creates_the_company_and_adds_the_contact(shop):
    ingest(
        shop,
        {
            "type": "group",
            "messageId": "m-1",
            "userId": "u-1",
            "groupId": "acme-1",
            "traits": {
                "name": "Acme",
                "domain": "acme.example",
                "industry": "Tools",
                "employees": 120,
                "plan": "enterprise",
                "website": "https://acme.example",
                "region": "EU",
            },
        },
    )

    company = Company.objects.get()
    assert (company.external_id, company.name, company.domain) == (
        "acme-1",
        "Acme",
        "acme.example",
    )
    assert (company.employee_count, company.plan, company.industry) == (120, "enterprise", "Tools")
    assert company.attributes == {"region": "EU"}
    assert CompanyContact.objects.get().customer == Customer.objects.get()


def test_group_with_a_bad_trait_still_links_the_company(shop):
    ingest(
        shop,
        {
            "type": "group",
            "messageId": "m-1",
            "userId": "u-1",
            "groupId": "acme-1",
            "traits": {"website": "javascript:alert(1)", "employees": -1},
        },
    )

    company = Company.objects.get()
    assert (company.name, company.website, company.employee_count) == ("acme-1", "", None)
    assert CompanyContact.objects.count() == 1
    assert warnings() == [
        ("m-1", "invalid_trait", "traits.employees"),
        ("m-1", "invalid_trait", "traits.website"),
    ]


def test_a_later_group_call_updates_the_same_company(shop):
    group = {"type": "group", "userId": "u-1", "groupId": "acme-1"}
    ingest(shop, {**group, "messageId": "m-1", "traits": {"name": "Acme"}})
    ingest(shop, {**group, "messageId": "m-2", "traits": {"plan": "pro"}}, minutes=1)

    company = Company.objects.get()
    assert (company.name, company.plan) == ("Acme", "pro")
    assert CompanyContact.objects.count() == 1


# --- e-commerce --------------------------------------------------------------------------------

ORDER = {
    "order_id": "1001",
    "total": 57.9,
    "shipping": 4.9,
    "tax": 0,
    "discount": 5,
    "coupon": "SPRING",
    "currency": "eur",
    "products": [
        {
            "product_id": "p-1",
            "sku": "SERUM-30",
            "name": "Serum",
            "price": 24.5,
            "quantity": 2,
            "category": "Skincare",
            "brand": "Glow",
            "url": "https://shop.example/serum",
            "image_url": "https://shop.example/serum.jpg",
        },
        {"product_id": "p-2", "name": "Sample", "price": 0},
    ],
}


def test_order_completed_records_the_order_lines_and_products(shop):
    ingest(shop, track("m-1", "Order Completed", ORDER))

    order = Order.objects.get()
    assert (order.external_id, order.currency, order.status) == ("1001", "EUR", "completed")
    assert (order.total, order.shipping_total, order.discount_total, order.coupon) == (
        Decimal("57.90"),
        Decimal("4.90"),
        Decimal("5.00"),
        "SPRING",
    )
    assert order.customer == Customer.objects.get()
    assert order.placed_at == RECEIVED
    assert list(order.lines.order_by("position").values_list("sku", "quantity", "unit_price")) == [
        ("SERUM-30", 2, Decimal("24.50")),
        ("p-2", 1, Decimal("0.00")),
    ]
    product = Product.objects.select_related("category").get(sku="SERUM-30")
    assert (product.name, product.brand) == ("Serum", "Glow")
    assert product.category is not None and product.category.name == "Skincare"
    assert warnings() == []


def test_the_same_order_from_two_messages_is_one_order(shop):
    ingest(shop, track("m-1", "Order Completed", ORDER))
    ingest(shop, track("m-2", "Order Completed", ORDER), minutes=1)

    assert Order.objects.count() == 1
    assert Event.objects.count() == 2


def test_revenue_without_total_adds_shipping_and_tax_and_currency_defaults_to_usd(shop):
    ingest(
        shop,
        track(
            "m-1",
            "Order Completed",
            {
                "order_id": "1002",
                "revenue": "20.00",
                "shipping": 5,
                "tax": 2.5,
                "products": [{"sku": "A", "price": 20}],
            },
        ),
    )

    order = Order.objects.get()
    assert (order.total, order.currency) == (Decimal("27.50"), "USD")


def test_an_invalid_order_is_stored_as_an_event_with_warnings_naming_each_field(shop):
    broken = {
        "order_id": "1003",
        "currency": "euros",
        "products": [{"sku": "A", "price": "free", "quantity": 0}, {"name": "no sku"}],
    }

    ingest(shop, track("m-1", "Order Completed", broken), track("m-2", "Viewed"))

    assert Order.objects.count() == 0
    assert Event.objects.count() == 2
    assert warnings() == [
        ("m-1", "invalid_property", "properties.currency"),
        ("m-1", "invalid_property", "properties.products[0].price"),
        ("m-1", "invalid_property", "properties.products[0].quantity"),
        ("m-1", "invalid_property", "properties.products[1].sku"),
    ]


def test_an_order_without_products_is_a_warning(shop):
    ingest(shop, track("m-1", "Order Completed", {"order_id": "1", "total": 5}))

    assert warnings() == [("m-1", "invalid_property", "properties.products")]


def test_refunds_and_cancellations_update_the_order(shop):
    ingest(shop, track("m-1", "Order Completed", ORDER))

    ingest(shop, track("m-2", "Order Refunded", {"order_id": "1001", "total": 10}), minutes=1)
    ingest(shop, track("m-2", "Order Refunded", {"order_id": "1001", "total": 10}), minutes=2)
    order = Order.objects.get()
    assert (order.refunded_total, order.status) == (
        Decimal("10.00"),
        OrderStatus.PARTIALLY_REFUNDED,
    )
    assert Refund.objects.get().external_id == "m-2"

    ingest(shop, track("m-3", "Order Cancelled", {"order_id": "1001"}), minutes=3)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED


def test_a_refund_without_an_amount_refunds_the_rest(shop):
    ingest(shop, track("m-1", "Order Completed", ORDER))

    ingest(shop, track("m-2", "Order Refunded", {"order_id": "1001"}), minutes=1)

    order = Order.objects.get()
    assert (order.refunded_total, order.status) == (Decimal("57.90"), OrderStatus.REFUNDED)


def test_refunding_too_much_or_an_unknown_order_is_a_warning(shop):
    ingest(shop, track("m-1", "Order Completed", ORDER))

    ingest(
        shop,
        track("m-2", "Order Refunded", {"order_id": "1001", "total": 1000}),
        track("m-3", "Order Refunded", {"order_id": "nope"}),
        track("m-4", "Order Cancelled", {}),
        minutes=1,
    )

    assert Order.objects.get().refunded_total == Decimal("0.00")
    assert warnings() == [
        ("m-2", "invalid_property", "properties.total"),
        ("m-3", "order_not_found", "properties.order_id"),
        ("m-4", "invalid_property", "properties.order_id"),
    ]


def test_cart_events_maintain_the_cart_and_the_order_converts_it(shop):
    ingest(
        shop,
        track(
            "m-1",
            "Product Added",
            {"cart_id": "c-1", "sku": "A", "price": 10, "quantity": 2},
            anonymousId="a-1",
        ),
        track(
            "m-2",
            "Product Added",
            {"cart_id": "c-1", "product_id": "B", "price": 5},
            anonymousId="a-1",
        ),
        track(
            "m-3",
            "Product Removed",
            {"cart_id": "c-1", "sku": "A", "quantity": 1},
            anonymousId="a-1",
        ),
    )
    cart = Cart.objects.get()
    assert sorted(CartLine.objects.values_list("sku", "quantity")) == [("A", 1), ("B", 1)]

    ingest(
        shop,
        track(
            "m-4",
            "Checkout Started",
            {"cart_id": "c-1", "currency": "EUR", "products": [{"sku": "A", "price": 10}]},
            anonymousId="a-1",
        ),
        minutes=1,
    )
    cart.refresh_from_db()
    assert cart.status == CartStatus.CHECKOUT_STARTED
    assert list(CartLine.objects.values_list("sku", flat=True)) == ["A"]

    ingest(
        shop,
        track("m-5", "Order Completed", {**ORDER, "order_id": "2001"}, anonymousId="a-1"),
        minutes=2,
    )
    cart.refresh_from_db()
    assert cart.status == CartStatus.CONVERTED
    assert cart.order is not None and cart.order.external_id == "2001"


def test_a_retried_product_added_counts_once(shop):
    event = track("m-1", "Product Added", {"sku": "A", "price": 10, "quantity": 2})

    ingest(shop, event)
    ingest(shop, event, minutes=1)

    assert list(CartLine.objects.values_list("sku", "quantity")) == [("A", 2)]


def test_a_cart_event_with_bad_properties_is_a_warning(shop):
    ingest(
        shop,
        track("m-1", "Product Added", {"price": 10}),
        track("m-2", "Product Added", {"sku": "A", "price": -1}),
        track("m-3", "Cart Viewed", {"products": "A"}),
        track("m-4", "Product Removed", {}),
    )

    assert Cart.objects.count() == 0
    assert Event.objects.count() == 4
    assert warnings() == [
        ("m-1", "invalid_property", "properties.sku"),
        ("m-2", "invalid_property", "properties.price"),
        ("m-3", "invalid_property", "properties.products"),
        ("m-4", "invalid_property", "properties.sku"),
    ]


def test_commerce_names_match_regardless_of_case(shop):
    ingest(shop, track("m-1", "order completed", ORDER))

    assert Order.objects.count() == 1
