"""The customer list in headless Chromium: search, filter, sort, export and bulk tagging."""

# The shared Chromium fixtures are imported, then named as test parameters.
# ruff: noqa: F811

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from patron.core.actors import Actor
from patron.customers.models import Customer
from patron.customers.services.profile import customer_create
from patron.customers.services.tags import customer_tags_add
from patron.web.tests.test_browser import (  # noqa: F401 - fixtures
    admin_password,
    browser,
    sign_in,
)

ACTOR = Actor.system("tests")
TODAY = datetime(2026, 11, 20, 12, tzinfo=UTC)
SHOTS = Path("/tmp/customer_list/shots")  # noqa: S108 - where the task asks for screenshots


@pytest.fixture
def shop(transactional_db) -> None:
    # Written before the browser starts: Playwright's sync API runs an event loop in this
    # thread, and Django refuses database calls while one runs.
    people = [
        ("Ana", "Silva", "ana.silva@example.com", "PT", "active", 5, "412.50", 3),
        ("Bruno", "Costa", "bruno@example.org", "PT", "new", 1, "39.90", 40),
        ("Chen", "Li", "chen.li@example.net", "FR", "at_risk", 2, "120.00", 150),
        ('=HYPERLINK("http://evil")', "Formula", "eve@example.com", "DE", "lapsed", 1, "9.99", 400),
        ("Dora", "Weiss", "dora@example.de", "DE", "lead", 0, "0", None),
    ]
    for first, last, email, country, stage, count, spent, days_ago in people:
        customer = customer_create(
            actor=ACTOR,
            fields={
                "first_name": first,
                "last_name": last,
                "email": email,
                "country": country,
                "lifecycle_stage": stage,
            },
        )
        last_order = None if days_ago is None else TODAY - timedelta(days=days_ago)
        Customer.objects.filter(pk=customer.pk).update(
            order_count=count,
            total_spent=Decimal(spent),
            first_order_at=last_order,
            last_order_at=last_order,
        )
    customer_tags_add(
        customer=Customer.objects.get(first_name="Ana"), names=["newsletter"], actor=ACTOR
    )


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    opened = browser.new_page(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    yield opened
    opened.close()


def names(page: Page) -> list[str]:
    return page.locator("#customer-results tbody tr td:nth-child(2)").all_inner_texts()


def test_search_filter_sort_export_and_bulk_tag(live_server, admin_password, shop, page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, live_server.url, admin_password)
    page.goto(f"{live_server.url}/customers/")
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    expect(page.locator(".match-count")).to_have_text("5 customers")
    page.screenshot(path=str(SHOTS / "customers-1366.png"), full_page=True)

    # Search by name: the results swap in as you type and the address follows.
    page.get_by_label("Search").fill("silv")
    expect(page.locator(".match-count")).to_have_text("1 matching customer")
    expect(page.locator("#customer-results tbody td:nth-child(2)")).to_have_text(["Ana Silva"])
    expect(page).to_have_url(f"{live_server.url}/customers/?q=silv&sort=name")

    # Search by email.
    page.get_by_label("Search").fill("chen.li@")
    expect(page.locator("#customer-results tbody td:nth-child(2)")).to_have_text(["Chen Li"])

    # Filter by country, then sort by total spent.
    page.get_by_label("Search").fill("")
    expect(page.locator(".match-count")).to_have_text("5 customers")
    page.get_by_label("Country").fill("pt")
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page.locator(".match-count")).to_have_text("2 matching customers")
    page.get_by_role("link", name="Total spent").click()
    expect(page.locator("th[aria-sort='descending']")).to_contain_text("Total spent")
    assert names(page) == ["Ana Silva", "Bruno Costa"]
    page.get_by_role("link", name="Total spent").click()
    expect(page.locator("th[aria-sort='ascending']")).to_contain_text("Total spent")
    assert names(page) == ["Bruno Costa", "Ana Silva"]

    # Export of the whole list: the formula typed into a name arrives as text.
    page.get_by_label("Country").fill("")
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page.locator(".match-count")).to_have_text("5 customers")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename == "customers.csv"
    with open(download.path(), encoding="utf-8", newline="") as exported:
        rows = list(csv.DictReader(exported))
    assert len(rows) == 5
    assert {row["first_name"] for row in rows} >= {"Ana", '\'=HYPERLINK("http://evil")'}

    # Bulk tag two customers.
    page.get_by_label("Select Ana Silva").check()
    page.get_by_label("Select Bruno Costa").check()
    page.get_by_text("Tag customers", exact=True).click()
    page.get_by_label("Tag to add or remove").fill("VIP")
    page.get_by_role("button", name="Apply to customers").click()
    expect(page.get_by_role("status")).to_contain_text("Tag “VIP” added to 2 customers.")
    expect(page.locator("tbody tr", has_text="Ana Silva").locator(".tags")).to_contain_text("VIP")
    expect(page.locator("tbody tr", has_text="Bruno Costa").locator(".tags")).to_have_text("VIP")

    page.get_by_text("Tag customers", exact=True).click()
    page.get_by_label("Select Chen Li").check()
    page.screenshot(path=str(SHOTS / "customers-bulk-tag-1366.png"))
    page.get_by_text("Tag customers", exact=True).click()
    page.set_viewport_size({"width": 1024, "height": 768})
    page.screenshot(path=str(SHOTS / "customers-1024.png"), full_page=True)


def test_a_bad_filter_shows_its_error_next_to_it(live_server, admin_password, shop, page):
    sign_in(page, live_server.url, admin_password)
    page.goto(f"{live_server.url}/customers/?orders_min=abc&last_order_from=yesterday")

    expect(page.locator("#error-orders_min")).to_have_text("Enter a whole number.")
    expect(page.locator("#error-last_order_from")).to_have_text("Enter a date as YYYY-MM-DD.")
    expect(page.locator(".match-count")).to_have_text("5 customers")
    page.screenshot(path=str(SHOTS / "customers-bad-filter.png"), full_page=True)
