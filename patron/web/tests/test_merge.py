"""The duplicates list, the merge preview and merging, with the roles allowed to do each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.messages import get_messages

from patron.accounts.models import AuditEntry
from patron.accounts.selectors import source_find
from patron.core.actors import Actor
from patron.customers import duplicates
from patron.customers.models import Customer
from patron.customers.services.notes import note_add
from patron.customers.services.profile import customer_create, identity_add
from patron.customers.services.tags import customer_tags_add
from patron.events.services.ingest import batch_ingest
from patron.orders.services.orders import order_clean, order_record

pytestmark = pytest.mark.django_db

MERGERS = {"admin", "marketer", "support"}
RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ACTOR = Actor.system("tests")


def _person(first: str, last: str, **fields: str) -> Customer:
    return customer_create(actor=ACTOR, fields={"first_name": first, "last_name": last, **fields})


def _twins() -> tuple[Customer, Customer]:
    """Ana (older, fuller) and Anna (newer): one person with two addresses."""
    ana = _person("Ana", "Silva", email="ana.silva@gmail.com")
    anna = _person("Anna", "Silva", email="ana.silva+shop@example.com", city="Lisbon")
    return ana, anna


def _url(source: Customer, target: Customer) -> str:
    return f"/customers/merge/{source.pk}/into/{target.pk}/"


def _give_history(customer: Customer, web_source, *, events: int, orders: int) -> None:
    shop = source_find(web_source.id)
    assert shop is not None
    identity_add(customer=customer, kind="user_id", value=f"u-{customer.pk}", actor=ACTOR)
    batch_ingest(
        source=shop,
        items=[
            {
                "type": "track",
                "messageId": f"m-{customer.pk}-{n}",
                "event": "Product Viewed",
                "userId": f"u-{customer.pk}",
                "properties": {},
            }
            for n in range(events)
        ],
        received_at=RECEIVED,
    )
    for n in range(orders):
        order_record(
            source=shop,
            customer=customer,
            order=order_clean(
                {
                    "external_id": f"o-{customer.pk}-{n}",
                    "currency": "EUR",
                    "placed_at": (RECEIVED - timedelta(days=n)).isoformat(),
                    "lines": [{"sku": "SKU-1", "quantity": 1, "unit_price": "10.00"}],
                }
            ),
            actor=ACTOR,
        )


# The duplicates list


def test_duplicates_page_roles(assert_page_roles):
    assert_page_roles("/customers/duplicates/", allowed=MERGERS)


def test_similar_names_are_listed_side_by_side_with_their_reasons(signed_in):
    ana, anna = _twins()
    client = signed_in("support")

    response = client.get("/customers/duplicates/?match=name")

    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="pair-{ana.pk}-{anna.pk}"' in html
    assert "names 95% alike: Ana Silva / Anna Silva" in html
    assert "same email name: ana.silva@gmail.com / ana.silva+shop@example.com" in html
    assert f'href="/customers/merge/{anna.pk}/into/{ana.pk}/"' in html


def test_script_in_a_name_is_shown_as_text(signed_in):
    _person("<script>alert(1)</script>", "Silva", email="x.silva@example.com")
    _person("<script>alert(1)</script>", "Silva", email="x.silva@example.org")

    html = signed_in("support").get("/customers/duplicates/?match=name").content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Silva" in html


def test_empty_list_says_so_and_suggests_another_match(signed_in):
    html = signed_in("marketer").get("/customers/duplicates/").content.decode()

    assert "No likely duplicates found" in html
    assert "Try another way of matching above." in html


def test_htmx_gets_only_the_results(signed_in):
    _twins()

    response = signed_in("support").get(
        "/customers/duplicates/?match=name&q=sil", HTTP_HX_REQUEST="true"
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="results"')
    assert "<html" not in html
    assert "names 95% alike" in html


def test_unknown_match_is_an_error_next_to_the_field(signed_in):
    response = signed_in("support").get("/customers/duplicates/?match=nickname")

    assert response.status_code == 200
    assert "Select a valid choice. nickname is not one of the available choices." in (
        response.content.decode()
    )


def test_a_broken_cursor_is_reported_not_a_crash(signed_in):
    response = signed_in("support").get("/customers/duplicates/?match=email&cursor=zzz")

    assert response.status_code == 200
    assert "cursor is not one this API issued" in response.content.decode()


def test_the_list_costs_the_same_queries_for_few_and_many_pairs(
    signed_in, django_assert_num_queries
):
    client = signed_in("support")
    _twins()
    client.get("/customers/duplicates/?match=name")  # warm the session

    # session, user, scan, pairs' customers, dismissals
    with django_assert_num_queries(5):
        client.get("/customers/duplicates/?match=name")
    for n in range(20):
        _person("Rui", f"Costa{n:02}", email=f"rui.costa{n}@example.com")
        _person("Rui", f"Costa{n:02}", email=f"rui.costa{n}@example.org")
    with django_assert_num_queries(5):
        response = client.get("/customers/duplicates/?match=name")
    assert response.content.decode().count('<tr id="pair-') == 21


# Dismissing a pair


def test_dismiss_roles(assert_page_roles):
    assert_page_roles("/customers/duplicates/dismiss/", allowed=MERGERS, method="post")


def test_not_a_duplicate_hides_the_pair_and_records_who_said_so(signed_in):
    ana, anna = _twins()
    client = signed_in("support")

    response = client.post(
        "/customers/duplicates/dismiss/",
        {"first": ana.pk, "second": anna.pk, "next": "/customers/duplicates/?match=name"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/customers/duplicates/?match=name"
    entry = AuditEntry.objects.get(action=duplicates.DISMISSED_ACTION)
    assert entry.subject_type == "customer_pair"
    assert entry.subject_id == f"{ana.pk}-{anna.pk}"
    assert entry.actor_label == "support-user"
    html = client.get("/customers/duplicates/?match=name").content.decode()
    assert f"pair-{ana.pk}-{anna.pk}" not in html
    # Dismissing twice records nothing new.
    client.post("/customers/duplicates/dismiss/", {"first": anna.pk, "second": ana.pk})
    assert AuditEntry.objects.filter(action=duplicates.DISMISSED_ACTION).count() == 1


def test_dismiss_with_htmx_removes_the_row_in_place(signed_in):
    ana, anna = _twins()

    response = signed_in("support").post(
        "/customers/duplicates/dismiss/",
        {"first": ana.pk, "second": anna.pk},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert response.content == b""


def test_dismiss_refuses_an_outside_next_address(signed_in):
    ana, anna = _twins()

    response = signed_in("support").post(
        "/customers/duplicates/dismiss/",
        {"first": ana.pk, "second": anna.pk, "next": "https://evil.example/"},
    )

    assert response["Location"] == "/customers/duplicates/"


# The merge preview


def test_preview_roles(assert_page_roles):
    ana, anna = _twins()
    assert_page_roles(_url(anna, ana), allowed=MERGERS)


def test_merge_post_roles_without_a_survivor_merge_nothing(assert_page_roles):
    ana, anna = _twins()

    assert_page_roles(_url(anna, ana), allowed=MERGERS, method="post", data={})

    assert Customer.objects.filter(pk__in=[ana.pk, anna.pk]).count() == 2
    assert not AuditEntry.objects.filter(action="customer.merged").exists()


def test_preview_counts_what_moves_and_the_fields_the_survivor_takes(signed_in, web_source):
    ana, anna = _twins()
    _give_history(anna, web_source, events=3, orders=2)
    customer_tags_add(customer=anna, names=["vip", "newsletter"], actor=ACTOR)
    customer_tags_add(customer=ana, names=["vip"], actor=ACTOR)
    note_add(customer=anna, body="Called about a refund", actor=ACTOR)

    response = signed_in("support").get(_url(anna, ana))

    assert response.status_code == 200
    moves = {row.label: row.count for row in response.context["moves"]}
    assert moves == {
        "Identities": 2,  # email and user id
        "Tags": 1,  # vip stays: Ana has it already
        "Notes": 1,
        "Milestones": 0,
        "Company contacts": 0,
        "Events": 3,
        "Orders": 2,
        "Carts": 0,
        "Consent records": 0,
    }
    assert response.context["filled"] == {"city": "Lisbon"}
    html = response.content.decode()
    assert f"taken from #{anna.pk}" in html
    assert f'href="/customers/merge/{ana.pk}/into/{anna.pk}/"' in html  # swap
    assert 'name="force"' not in html


def test_preview_costs_the_same_queries_for_a_short_and_a_long_history(
    signed_in, web_source, django_assert_num_queries
):
    client = signed_in("support")
    short_source, short_target = _person("A", "One"), _person("A", "Two")
    long_source, long_target = _person("B", "One"), _person("B", "Two")
    _give_history(short_source, web_source, events=2, orders=1)
    _give_history(long_source, web_source, events=40, orders=15)
    client.get(_url(short_source, short_target))

    with django_assert_num_queries(15) as short:
        client.get(_url(short_source, short_target))
    with django_assert_num_queries(len(short.captured_queries)):
        client.get(_url(long_source, long_target))


def test_preview_of_a_customer_merged_away_is_not_found(signed_in):
    ana, anna = _twins()
    client = signed_in("support")
    client.post(_url(anna, ana), {"survivor": ana.pk})

    assert client.get(_url(anna, ana)).status_code == 404
    assert client.get(_url(ana, ana)).status_code == 404


# Merging


def test_merge_moves_everything_and_lands_on_the_survivor(signed_in, web_source):
    ana, anna = _twins()
    _give_history(anna, web_source, events=2, orders=1)
    client = signed_in("support")

    response = client.post(_url(anna, ana), {"survivor": ana.pk})

    assert response.status_code == 302
    assert response["Location"] == f"/customers/{ana.pk}/"
    assert not Customer.objects.filter(pk=anna.pk).exists()
    ana.refresh_from_db()
    assert ana.city == "Lisbon"
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        f"Merged customer #{anna.pk} into Ana Silva."
    ]
    entry = AuditEntry.objects.get(action="customer.merged", subject_id=str(ana.pk))
    assert entry.actor_label == "support-user"
    assert entry.changes["moved"]["identities"] == 2


def test_a_stale_survivor_merges_nothing(signed_in):
    ana, anna = _twins()

    response = signed_in("support").post(_url(anna, ana), {"survivor": anna.pk})

    assert response.status_code == 200
    assert "The survivor changed since this page was shown" in response.content.decode()
    assert Customer.objects.filter(pk__in=[ana.pk, anna.pk]).count() == 2


def test_a_viewer_cannot_merge_and_nothing_moves(signed_in):
    ana, anna = _twins()

    response = signed_in("viewer").post(_url(anna, ana), {"survivor": ana.pk})

    assert response.status_code == 403
    assert Customer.objects.filter(pk__in=[ana.pk, anna.pk]).count() == 2
    assert not AuditEntry.objects.filter(action="customer.merged").exists()
    assert AuditEntry.objects.filter(action="permission.denied").count() == 1


def _different_people() -> tuple[Customer, Customer]:
    ana, anna = _twins()
    identity_add(customer=ana, kind="user_id", value="shop-1", actor=ACTOR)
    identity_add(customer=anna, kind="user_id", value="shop-2", actor=ACTOR)
    return ana, anna


def test_different_user_ids_are_refused_clearly_and_support_gets_no_force(signed_in):
    ana, anna = _different_people()
    client = signed_in("support")

    preview = client.get(_url(anna, ana)).content.decode()
    response = client.post(_url(anna, ana), {"survivor": ana.pk})

    assert "These two carry different user ids" in preview
    assert "Only an admin can merge customers with different user ids." in preview
    assert 'name="force"' not in preview
    assert response.status_code == 409
    assert "Merge refused: customer" in response.content.decode()
    assert "merging would join two people" in response.content.decode()
    assert Customer.objects.filter(pk__in=[ana.pk, anna.pk]).count() == 2


def test_support_sending_force_anyway_is_refused_and_audited(signed_in):
    ana, anna = _different_people()

    response = signed_in("support").post(_url(anna, ana), {"survivor": ana.pk, "force": "on"})

    assert response.status_code == 403
    denial = AuditEntry.objects.get(action="permission.denied")
    assert denial.changes["permission"] == "customers.merge_force"
    assert Customer.objects.filter(pk__in=[ana.pk, anna.pk]).count() == 2


def test_an_admin_may_merge_anyway_after_ticking_the_box(signed_in):
    ana, anna = _different_people()
    client = signed_in("admin")

    preview = client.get(_url(anna, ana)).content.decode()
    refused = client.post(_url(anna, ana), {"survivor": ana.pk})
    forced = client.post(_url(anna, ana), {"survivor": ana.pk, "force": "on"})

    assert 'name="force"' in preview
    assert refused.status_code == 409
    assert forced.status_code == 302
    assert not Customer.objects.filter(pk=anna.pk).exists()
    entry = AuditEntry.objects.get(action="customer.merged", subject_id=str(anna.pk))
    assert entry.changes == {"merged_into": ana.pk, "forced": True}
