"""The Data area in headless Chromium: sources, the live debugger fed by the real Segment client,
and a CSV import with bad rows, checked, imported skipping them, and their download."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from segment.analytics import Client
from segment.analytics import request as segment_request

from patron.accounts.models import Source
from patron.accounts.services.keys import CreatedSecret, source_create
from patron.core import clock
from patron.core.actors import Actor
from patron.events.models import ImportMode, ImportRun, ImportStatus
from patron.events.services import imports
from patron.events.services.ingest import batch_ingest
from patron.web.tests.test_browser import admin_password, browser, sign_in  # noqa: F401

LAPTOP: ViewportSize = {"width": 1366, "height": 900}
ACTOR = Actor.system("tests")
# Far beyond what a loopback request needs; only a hung server would ever reach it.
REQUEST_TIMEOUT_SECONDS = 30

BAD_FILE = (
    "E-mail,First name,Last name,Shoe size\n"
    "ana@example.com,Ana,Silva,38\n"
    "not-an-email,<script>alert(1)</script>,Okafor,44\n"
    'ben@example.com,Ben,"=HYPERLINK(""http://evil.example"")",42\n'
    "chloe@example,Chloé,Martin,39\n"
    "dara@example.ie,Dara,Ó Briain,41\n"
)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: PATRON_SCREENSHOT_DIR when set (to look at them), else tmp_path."""
    directory = Path(os.environ.get("PATRON_SCREENSHOT_DIR") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path / "media"


@pytest.fixture(autouse=True)
def _close_kept_alive_connections():
    """The Segment library keeps its connection (and the server thread's database connection)
    alive; closing it lets the test database be dropped at the end."""
    yield
    segment_request._session.close()


def signed_in_page(browser: Browser, base_url: str, password: str) -> Page:  # noqa: F811
    page = browser.new_page(viewport=LAPTOP)
    sign_in(page, base_url, password)
    return page


def test_import_a_file_with_bad_rows_then_skip_them_and_download_them(
    live_server,
    admin_password,  # noqa: F811
    browser: Browser,  # noqa: F811
    tmp_path: Path,
    shots: Path,
):
    upload = tmp_path / "customers from the shop.csv"
    upload.write_text(BAD_FILE, encoding="utf-8")
    page = signed_in_page(browser, live_server.url, admin_password)

    page.get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_text("No imports yet")).to_be_visible()
    page.get_by_label("What the file holds").select_option("customers")
    page.get_by_label("CSV file").set_input_files(str(upload))
    page.get_by_role("button", name="Upload and map columns").click()

    expect(page.get_by_role("heading", name="Map the columns")).to_be_visible()
    expect(page.get_by_label("B: First name")).to_have_value("first_name")
    expect(page.get_by_label("A: E-mail")).to_have_value("")
    page.get_by_role("button", name="Save mapping").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "map a column to Customer ID or Email or Phone"
    )
    page.get_by_label("A: E-mail").select_option("email")
    page.screenshot(path=str(shots / "import-mapping.png"), full_page=True)
    page.get_by_role("button", name="Save mapping").click()

    page.get_by_role("button", name="Check every row (dry run)").click()
    expect(page.get_by_role("heading", name="Checked: 2 bad rows")).to_be_visible()
    problems = page.locator("table.problems tbody tr")
    expect(problems).to_have_count(2)
    expect(problems.nth(0)).to_contain_text("3")
    expect(problems.nth(0)).to_contain_text("E-mail")
    expect(problems.nth(1)).to_contain_text("5")
    page.screenshot(path=str(shots / "import-dry-run.png"), full_page=True)

    page.get_by_role("button", name="Import, skipping bad rows").click()
    expect(page.get_by_role("heading", name="Imported")).to_be_visible()
    expect(page.locator(".kpis div", has_text="Created").locator("dd")).to_have_text("3")
    expect(page.locator(".kpis div", has_text="Bad rows skipped").locator("dd")).to_have_text("2")
    page.screenshot(path=str(shots / "import-result.png"), full_page=True)
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download the 2 rejected rows (CSV)").click()
    download = downloading.value

    assert download.suggested_filename == "customers_from_the_shop.rejected.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text("utf-8-sig"))))
    assert rows[0] == ["E-mail", "First name", "Last name", "Shoe size", "_row", "_error"]
    assert [row[:5] for row in rows[1:]] == [
        ["not-an-email", "<script>alert(1)</script>", "Okafor", "44", "3"],
        ["chloe@example", "Chloé", "Martin", "39", "5"],
    ]
    page.get_by_role("link", name="Import", exact=True).click()
    expect(page.locator("table tbody tr")).to_have_count(1)
    expect(page.locator("table tbody tr")).to_contain_text("Imported")


@pytest.fixture
def running_import(transactional_db) -> ImportRun:
    """An import caught mid-run (its worker's progress file written), for the progress view."""
    run = imports.import_upload(
        kind="customers",
        file_name="customers-2026.csv",
        chunks=[b"email,first_name\nana@example.com,Ana\n"],
        source_name="",
        actor=ACTOR,
        created_by=None,
    )
    imports.import_run_map(
        run_id=run.pk, format_name="generic", mapping=["email", "first_name"], actor=ACTOR
    )
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportStatus.RUNNING, mode=ImportMode.ALL_OR_NOTHING, started_at=clock.now()
    )
    imports._progress_write(imports.import_progress_path(run), "Importing rows", 45_000, 120_000)
    return run


def test_a_running_import_shows_its_progress(
    live_server,
    admin_password,  # noqa: F811
    running_import: ImportRun,
    browser: Browser,  # noqa: F811
    shots: Path,
):
    page = signed_in_page(browser, live_server.url, admin_password)

    page.goto(f"{live_server.url}/data/imports/{running_import.pk}/")

    expect(page.get_by_text("Importing rows: 45,000 of 120,000 rows")).to_be_visible()
    expect(page.locator("progress.import-progress")).to_have_attribute("value", "37")
    page.screenshot(path=str(shots / "import-progress.png"), full_page=True)


@pytest.fixture
def source_with_history(transactional_db, web_source: CreatedSecret) -> CreatedSecret:
    source = Source.objects.get(pk=web_source.id)
    source_create(name="iOS app", actor=ACTOR)
    batch_ingest(
        source=source,
        items=[
            {"type": "page", "name": "Home", "anonymousId": "anon-1"},
            {"type": "track", "userId": "user-1"},
            {"type": "identify", "userId": "user-2", "traits": {"email": "not-an-email"}},
            {"type": "track", "event": "Signed Up", "properties": {"plan": "pro"}},
        ],
        received_at=clock.now(),
    )
    return web_source


def test_an_event_sent_with_the_segment_client_appears_in_the_debugger(
    live_server,
    admin_password,  # noqa: F811
    source_with_history: CreatedSecret,
    browser: Browser,  # noqa: F811
    shots: Path,
):
    page = signed_in_page(browser, live_server.url, admin_password)
    page.get_by_role("link", name="Live events").click()
    expect(page.locator(".event-row")).to_have_count(2)  # the page and the identify
    expect(page.locator("table.warnings tbody tr")).to_have_count(3)
    expect(page.get_by_text("Live: new events appear every 2 s")).to_be_visible()

    client = Client(
        source_with_history.secret,
        host=live_server.url,
        sync_mode=True,
        max_retries=0,
        timeout=REQUEST_TIMEOUT_SECONDS,
    )
    client.track(
        user_id="user-42",
        event="Order Completed",
        properties={"order_id": "1001", "total": 52.9, "currency": "EUR", "note": "<b>hi</b>"},
    )

    newest = page.locator(".event-row").first
    expect(newest).to_contain_text("Order Completed", timeout=10_000)
    expect(page.locator(".event-row")).to_have_count(3)
    newest.locator("summary").click()
    expect(newest.locator("pre").first).to_contain_text('"note": "<b>hi</b>"')
    expect(newest.get_by_role("link", name="Customer")).to_be_visible()
    expect(newest).to_contain_text("analytics-python")
    page.get_by_text("What this means and how to fix it").first.click()
    page.screenshot(path=str(shots / "debugger.png"), full_page=True)

    page.get_by_role("link", name="Pause").click()
    expect(page.get_by_role("link", name="Resume")).to_be_visible()
    client.track(user_id="user-42", event="While paused")
    page.wait_for_timeout(2500)
    expect(page.get_by_text("While paused")).to_have_count(0)
    page.get_by_role("link", name="Resume").click()
    expect(page.locator(".event-row").first).to_contain_text("While paused", timeout=10_000)


def test_create_a_source_and_see_its_key_once_with_snippets(
    live_server,
    admin_password,  # noqa: F811
    browser: Browser,  # noqa: F811
    shots: Path,
):
    page = signed_in_page(browser, live_server.url, admin_password)
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Sources").click()
    expect(page.get_by_text("No sources yet")).to_be_visible()
    page.get_by_role("link", name="Create source").first.click()
    page.get_by_label("Name").fill("Web shop")
    page.get_by_role("button", name="Create source").click()

    key = page.locator("#write-key").inner_text()
    expect(page.locator("pre", has_text="analytics.write_key")).to_contain_text(key)
    expect(page.locator("pre", has_text="analytics.write_key")).to_contain_text(
        f'analytics.host = "{live_server.url}"'
    )
    page.screenshot(path=str(shots / "source-created.png"), full_page=True)
    page.get_by_role("link", name="Done, I copied the key").click()

    expect(page.get_by_role("heading", name="Web shop")).to_be_visible()
    assert key not in page.content()
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Sources").click()
    expect(page.locator("table tbody tr")).to_have_count(1)
    page.screenshot(path=str(shots / "sources.png"), full_page=True)
