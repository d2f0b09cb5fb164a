"""Finding two duplicates, previewing and merging them in headless Chromium, as staff would."""

# The shared Chromium fixtures are imported, then named as test parameters.
# ruff: noqa: F811

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from patron.core.actors import Actor
from patron.customers.services.companies import company_contact_add, company_upsert
from patron.customers.services.profile import customer_create
from patron.web.tests.test_browser import (  # noqa: F401 - fixtures
    admin_password,
    browser,
    sign_in,
)


@pytest.fixture
def twins(transactional_db) -> tuple[int, int]:
    # Written before the browser starts (see test_browser.one_customer).
    actor = Actor.system("tests")
    ana = customer_create(
        actor=actor,
        fields={"first_name": "Ana", "last_name": "Silva", "email": "ana.silva@gmail.com"},
    )
    anna = customer_create(
        actor=actor,
        fields={
            "first_name": "Anna",
            "last_name": "Silva",
            "email": "ana.silva+shop@example.com",
            "city": "Lisbon",
        },
    )
    company, _ = company_upsert(actor=actor, fields={"name": "Acme", "domain": "acme.example"})
    company_contact_add(company=company, customer=anna, actor=actor, title="Buyer")
    return ana.pk, anna.pk


def test_find_preview_and_merge_two_duplicates(
    live_server, admin_password, twins, browser, tmp_path
):
    ana_id, anna_id = twins
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    sign_in(page, live_server.url, admin_password)

    page.get_by_role("link", name="Duplicates").click()
    page.get_by_role("link", name="Similar names").click()
    row = page.locator(f"#pair-{ana_id}-{anna_id}")
    expect(row).to_contain_text("names 95% alike: Ana Silva / Anna Silva")
    page.screenshot(path=str(tmp_path / "duplicates.png"))

    row.get_by_role("link", name="Preview merge").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Merge Anna Silva into Ana Silva")
    moves = page.locator("table", has_text="Company contacts")
    expect(moves.locator("tr", has_text="Company contacts").locator("td.number")).to_have_text("1")
    survivor = page.locator("section", has=page.get_by_role("heading", name=f"#{ana_id} survives"))
    expect(survivor.locator("dd", has_text="Lisbon")).to_contain_text(f"taken from #{anna_id}")
    page.screenshot(path=str(tmp_path / "preview.png"), full_page=True)

    page.get_by_role("button", name=f"Merge #{anna_id} into #{ana_id}").click()

    expect(page).to_have_url(re.compile(rf"/customers/{ana_id}/$"))
    expect(page.get_by_role("status")).to_contain_text(
        f"Merged customer #{anna_id} into Ana Silva."
    )


def test_swapping_the_survivor_keeps_the_newer_record(live_server, admin_password, twins, browser):
    ana_id, anna_id = twins
    page = browser.new_page()
    sign_in(page, live_server.url, admin_password)
    page.goto(f"{live_server.url}/customers/merge/{anna_id}/into/{ana_id}/")

    page.get_by_role("link", name=f"Keep #{anna_id} instead").click()
    page.get_by_role("button", name=f"Merge #{ana_id} into #{anna_id}").click()

    expect(page).to_have_url(re.compile(rf"/customers/{anna_id}/$"))


def test_not_a_duplicate_removes_the_row_in_place(live_server, admin_password, twins, browser):
    ana_id, anna_id = twins
    page = browser.new_page()
    sign_in(page, live_server.url, admin_password)
    page.goto(f"{live_server.url}/customers/duplicates/?match=name")

    page.locator(f"#pair-{ana_id}-{anna_id}").get_by_role("button", name="Not a duplicate").click()

    expect(page.locator(f"#pair-{ana_id}-{anna_id}")).to_have_count(0)
    page.reload()
    expect(page.get_by_text("No likely duplicates found")).to_be_visible()
