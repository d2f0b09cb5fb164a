"""The orders and products pages in headless Chromium: filter, open an order, open its product."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, expect

from patron.accounts.models import Source
from patron.accounts.services.keys import source_create
from patron.catalog.services.products import product_clean, product_upsert
from patron.core.actors import Actor
from patron.customers.services.profile import customer_create
from patron.orders.services.orders import order_clean, order_record
from patron.web.tests import test_browser

# The shared Chromium and admin fixtures, found by pytest under these names.
browser = test_browser.browser
admin_password = test_browser.admin_password

SYSTEM = Actor.system("tests")
START = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def shop(transactional_db) -> None:
    """Two customers and a dozen orders, written before the browser starts."""
    source = Source.objects.get(pk=source_create(name="Web shop", actor=SYSTEM).id)
    product_upsert(
        sku="SERUM-30",
        fields=product_clean(
            {
                "name": "Vitamin C serum",
                "brand": "Lumen",
                "category": "Skincare > Serums",
                "price": "29.00",
                "currency": "EUR",
                "stock_status": "in_stock",
                "supply_days": 45,
                "image_url": "https://cdn.example.com/serum.jpg",
            }
        ),
        actor=SYSTEM,
    )
    ana = customer_create(actor=SYSTEM, fields={"email": "ana@example.com", "first_name": "Ana"})
    bo = customer_create(actor=SYSTEM, fields={"email": "bo@example.com", "first_name": "Bo"})
    for number in range(12):
        raw = {
            "external_id": f"10{number:02d}",
            "currency": "EUR",
            "placed_at": (START + timedelta(days=number * 7)).isoformat(),
            "lines": [
                {"sku": "SERUM-30", "quantity": 1 + number % 2, "unit_price": "29.00"},
                {"sku": "SPF-50", "name": "Sun fluid SPF 50", "quantity": 1, "unit_price": "19.50"},
            ],
        }
        order_record(
            source=source,
            customer=ana if number % 3 else bo,
            order=order_clean(raw),
            actor=SYSTEM,
        )


def test_filter_the_orders_open_one_and_open_its_product(
    live_server,
    admin_password,
    shop,
    browser: Browser,
    tmp_path,
):
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    test_browser.sign_in(page, live_server.url, admin_password)

    page.goto(f"{live_server.url}/orders/")
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
    expect(page.get_by_role("table", name="Orders").locator("tbody tr")).to_have_count(12)

    page.get_by_label("Search").fill("bo@example.com")
    page.get_by_role("button", name="Filter").click()
    rows = page.get_by_role("table", name="Orders").locator("tbody tr")
    expect(rows).to_have_count(4)
    expect(page).to_have_url(re.compile(r"/orders/\?q=bo%40example\.com&"))
    page.get_by_label("Total from").fill("100")
    page.get_by_label("Total to").fill("10")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("alert")).to_have_text("must not be below the minimum")
    expect(page.get_by_role("table", name="Orders")).to_have_count(0)

    page.get_by_label("Total from").fill("")
    page.get_by_label("Total to").fill("")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name="1009", exact=True).click()

    expect(page.get_by_role("heading", name="Order 1009")).to_be_visible()
    lines = page.get_by_role("table", name="Order lines").locator("tbody tr")
    expect(lines).to_have_count(2)
    expect(page.get_by_role("link", name="Refund…")).to_be_visible()
    page.screenshot(path=str(tmp_path / "order.png"), full_page=True)

    page.get_by_role("link", name="Vitamin C serum").click()

    expect(page.get_by_role("heading", name="Vitamin C serum")).to_be_visible()
    expect(page.locator("#product-sales dt:text-is('Orders') + dd")).to_have_text("12")
    expect(page.locator("#product-sales dt:text-is('Buyers') + dd")).to_have_text("2")
    expect(page.get_by_role("link", name="https://cdn.example.com/serum.jpg")).to_be_visible()
    expect(page.locator("img")).to_have_count(0)
    page.screenshot(path=str(tmp_path / "product.png"), full_page=True)
