"""The customer list page: roles, search, filters, sorting, saved views, bulk tags, CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from patron.accounts.models import AuditEntry, Source
from patron.core.actors import Actor
from patron.customers.models import Customer, CustomerTag
from patron.customers.services.profile import customer_create
from patron.customers.services.tags import customer_tags_add
from patron.events.services.ingest import batch_ingest
from patron.web.models import SavedView

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("tests")
URL = "/customers/"


def person(**fields: object) -> Customer:
    return customer_create(actor=ACTOR, fields=fields)


def with_figures(customer: Customer, count: int, spent: str, last: datetime | None) -> Customer:
    Customer.objects.filter(pk=customer.pk).update(
        order_count=count, total_spent=Decimal(spent), first_order_at=last, last_order_at=last
    )
    return customer


def row_names(response) -> list[str]:
    return [customer.display_name for customer in response.context["page"].items]


def export_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


@pytest.fixture
def shop() -> dict[str, Customer]:
    return {
        "ana": with_figures(
            person(
                first_name="Ana",
                last_name="Silva",
                email="ana@example.com",
                country="PT",
                lifecycle_stage="active",
            ),
            3,
            "150.00",
            datetime(2026, 3, 1, tzinfo=UTC),
        ),
        "ben": with_figures(
            person(first_name="Ben", last_name="Moreau", email="ben@example.org", country="FR"),
            1,
            "20.00",
            datetime(2026, 1, 1, tzinfo=UTC),
        ),
        "cleo": person(first_name="Cleo", last_name="Adams", email="cleo@example.net"),
    }


# --- roles ---------------------------------------------------------------------------------------


def test_every_role_with_customer_access_sees_the_list(assert_page_roles):
    assert_page_roles(URL, allowed={"admin", "marketer", "sales", "support", "viewer"})


def test_only_roles_that_may_export_download_the_csv(assert_page_roles):
    from patron.accounts.permissions import ROLE_PERMISSIONS, Permission

    allowed = {
        role for role, granted in ROLE_PERMISSIONS.items() if Permission.CUSTOMERS_EXPORT in granted
    }
    assert "viewer" not in allowed
    assert_page_roles("/customers/export/", allowed=allowed)


def test_only_roles_that_may_edit_tag_in_bulk(assert_page_roles):
    from patron.accounts.permissions import ROLE_PERMISSIONS, Permission

    allowed = {
        role for role, granted in ROLE_PERMISSIONS.items() if Permission.CUSTOMERS_EDIT in granted
    }
    assert "viewer" not in allowed
    assert_page_roles("/customers/bulk-tag/", allowed=allowed, method="post", data={"tag": "x"})


def test_a_viewer_sees_no_checkboxes_bulk_bar_or_export(signed_in, shop):
    response = signed_in("viewer").get(URL)

    content = response.content.decode()
    assert response.status_code == 200
    assert 'name="customer"' not in content
    assert "Tag customers" not in content
    assert "Export CSV" not in content


# --- the table, search, filters, sorting -------------------------------------------------------


def test_the_table_shows_figures_tags_and_escapes_names(signed_in, shop):
    customer_tags_add(customer=shop["ana"], names=["VIP"], actor=ACTOR)
    person(first_name="<script>alert(1)</script>")

    response = signed_in("admin").get(URL)

    content = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert '<td class="number">150.00</td>' in content
    assert '<span class="badge">VIP</span>' in content
    assert "4</strong> customers" in content


def test_search_narrows_by_name_and_email(signed_in, shop):
    client = signed_in("support")

    assert row_names(client.get(URL, {"q": "sil"})) == ["Ana Silva"]
    assert row_names(client.get(URL, {"q": "ben@ex"})) == ["Ben Moreau"]


def test_an_htmx_search_answers_with_the_results_region_and_the_filter_errors_only(signed_in, shop):
    response = signed_in("support").get(URL, {"q": "cle"}, headers={"HX-Request": "true"})

    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<section id="customer-results"')
    assert "<html" not in content and 'role="search"' not in content
    assert "Cleo Adams" in content and "Ana Silva" not in content
    assert '<div id="error-orders_min" hx-swap-oob="true"></div>' in content


def test_filters_narrow_by_figures_stage_and_country(signed_in, shop):
    client = signed_in("marketer")

    assert row_names(client.get(URL, {"orders_min": "2"})) == ["Ana Silva"]
    assert row_names(client.get(URL, {"country": "fr"})) == ["Ben Moreau"]
    assert row_names(client.get(URL, {"lifecycle_stage": "active"})) == ["Ana Silva"]
    assert row_names(client.get(URL, {"spent_max": "50", "orders_min": "1"})) == ["Ben Moreau"]
    assert row_names(client.get(URL, {"last_order_from": "2026-02-01"})) == ["Ana Silva"]


def test_bad_filter_values_are_errors_next_to_their_filter_not_a_500(signed_in, shop):
    response = signed_in("admin").get(
        URL,
        {"orders_min": "abc", "last_order_from": "01/02/2026", "country": "Portugal", "q": "an"},
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["orders_min"] == ["Enter a whole number."]
    assert errors["last_order_from"] == ["Enter a date as YYYY-MM-DD."]
    assert errors["country"] == ["Enter a two-letter country code, such as PT."]
    content = response.content.decode()
    assert (
        '<div id="error-orders_min"><p class="error" role="alert">Enter a whole number.</p>'
        in content
    )
    # The good filters still apply.
    assert row_names(response) == ["Ana Silva"]


def test_a_range_upside_down_is_an_error_on_its_upper_end(signed_in, shop):
    response = signed_in("admin").get(URL, {"orders_min": "5", "orders_max": "2"})

    assert response.context["form"].errors["orders_max"] == ["Must not be below orders at least."]


def test_columns_sort_both_ways_and_say_so_with_aria_sort(signed_in, shop):
    client = signed_in("admin")

    by_spent = client.get(URL, {"sort": "-total_spent"})
    by_spent_up = client.get(URL, {"sort": "total_spent"})
    by_name = client.get(URL)

    assert row_names(by_spent) == ["Ana Silva", "Ben Moreau", "Cleo Adams"]
    assert row_names(by_spent_up) == ["Cleo Adams", "Ben Moreau", "Ana Silva"]
    assert row_names(by_name) == ["Cleo Adams", "Ben Moreau", "Ana Silva"]
    assert (
        'aria-sort="descending"><a href="?sort=total_spent" hx-get="?sort=total_spent">Total spent'
        in by_spent.content.decode()
    )
    assert (
        'aria-sort="ascending"><a href="?sort=-name" hx-get="?sort=-name">Name'
        in by_name.content.decode()
    )


def test_pages_follow_the_cursor_and_a_forged_cursor_restarts_with_a_message(signed_in, shop):
    from patron.web.views import customers as view

    client = signed_in("admin")
    view_page_size, view.PAGE_SIZE = view.PAGE_SIZE, 2
    try:
        first = client.get(URL)
        second = client.get(URL, {"cursor": first.context["page"].next_cursor})
        forged = client.get(URL, {"cursor": "garbage"})
    finally:
        view.PAGE_SIZE = view_page_size

    assert row_names(first) == ["Cleo Adams", "Ben Moreau"]
    assert row_names(second) == ["Ana Silva"]
    assert forged.status_code == 200
    assert "That page link has expired" in forged.content.decode()
    assert row_names(forged) == ["Cleo Adams", "Ben Moreau"]


def test_a_page_costs_the_same_queries_whatever_the_rows_and_their_tags(
    signed_in, shop, django_assert_max_num_queries
):
    client = signed_in("admin")
    for number in range(30):
        customer_tags_add(
            customer=person(first_name=f"Many{number}"), names=["a", "b", "c"], actor=ACTOR
        )
    # session, user, count, page (at most 2), tags, saved views, tag names
    with django_assert_max_num_queries(8):
        response = client.get(URL, {"sort": "-last_order", "q": "many"})
    assert len(response.context["page"].items) == 30
    # A swap of the results region reads neither the saved views nor the tag names.
    with django_assert_max_num_queries(6):
        swapped = client.get(URL, {"q": "many"}, headers={"HX-Request": "true"})
    assert swapped.status_code == 200


def test_empty_states_say_how_to_add_customers_or_offer_to_clear_filters(signed_in):
    client = signed_in("admin")

    empty = client.get(URL).content.decode()
    person(first_name="Ana")
    no_match = client.get(URL, {"q": "zzz", "sort": "created"}).content.decode()

    assert "No customers yet" in empty
    assert "patron import customers FILE" in empty
    assert "No customer matches these filters" in no_match
    assert '<a class="button" href="/customers/?sort=created">Clear filters</a>' in no_match


def test_the_list_shows_the_figures_an_ingested_order_left(signed_in, web_source):
    source = Source.objects.get(pk=web_source.id)
    placed = datetime(2026, 3, 1, 12, tzinfo=UTC)
    batch_ingest(
        source=source,
        items=[
            {
                "type": "track",
                "messageId": "m-1",
                "event": "Order Completed",
                "userId": "u-1",
                "timestamp": placed.isoformat(),
                "properties": {
                    "order_id": "1001",
                    "total": "42.50",
                    "currency": "EUR",
                    "products": [{"sku": "SERUM-30", "price": "42.50", "quantity": 1}],
                },
            }
        ],
        received_at=placed + timedelta(minutes=1),
    )

    response = signed_in("admin").get(URL, {"orders_min": "1"})

    [customer] = response.context["page"].items
    assert (customer.order_count, customer.total_spent) == (1, Decimal("42.50"))


# --- export --------------------------------------------------------------------------------------


def test_export_streams_every_matching_row_neutralised_and_is_audited(signed_in, shop):
    person(first_name='=HYPERLINK("http://x")', last_name="+1", email="eve@example.com")
    client = signed_in("marketer")

    response = client.get("/customers/export/", {"q": "eve@", "sort": "name"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="customers.csv"'
    rows = export_rows(response)
    assert rows[0][:4] == ["id", "first_name", "last_name", "email"]
    assert len(rows) == 2
    assert rows[1][1:4] == ['\'=HYPERLINK("http://x")', "'+1", "eve@example.com"]
    entry = AuditEntry.objects.get(action="customers.exported")
    assert entry.changes == {"filters": "q=eve%40&sort=name", "rows": 1}
    assert entry.actor_label == "marketer-user"


def test_export_of_bad_filters_goes_back_to_the_list_and_writes_nothing(signed_in, shop):
    response = signed_in("admin").get("/customers/export/", {"orders_min": "many"})

    assert response.status_code == 302
    assert response["Location"] == "/customers/?orders_min=many"
    assert not AuditEntry.objects.filter(action="customers.exported").exists()


# --- bulk tags -----------------------------------------------------------------------------------


def test_bulk_tag_adds_a_tag_to_the_selected_rows_and_audits_each(signed_in, shop):
    client = signed_in("sales")

    response = client.post(
        "/customers/bulk-tag/",
        {
            "tag": "Spring promo",
            "action": "add",
            "scope": "selected",
            "customer": [shop["ana"].pk, shop["ben"].pk],
            "query": "q=a",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/customers/?q=a"
    assert set(CustomerTag.objects.values_list("customer_id", "tag__name")) == {
        (shop["ana"].pk, "Spring promo"),
        (shop["ben"].pk, "Spring promo"),
    }
    tagged = AuditEntry.objects.filter(action="customer.tagged")
    assert set(tagged.values_list("customer_id", flat=True)) == {shop["ana"].pk, shop["ben"].pk}
    summary = AuditEntry.objects.get(action="customers.bulk_tagged")
    assert summary.changes == {"tag": "Spring promo", "customers": 2, "chosen": 2}


def test_bulk_tag_of_all_matching_covers_rows_beyond_the_page_and_removes_too(signed_in, shop):
    client = signed_in("admin")

    client.post(
        "/customers/bulk-tag/",
        {"tag": "eu", "action": "add", "scope": "all", "query": "orders_min=1"},
    )
    assert sorted(CustomerTag.objects.values_list("customer_id", flat=True)) == sorted(
        [shop["ana"].pk, shop["ben"].pk]
    )

    client.post(
        "/customers/bulk-tag/",
        {"tag": "EU", "action": "remove", "scope": "all", "query": "country=PT"},
    )
    assert list(CustomerTag.objects.values_list("customer_id", flat=True)) == [shop["ben"].pk]
    assert AuditEntry.objects.filter(action="customer.untagged").count() == 1


def test_bulk_tag_without_a_selection_shows_the_error_next_to_the_choice(signed_in, shop):
    response = signed_in("admin").post(
        "/customers/bulk-tag/", {"tag": "x", "action": "add", "scope": "selected"}
    )

    assert response.status_code == 200
    assert response.context["bulk_form"].errors["scope"] == [
        "Select at least one customer, or choose All matching."
    ]
    assert not CustomerTag.objects.exists()
    assert not AuditEntry.objects.filter(action="customers.bulk_tagged").exists()


def test_bulk_tag_with_a_forged_selection_changes_nothing(signed_in, shop):
    response = signed_in("admin").post(
        "/customers/bulk-tag/",
        {"tag": "x", "action": "add", "scope": "selected", "customer": ["1 OR 1=1"]},
    )

    assert response.context["bulk_form"].errors["scope"] == [
        "The selection is not one this page made."
    ]
    assert not CustomerTag.objects.exists()


# --- saved views ---------------------------------------------------------------------------------


def test_a_saved_view_keeps_filters_and_sort_and_is_listed_as_a_link(signed_in, shop):
    client = signed_in("marketer")

    response = client.post(
        "/customers/views/",
        {"name": "Big spenders", "query": "spent_min=100&sort=total_spent&cursor=abc&evil=1"},
    )
    page = client.get(URL).content.decode()

    assert response.status_code == 302
    view = SavedView.objects.get()
    assert (view.name, view.query, view.is_shared) == (
        "Big spenders",
        "spent_min=100&sort=total_spent",
        False,
    )
    assert '<a href="/customers/?spent_min=100&amp;sort=total_spent">Big spenders</a>' in page
    assert AuditEntry.objects.filter(action="saved_view.created").count() == 1


def test_views_are_private_unless_shared_and_only_the_owner_deletes(client, make_staff, shop):
    owner, teammate = make_staff("marketer"), make_staff("sales")
    client.force_login(owner)
    client.post("/customers/views/", {"name": "Mine", "query": "country=PT"})
    client.post("/customers/views/", {"name": "Ours", "query": "country=FR", "is_shared": "on"})
    mine, ours = SavedView.objects.get(name="Mine"), SavedView.objects.get(name="Ours")

    client.force_login(teammate)
    seen = [view.name for view in client.get(URL).context["saved_views"]]
    refused = client.post(f"/customers/views/{ours.pk}/delete/")

    assert seen == ["Ours"]
    assert refused.status_code == 404
    assert SavedView.objects.filter(pk=ours.pk).exists()

    client.force_login(owner)
    deleted = client.post(f"/customers/views/{mine.pk}/delete/")
    assert deleted.status_code == 302
    assert not SavedView.objects.filter(pk=mine.pk).exists()


def test_a_view_name_used_twice_is_an_error_next_to_the_name(signed_in, shop):
    client = signed_in("admin")
    client.post("/customers/views/", {"name": "PT", "query": "country=PT"})

    response = client.post("/customers/views/", {"name": "PT", "query": "country=FR"})

    assert response.status_code == 200
    assert response.context["saved_view_form"].errors["name"] == [
        "you already have a view named 'PT'"
    ]
    assert SavedView.objects.count() == 1


# --- bulk tags in the worker ---------------------------------------------------------------------


@pytest.fixture
def worker_above_two(settings, tmp_path, monkeypatch):
    """More than two matching customers go to the worker, one customer per batch."""
    from patron.customers.services import tags

    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(tags, "BULK_TAG_IN_WORKER_ABOVE", 2)
    monkeypatch.setattr(tags, "BULK_TAG_WORKER_BATCH", 1)


def test_a_large_bulk_tag_runs_in_the_worker_in_batches_and_reports_progress(
    signed_in, shop, worker_above_two, make_staff, client, django_capture_on_commit_callbacks
):
    # given three matching customers (more than the lowered threshold), one carrying the tag
    # and one that the filter leaves out
    customer_tags_add(customer=shop["cleo"], names=["VIP"], actor=ACTOR)
    outsider = with_figures(
        person(first_name="Dora", last_name="Out", email="dora@example.com"), 9, "900.00", None
    )
    user = make_staff("sales", username="tagger")
    client.force_login(user)

    # when the list's "all matching" is tagged
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/customers/bulk-tag/",
            {"tag": "vip", "action": "add", "scope": "all", "query": "orders_max=5&sort=name"},
        )

    # then the page answers at once with a message, and the worker tagged exactly the matching
    assert response.status_code == 302
    assert response["Location"] == "/customers/?orders_max=5&sort=name"
    tagged = set(CustomerTag.objects.values_list("customer_id", flat=True))
    assert tagged == {shop["ana"].pk, shop["ben"].pk, shop["cleo"].pk}
    assert outsider.pk not in tagged
    # audited as the staff user who asked: the two that changed, and the action once
    entries = AuditEntry.objects.filter(action="customer.tagged", actor_label="tagger")
    assert set(entries.values_list("customer_id", flat=True)) == {shop["ana"].pk, shop["ben"].pk}
    summary = AuditEntry.objects.get(action="customers.bulk_tagged")
    assert summary.actor_label == "tagger"
    assert summary.changes == {"tag": "VIP", "customers": 2, "chosen": 3}

    page = client.get("/customers/?orders_max=5&sort=name")
    assert "Adding tag “vip” to more than 2 customers in the background." in [
        str(message) for message in page.context["messages"]
    ]
    job = page.context["bulk_job"]
    assert (job.state, job.done, job.total, job.changed, job.percent) == ("done", 3, 3, 2, 100)
    assert "Tagged 2 customers with “VIP”." in page.content.decode()
    assert b"every 1s" not in page.content  # finished: nothing to poll
    # said once: the list no longer shows the finished job, though its fragment still answers
    assert client.get(URL).context["bulk_job"] is None
    fragment = client.get(f"/customers/bulk-tag/{job.token}/", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "Tagged 2 customers with “VIP”." in fragment.content.decode()
    assert b"every 1s" not in fragment.content


def test_a_queued_bulk_tag_polls_every_second_until_the_worker_finishes(
    signed_in, shop, worker_above_two, monkeypatch
):
    from patron.customers.services import tags
    from patron.customers.services.tags import bulk_tag_job_get, bulk_tag_job_run

    client = signed_in("admin")
    # on_commit not run: the job waits in the queue
    client.post(
        "/customers/bulk-tag/", {"tag": "later", "action": "add", "scope": "all", "query": ""}
    )
    token = client.session["customer_bulk_tag_job"]

    waiting = client.get(f"/customers/bulk-tag/{token}/").content.decode()
    assert 'hx-trigger="every 1s"' in waiting
    assert "Adding tag “later”: waiting for the worker." in waiting
    assert not CustomerTag.objects.exists()

    written = tags._job_write
    seen: list[tuple[str, int, int | None, str]] = []

    def recording(token: str, data: dict) -> None:
        written(token, data)
        seen.append((data["state"], data["done"], data["total"], bulk_poll(token)))

    def bulk_poll(token: str) -> str:
        return client.get(f"/customers/bulk-tag/{token}/").content.decode()

    monkeypatch.setattr(tags, "_job_write", recording)
    bulk_tag_job_run(token=token)
    # one report per batch of one, each a fragment the page would poll again
    assert [(state, done, total) for state, done, total, _ in seen] == [
        ("running", 0, 3),
        ("running", 1, 3),
        ("running", 2, 3),
        ("running", 3, 3),
        ("done", 3, 3),
    ]
    assert "Adding tag “later”: 2 of 3 customers." in seen[2][3]
    assert 'value="66"' in seen[2][3]
    assert all('hx-trigger="every 1s"' in fragment for *_, fragment in seen[:-1])
    assert "Tagged 3 customers with “later”." in seen[-1][3]

    bulk_tag_job_run(token=token)  # a retry after the end changes and audits nothing more

    assert CustomerTag.objects.count() == 3
    assert AuditEntry.objects.filter(action="customer.tagged").count() == 3
    assert AuditEntry.objects.filter(action="customers.bulk_tagged").count() == 1
    assert bulk_tag_job_get(token).state == "done"


def test_a_retried_bulk_tag_resumes_without_tagging_or_auditing_twice(shop, worker_above_two):
    from patron.customers.selectors import CustomerListFilters
    from patron.customers.services import tags

    job = tags.bulk_tag_job_start(
        filters=CustomerListFilters(), name="again", is_adding=True, actor=ACTOR
    )
    # given the worker died after committing the first batch but before noting it
    first = min(customer.pk for customer in shop.values())
    customer_tags_add(customer=Customer.objects.get(pk=first), names=["again"], actor=ACTOR)

    tags.bulk_tag_job_run(token=job.token)

    assert CustomerTag.objects.count() == 3
    assert AuditEntry.objects.filter(action="customer.tagged").count() == 3  # 1 + 2, not 4
    assert tags.bulk_tag_job_get(job.token).changed == 2


def test_removing_a_tag_from_many_runs_in_the_worker_too(
    signed_in, shop, worker_above_two, django_capture_on_commit_callbacks
):
    for customer in shop.values():
        customer_tags_add(customer=customer, names=["old"], actor=ACTOR)
    client = signed_in("admin")

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/customers/bulk-tag/", {"tag": "OLD", "action": "remove", "scope": "all"})

    assert not CustomerTag.objects.exists()
    assert AuditEntry.objects.filter(action="customer.untagged").count() == 3
    token = client.session["customer_bulk_tag_job"]
    fragment = client.get(f"/customers/bulk-tag/{token}/").content.decode()
    assert "Took “old” off 3 customers." in fragment


def test_a_bulk_tag_at_the_threshold_stays_in_the_request(
    signed_in, shop, settings, tmp_path, monkeypatch
):
    from patron.customers.services import tags

    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(tags, "BULK_TAG_IN_WORKER_ABOVE", 3)
    client = signed_in("admin")

    response = client.post(
        "/customers/bulk-tag/", {"tag": "now", "action": "add", "scope": "all", "query": ""}
    )

    assert response.status_code == 302
    assert CustomerTag.objects.count() == 3
    assert "customer_bulk_tag_job" not in client.session
    assert not (tmp_path / tags.BULK_TAG_DIRECTORY).exists()
    page = client.get(URL)
    assert page.context["bulk_job"] is None
    assert "Tag “now” added to 3 customers." in [str(m) for m in page.context["messages"]]


def test_an_unknown_or_forged_job_token_is_a_404(signed_in, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = signed_in("admin")

    assert client.get("/customers/bulk-tag/" + "a" * 32 + "/").status_code == 404
    assert client.get("/customers/bulk-tag/..%2F..%2Fetc/").status_code == 404


def test_only_roles_that_may_edit_follow_a_bulk_tag(assert_page_roles, settings, tmp_path):
    from patron.accounts.permissions import ROLE_PERMISSIONS, Permission
    from patron.customers.selectors import CustomerListFilters
    from patron.customers.services.tags import bulk_tag_job_start

    settings.MEDIA_ROOT = tmp_path
    job = bulk_tag_job_start(filters=CustomerListFilters(), name="x", is_adding=True, actor=ACTOR)
    allowed = {
        role for role, granted in ROLE_PERMISSIONS.items() if Permission.CUSTOMERS_EDIT in granted
    }

    assert_page_roles(f"/customers/bulk-tag/{job.token}/", allowed=allowed)


def test_a_bulk_tag_name_with_markup_shows_escaped_in_the_progress(
    signed_in, shop, worker_above_two
):
    client = signed_in("admin")
    client.post(
        "/customers/bulk-tag/",
        {"tag": "<script>x</script>", "action": "add", "scope": "all", "query": ""},
    )

    page = client.get(URL).content.decode()

    assert "<script>x</script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
