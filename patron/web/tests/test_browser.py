"""The workspace in headless Chromium (Debian's package) driven by Playwright, as people use it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from patron.accounts.services.users import admin_ensure
from patron.core.actors import Actor
from patron.customers.services.profile import customer_create

# Flags that keep Chromium from reaching for the network, which this machine does not have.
CHROMIUM_ARGUMENTS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser(live_server) -> Iterator[Browser]:
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is required: `make test` installs it"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGUMENTS)
        yield launched
        launched.close()


@pytest.fixture
def admin_password(transactional_db) -> str:
    credentials = admin_ensure(
        username="admin", email="admin@example.com", actor=Actor.system("tests")
    )
    assert credentials.password
    return credentials.password


def sign_in(page: Page, base_url: str, password: str) -> None:
    page.goto(f"{base_url}/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def one_customer(transactional_db) -> None:
    # Data is written before the browser starts: Playwright's sync API runs an event loop in
    # this thread, and Django refuses database calls while one is running.
    customer_create(actor=Actor.system("tests"), fields={"first_name": "<b>Ana</b>"})


def test_sign_in_shows_the_counts(live_server, admin_password, one_customer, browser, tmp_path):
    page = browser.new_page()

    sign_in(page, live_server.url, admin_password)

    expect(page.get_by_role("heading", name="Your data")).to_be_visible()
    expect(page.locator(".figures div", has_text="Customers").locator("dd")).to_have_text("1")
    page.screenshot(path=str(tmp_path / "home.png"))


def test_wrong_password_is_refused_with_a_message(live_server, admin_password, browser):
    page = browser.new_page()

    sign_in(page, live_server.url, admin_password + "wrong")

    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page.get_by_role("heading", name="Your data")).to_have_count(0)
