"""The customer page in headless Chromium: open it, add a note, fix a profile field inline."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from patron.accounts.models import Source
from patron.accounts.services.keys import actor_for_source
from patron.core.actors import Actor
from patron.customers.models import Customer
from patron.customers.services.profile import customer_create
from patron.orders.services.orders import order_clean, order_record
from patron.web.tests.test_browser import admin_password, browser, sign_in  # noqa: F401

WIDE, NARROW = {"width": 1366, "height": 900}, {"width": 1024, "height": 900}


@pytest.fixture
def ana(transactional_db, web_source) -> Customer:
    # Written before the browser starts (see test_browser.py): Django refuses database calls
    # while Playwright's event loop runs in this thread.
    customer = customer_create(
        actor=Actor.system("tests"),
        fields={"first_name": "Ana", "last_name": "<i>Lima</i>", "email": "ana@example.com"},
    )
    source = Source.objects.get(pk=web_source.id)
    raw = {
        "external_id": "1001",
        "currency": "EUR",
        "placed_at": datetime(2026, 3, 1, 10, tzinfo=UTC).isoformat(),
        "lines": [{"sku": "MOIST-60", "name": "Moisturiser", "quantity": 2, "unit_price": "24"}],
    }
    order_record(
        source=source, customer=customer, order=order_clean(raw), actor=actor_for_source(source)
    )
    return customer


def shots_directory(tmp_path: Path) -> Path:
    # PATRON_SHOTS keeps the pictures for a person to look at; otherwise they go with the test.
    directory = Path(os.environ.get("PATRON_SHOTS", tmp_path))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def test_open_add_a_note_and_fix_a_field_inline(
    live_server,
    admin_password,  # noqa: F811 - the fixture imported above
    ana,
    browser,  # noqa: F811
    tmp_path,
):
    page = browser.new_page(viewport=WIDE)
    sign_in(page, live_server.url, admin_password)

    page.goto(f"{live_server.url}/customers/")
    link = page.get_by_role("link", name="Ana <i>Lima</i>")
    if link.count():  # the list links each row to its 360 once the list page is built
        link.first.click()
    else:
        page.goto(f"{live_server.url}/customers/{ana.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ana <i>Lima</i>")
    expect(page.locator("#panel-purchase_figures")).to_contain_text("48.00")
    expect(page.locator("#panel-products")).to_contain_text("Moisturiser")

    page.locator("#notes").get_by_label("Note").fill("Asked for a <b>sample</b>.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#notes .note-body")).to_have_text("Asked for a <b>sample</b>.")
    expect(page.locator("#timeline .kind-note")).to_contain_text("Asked for a <b>sample</b>.")

    page.locator("#profile").get_by_role("button", name="Edit").or_(
        page.locator("#profile").get_by_role("link", name="Edit")
    ).click()
    email = page.get_by_label("Email", exact=True)
    email.fill("ana@@example")
    page.get_by_role("button", name="Save").click()
    error = page.locator(".field.has-error", has=page.get_by_label("Email", exact=True))
    expect(error.locator(".error")).to_contain_text("is not a valid email address")
    error.scroll_into_view_if_needed()
    page.screenshot(path=str(shots_directory(tmp_path) / "customer-page-error.png"))

    page.get_by_label("Email", exact=True).fill("ana.lima@example.com")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#profile")).to_contain_text("ana.lima@example.com")
    expect(page.locator("#profile form")).to_have_count(0)
    expect(page.locator("#identities")).to_contain_text("ana.lima@example.com")
    expect(page.locator("#timeline .kind-change").first).to_contain_text("Profile changed")
    page.screenshot(path=str(shots_directory(tmp_path) / "customer-page-1366.png"), full_page=True)

    page.set_viewport_size(NARROW)
    page.reload()
    expect(page.locator("#timeline")).to_be_visible()
    page.screenshot(path=str(shots_directory(tmp_path) / "customer-page-1024.png"), full_page=True)
