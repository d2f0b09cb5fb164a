"""The Insights page and the customer page's predictions panel: roles, empty states, figures,
the due list, refreshes, holdout checks, settings and what the page costs."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from patron.accounts.models import AuditEntry, Role, Source
from patron.core import clock
from patron.core.actors import Actor
from patron.customers.models import Customer
from patron.customers.services.profile import customer_create
from patron.insights.models import HoldoutCheck, InsightRun, InsightSettings, RunStatus
from patron.insights.services import runs
from patron.orders.services.orders import order_clean, order_record
from patron.web.views.insights import value_bins

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
MANAGERS = {Role.ADMIN, Role.MARKETER}  # INSIGHTS_MANAGE
CUSTOMERS = 40  # above the 30 buyers (10 repeat buyers) the fits need
SETTINGS = {
    "reporting_currency": "eur",
    "horizon_days": "180",
    "churn_days": "60",
    "new_days": "20",
    "at_risk_days": "100",
    "lapsed_days": "200",
}


def _has_nan(html: str) -> bool:
    """A number that failed to be one, as Python or JavaScript would print it."""
    return re.search(r"\b(nan|NaN|inf|Infinity)\b", html) is not None


@pytest.fixture
def shop(web_source) -> Source:
    return Source.objects.get(pk=web_source.id)


def _order(shop: Source, customer: Customer, number: int, days_ago: int) -> None:
    raw = {
        "external_id": f"o-{customer.pk}-{number}",
        "currency": "EUR",
        "placed_at": (clock.now() - timedelta(days=days_ago)).isoformat(),
        "lines": [
            {"sku": "TEA-20", "name": "Chamomile tea", "quantity": 1, "unit_price": "8.00"},
            {"sku": f"EXTRA-{number % 3}", "name": f"Extra {number % 3}", "unit_price": "12.50"},
        ],
    }
    order_record(source=shop, customer=customer, order=order_clean(raw), actor=Actor.system("t"))


def _customers_with_orders(shop: Source, count: int, *, first: int = 0) -> list[Customer]:
    """Customers with one to four orders, 40 days apart, the first a year or so ago."""
    actor = Actor.system("tests")
    made = []
    for index in range(first, first + count):
        customer = customer_create(
            actor=actor,
            fields={
                "first_name": f"Buyer{index}",
                "last_name": "Test",
                "email": f"buyer{index}@example.com",
                "timezone": "Europe/Lisbon",
            },
        )
        for number in range(1 + index % 4):
            _order(shop, customer, number, days_ago=400 - index - 40 * number)
        made.append(customer)
    return made


def _refresh() -> InsightRun:
    options = runs.refresh_options()
    run = runs.run_create(options=options, actor=Actor.system("tests"))
    return runs.run_execute(run, options)


@pytest.fixture
def scored_shop(shop) -> list[Customer]:
    customers = _customers_with_orders(shop, CUSTOMERS)
    run = _refresh()
    assert run.status == RunStatus.DONE
    return customers


# --- who may do what -----------------------------------------------------------------------------


def test_every_role_sees_the_page_and_its_regions(assert_page_roles):
    everyone = set(Role.values)

    assert_page_roles("/insights/", allowed=everyone)
    assert_page_roles("/insights/runs/", allowed=everyone)
    assert_page_roles("/insights/holdout/", allowed=everyone)


def test_only_admins_and_marketers_refresh_check_and_change_settings(assert_page_roles):
    assert_page_roles("/insights/refresh/", allowed=MANAGERS, method="post")
    assert_page_roles(
        "/insights/holdout/start/", allowed=MANAGERS, method="post", data={"holdout_days": "30"}
    )
    assert_page_roles("/insights/settings/", allowed=MANAGERS, method="post", data=SETTINGS)

    denied = AuditEntry.objects.filter(
        action="permission.denied", changes__permission="insights.manage"
    )
    assert denied.count() == 3 * (len(Role.values) - len(MANAGERS))
    # The test's transaction never commits, so the first run stays queued and the second
    # manager's refresh is refused; holdout checks do not wait for each other.
    assert InsightRun.objects.count() == 1
    assert HoldoutCheck.objects.count() == 2


def test_the_menu_shows_insights_to_everyone(signed_in):
    html = signed_in("viewer").get("/").content.decode()

    assert '<a href="/insights/"' in html


# --- the page before any refresh -------------------------------------------------------------


def test_an_empty_shop_gets_empty_states_and_no_made_up_numbers(signed_in):
    html = signed_in("viewer").get("/insights/").content.decode()

    assert "Insights have not been computed yet" in html
    assert "No refresh yet" in html
    assert "No holdout check yet" in html
    assert "Nothing in this state right now" in html
    assert "Admins and marketers can start a refresh" in html
    assert "Refresh now" not in html
    assert 'action="/insights/settings/"' not in html
    assert not _has_nan(html)


def test_a_manager_gets_the_refresh_button_and_the_settings_form(signed_in):
    html = signed_in("marketer").get("/insights/").content.decode()

    assert "Refresh now" in html
    assert 'action="/insights/settings/"' in html
    assert 'action="/insights/holdout/start/"' in html


def test_a_refresh_of_an_empty_shop_says_not_enough_data(signed_in):
    _refresh()

    html = signed_in("viewer").get("/insights/").content.decode()

    assert "Insights have not been computed yet" in html  # nobody to score
    assert '<span class="badge good">Done</span>' in html
    assert not _has_nan(html)


# --- the page with figures -------------------------------------------------------------------


def test_the_page_shows_every_figure_of_a_scored_shop(scored_shop, signed_in):
    html = signed_in("viewer").get("/insights/").content.decode()

    assert "<dt>Customers scored</dt><dd>40</dd>" in html
    for heading in (
        "Predicted customer value",
        "Churn risk",
        "RFM grid",
        "RFM groups",
        "Engagement",
        "Replenishment due",
        "Fit diagnostics",
        "BG/NBD (repeat purchases)",
        "Gamma-Gamma (spend per order)",
    ):
        assert heading in html, heading
    for parameter in ("r", "alpha", "a", "b", "p", "q", "gamma"):
        assert f'<th scope="row">{parameter}</th>' in html, parameter
    # The heat map has its 25 cells and the spread adds up to everyone with a prediction.
    assert len(re.findall(r'<rect class="heat"', html)) == 25
    assert not _has_nan(html)


def test_the_due_list_filters_by_state_and_links_each_customer(scored_shop, signed_in):
    client = signed_in("viewer")

    html = client.get("/insights/?state=all", **HTMX).content.decode()

    assert html.lstrip().startswith('<section class="panel" id="due-list"')
    customer_links = re.findall(r'href="/customers/(\d+)/"', html)
    assert customer_links
    assert {int(pk) for pk in customer_links} <= {customer.pk for customer in scored_shop}
    assert "Chamomile tea" in html
    assert "Bought Chamomile tea" in html
    states = set(re.findall(r'<span class="badge [a-z]*">([A-Za-z ]+)</span></td>', html))
    lapsed = client.get("/insights/?state=lapsed", **HTMX).content.decode()
    lapsed_states = set(re.findall(r'<span class="badge [a-z]*">([A-Za-z ]+)</span></td>', lapsed))
    assert lapsed_states <= {"Lapsed"}
    assert states >= lapsed_states


def test_a_state_the_list_does_not_know_is_named_next_to_the_filter(signed_in):
    html = signed_in("viewer").get("/insights/?state=soon", **HTMX).content.decode()

    assert "Select a valid choice. soon is not one of the available choices." in html


def test_the_page_costs_the_same_queries_as_the_shop_grows(
    scored_shop, shop, signed_in, django_assert_num_queries
):
    client = signed_in("viewer")
    client.get("/insights/")  # the session and the settings row exist from here on
    with django_assert_num_queries(PAGE_QUERIES):
        client.get("/insights/?state=all")
    _customers_with_orders(shop, 10, first=CUSTOMERS)
    _refresh()

    with django_assert_num_queries(PAGE_QUERIES):
        response = client.get("/insights/?state=all")

    assert response.status_code == 200
    assert "<dt>Customers scored</dt><dd>50</dd>" in response.content.decode()


# user, 7 summary reads, the last finished run, its fits, settings, the busy run, the refreshes,
# the latest holdout check, one page of the due list (a full page needs no second query).
PAGE_QUERIES = 16


def test_value_bins_are_round_and_put_the_largest_values_in_an_open_last_bar():
    values = [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 45.0] * 10 + [5000.0] * 4

    bins = value_bins(values)

    assert bins[0] == (0.0, 5.0, 10)
    assert bins[-1] == (45.0, None, 14)
    assert sum(count for _, _, count in bins) == len(values)
    assert value_bins([]) == []
    assert value_bins([0.0, 0.0]) == [(0.0, 1.0, 2)]


# --- refreshes -------------------------------------------------------------------------------


def test_refresh_now_queues_a_run_the_worker_runs_after_commit(
    scored_shop, signed_in, django_capture_on_commit_callbacks
):
    client = signed_in("marketer")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post("/insights/refresh/")

    assert response.status_code == 302
    assert response["Location"] == "/insights/#runs"
    assert len(callbacks) == 1
    latest = InsightRun.objects.order_by("-pk").first()
    assert latest is not None and latest.status == RunStatus.DONE
    assert latest.requested_by is not None and latest.requested_by.username == "marketer-user"
    page = client.get("/insights/").content.decode()
    assert "Refresh started" in page


def test_a_second_refresh_while_one_is_queued_is_refused_with_a_message(
    signed_in, django_capture_on_commit_callbacks
):
    client = signed_in("admin")
    with django_capture_on_commit_callbacks(execute=False):
        client.post("/insights/refresh/")

    response = client.post("/insights/refresh/", follow=True)

    html = response.content.decode()
    assert InsightRun.objects.count() == 1
    assert "is still waiting for a worker." in html
    # The refreshes region follows the queued run every 2 seconds.
    assert 'hx-get="/insights/runs/?poll=1" hx-trigger="every 2s"' in html
    assert "Waiting for a worker" in html


def test_the_polled_region_reloads_the_page_once_the_refresh_ends(signed_in):
    client = signed_in("viewer")
    options = runs.refresh_options()
    run = runs.run_create(options=options, actor=Actor.system("tests"))

    busy = client.get("/insights/runs/?poll=1", **HTMX)
    runs.run_execute(run, options)
    finished = client.get("/insights/runs/?poll=1", **HTMX)

    assert busy.content.decode().lstrip().startswith('<section class="panel" id="runs"')
    assert "every 2s" in busy.content.decode()
    assert finished.headers["HX-Refresh"] == "true"


# --- settings --------------------------------------------------------------------------------


def test_saving_the_settings_changes_them_and_audits_who_did(signed_in):
    response = signed_in("admin").post("/insights/settings/", SETTINGS)

    assert response.status_code == 302
    assert response["Location"] == "/insights/#settings"
    settings = InsightSettings.objects.get(pk=1)
    assert (
        settings.reporting_currency,
        settings.horizon_days,
        settings.churn_days,
        settings.new_days,
        settings.at_risk_days,
        settings.lapsed_days,
    ) == ("EUR", 180, 60, 20, 100, 200)
    entry = AuditEntry.objects.get(action="insights.settings_changed")
    assert entry.changes["horizon_days"] == 180
    assert (entry.actor_kind, entry.actor_identifier) == ("staff", str(settings.updated_by_id))


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"reporting_currency": "E1R"}, "reporting_currency", "must be a three-letter ISO 4217"),
        ({"reporting_currency": "EURO"}, "reporting_currency", "at most 3 characters"),
        ({"horizon_days": "0"}, "horizon_days", "must be between 1 and 3650 days"),
        ({"churn_days": "ninety"}, "churn_days", "Enter a whole number."),
        ({"lapsed_days": "100"}, "at_risk_days", "must be less than lapsed_days"),
    ],
)
def test_a_bad_setting_is_named_next_to_its_field_and_nothing_changes(
    signed_in, change, field, message
):
    response = signed_in("marketer").post("/insights/settings/", {**SETTINGS, **change})

    assert response.status_code == 400
    html = response.content.decode()
    field_block = re.search(
        rf'<div class="field has-error">\s*<label for="id_{field}">.*?</div>', html, re.DOTALL
    )
    assert field_block is not None, field
    assert message in field_block.group(0)
    assert not AuditEntry.objects.filter(action="insights.settings_changed").exists()
    assert InsightSettings.objects.get(pk=1).horizon_days == 365


def test_the_rules_are_written_out_with_the_saved_limits(signed_in):
    client = signed_in("admin")
    client.post("/insights/settings/", SETTINGS)

    html = client.get("/insights/").content.decode()

    assert "the first order was placed within 20 days" in html
    assert "no order for more than 200 days" in html.lower()


# --- holdout checks --------------------------------------------------------------------------


def test_a_holdout_check_runs_after_commit_and_shows_predicted_beside_actual(
    scored_shop, signed_in, django_capture_on_commit_callbacks
):
    client = signed_in("admin")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/insights/holdout/start/", {"holdout_days": "90"})

    assert response.status_code == 302
    check = HoldoutCheck.objects.get()
    assert check.status == RunStatus.DONE
    assert check.holdout_days == 90
    html = client.get("/insights/holdout/", **HTMX).content.decode()
    assert html.lstrip().startswith('<section class="panel" id="calibration"')
    assert "every 2s" not in html
    assert "Predicted repeat purchases" in html
    assert f"<dd>{check.result['actual_total']:,.0f}</dd>" in html
    assert len(re.findall(r'<tr><th scope="row">', html)) == len(check.result["rows"]) + 4
    assert not _has_nan(html)


def test_a_holdout_check_without_enough_buyers_says_why(
    signed_in, django_capture_on_commit_callbacks
):
    client = signed_in("marketer")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/insights/holdout/start/", {"holdout_days": "30"})

    html = client.get("/insights/").content.decode()

    assert "Not enough data for a holdout check" in html
    assert "0 customers bought before the holdout, 0 of them more than once" in html


def test_a_queued_holdout_check_is_followed_by_polling(
    signed_in, django_capture_on_commit_callbacks
):
    client = signed_in("admin")
    with django_capture_on_commit_callbacks(execute=False):
        client.post("/insights/holdout/start/", {"holdout_days": "30"})

    html = client.get("/insights/holdout/", **HTMX).content.decode()

    assert 'hx-get="/insights/holdout/" hx-trigger="every 2s"' in html
    assert "waiting for a worker" in html


def test_a_holdout_length_out_of_range_is_named_next_to_the_field(signed_in):
    response = signed_in("admin").post("/insights/holdout/start/", {"holdout_days": "3"})

    assert response.status_code == 400
    assert "must be between 7 and 730 days" in response.content.decode()
    assert not HoldoutCheck.objects.exists()


# --- the predictions panel on the customer page ----------------------------------------------


def test_before_a_refresh_the_panel_says_so_and_links_managers_to_the_page(shop, signed_in):
    [customer] = _customers_with_orders(shop, 1)

    for_admin = signed_in("admin").get(f"/customers/{customer.pk}/").content.decode()
    for_viewer = signed_in("viewer").get(f"/customers/{customer.pk}/").content.decode()

    assert 'id="panel-predictions"' in for_admin
    assert "Insights have not been computed yet" in for_admin
    assert 'href="/insights/#runs"' in for_admin
    assert "Insights have not been computed yet" in for_viewer
    assert 'href="/insights/#runs"' not in for_viewer


def test_the_panel_shows_each_figure_with_its_confidence_and_reasons(scored_shop, signed_in):
    customer = scored_shop[3]  # four orders, 40 days apart

    html = signed_in("support").get(f"/customers/{customer.pk}/").content.decode()

    panel = html[html.index('id="panel-predictions"') :]
    panel = panel[: panel.index("</section>")]
    assert "Orders in the next 365 days" in panel
    assert "Bought on 4 days, about every 40 days" in panel
    assert "likely still a customer." in panel
    assert "Due to buy again" in panel
    assert "Chamomile tea" in panel
    assert "bought Chamomile tea 4 times" in panel.replace("Bought", "bought")
    assert '<span class="badge good" title="Confidence">High</span>' in panel
    assert not _has_nan(panel)


def test_a_customer_without_orders_reads_not_enough_data(scored_shop, signed_in):
    lead = customer_create(actor=Actor.system("tests"), fields={"first_name": "Lead"})
    _refresh()

    html = signed_in("viewer").get(f"/customers/{lead.pk}/").content.decode()

    panel = html[html.index('id="panel-predictions"') :]
    panel = panel[: panel.index("</section>")]
    assert "Not enough data" in panel
    assert "No orders yet: predictions start from the first order." in panel
    assert "No product bought often enough to expect it again." in panel


def test_the_panel_costs_the_same_queries_whatever_the_customer_bought(
    scored_shop, signed_in, django_assert_num_queries
):
    client = signed_in("viewer")
    one_order, four_orders = scored_shop[0], scored_shop[3]
    client.get(f"/customers/{one_order.pk}/")  # the settings row exists from here on

    with django_assert_num_queries(CUSTOMER_PAGE_QUERIES):
        client.get(f"/customers/{one_order.pk}/")
    with django_assert_num_queries(CUSTOMER_PAGE_QUERIES):
        response = client.get(f"/customers/{four_orders.pk}/")

    assert response.status_code == 200


# test_customer_page.PAGE_QUERIES with insights: the panel also reads settings and due products.
CUSTOMER_PAGE_QUERIES = 23
