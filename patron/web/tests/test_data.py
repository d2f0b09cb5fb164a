"""The Data area: sources and write keys, the live event debugger and CSV import in the browser."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from patron.accounts.models import AuditEntry, Source
from patron.accounts.services.keys import source_create, source_revoke
from patron.core import clock
from patron.core.actors import Actor
from patron.customers.models import Customer
from patron.events.models import (
    Event,
    ImportMode,
    ImportProblem,
    ImportRun,
    ImportStatus,
    IngestionWarning,
)
from patron.events.services import imports
from patron.events.services.ingest import batch_ingest

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("tests")
DATA_ROLES = {"admin", "marketer"}
ADMIN_ONLY = {"admin"}
SOURCES = reverse("web:source_list")
EVENTS = reverse("web:event_debugger")
IMPORTS = reverse("web:import_list")
IMPORT_NEW = reverse("web:import_new")


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path / "media"


def send(write_key_source: Source, *messages: dict) -> None:
    batch_ingest(
        source=write_key_source,
        items=list(messages),
        received_at=clock.now(),
        batch_sent_at=None,
    )


def csv_file(text: str | bytes, name: str = "people.csv") -> SimpleUploadedFile:
    data = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile(name, data, content_type="text/csv")


def an_import(text: str, *, kind: str = "customers", mapping: list[str] | None = None) -> ImportRun:
    run = imports.import_upload(
        kind=kind,
        file_name="people.csv",
        chunks=[text.encode()],
        source_name="",
        actor=ACTOR,
        created_by=None,
    )
    return imports.import_run_map(
        run_id=run.pk,
        format_name=run.format_name,
        mapping=mapping if mapping is not None else run.mapping,
        actor=ACTOR,
    )


# Roles.


def test_the_pages_of_the_area_follow_the_permission_matrix(assert_page_roles, web_source):
    run = an_import("email\nana@example.com\n")
    source = Source.objects.get()

    assert_page_roles(SOURCES, allowed=DATA_ROLES)
    assert_page_roles(reverse("web:source_detail", args=[source.pk]), allowed=DATA_ROLES)
    assert_page_roles(reverse("web:source_new"), allowed=ADMIN_ONLY)
    assert_page_roles(reverse("web:source_revoke", args=[source.pk]), allowed=ADMIN_ONLY)
    assert_page_roles(EVENTS, allowed=DATA_ROLES)
    assert_page_roles(IMPORTS, allowed=DATA_ROLES)
    assert_page_roles(IMPORT_NEW, allowed=DATA_ROLES)
    assert_page_roles(reverse("web:import_detail", args=[run.pk]), allowed=DATA_ROLES)
    assert_page_roles(reverse("web:import_mapping", args=[run.pk]), allowed=DATA_ROLES)


def test_the_forms_of_the_area_follow_the_permission_matrix(assert_page_roles, web_source):
    run = an_import("email\nana@example.com\n")
    source = Source.objects.get()

    assert_page_roles(
        reverse("web:source_new"), allowed=ADMIN_ONLY, method="post", data={"name": ""}
    )
    assert_page_roles(
        reverse("web:source_revoke", args=[source.pk]), allowed=ADMIN_ONLY, method="post"
    )
    assert_page_roles(IMPORT_NEW, allowed=DATA_ROLES, method="post", data={"kind": "customers"})
    assert_page_roles(
        reverse("web:import_mapping", args=[run.pk]),
        allowed=DATA_ROLES,
        method="post",
        data={"format": "generic", "column_0": "email"},
    )
    assert_page_roles(
        reverse("web:import_start", args=[run.pk]),
        allowed=DATA_ROLES,
        method="post",
        data={"mode": "not-a-mode"},
    )


def test_a_viewer_is_refused_the_import_download_and_it_is_audited(signed_in, web_source):
    run = an_import("email\nana@example.com\n")
    client = signed_in("support")

    response = client.get(reverse("web:import_rejected", args=[run.pk]))

    assert response.status_code == 403
    assert AuditEntry.objects.filter(action="permission.denied").count() == 1


# Sources.


def test_the_source_list_shows_each_sources_activity_in_a_fixed_number_of_queries(
    signed_in, django_assert_max_num_queries
):
    client = signed_in("marketer")
    shop = Source.objects.get(pk=source_create(name="Web shop", actor=ACTOR).id)
    app = Source.objects.get(pk=source_create(name="<b>App</b>", actor=ACTOR).id)
    source_create(name="Back office", actor=ACTOR)
    send(shop, *({"type": "track", "event": "Viewed", "userId": f"u{n}"} for n in range(3)))
    send(app, {"type": "track", "event": "Opened", "userId": "u1"})
    Event.objects.filter(source=app).update(received_at=clock.now() - timedelta(days=2))
    source_revoke(source=app, actor=ACTOR)

    with django_assert_max_num_queries(6):
        response = client.get(SOURCES)

    assert response.status_code == 200
    text = response.content.decode()
    assert "&lt;b&gt;App&lt;/b&gt;" in text and "<b>App</b>" not in text
    rows = {row["name"]: row for row in _source_rows(response)}
    assert rows["Web shop"]["events"] == 3
    assert rows["<b>App</b>"]["events"] == 0
    assert rows["<b>App</b>"]["is_revoked"]
    assert rows["Back office"]["last"] is None
    assert "Create source" not in text  # a marketer may not create keys


def _source_rows(response) -> list[dict]:
    return [
        {
            "name": source.name,
            "events": activity.events_last_day,
            "last": activity.last_received_at,
            "is_revoked": source.revoked_at is not None,
        }
        for source, activity in response.context["rows"]
    ]


def test_the_source_list_searches_and_filters(signed_in):
    client = signed_in("admin")
    source_create(name="Web shop", actor=ACTOR)
    revoked = Source.objects.get(pk=source_create(name="Old app", actor=ACTOR).id)
    source_revoke(source=revoked, actor=ACTOR)

    by_name = client.get(SOURCES, {"q": "shop"})
    by_status = client.get(SOURCES, {"status": "revoked"})
    nothing = client.get(SOURCES, {"q": "nothing-like-this"})

    assert [row["name"] for row in _source_rows(by_name)] == ["Web shop"]
    assert [row["name"] for row in _source_rows(by_status)] == ["Old app"]
    assert "No source matches these filters" in nothing.content.decode()
    bad_cursor = client.get(SOURCES, {"cursor": "not-ours"})
    assert bad_cursor.status_code == 200
    assert "cursor is not one this API issued" in bad_cursor.content.decode()
    assert len(bad_cursor.context["rows"]) == 2


def test_creating_a_source_shows_its_key_once_with_snippets_for_this_installation(signed_in):
    client = signed_in("admin")

    response = client.post(reverse("web:source_new"), {"name": "Web shop"})

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    source = Source.objects.get()
    secret = response.context["created"].secret
    snippets = response.context["snippets"]
    text = response.content.decode()
    assert text.count(secret) == 6  # the box, and analytics.js twice, fetch, Python, Node
    assert "apiHost: &#x27;testserver/v1&#x27;" in text
    assert "protocol: &#x27;http&#x27;" in text
    assert f"analytics.write_key = &quot;{secret}&quot;" in text
    assert 'analytics.host = "http://testserver"' in snippets.python
    assert "host: 'http://testserver'" in snippets.node and "path: '/v1/batch'" in snippets.node
    assert f"btoa('{secret}:')" in snippets.browser_fetch
    assert "fetch('http://testserver/v1/batch'" in snippets.browser_fetch
    assert source.write_key_prefix == secret[:8]
    assert secret not in json.dumps(list(AuditEntry.objects.values_list("changes", flat=True)))
    assert AuditEntry.objects.filter(action="source.created").count() == 1

    later = client.get(reverse("web:source_detail", args=[source.pk]))

    assert secret not in later.content.decode()
    assert "analytics.write_key = &quot;&lt;your write key&gt;&quot;" in later.content.decode()


def test_a_source_name_must_be_new_and_not_empty(signed_in, web_source):
    client = signed_in("admin")

    empty = client.post(reverse("web:source_new"), {"name": "   "})
    taken = client.post(reverse("web:source_new"), {"name": "Web shop"})

    assert empty.status_code == taken.status_code == 200
    assert empty.context["form"].errors == {"name": ["This field is required."]}
    assert taken.context["form"].errors == {"name": ["a source named 'Web shop' already exists"]}
    assert Source.objects.count() == 1


def test_revoking_asks_first_then_refuses_the_key(signed_in, web_source):
    client = signed_in("admin")
    source = Source.objects.get()
    url = reverse("web:source_revoke", args=[source.pk])

    confirm = client.get(url)
    source.refresh_from_db()
    assert confirm.status_code == 200 and source.revoked_at is None
    assert "Revoke write key" in confirm.content.decode()

    response = client.post(url)

    assert response.status_code == 302
    assert response["Location"] == reverse("web:source_detail", args=[source.pk])
    source.refresh_from_db()
    assert source.revoked_at is not None
    assert (
        AuditEntry.objects.filter(action="source.revoked", subject_id=str(source.pk)).count() == 1
    )
    page = client.get(response["Location"])
    assert "Revoked" in page.content.decode()


def test_an_unknown_source_is_not_found(signed_in):
    client = signed_in("admin")

    assert client.get(reverse("web:source_detail", args=[999])).status_code == 404
    assert client.post(reverse("web:source_revoke", args=[999])).status_code == 404


# The live event debugger.


def test_the_debugger_shows_the_newest_events_with_their_json_escaped(
    signed_in, web_source, django_assert_max_num_queries
):
    client = signed_in("marketer")
    source = Source.objects.get()
    send(source, {"type": "page", "name": "Home", "anonymousId": "a-1"})
    send(
        source,
        {
            "type": "track",
            "event": "<script>alert(1)</script>",
            "userId": "user-1",
            "properties": {"note": "<img src=x onerror=alert(1)>", "price": 9.5},
            "timestamp": (clock.now() + timedelta(days=3)).isoformat(),
        },
    )
    track = Event.objects.get(type="track")

    with django_assert_max_num_queries(8):
        response = client.get(EVENTS)

    text = response.content.decode()
    assert response.status_code == 200
    assert [row.event.type for row in response.context["rows"]] == ["track", "page"]
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&quot;note&quot;: &quot;&lt;img src=x onerror=alert(1)&gt;&quot;" in text
    assert reverse("web:customer_detail", args=[track.customer_id]) in text
    assert "Clamped: the client's time was more than a day ahead" in text
    assert f'name="after" value="{track.pk}"' in text
    assert 'hx-trigger="every 2s"' in text


def test_the_debugger_costs_the_same_queries_for_many_events(
    signed_in, web_source, django_assert_max_num_queries
):
    client = signed_in("admin")
    source = Source.objects.get()
    send(source, *({"type": "track", "event": "Viewed", "userId": f"u{n}"} for n in range(120)))

    with django_assert_max_num_queries(8):
        response = client.get(EVENTS)

    assert len(response.context["rows"]) == 50


def test_polling_returns_only_what_arrived_after_the_newest_shown(signed_in, web_source):
    client = signed_in("admin")
    source = Source.objects.get()
    send(source, {"type": "track", "event": "First", "userId": "u1"})
    first = Event.objects.get()
    send(source, {"type": "track", "event": "Second", "userId": "u1"})
    send(source, {"type": "page", "name": "Third", "anonymousId": "a"})
    second = Event.objects.get(name="Second")

    response = client.get(EVENTS, {"poll": "1", "after": first.pk}, headers={"HX-Request": "true"})
    filtered = client.get(
        EVENTS, {"poll": "1", "after": first.pk, "type": "page"}, headers={"HX-Request": "true"}
    )
    nothing_new = client.get(
        EVENTS,
        {"poll": "1", "after": Event.objects.latest("pk").pk},
        headers={"HX-Request": "true"},
    )

    text = response.content.decode()
    assert text.index("Third") < text.index("Second")
    assert "First" not in text
    assert 'hx-swap-oob="afterbegin:#event-list"' in text
    assert "<html" not in text
    assert f'name="after" value="{Event.objects.latest("pk").pk}"' in text
    assert "Third" in filtered.content.decode() and "Second" not in filtered.content.decode()
    assert "event-row" not in nothing_new.content.decode()
    assert "hx-swap-oob" not in nothing_new.content.decode()
    assert second.pk > first.pk


def test_pausing_stops_the_poller_and_resuming_starts_it_from_the_same_event(signed_in, web_source):
    client = signed_in("admin")

    paused = client.get(
        EVENTS, {"toggle": "1", "paused": "1", "after": "41"}, headers={"HX-Request": "true"}
    )
    resumed = client.get(EVENTS, {"toggle": "1", "after": "41"}, headers={"HX-Request": "true"})
    full_paused = client.get(EVENTS, {"paused": "1"})

    paused_text, resumed_text = paused.content.decode(), resumed.content.decode()
    assert ">Resume</a>" in paused_text and "every 2s" not in paused_text
    assert 'id="live-poller" hx-swap-oob="true"' in paused_text
    assert 'value="41"' in paused_text
    assert ">Pause</a>" in resumed_text and 'hx-trigger="every 2s"' in resumed_text
    assert 'value="41"' in resumed_text
    assert "every 2s" not in full_paused.content.decode()


def test_the_debugger_filters_events_by_source_and_type(signed_in, web_source):
    client = signed_in("admin")
    shop = Source.objects.get()
    app = Source.objects.get(pk=source_create(name="App", actor=ACTOR).id)
    send(shop, {"type": "track", "event": "Shop view", "userId": "u1"})
    send(app, {"type": "track", "event": "App open", "userId": "u1"})
    send(app, {"type": "page", "name": "App page", "anonymousId": "a"})

    by_source = client.get(EVENTS, {"source": app.pk})
    by_both = client.get(EVENTS, {"source": app.pk, "type": "track"})
    none = client.get(EVENTS, {"source": shop.pk, "type": "alias"})
    bad = client.get(EVENTS, {"source": "not-a-number", "type": "nope"})

    assert [row.event.name for row in by_source.context["rows"]] == ["App page", "App open"]
    assert [row.event.name for row in by_both.context["rows"]] == ["App open"]
    assert "No events of this kind yet" in none.content.decode()
    assert bad.status_code == 200
    assert bad.context["form"].errors.keys() == {"source", "type"}


def test_warnings_are_listed_with_their_code_explained_and_filtered(signed_in, web_source):
    client = signed_in("admin")
    source = Source.objects.get()
    send(
        source,
        {"type": "track", "userId": "u1"},
        {"type": "track", "event": "<b>x</b>"},
        {"type": "identify", "userId": "u2", "traits": {"email": "not-an-email"}},
    )

    everything = client.get(EVENTS)
    by_code = client.get(EVENTS, {"code": "missing_identity", "warning_source": source.pk})

    codes = [warning.code for warning, _ in everything.context["warning_rows"]]
    assert sorted(codes) == ["invalid_trait", "missing_event_name", "missing_identity"]
    text = everything.content.decode()
    assert "A track call needs the name of what happened." not in text  # worded differently
    assert "The message was dropped: a track call needs the name of what happened." in text
    assert "Give the track call its event" in text
    assert [warning.code for warning, _ in by_code.context["warning_rows"]] == ["missing_identity"]
    assert IngestionWarning.objects.count() == 3


def test_an_empty_debugger_says_how_to_send_the_first_event(signed_in):
    response = signed_in("admin").get(EVENTS)

    text = response.content.decode()
    assert "Waiting for the first event" in text
    assert "No ingestion warnings" in text


# CSV import.


def upload(client, text: str | bytes, *, kind: str = "customers", **extra):
    return client.post(IMPORT_NEW, {"kind": kind, "file": csv_file(text), **extra})


def test_an_upload_leads_to_the_mapping_with_the_columns_recognised(signed_in, media):
    client = signed_in("marketer")
    text = "E-mail,First Name,<script>x</script>\nana@example.com,Ana,1\n"

    response = upload(client, text)

    run = ImportRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("web:import_detail", args=[run.pk])
    assert client.get(response["Location"])["Location"] == reverse(
        "web:import_mapping", args=[run.pk]
    )
    mapping = client.get(reverse("web:import_mapping", args=[run.pk]))
    page = mapping.content.decode()
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>x</script>" not in page
    form = mapping.context["form"]
    assert [form[name].initial for name in ("column_0", "column_1", "column_2")] == [
        "",
        "first_name",
        "",
    ]
    assert (media / "imports" / f"{run.token}.csv").read_text() == text
    assert run.created_by is not None and run.created_by.role == "marketer"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (b"", "file", "The submitted file is empty."),
        (
            b"email,first_name\n",
            "file",
            "the file has a header but no rows: there is nothing to import",
        ),
        (
            "email,name\na@example.com,Zo\xe9\n".encode("latin-1"),
            "file",
            "the file is not UTF-8 text: row 2 holds the byte 0xE9; save it as 'CSV UTF-8' and "
            "upload it again",
        ),
        (
            b"sku,name,price\nSKU-1,Serum,9.50\n",
            "kind",
            "0 of the 3 columns are customers columns but 3 are products columns: choose "
            "Products, or check the file",
        ),
    ],
    ids=["empty", "header-only", "latin-1", "wrong-kind"],
)
def test_a_bad_upload_is_refused_next_to_its_field(signed_in, media, data, field, message):
    client = signed_in("admin")

    response = upload(client, data)

    assert response.status_code == 200
    assert response.context["form"].errors == {field: [message]}
    assert ImportRun.objects.count() == 0
    assert not (media / "imports").exists() or list((media / "imports").iterdir()) == []


def test_an_upload_without_a_kind_or_a_file_is_refused_next_to_the_fields(signed_in):
    response = signed_in("admin").post(IMPORT_NEW, {"kind": "refunds"})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"kind", "file"}


def test_the_mapping_shows_each_problem_next_to_its_column(signed_in):
    client = signed_in("admin")
    run = imports.import_upload(
        kind="customers",
        file_name="x.csv",
        chunks=[b"Mail,Other,Name\na@example.com,b@example.com,Ana\n"],
        source_name="",
        actor=ACTOR,
        created_by=None,
    )
    url = reverse("web:import_mapping", args=[run.pk])

    twice = client.post(
        url, {"format": "generic", "column_0": "email", "column_1": "email", "column_2": ""}
    )
    keyless = client.post(url, {"format": "generic", "column_2": "first_name"})
    bad_choice = client.post(url, {"format": "generic", "column_0": "password"})

    assert twice.context["form"].errors == {
        "column_1": ["column A (Mail) already gives email; ignore one of them"]
    }
    assert keyless.context["form"].errors == {
        "__all__": [
            "map a column to external_id or email or phone: every row of a customers file needs it"
        ]
    }
    assert "column_0" in bad_choice.context["form"].errors
    assert ImportRun.objects.get().status == ImportStatus.UPLOADED


def test_a_shopify_export_can_be_mapped_with_shopifys_names(signed_in):
    client = signed_in("admin")
    upload(client, 'Customer ID,Email,Tags,Accepts Email Marketing\n7,a@example.com,"a, b",yes\n')
    run = ImportRun.objects.get()

    page = client.get(reverse("web:import_mapping", args=[run.pk]))
    generic = client.get(reverse("web:import_mapping", args=[run.pk]), {"format": "generic"})

    assert page.context["format_name"] == "shopify"
    assert page.context["form"]["column_0"].initial == "external_id"
    assert generic.context["form"]["column_0"].initial == ""  # "Customer ID" is Shopify's name
    assert generic.context["form"]["column_1"].initial == "email"  # names match in any case


def _map(client, run: ImportRun, mapping: dict[str, str]):
    return client.post(
        reverse("web:import_mapping", args=[run.pk]), {"format": "generic", **mapping}
    )


def _start(client, run: ImportRun, mode: str, capture):
    with capture(execute=True):
        return client.post(reverse("web:import_start", args=[run.pk]), {"mode": mode})


BAD_FILE = (
    "E-mail,First name,Ignored\n"
    "ana@example.com,Ana,x\n"
    'not-an-email,"=HYPERLINK(""http://evil"")",y\n'
    "ben@example.com,<script>alert(1)</script>,z\n"
)


def test_a_dry_run_lists_the_bad_rows_and_changes_nothing(
    signed_in, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    client = signed_in("marketer")
    upload(client, BAD_FILE)
    run = ImportRun.objects.get()
    _map(client, run, {"column_0": "email", "column_1": "first_name"})

    response = _start(client, run, ImportMode.DRY_RUN, django_capture_on_commit_callbacks)
    with django_assert_max_num_queries(8):
        page = client.get(reverse("web:import_detail", args=[run.pk]))

    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == ImportStatus.CHECKED
    text = page.content.decode()
    assert "Checked: 1 bad row" in text
    assert [(p.row, p.column) for p in page.context["page"].items] == [(3, "E-mail")]
    assert "not-an-email" in text
    assert Customer.objects.count() == 0
    assert not AuditEntry.objects.filter(action="import.started").exists()


def test_an_all_or_nothing_import_with_a_bad_row_writes_nothing(
    signed_in, django_capture_on_commit_callbacks
):
    client = signed_in("admin")
    upload(client, BAD_FILE)
    run = ImportRun.objects.get()
    _map(client, run, {"column_0": "email", "column_1": "first_name"})

    _start(client, run, ImportMode.ALL_OR_NOTHING, django_capture_on_commit_callbacks)
    page = client.get(reverse("web:import_detail", args=[run.pk]))

    assert "Nothing imported: 1 bad row" in page.content.decode()
    assert Customer.objects.count() == 0
    started = AuditEntry.objects.get(action="import.started")
    finished = AuditEntry.objects.get(action="import.finished")
    assert started.actor_label == finished.actor_label == "admin-user"
    assert finished.changes["status"] == "not_imported"


def test_skipping_bad_rows_imports_the_rest_and_offers_the_rejected_rows_safely(
    signed_in, django_capture_on_commit_callbacks
):
    client = signed_in("admin")
    upload(client, BAD_FILE)
    run = ImportRun.objects.get()
    _map(client, run, {"column_0": "email", "column_1": "first_name"})

    _start(client, run, ImportMode.SKIP_BAD_ROWS, django_capture_on_commit_callbacks)
    page = client.get(reverse("web:import_detail", args=[run.pk]))
    download = client.get(reverse("web:import_rejected", args=[run.pk]))

    text = page.content.decode()
    assert page.context["run"].created_count == 2
    assert "Download the 1 rejected row (CSV)" in text
    assert "<script>alert(1)</script>" not in text
    assert sorted(Customer.objects.values_list("first_name", flat=True)) == [
        "<script>alert(1)</script>",
        "Ana",
    ]
    assert download.status_code == 200
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert download["Content-Disposition"] == 'attachment; filename="people.rejected.csv"'
    body = b"".join(download.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
    assert rows[0] == ["E-mail", "First name", "Ignored", "_row", "_error"]
    assert rows[1][:4] == ["not-an-email", '\'=HYPERLINK("http://evil")', "y", "3"]
    assert rows[1][4].startswith("email: ")
    # The import's own audit entries are by the person who ran it.
    assert Customer.objects.count() == 2
    assert set(
        AuditEntry.objects.filter(action="customer.created").values_list("actor_label", flat=True)
    ) == {"admin-user"}


def test_importing_the_same_file_again_reports_everything_unchanged(
    signed_in, django_capture_on_commit_callbacks
):
    client = signed_in("admin")
    text = "email,first_name\nana@example.com,Ana\nben@example.com,Ben\n"
    for _ in range(2):
        upload(client, text)
        run = ImportRun.objects.latest("pk")
        _map(client, run, {"column_0": "email", "column_1": "first_name"})
        _start(client, run, ImportMode.ALL_OR_NOTHING, django_capture_on_commit_callbacks)

    page = client.get(reverse("web:import_detail", args=[run.pk]))
    listing = client.get(IMPORTS)

    assert (page.context["run"].created_count, page.context["run"].unchanged_count) == (0, 2)
    assert [run.status for run in listing.context["page"].items] == ["imported", "imported"]
    assert Customer.objects.count() == 2


def test_a_run_cannot_start_twice(signed_in, django_capture_on_commit_callbacks):
    client = signed_in("admin")
    run = an_import("email\nana@example.com\n")
    _start(client, run, ImportMode.ALL_OR_NOTHING, django_capture_on_commit_callbacks)

    again = client.post(
        reverse("web:import_start", args=[run.pk]), {"mode": "all_or_nothing"}, follow=True
    )

    assert "it cannot start now" in again.content.decode()
    assert Customer.objects.count() == 1
    assert AuditEntry.objects.filter(action="import.started").count() == 1


def test_a_running_import_shows_its_progress_and_polls_every_second(signed_in, media):
    client = signed_in("admin")
    run = an_import("email\nana@example.com\n")
    ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.RUNNING)
    imports.import_progress_path(run).write_text(
        json.dumps({"phase": "Importing rows", "done": 3000, "total": 12000})
    )

    page = client.get(reverse("web:import_detail", args=[run.pk]))
    poll = client.get(
        reverse("web:import_detail", args=[run.pk]), {"poll": "1"}, headers={"HX-Request": "true"}
    )
    ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.IMPORTED)
    done = client.get(
        reverse("web:import_detail", args=[run.pk]), {"poll": "1"}, headers={"HX-Request": "true"}
    )

    text = page.content.decode()
    assert 'hx-trigger="every 1s"' in text
    assert "Importing rows: 3,000 of 12,000 rows" in text
    assert '<progress class="import-progress" max="100" value="25"' in text
    assert poll.content.decode().lstrip().startswith('<section class="panel" id="import-progress"')
    assert done["HX-Refresh"] == "true"


def test_many_bad_rows_are_paginated(signed_in, django_capture_on_commit_callbacks):
    client = signed_in("admin")
    rows = "".join(f"bad-{number},x\n" for number in range(120))
    run = an_import("email,first_name\n" + rows)
    _start(client, run, ImportMode.DRY_RUN, django_capture_on_commit_callbacks)

    first = client.get(reverse("web:import_detail", args=[run.pk]))
    second = client.get(
        reverse("web:import_detail", args=[run.pk]), {"cursor": first.context["page"].next_cursor}
    )
    third = client.get(
        reverse("web:import_detail", args=[run.pk]), {"cursor": second.context["page"].next_cursor}
    )

    pages = [first, second, third]
    assert [len(page.context["page"].items) for page in pages] == [50, 50, 20]
    assert [page.context["page"].items[0].row for page in pages] == [2, 52, 102]
    assert third.context["page"].next_cursor is None
    assert ImportProblem.objects.count() == 120


def test_the_import_list_filters_and_searches(signed_in):
    client = signed_in("admin")
    an_import("email\nana@example.com\n")
    imports.import_upload(
        kind="products",
        file_name="catalogue.csv",
        chunks=[b"sku,name\nS-1,Serum\n"],
        source_name="",
        actor=ACTOR,
        created_by=None,
    )

    by_kind = client.get(IMPORTS, {"kind": "products"})
    by_name = client.get(IMPORTS, {"q": "people"})
    by_status = client.get(IMPORTS, {"status": "uploaded"})
    none = client.get(IMPORTS, {"q": "nothing"})
    partial = client.get(IMPORTS, {"kind": "products"}, headers={"HX-Request": "true"})

    assert [run.file_name for run in by_kind.context["page"].items] == ["catalogue.csv"]
    assert [run.file_name for run in by_name.context["page"].items] == ["people.csv"]
    assert [run.file_name for run in by_status.context["page"].items] == ["catalogue.csv"]
    assert "No import matches these filters" in none.content.decode()
    assert partial.content.decode().lstrip().startswith('<div id="results">')


def test_an_empty_import_list_explains_what_to_do(signed_in):
    text = signed_in("marketer").get(IMPORTS).content.decode()

    assert "No imports yet" in text
    assert 'enctype="multipart/form-data"' in text


def test_a_rejected_rows_download_without_rejected_rows_is_not_found(signed_in):
    run = an_import("email\nana@example.com\n")

    response = signed_in("admin").get(reverse("web:import_rejected", args=[run.pk]))

    assert response.status_code == 404
