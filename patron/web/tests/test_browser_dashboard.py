"""The dashboard in headless Chromium: a demo shop's figures, the period picker, table views."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, ViewportSize, expect

from patron.demo.services import demo_data_load
from patron.web.tests.test_browser import admin_password, browser, sign_in  # noqa: F401

SIZES: dict[str, ViewportSize] = {
    "laptop": {"width": 1366, "height": 900},
    "tablet": {"width": 1024, "height": 768},
}


@pytest.fixture
def demo_shop(transactional_db) -> None:
    # Written before the browser starts (see test_browser.py); the load refreshes the rollups.
    demo_data_load(customers=2000, seed=7)


@pytest.mark.parametrize("size", SIZES)
def test_dashboard_of_a_demo_shop(
    live_server,
    admin_password,  # noqa: F811
    demo_shop,
    browser: Browser,  # noqa: F811
    tmp_path,
    size,
):
    page = browser.new_page(viewport=SIZES[size])
    sign_in(page, live_server.url, admin_password)

    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    orders = page.locator(".kpis div").filter(has=page.get_by_text("Orders", exact=True))
    expect(orders.locator("dd")).to_have_text(re.compile(r"^[1-9][0-9,]*$"))
    expect(page.get_by_role("img", name="Revenue net of refunds per day")).to_be_visible()
    expect(page.locator(".figures div", has_text="Customers").locator("dd")).to_have_text("2,000")
    page.screenshot(path=str(tmp_path / f"dashboard-{size}.png"), full_page=True)

    page.get_by_role("link", name="Last 365 days").click()

    expect(page.get_by_role("link", name="Last 365 days")).to_have_attribute("aria-current", "true")
    expect(page.get_by_role("img", name="Revenue net of refunds per week")).to_be_visible()
    assert page.url.endswith("?period=365d")
    page.get_by_text("Revenue, orders and new vs returning customers as a table").click()
    expect(page.locator("details.table-view table").first).to_be_visible()
    page.screenshot(path=str(tmp_path / f"dashboard-year-{size}.png"), full_page=True)


def test_a_backwards_custom_range_is_refused_next_to_the_field(
    live_server,
    admin_password,  # noqa: F811
    demo_shop,
    browser: Browser,  # noqa: F811
):
    page = browser.new_page(viewport=SIZES["laptop"])
    sign_in(page, live_server.url, admin_password)

    page.get_by_label("From", exact=True).fill("2026-05-01")
    page.get_by_label("To", exact=True).fill("2026-03-01")
    page.get_by_role("button", name="Show").click()

    expect(page.get_by_role("alert")).to_have_text(
        "The last day must be on or after the first day."
    )
    expect(page.locator(".kpis")).to_have_count(0)
