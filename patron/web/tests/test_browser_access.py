"""Access pages in headless Chromium: sign-in, refusal, API key secret shown once, throttling."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from conftest import STAFF_PASSWORD
from patron.accounts.services.audit import audit_record
from patron.accounts.services.logins import FAILURES_PER_USERNAME, login_failed_record
from patron.core.actors import Actor
from patron.web.tests.test_browser import browser  # noqa: F401 - the shared Chromium fixture


def _shot(page: Page, name: str) -> None:
    # Kept in the data directory for people to look at; the suite only checks they are written.
    shots = Path(settings.DATA_DIR) / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def _new_page(browser) -> Page:  # noqa: F811
    return browser.new_page(viewport={"width": 1366, "height": 900})


def _sign_in(page: Page, base_url: str, username: str, path: str = "/settings/staff/") -> None:
    page.goto(f"{base_url}{path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def staff(transactional_db, make_staff) -> None:
    # Written before the browser starts: Django refuses database calls inside Playwright's loop.
    make_staff("admin", username="alice")
    make_staff("viewer", username="victor")
    make_staff("support", username="sam")
    marketer = make_staff("marketer", username="mia")
    marketer.first_name, marketer.last_name = "Mia", "<b>Moreau</b>"
    marketer.save()
    actor = Actor.system("tests")
    audit_record(
        actor=actor,
        action="customer.updated",
        subject_type="customer",
        subject_id=1,
        changes={"first_name": ["Ana", "Anna"], "city": [None, "Lyon"]},
    )
    login_failed_record(username="alice", address="10.0.0.9")


def test_admin_signs_in_and_manages_staff(live_server, staff, browser):  # noqa: F811
    page = _new_page(browser)
    page.goto(f"{live_server.url}/login/")
    _shot(page, "login")

    _sign_in(page, live_server.url, "alice")

    expect(page.get_by_role("heading", name="Staff", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="mia")).to_be_visible()
    expect(page.get_by_text("<b>Moreau</b>")).to_be_visible()
    _shot(page, "staff")
    page.get_by_role("link", name="mia").click()
    page.get_by_label("Role").select_option("sales")
    page.get_by_role("button", name="Change role").click()
    expect(page.get_by_text("mia is now Sales.")).to_be_visible()
    _shot(page, "staff_detail")
    page.goto(f"{live_server.url}/settings/audit/")
    expect(page.locator("td", has_text="role: marketer → sales")).to_be_visible()
    _shot(page, "audit_log")


def test_viewer_is_refused_the_staff_page(live_server, staff, browser):  # noqa: F811
    page = _new_page(browser)

    _sign_in(page, live_server.url, "victor")

    expect(page.get_by_role("heading", name="You cannot open this page")).to_be_visible()
    expect(
        page.get_by_text("Your role does not allow this: invite staff, change roles, deactivate.")
    ).to_be_visible()
    expect(page.get_by_text("ask an admin of this workspace: alice")).to_be_visible()
    _shot(page, "403")
    page.goto(f"{live_server.url}/no-such-page/")
    expect(page.get_by_role("heading", name="There is nothing here")).to_be_visible()
    _shot(page, "404")


def test_admin_creates_an_api_key_and_sees_the_secret_once(live_server, staff, browser):  # noqa: F811
    page = _new_page(browser)
    _sign_in(page, live_server.url, "alice", path="/settings/api-keys/")
    _shot(page, "api_keys_empty")

    page.get_by_role("link", name="Create API key").first.click()
    page.get_by_label("Name").fill("Shop sync")
    page.get_by_label("Read customers, identities and companies").check()
    page.get_by_label("Read orders").check()
    _shot(page, "api_key_new")
    page.get_by_role("button", name="Create key").click()

    secret = page.locator(".secret code").inner_text()
    assert secret.startswith("ptk_")
    expect(page.get_by_text("It will not be shown again")).to_be_visible()
    _shot(page, "api_key_created")
    page.get_by_role("link", name="Done, I copied it").click()
    expect(page.get_by_role("cell", name="Shop sync", exact=True)).to_be_visible()
    assert secret not in page.content()
    _shot(page, "api_keys")


def test_sign_in_is_refused_after_too_many_failures(live_server, staff, browser):  # noqa: F811
    page = _new_page(browser)
    for _ in range(FAILURES_PER_USERNAME):
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill("sam")
        page.get_by_label("Password").fill("a-wrong-guess-123")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("correct username and password")

    _sign_in(page, live_server.url, "sam")

    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins. Try again after")
    expect(page.get_by_role("heading", name="Sign in to Patron")).to_be_visible()
    _shot(page, "login_throttled")
