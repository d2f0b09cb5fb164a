"""The customer 360 page: roles, profile editing, notes, tags, figures, timeline and its cost."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from patron.accounts.models import AuditEntry, Role, Source
from patron.accounts.services.keys import actor_for_source, actor_for_user
from patron.core import panels
from patron.core.panels import Panel, PanelContent, TimelineItem, TimelineSource
from patron.customers.models import Customer, IdentityKind, Note
from patron.customers.selectors import customer_find_by_identity
from patron.customers.services.attributes import attribute_define
from patron.customers.services.companies import company_contact_add, company_upsert
from patron.customers.services.merge import customer_merge
from patron.customers.services.notes import note_add
from patron.customers.services.profile import customer_create
from patron.customers.services.tags import customer_tags_add
from patron.events.services.ingest import batch_ingest
from patron.orders.services.orders import order_cancel, order_clean, order_record, order_refund
from patron.privacy.models import Channel, ConsentRecord, ConsentStatus, Purpose

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
EDITORS = {Role.ADMIN, Role.MARKETER, Role.SALES, Role.SUPPORT}  # CUSTOMERS_EDIT and NOTES_WRITE
PROFILE = {
    "first_name": "Ana",
    "last_name": "Lima",
    "email": "ana@example.com",
    "phone": "",
    "locale": "pt-BR",
    "timezone": "America/Sao_Paulo",
    "country": "BR",
    "city": "Recife",
    "lifecycle_stage": "active",
}


def url(customer_id: int, suffix: str = "") -> str:
    return f"/customers/{customer_id}/{suffix}"


@pytest.fixture
def shop(web_source) -> Source:
    return Source.objects.get(pk=web_source.id)


@pytest.fixture
def ana(system_actor) -> Customer:
    return customer_create(actor=system_actor, fields={k: v for k, v in PROFILE.items() if v})


def ingest(shop: Source, *messages: dict) -> None:
    batch_ingest(source=shop, items=list(messages), received_at=START + timedelta(days=400))


def track(number: int, *, at: datetime, user_id: str = "u-ana", **properties: object) -> dict:
    return {
        "type": "track",
        "messageId": f"m-{user_id}-{number}",
        "event": "Product Viewed",
        "userId": user_id,
        "properties": properties,
        "timestamp": at.isoformat(),
    }


def record_order(
    shop: Source, customer: Customer, system_actor, number: int, *, at: datetime, lines=None
):
    raw = {
        "external_id": f"o-{customer.pk}-{number}",
        "currency": "EUR",
        "placed_at": at.isoformat(),
        "lines": lines
        or [{"sku": "MOIST-60", "name": "Moisturiser", "quantity": 1, "unit_price": "20.00"}],
    }
    order, _ = order_record(
        source=shop, customer=customer, order=order_clean(raw), actor=system_actor
    )
    return order


def customer_with_history(shop: Source, size: int) -> Customer:
    """A customer known by user id with `size` events and `size` orders."""
    ingest(
        shop,
        {
            "type": "identify",
            "messageId": "id-ana",
            "userId": "u-ana",
            "traits": {"firstName": "Ana", "email": "ana@example.com"},
            "timestamp": START.isoformat(),
        },
    )
    ingest(shop, *[track(n, at=START + timedelta(hours=n), sku="MOIST-60") for n in range(size)])
    customer = customer_find_by_identity(kind=IdentityKind.USER_ID, value="u-ana")
    assert customer is not None
    for number in range(size):
        record_order(
            shop, customer, actor_for_source(shop), number, at=START + timedelta(days=number)
        )
    return customer


# --- who may do what -----------------------------------------------------------------------------


def test_every_role_may_read_the_page_and_anonymous_is_sent_to_sign_in(ana, assert_page_roles):
    assert_page_roles(url(ana.pk), allowed=set(Role.values))
    assert_page_roles(url(ana.pk, "timeline/"), allowed=set(Role.values))
    assert_page_roles(url(ana.pk, "profile/"), allowed=set(Role.values))


def test_only_editors_may_edit_the_profile_and_a_viewer_is_refused_and_audited(
    ana, assert_page_roles
):
    assert_page_roles(url(ana.pk, "profile/edit/"), allowed=EDITORS, method="post", data=PROFILE)
    assert (
        AuditEntry.objects.filter(
            action="permission.denied", changes__permission="customers.edit"
        ).count()
        == 1
    )


def test_only_note_writers_may_add_notes_and_tags(ana, assert_page_roles):
    assert_page_roles(url(ana.pk, "notes/"), allowed=EDITORS, method="post", data={"body": "Hi"})
    assert_page_roles(url(ana.pk, "tags/"), allowed=EDITORS, method="post", data={"name": "vip"})

    assert Note.objects.filter(customer=ana).count() == 4
    assert [tag.name for tag in ana.tags.all()] == ["vip"]


def test_a_viewer_sees_no_edit_controls(ana, signed_in):
    client = signed_in("viewer")

    html = client.get(url(ana.pk)).content.decode()

    assert f'href="/customers/{ana.pk}/profile/edit/"' not in html
    assert "Add note" not in html
    assert "Add tag" not in html
    assert '<h2 id="profile-title">Profile</h2>' in html


def test_an_editor_sees_the_edit_controls(ana, signed_in):
    html = signed_in("support").get(url(ana.pk)).content.decode()

    assert f'href="/customers/{ana.pk}/profile/edit/"' in html
    assert "Add note" in html
    assert "Add tag" in html


def test_an_unknown_customer_is_404(signed_in):
    assert signed_in("support").get(url(987654)).status_code == 404


def test_a_merged_away_customer_redirects_to_the_survivor(system_actor, signed_in):
    survivor = customer_create(actor=system_actor, fields={"email": "keep@example.com"})
    gone = customer_create(actor=system_actor, fields={"email": "gone@example.com"})
    later = customer_create(actor=system_actor, fields={"email": "later@example.com"})
    customer_merge(source=gone, target=survivor, actor=system_actor)
    customer_merge(source=survivor, target=later, actor=system_actor)
    client = signed_in("support")

    response = client.get(url(gone.pk))

    assert response.status_code == 302
    assert response["Location"] == url(later.pk)
    assert client.get(response["Location"]).status_code == 200


# --- what the page shows -------------------------------------------------------------------------


def test_the_page_shows_profile_identities_companies_tags_milestones_and_consent(
    ana, system_actor, signed_in
):
    company, _ = company_upsert(fields={"name": "Acme Skincare"}, actor=system_actor)
    company_contact_add(company=company, customer=ana, title="Buyer", actor=system_actor)
    customer_tags_add(customer=ana, names=["VIP"], actor=system_actor)
    for status, day in ((ConsentStatus.GRANTED, 1), (ConsentStatus.WITHDRAWN, 2)):
        # No consent service exists yet; the ledger row is the fact the page reads.
        ConsentRecord.objects.create(
            customer=ana,
            purpose=Purpose.MARKETING,
            channel=Channel.EMAIL,
            status=status,
            recorded_at=START + timedelta(days=day),
            actor_kind="system",
            actor_label="tests",
        )
    ConsentRecord.objects.create(
        customer=ana,
        purpose=Purpose.SERVICE,
        channel=Channel.SMS,
        status=ConsentStatus.GRANTED,
        recorded_at=START,
        actor_kind="system",
        actor_label="tests",
    )

    html = signed_in("viewer").get(url(ana.pk)).content.decode()

    assert "<h1>Ana Lima" in html
    assert 'href="mailto:ana@example.com"' in html
    assert "America/Sao_Paulo" in html
    assert '<td>Email</td><td class="wrap-anywhere">ana@example.com</td>' in html
    assert 'Acme Skincare</a> <span class="muted">· Buyer</span>' in html
    assert "VIP" in html
    consent = html[html.index('id="consent-title"') :]
    assert re.search(
        r"Marketing messages</td>\s*<td>Email</td>\s*<td><span class=\"badge bad\">Withdrawn",
        consent,
    )
    assert re.search(
        r"Service messages</td>\s*<td>SMS</td>\s*<td><span class=\"badge good\">Granted", consent
    )


def test_key_figures_count_net_spending_and_leave_out_cancelled_orders(
    ana, shop, system_actor, signed_in
):
    record_order(shop, ana, system_actor, 1, at=START)
    second = record_order(shop, ana, system_actor, 2, at=START + timedelta(days=30))
    record_order(shop, ana, system_actor, 3, at=START + timedelta(days=60))
    cancelled = record_order(shop, ana, system_actor, 4, at=START + timedelta(days=90))
    order_refund(
        order=second,
        amount=Decimal("5.00"),
        external_id="r-1",
        refunded_at=START + timedelta(days=31),
        actor=system_actor,
    )
    order_cancel(order=cancelled, cancelled_at=START + timedelta(days=91), actor=system_actor)

    html = signed_in("viewer").get(url(ana.pk)).content.decode()

    figures = html[html.index('id="panel-purchase_figures"') :]
    assert "<dt>Orders</dt><dd>3</dd>" in figures
    assert "<dt>Total spent</dt><dd>55.00 <small>EUR</small></dd>" in figures
    assert "<dt>Average order</dt><dd>18.33 <small>EUR</small></dd>" in figures
    assert "<dt>Days between orders</dt><dd>30</dd>" in figures
    assert "2026-01-05</time>" in figures
    assert "2026-03-06</time>" in figures


def test_products_show_how_often_and_how_many(ana, shop, system_actor, signed_in):
    cream = {"sku": "MOIST-60", "name": "Moisturiser", "quantity": 2, "unit_price": "20.00"}
    serum = {"sku": "SERUM-1", "name": "Serum", "quantity": 1, "unit_price": "30.00"}
    record_order(shop, ana, system_actor, 1, at=START, lines=[cream, serum])
    record_order(shop, ana, system_actor, 2, at=START + timedelta(days=40), lines=[cream])
    record_order(shop, ana, system_actor, 3, at=START + timedelta(days=80), lines=[cream])

    html = signed_in("viewer").get(url(ana.pk)).content.decode()

    products = html[html.index('id="panel-products"') : html.index('id="notes"')]
    rows = re.findall(r"<tr>\s*<td>.*?</tr>", products, flags=re.S)
    numbers = [re.findall(r'<td class="number">(.*?)</td>', row, flags=re.S) for row in rows]
    assert len(rows) == 2
    assert ">Moisturiser</a>" in rows[0] and "6 units · last" in rows[0]
    assert numbers[0] == ["3", "40 d"]
    assert ">Serum</a>" in rows[1] and "1 unit · last" in rows[1]
    assert numbers[1] == ["1", '<span class="muted">once</span>']


def test_script_tags_in_names_notes_and_event_properties_are_escaped(shop, system_actor, signed_in):
    script = "<script>alert(1)</script>"
    ingest(
        shop,
        {
            "type": "identify",
            "messageId": "id-x",
            "userId": "u-x",
            "traits": {"firstName": script, "email": "x@example.com"},
        },
        track(1, at=START, user_id="u-x", note=script),
    )
    customer = customer_find_by_identity(kind=IdentityKind.USER_ID, value="u-x")
    assert customer is not None
    note_add(customer=customer, body=script, actor=system_actor)

    html = signed_in("viewer").get(url(customer.pk)).content.decode()

    assert script not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4  # title, heading, note, event


# --- profile editing -----------------------------------------------------------------------------


def test_edit_opens_the_form_inline_with_the_current_values(ana, signed_in):
    response = signed_in("support").get(url(ana.pk, "profile/edit/"), **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="panel" id="profile"')
    assert 'name="email" value="ana@example.com"' in html
    assert "<html" not in html


def test_an_invalid_email_and_phone_are_shown_next_to_their_fields_and_nothing_changes(
    ana, signed_in
):
    client = signed_in("support")

    response = client.post(
        url(ana.pk, "profile/edit/"),
        {**PROFILE, "email": "ana@", "phone": "12", "first_name": "Changed"},
        **HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    email_field = html[html.index('for="id_email"') : html.index('for="id_phone"')]
    assert "is not a valid email address" in email_field
    phone_field = html[html.index('for="id_phone"') : html.index('for="id_locale"')]
    assert "is not a valid phone number" in phone_field or "is not a phone number" in phone_field
    ana.refresh_from_db()
    assert (ana.first_name, ana.email) == ("Ana", "ana@example.com")
    assert not AuditEntry.objects.filter(action="customer.updated").exists()


def test_an_email_that_belongs_to_someone_else_is_refused_next_to_the_field(
    ana, system_actor, signed_in
):
    customer_create(actor=system_actor, fields={"email": "taken@example.com"})

    html = (
        signed_in("support")
        .post(url(ana.pk, "profile/edit/"), {**PROFILE, "email": "Taken@Example.com"}, **HTMX)
        .content.decode()
    )

    email_field = html[html.index('for="id_email"') : html.index('for="id_phone"')]
    assert "already belongs to customer" in email_field
    ana.refresh_from_db()
    assert ana.email == "ana@example.com"


def test_a_wrongly_typed_custom_attribute_is_shown_next_to_its_field(ana, system_actor, signed_in):
    attribute_define(
        key="skin_type", label="Skin type", type_="text", choices=[], actor=system_actor
    )
    attribute_define(key="visits", label="Visits", type_="integer", choices=[], actor=system_actor)
    client = signed_in("support")

    response = client.post(
        url(ana.pk, "profile/edit/"),
        {**PROFILE, "attribute_visits": "many", "attribute_skin_type": "dry"},
        **HTMX,
    )

    html = response.content.decode()
    visits = html[html.index('for="id_attribute_visits"') :]
    assert "&#x27;many&#x27; is not a number" in visits[: visits.index("</div>")]
    ana.refresh_from_db()
    assert ana.attributes == {}


def test_saving_a_valid_profile_swaps_back_to_the_read_view_and_audits_who(
    ana, system_actor, make_staff, client
):
    attribute_define(key="visits", label="Visits", type_="integer", choices=[], actor=system_actor)
    user = make_staff("support", username="sam")
    client.force_login(user)

    response = client.post(
        url(ana.pk, "profile/edit/"),
        {**PROFILE, "city": "Olinda", "phone": "+55 81 98765 4321", "attribute_visits": "7"},
        **HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert response["HX-Trigger"] == "timeline-changed"
    assert "<dd>Olinda</dd>" in html
    assert "<dt>Visits</dt><dd>7</dd>" in html
    # The heading and the identities are swapped out of band: the new phone is an identity.
    assert 'id="identities" aria-labelledby="identities-title" hx-swap-oob="true">' in html
    assert "+5581987654321</td>" in html
    assert 'id="customer-header" hx-swap-oob="true"' in html
    ana.refresh_from_db()
    assert (ana.city, ana.phone, ana.attributes) == ("Olinda", "+5581987654321", {"visits": 7})
    entry = AuditEntry.objects.get(action="customer.updated")
    assert entry.actor_label == "sam"
    assert entry.changes["city"] == ["Recife", "Olinda"]


def test_without_htmx_a_save_redirects_back_to_the_page(ana, signed_in):
    response = signed_in("support").post(url(ana.pk, "profile/edit/"), {**PROFILE, "city": "Natal"})

    assert response.status_code == 302
    assert response["Location"] == url(ana.pk)


# --- notes and tags ------------------------------------------------------------------------------


def test_a_note_is_added_and_shown_with_its_author(ana, make_staff, client):
    client.force_login(make_staff("support", username="sam"))

    response = client.post(url(ana.pk, "notes/"), {"body": "Called about <b>refund</b>"}, **HTMX)

    html = response.content.decode()
    assert response["HX-Trigger"] == "timeline-changed"
    assert "Called about &lt;b&gt;refund&lt;/b&gt;" in html
    assert "<strong>sam</strong>" in html
    assert Note.objects.get(customer=ana).author_label == "sam"


def test_an_empty_note_is_refused_next_to_the_field(ana, signed_in):
    response = signed_in("support").post(url(ana.pk, "notes/"), {"body": "   "}, **HTMX)

    html = response.content.decode()
    assert 'class="field has-error"' in html
    assert "must not be empty" in html or "This field is required." in html
    assert not Note.objects.exists()


def test_the_author_edits_their_note_and_the_edit_is_audited_with_before_and_after(
    ana, make_staff, client
):
    user = make_staff("sales", username="sam")
    note = note_add(customer=ana, body="First words", actor=actor_for_user(user))
    client.force_login(user)

    form = client.get(url(ana.pk, f"notes/{note.pk}/edit/"), **HTMX).content.decode()
    response = client.post(url(ana.pk, f"notes/{note.pk}/edit/"), {"body": "Better words"}, **HTMX)

    assert "First words</textarea>" in form
    assert "Better words" in response.content.decode()
    note.refresh_from_db()
    assert note.body == "Better words"
    entry = AuditEntry.objects.get(action="customer.note_edited")
    assert (entry.actor_label, entry.customer_id) == ("sam", ana.pk)
    assert entry.changes == {"body": ["First words", "Better words"]}


def test_someone_elses_note_cannot_be_edited(ana, make_staff, client):
    author = make_staff("sales", username="author")
    note = note_add(customer=ana, body="Mine", actor=actor_for_user(author))
    client.force_login(make_staff("support", username="other"))

    response = client.post(url(ana.pk, f"notes/{note.pk}/edit/"), {"body": "Yours"})
    page = client.get(url(ana.pk)).content.decode()

    assert response.status_code == 403
    note.refresh_from_db()
    assert note.body == "Mine"
    assert not AuditEntry.objects.filter(action="customer.note_edited").exists()
    assert f"/notes/{note.pk}/edit/" not in page


def test_a_note_of_another_customer_is_404(ana, system_actor, make_staff, client):
    other = customer_create(actor=system_actor, fields={"email": "o@example.com"})
    user = make_staff("support")
    note = note_add(customer=other, body="Other", actor=actor_for_user(user))
    client.force_login(user)

    assert client.get(url(ana.pk, f"notes/{note.pk}/edit/")).status_code == 404


def test_tags_are_added_and_removed_and_audited(ana, signed_in):
    client = signed_in("marketer")

    added = client.post(url(ana.pk, "tags/"), {"name": "Loyal"}, **HTMX).content.decode()
    removed = client.post(url(ana.pk, "tags/remove/"), {"name": "loyal"}, **HTMX).content.decode()

    assert "Remove tag Loyal" in added
    assert "No tags." in removed
    assert list(
        AuditEntry.objects.filter(
            customer_id=ana.pk, action__in=["customer.tagged", "customer.untagged"]
        )
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["customer.tagged", "customer.untagged"]


def test_a_tag_too_long_is_refused_next_to_the_field(ana, signed_in):
    html = (
        signed_in("marketer")
        .post(url(ana.pk, "tags/"), {"name": "x" * 101}, **HTMX)
        .content.decode()
    )

    assert 'class="field has-error"' in html
    assert not ana.tags.exists()


# --- the timeline --------------------------------------------------------------------------------


def test_the_timeline_merges_every_kind_newest_first(ana, shop, system_actor, signed_in):
    record_order(shop, ana, system_actor, 1, at=START)
    note = note_add(customer=ana, body="Note text", actor=system_actor)
    Note.objects.filter(pk=note.pk).update(created_at=START + timedelta(days=2))

    html = signed_in("viewer").get(url(ana.pk)).content.decode()

    timeline = html[html.index('id="timeline"') :]
    kinds = re.findall(r'class="timeline-item kind-(\w+)"', timeline)
    # The profile was created "now" (after START), then the note (day 2), then the order.
    assert kinds == ["change", "note", "order"]
    assert "Profile created" in timeline
    assert "Order o-" in timeline


def test_the_timeline_filters_by_kind(signed_in, shop):
    customer = customer_with_history(shop, 3)
    client = signed_in("viewer")

    html = client.get(url(customer.pk, "timeline/") + "?kind=order", **HTMX).content.decode()

    assert re.findall(r'class="timeline-item kind-(\w+)"', html) == ["order"] * 3
    assert html.lstrip().startswith('<div id="timeline"')


def test_load_older_walks_every_item_once_even_when_times_tie(shop, system_actor, signed_in):
    # 30 orders and 30 events share one instant: ties are broken by kind, then id.
    ingest(shop, *[track(n, at=START, user_id="u-t") for n in range(30)])
    customer = customer_find_by_identity(kind=IdentityKind.USER_ID, value="u-t")
    assert customer is not None
    for number in range(30):
        record_order(shop, customer, system_actor, number, at=START)
    client = signed_in("viewer")
    seen: list[tuple[str, str]] = []
    query = "kind=order&kind=event"
    for _ in range(10):
        html = client.get(url(customer.pk, "timeline/") + f"?{query}&append=1", **HTMX)
        html = html.content.decode()
        seen += re.findall(r'id="item-(\w+)-(\d+)"', html)
        more = re.search(r'hx-get="/customers/\d+/timeline/\?([^"]+)&amp;append=1"', html)
        if not more:
            break
        query = more.group(1).replace("&amp;", "&")

    assert len(seen) == len(set(seen)) == 60
    # At one instant "order" sorts after "event", so newest-first shows orders first.
    assert [kind for kind, _ in seen] == ["order"] * 30 + ["event"] * 30
    assert [int(item_id) for _, item_id in seen[:30]] == sorted(
        (int(item_id) for _, item_id in seen[:30]), reverse=True
    )


@pytest.mark.parametrize("size", [3, 300])
def test_the_page_costs_the_same_queries_whatever_the_history(
    size, shop, signed_in, django_assert_num_queries
):
    customer = customer_with_history(shop, size)
    client = signed_in("support")
    client.get(url(customer.pk))  # the session and the user are loaded the same every time

    with django_assert_num_queries(PAGE_QUERIES):
        response = client.get(url(customer.pk))

    assert response.status_code == 200
    items = re.findall(r'class="timeline-item ', response.content.decode())
    # 3: identify, 3 views, 3 orders, the profile's creation and first identity; 300: a page.
    assert len(items) == (9 if size == 3 else 25)


@pytest.mark.parametrize("size", [3, 300])
def test_a_timeline_page_costs_the_same_queries_whatever_the_history(
    size, shop, signed_in, django_assert_num_queries
):
    customer = customer_with_history(shop, size)
    client = signed_in("support")

    with django_assert_num_queries(TIMELINE_QUERIES):
        response = client.get(url(customer.pk, "timeline/"), **HTMX)

    assert response.status_code == 200


# session, user, customer + 4 prefetches, attribute definitions, notes, consent,
# 2 registered panels, 7 timeline sources; the predictions panel: the customer's zone and
# stage and their insight row (none before a refresh; with one, settings and due products too).
PAGE_QUERIES = 21
# session, user, customer, 7 timeline sources.
TIMELINE_QUERIES = 10


def test_a_mangled_cursor_starts_from_the_newest(ana, signed_in):
    response = signed_in("viewer").get(url(ana.pk) + "?cursor=not-a-cursor")

    assert response.status_code == 200
    assert "Profile created" in response.content.decode()


def test_without_htmx_the_timeline_url_leads_to_the_page_with_the_same_filters(ana, signed_in):
    response = signed_in("viewer").get(url(ana.pk, "timeline/") + "?kind=note")

    assert response.status_code == 302
    assert response["Location"] == url(ana.pk) + "?kind=note"


# --- what later capabilities add -----------------------------------------------------------------


@pytest.fixture
def registries(monkeypatch):
    """The registries as the page knows them, restored after the test."""
    monkeypatch.setattr(panels, "_panels", dict(panels._panels))
    monkeypatch.setattr(panels, "_timeline_sources", dict(panels._timeline_sources))


def test_a_registered_panel_appears_for_the_roles_it_names(ana, registries, signed_in):
    panels.panel_register(
        Panel(
            "audit-summary",
            "Audit <summary>",
            1,
            "audit.view",
            lambda customer_id: PanelContent(
                "web/components/empty_state.html", {"title": f"About #{customer_id}"}
            ),
        )
    )

    as_admin = signed_in("admin").get(url(ana.pk)).content.decode()
    as_viewer = signed_in("viewer").get(url(ana.pk)).content.decode()

    assert 'id="panel-audit-summary-title">Audit &lt;summary&gt;</h2>' in as_admin
    assert f'<p class="empty-title">About #{ana.pk}</p>' in as_admin
    assert "panel-audit-summary" not in as_viewer


def test_a_registered_timeline_source_gets_a_chip_and_its_items(ana, registries, signed_in):
    def messages(customer_id, before, limit):
        if before is not None:
            return []
        return [
            TimelineItem(
                kind="message", item_id=1, at=START, title="<b>Spring</b> offer", actor="Flows"
            )
        ]

    panels.timeline_source_register(
        TimelineSource("message", "Messages", 80, "customers.view", messages)
    )

    html = signed_in("viewer").get(url(ana.pk) + "?kind=message").content.decode()

    assert 'value="message" checked> Messages</label>' in html
    assert re.findall(r'id="item-(\w+)-(\d+)"', html) == [("message", "1")]
    assert "&lt;b&gt;Spring&lt;/b&gt; offer" in html
