"""The insights refresh over a real database: figures, bad input, backtests and rescoring."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from patron.accounts.models import Source
from patron.core import clock
from patron.core.actors import Actor
from patron.customers.models import Customer
from patron.customers.selectors import customer_find_by_identity
from patron.customers.services.profile import customer_create
from patron.events.services.ingest import batch_ingest
from patron.insights.estimators import bgnbd
from patron.insights.models import (
    CustomerInsight,
    Fit,
    FitKind,
    InsightRun,
    ReplenishmentDue,
    RunStatus,
)
from patron.insights.reasons import NO_ORDERS
from patron.insights.selectors import customer_insight_view
from patron.insights.services import runs
from patron.insights.services.export import insights_export
from patron.insights.services.refresh import population_from_run
from patron.orders.models import Order
from patron.orders.services.orders import order_cancel, order_clean, order_record, order_refund

SYSTEM = Actor.system("insights tests")
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW)


@pytest.fixture
def source(web_source) -> Source:
    return Source.objects.get(pk=web_source.id)


def customer(email: str, **fields: Any) -> Customer:
    return customer_create(actor=SYSTEM, fields={"email": email, **fields})


def order(
    source: Source,
    buyer: Customer,
    external_id: str,
    placed_at: datetime,
    *,
    price: str = "20.00",
    sku: str = "SERUM-30",
    quantity: int = 1,
    **extra: Any,
) -> Order:
    raw = {
        "external_id": external_id,
        "currency": "EUR",
        "placed_at": placed_at.isoformat(),
        "lines": [{"sku": sku, "quantity": quantity, "unit_price": price}],
        **extra,
    }
    recorded, _ = order_record(source=source, customer=buyer, order=order_clean(raw), actor=SYSTEM)
    return recorded


def refresh(**overrides: Any) -> InsightRun:
    options = runs.refresh_options(**overrides)
    run = runs.run_create(options=options, actor=SYSTEM)
    return runs.run_execute(run, options)


def population_shop(source: Source, count: int = 40) -> list[Customer]:
    """Customers 0..count-1: customer i orders (i % 5) + 1 times, every 20 + i days, 10 + i EUR."""
    buyers = []
    for index in range(count):
        buyer = customer(f"buyer{index}@example.com", timezone="Europe/Berlin")
        times = (index % 5) + 1
        for number in range(times):
            placed = NOW - timedelta(days=400 - index - number * (20 + index))
            order(source, buyer, f"P{index}-{number}", placed, price=f"{10 + index}.00")
        buyers.append(buyer)
    return buyers


def insight_of(buyer: Customer) -> CustomerInsight:
    return CustomerInsight.objects.get(customer_id=buyer.pk)


def test_an_empty_shop_refreshes_to_nothing_and_exports_a_header(db) -> None:
    # when
    run = refresh()
    # then
    assert run.status == RunStatus.DONE
    assert run.customer_count == 0
    assert Fit.objects.count() == 0
    output = io.BytesIO()
    assert insights_export(output, format_name="csv") == 0
    assert output.getvalue().decode().splitlines()[0].startswith("customer_id,external_id,email")


def test_a_few_buyers_get_rfm_and_stages_but_no_made_up_predictions(db, source) -> None:
    # given three buyers and a lead
    buyers = population_shop(source, count=3)
    lead = customer("lead@example.com")
    # when
    run = refresh()
    # then
    assert run.status == RunStatus.DONE and run.customer_count == 4
    assert Fit.objects.count() == 0
    first = insight_of(buyers[0])
    assert first.order_count == 1
    assert first.predicted_orders is None and first.churn_probability is None
    assert first.prediction_confidence == "none" and first.churn_band == ""
    assert first.recency_score >= 1 and first.rfm_group != ""
    view = customer_insight_view(
        customer_id=buyers[0].pk, lifecycle_stage="lapsed", timezone_name="Europe/Berlin"
    )
    assert view is not None
    churn = next(figure for figure in view.figures if figure.name == "churn")
    assert churn.value is None and churn.confidence == "none"
    assert churn.reasons[0].startswith("Not enough data: the shop needs at least 30 buyers")
    lead_insight = insight_of(lead)
    assert lead_insight.order_count == 0 and lead_insight.recency_score == 0
    assert lead_insight.rfm_group == "" and lead_insight.historic_value == Decimal("0.00")
    assert Customer.objects.get(pk=lead.pk).lifecycle_stage == "lead"
    lead_view = customer_insight_view(customer_id=lead.pk, lifecycle_stage="lead", timezone_name="")
    assert lead_view is not None
    assert next(f for f in lead_view.figures if f.name == "rfm").reasons == [NO_ORDERS]


def test_a_population_is_fitted_and_every_figure_follows_from_the_fit(db, source) -> None:
    # given
    buyers = population_shop(source)
    # when
    run = refresh()
    # then the fits are stored with the run
    fit_row = Fit.objects.get(run=run, kind=FitKind.BG_NBD)
    assert set(fit_row.parameters) == {"r", "alpha", "a", "b"}
    assert fit_row.customer_count == 40
    assert Fit.objects.filter(run=run, kind=FitKind.GAMMA_GAMMA).count() == 1
    # and a buyer's figures equal the estimators' on their own summary
    buyer = buyers[24]  # 5 orders, every 44 days, the first 376 days ago
    insight = insight_of(buyer)
    assert insight.order_count == 5 and insight.repeat_count == 4
    assert insight.historic_value == Decimal("170.00")
    assert insight.mean_days_between_orders == pytest.approx(44.0)
    fit = population_from_run(run).bgnbd_fit
    assert fit is not None
    first_day = np.floor((NOW - timedelta(days=376)).timestamp() / 86_400)
    age = np.floor(NOW.timestamp() / 86_400) - first_day
    summary = (np.array([4.0]), np.array([176.0]), np.array([age]))
    assert insight.predicted_orders == pytest.approx(
        bgnbd.bgnbd_expected_purchases(fit, 365, *summary)[0]
    )
    assert insight.churn_probability == pytest.approx(
        bgnbd.bgnbd_churn_probability(fit, 90, *summary)[0]
    )
    assert insight.probability_alive == pytest.approx(
        bgnbd.bgnbd_probability_alive(fit, *summary)[0]
    )
    assert insight.predicted_orders is not None and insight.expected_order_value is not None
    assert insight.predicted_value == pytest.approx(
        Decimal(insight.predicted_orders) * insight.expected_order_value, abs=Decimal("0.02")
    )
    assert insight.prediction_confidence == "high"
    assert insight.churn_band in {"low", "medium", "high"}


def test_cancelled_refunded_zero_value_and_future_orders(db, source) -> None:
    # given
    population_shop(source)
    buyer = customer("edge@example.com")
    order(source, buyer, "E1", NOW - timedelta(days=100), price="30.00")
    partly = order(source, buyer, "E2", NOW - timedelta(days=60), price="50.00")
    order_refund(
        order=partly, external_id="R1", amount=Decimal("20.00"), refunded_at=NOW, actor=SYSTEM
    )
    whole = order(source, buyer, "E3", NOW - timedelta(days=40), price="80.00")
    order_refund(order=whole, external_id="R2", amount=None, refunded_at=NOW, actor=SYSTEM)
    cancelled = order(source, buyer, "E4", NOW - timedelta(days=30), price="90.00")
    order_cancel(order=cancelled, cancelled_at=NOW, actor=SYSTEM)
    order(source, buyer, "E5", NOW - timedelta(days=20), price="0.00")
    order(source, buyer, "E6", NOW + timedelta(days=3), price="70.00")
    # when
    refresh()
    # then: E1, E2 (net 30.00) and the free E5 count; the refunded, cancelled and future do not
    insight = insight_of(buyer)
    assert insight.order_count == 3
    assert insight.historic_value == Decimal("60.00")
    assert insight.last_order_at == datetime(2026, 6, 10, tzinfo=UTC)
    assert insight.predicted_orders is not None and np.isfinite(insight.predicted_orders)


def test_values_stay_in_the_reporting_currency_and_other_currencies_are_counted_apart(
    db, source
) -> None:
    # given
    population_shop(source)
    buyer = customer("dollars@example.com")
    order(source, buyer, "D1", NOW - timedelta(days=90), price="25.00")
    order(source, buyer, "D2", NOW - timedelta(days=50), price="40.00", currency="USD")
    # when
    run = refresh()
    # then
    assert run.reporting_currency == "EUR"
    insight = insight_of(buyer)
    assert insight.order_count == 2 and insight.other_currency_order_count == 1
    assert insight.historic_value == Decimal("25.00") and insight.currency == "EUR"
    # Gamma-Gamma values need repeats in one currency: this buyer gets none rather than a mix.
    assert insight.expected_order_value is None and insight.predicted_value is None
    view = customer_insight_view(customer_id=buyer.pk, lifecycle_stage="active", timezone_name="")
    assert view is not None
    orders_figure = next(f for f in view.figures if f.name == "predicted_orders")
    assert any("1 orders in other currencies" in reason for reason in orders_figure.reasons)


def test_a_configured_reporting_currency_wins(db, source) -> None:
    # given
    population_shop(source)
    runs.insight_settings_update(
        change=runs.InsightSettingsChange(
            reporting_currency="usd",
            horizon_days=180,
            churn_days=60,
            new_days=30,
            at_risk_days=90,
            lapsed_days=180,
        ),
        actor=SYSTEM,
    )
    # when
    run = refresh()
    # then
    assert run.reporting_currency == "USD" and run.horizon_days == 180 and run.churn_days == 60
    insight = CustomerInsight.objects.order_by("customer_id").first()
    assert insight is not None
    assert insight.historic_value == Decimal("0.00") and insight.other_currency_order_count >= 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reporting_currency": "EURO"}, "reporting_currency"),
        ({"reporting_currency": "€<b>"}, "reporting_currency"),
        ({"horizon_days": 0}, "horizon_days"),
        ({"churn_days": 99999}, "churn_days"),
        ({"at_risk_days": 200, "lapsed_days": 100}, "at_risk_days"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(db, change, field) -> None:
    values = {
        "reporting_currency": "",
        "horizon_days": 365,
        "churn_days": 90,
        "new_days": 30,
        "at_risk_days": 90,
        "lapsed_days": 180,
        **change,
    }
    with pytest.raises(runs.ValidationFailed) as raised:
        runs.insight_settings_update(change=runs.InsightSettingsChange(**values), actor=SYSTEM)
    assert raised.value.field == field
    assert runs.insight_settings_get().horizon_days == 365


def test_as_of_ignores_later_facts_and_leaves_the_stages_alone(db, source) -> None:
    # given
    buyers = population_shop(source)
    buyer = buyers[39]  # orders 361, 302, 243, 184 and 125 days ago
    refresh()
    stage_before = Customer.objects.get(pk=buyer.pk).lifecycle_stage
    # when computing as of 200 days ago
    run = refresh(as_of=NOW - timedelta(days=200))
    # then
    assert run.is_backtest and run.as_of == NOW - timedelta(days=200)
    insight = insight_of(buyer)
    assert insight.as_of == NOW - timedelta(days=200)
    assert insight.order_count == 3
    assert insight.last_order_at is not None
    assert insight.last_order_at <= NOW - timedelta(days=200)
    assert Customer.objects.get(pk=buyer.pk).lifecycle_stage == stage_before


def test_a_refresh_in_the_future_or_while_one_runs_is_refused(db) -> None:
    with pytest.raises(runs.ValidationFailed) as future:
        runs.refresh_options(as_of=NOW + timedelta(days=1))
    assert future.value.field == "as_of"
    options = runs.refresh_options()
    runs.run_create(options=options, actor=SYSTEM)
    with pytest.raises(runs.Conflict) as busy:
        runs.run_create(options=options, actor=SYSTEM)
    assert busy.value.code == "refresh_running"


def test_lifecycle_stages_are_written_to_customers(db, source) -> None:
    # given
    buyers = population_shop(source)
    lead = customer("lead@example.com")
    newcomer = customer("new@example.com")
    order(source, newcomer, "N1", NOW - timedelta(days=10))
    regular = customer("regular@example.com")
    order(source, regular, "A1", NOW - timedelta(days=100))
    order(source, regular, "A2", NOW - timedelta(days=60))
    returner = customer("back@example.com")
    order(source, returner, "B1", NOW - timedelta(days=400))
    order(source, returner, "B2", NOW - timedelta(days=10))
    # when
    refresh()
    # then, by the default rules (new 30, at risk 90, lapsed 180 days)
    stages = dict(Customer.objects.values_list("pk", "lifecycle_stage"))
    assert stages[lead.pk] == "lead"
    assert stages[newcomer.pk] == "new"
    assert stages[regular.pk] == "active"
    assert stages[returner.pk] == "reactivated"
    assert stages[buyers[39].pk] == "at_risk"  # last order 125 days ago
    assert stages[buyers[0].pk] == "lapsed"  # one order 400 days ago


def test_replenishment_due_dates_come_from_the_customers_own_rhythm(db, source) -> None:
    # given a product a customer rebuys every 30 days, three times, and the population
    population_shop(source)
    buyer = customer("rhythm@example.com")
    for number, days_ago in enumerate((70, 40, 10)):
        order(source, buyer, f"R{number}", NOW - timedelta(days=days_ago), sku="CREAM-60")
    # when
    refresh()
    # then
    due = ReplenishmentDue.objects.select_related("product").get(
        customer_id=buyer.pk, product__sku="CREAM-60"
    )
    assert due.purchase_count == 3 and due.customer_cycle_days == pytest.approx(30.0)
    last = (NOW - timedelta(days=10)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert due.last_purchased_at == last
    expected = last + timedelta(days=due.expected_cycle_days)
    assert abs((due.due_at - expected).total_seconds()) < 1
    assert due.state == "not_due"
    view = customer_insight_view(customer_id=buyer.pk, lifecycle_stage="active", timezone_name="")
    assert view is not None
    assert view.replenishments[0].reason.startswith(
        "bought CREAM-60 3 times, every 30 days a unit on average; last 10 days ago → due in"
    )


def test_engagement_leaves_machine_opens_out(db, source, web_source) -> None:
    # given a customer with one human open, one machine open (2 s after delivery) and a click
    population_shop(source)
    delivered = NOW - timedelta(days=3)

    def track(name: str, at: datetime, message: str, agent: str = "") -> dict[str, Any]:
        return {
            "type": "track",
            "event": name,
            "userId": "reader",
            "messageId": message,
            "timestamp": at.isoformat(),
            "properties": {"email_id": "newsletter-1"},
            "context": {"userAgent": agent},
        }

    batch_ingest(
        source=source,
        items=[
            track("Email Delivered", delivered, "m1"),
            track("Email Opened", delivered + timedelta(seconds=2), "m2", "Mozilla/5.0"),
            track(
                "Email Opened",
                delivered + timedelta(hours=3),
                "m3",
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15",
            ),
            track("Email Link Clicked", delivered + timedelta(hours=3, minutes=1), "m4"),
        ],
        received_at=NOW,
    )
    # when
    refresh()
    # then
    reader = customer_find_by_identity(kind="user_id", value="reader")
    assert reader is not None
    insight = insight_of(reader)
    assert insight.machine_open_count == 1
    assert insight.human_open_count == 1
    assert insight.click_count == 1
    assert insight.engagement_score is not None and insight.engagement_tier != "not_enough_data"


def test_a_new_order_rescores_the_customer_with_the_stored_population(
    db, source, django_capture_on_commit_callbacks
) -> None:
    # given a refreshed population
    buyers = population_shop(source)
    run = refresh()
    buyer = buyers[10]
    before = insight_of(buyer)
    # when the customer orders again (huey runs tasks at once in tests)
    with django_capture_on_commit_callbacks(execute=True):
        order(source, buyer, "NEW-1", NOW - timedelta(hours=1), price="99.00")
    # then the row is recomputed from the same fit, not a new one
    after = insight_of(buyer)
    assert after.order_count == before.order_count + 1
    assert before.historic_value is not None
    assert after.historic_value == before.historic_value + Decimal("99.00")
    assert after.last_order_at == NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    assert Fit.objects.count() == 2 and InsightRun.objects.count() == 1
    fit = population_from_run(run).bgnbd_fit
    assert fit is not None and after.last_order_at is not None
    assert after.first_order_at is not None
    summary = (
        np.array([float(after.repeat_count)]),
        np.array([float((after.last_order_at - after.first_order_at).days)]),
        np.array([float((after.last_order_at - after.first_order_at).days)]),
    )
    assert after.probability_alive == pytest.approx(bgnbd.bgnbd_probability_alive(fit, *summary)[0])


def test_the_export_writes_one_neutralised_row_per_customer_in_csv_and_parquet(
    db, source, tmp_path
) -> None:
    # given
    population_shop(source, count=35)
    hostile = customer("=cmd@example.com", first_name="<script>alert(1)</script>")
    order(source, hostile, "H1", NOW - timedelta(days=5))
    refresh()
    # when
    text = io.BytesIO()
    written = insights_export(text, format_name="csv")
    parquet_path = tmp_path / "insights.parquet"
    with parquet_path.open("wb") as stream:
        parquet_written = insights_export(stream, format_name="parquet")
    # then
    rows = list(csv.DictReader(io.StringIO(text.getvalue().decode())))
    assert written == parquet_written == len(rows) == 36
    row = next(row for row in rows if row["customer_id"] == str(hostile.pk))
    assert row["email"] == "'=cmd@example.com"
    assert row["lifecycle_stage"] == "new"
    table = pq.read_table(parquet_path)
    assert table.num_rows == 36
    stored = table.to_pylist()[-1]
    assert stored["email"] == "=cmd@example.com"  # typed columns keep the value as it is
    with pytest.raises(runs.ValidationFailed) as bad:
        insights_export(io.BytesIO(), format_name="xml")
    assert bad.value.field == "format"


@pytest.mark.django_db(transaction=True)
def test_ranges_read_by_forked_processes_give_the_same_insights(
    monkeypatch: pytest.MonkeyPatch, web_source
) -> None:
    # given a committed shop read in ranges of 7 customers (forked readers see committed rows)
    from patron.insights.services import refresh as refresh_module

    source = Source.objects.get(pk=web_source.id)
    population_shop(source)
    monkeypatch.setattr(refresh_module, "BATCH_CUSTOMERS", 7)
    fields = ("order_count", "historic_value", "predicted_orders", "churn_band", "rfm_group")
    indexes_before = _insight_indexes()
    # when refreshed by forked readers (indexes dropped while writing), then by this process
    refresh()
    assert _insight_indexes() == indexes_before
    forked = list(CustomerInsight.objects.order_by("customer_id").values_list(*fields))
    monkeypatch.setattr(refresh_module, "RANGE_PROCESSES", 1)
    run = refresh()
    alone = list(CustomerInsight.objects.order_by("customer_id").values_list(*fields))
    # then
    assert run.customer_count == 40 and len(forked) == 40
    assert forked == alone


def _insight_indexes() -> set[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        return {
            name
            for model in (CustomerInsight, ReplenishmentDue)
            for name, constraint in connection.introspection.get_constraints(
                cursor, model._meta.db_table
            ).items()
            if constraint["index"]
        }


def test_a_customer_scored_since_the_change_is_not_rescored_again(
    db, source, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a population refreshed at NOW and an order committed a minute later
    buyers = population_shop(source)
    refresh()
    order(source, buyers[3], "AGAIN-1", NOW - timedelta(hours=2))
    changed_at = NOW + timedelta(minutes=1)
    monkeypatch.setattr(clock, "now", lambda: NOW + timedelta(minutes=2))
    # when the first of two hooks' tasks rescores, then the second arrives
    first = runs.customers_rescore_after_facts([buyers[3].pk], changed_at=changed_at)
    second = runs.customers_rescore_after_facts([buyers[3].pk], changed_at=changed_at)
    # then only the first recomputed the customer
    assert (first, second) == (1, 0)
    assert insight_of(buyers[3]).order_count == 5  # four orders, then AGAIN-1
