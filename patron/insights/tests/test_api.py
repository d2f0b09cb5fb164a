"""The insights REST endpoints: a customer's figures, the lists, fits, refreshes and runs."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from patron.accounts.models import Scope, Source
from patron.core import clock
from patron.customers.selectors import customer_get
from patron.customers.services.profile import customer_create
from patron.insights.api import NOT_SCORED
from patron.insights.models import (
    CustomerInsight,
    Fit,
    InsightRun,
    ReplenishmentDue,
    RunStatus,
)
from patron.insights.reasons import replenishment_reason
from patron.insights.selectors import customer_insight_view
from patron.insights.services.runs import refresh_options, run_create, run_execute
from patron.orders.services.orders import order_clean, order_record

pytestmark = pytest.mark.django_db

READ = Scope.INSIGHTS_READ
WRITE = Scope.INSIGHTS_WRITE
# Enough buyers (30) and repeat buyers (10) for the refresh to fit the purchase estimators.
SHOP_CUSTOMERS = 40


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def call(client, method: str, path: str, secret: str | None = None, body: Any = None):
    headers = bearer(secret) if secret else {}
    if body is None:
        return getattr(client, method)(path, headers=headers)
    data = body if isinstance(body, str) else json.dumps(body)
    return getattr(client, method)(
        path, data=data, content_type="application/json", headers=headers
    )


@pytest.fixture
def reader(make_api_key) -> str:
    return make_api_key(READ, name="dashboard").secret


@pytest.fixture
def writer(make_api_key) -> str:
    return make_api_key(READ, WRITE, name="scheduler").secret


def _refresh(system_actor) -> InsightRun:
    options = refresh_options()
    return run_execute(run_create(options=options, actor=system_actor), options)


@pytest.fixture
def shop(web_source, system_actor) -> dict[str, Any]:
    """40 customers who bought a moisturiser 1 to 4 times at their own pace, scored once."""
    source = Source.objects.get(pk=web_source.id)
    now = clock.now()
    customers = []
    # A fixed seed: every run of the suite scores the same shop.
    randomness = random.Random(5)
    for number in range(SHOP_CUSTOMERS):
        customer = customer_create(
            actor=system_actor,
            fields={"first_name": f"Buyer {number}", "timezone": "Europe/Paris"},
        )
        customers.append(customer.pk)
        # Buying rates that differ a lot between customers, and some who stopped buying, as
        # in a real shop (the purchase estimators cannot fit a population of clones).
        mean_interval = randomness.choice((10, 25, 60, 150))
        stopped_days_ago = randomness.choice((0, 0, 100, 250))
        days_ago = stopped_days_ago + randomness.expovariate(1 / mean_interval)
        for position in range(12):
            if days_ago > 365:
                break
            placed = now - timedelta(days=days_ago)
            days_ago += 1 + randomness.expovariate(1 / mean_interval)
            order = order_clean(
                {
                    "external_id": f"{number}-{position}",
                    "currency": "EUR",
                    "placed_at": placed.isoformat(),
                    "lines": [
                        {
                            "sku": "MOIST-60",
                            "name": "Hydra moisturiser",
                            "quantity": 1,
                            "unit_price": str(20 + number),
                            "category": "Skincare > Moisturisers",
                        }
                    ],
                }
            )
            order_record(source=source, customer=customer, order=order, actor=system_actor)
    run = _refresh(system_actor)
    return {"customers": customers, "run": run.pk}


@pytest.fixture
def world(system_actor) -> dict[str, int]:
    """One customer and a finished refresh of the (orderless) shop."""
    customer = customer_create(actor=system_actor, fields={"first_name": "Ana"})
    run = _refresh(system_actor)
    return {"customer": customer.pk, "run": run.pk}


ENDPOINTS: list[tuple[str, str, Any, str, int]] = [
    ("get", "/api/customers/{customer}/insights", None, READ, 200),
    ("get", "/api/insights/customers", None, READ, 200),
    ("get", "/api/insights/replenishments", None, READ, 200),
    ("get", "/api/insights/fits", None, READ, 200),
    ("get", "/api/insights/runs/{run}", None, READ, 200),
    ("post", "/api/insights/refresh", {}, WRITE, 202),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_without_a_key_every_endpoint_answers_401(client, world, endpoint):
    method, template, body, _scope, _status = endpoint

    response = call(client, method, template.format(**world), body=body)

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_a_key_without_the_scope_is_forbidden_and_starts_nothing(
    client, world, make_api_key, endpoint
):
    method, template, body, scope, _status = endpoint
    secret = make_api_key(*(other for other in Scope.values if other != scope)).secret
    runs_before = InsightRun.objects.count()

    response = call(client, method, template.format(**world), secret, body)

    assert response.status_code == 403
    assert response.json() == {"code": "forbidden", "message": f"this key lacks the scope {scope}"}
    assert InsightRun.objects.count() == runs_before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_a_key_with_the_scope_is_served(client, world, make_api_key, endpoint):
    method, template, body, scope, status = endpoint
    secret = make_api_key(scope).secret

    response = call(client, method, template.format(**world), secret, body)

    assert response.status_code == status, response.content


def _repeat_buyer() -> CustomerInsight:
    """The first customer with repeat purchases and a predicted value."""
    return CustomerInsight.objects.filter(
        repeat_count__gte=2, predicted_value__isnull=False
    ).order_by("customer_id")[0]


def _json_time(moment: datetime | None) -> str | None:
    """A stored moment as the API writes it (milliseconds, Z)."""
    return None if moment is None else DjangoJSONEncoder().default(moment)


def test_a_scored_customer_gets_the_stored_figures_with_reasons(client, reader, shop):
    stored = _repeat_buyer()
    customer = customer_get(stored.customer_id)
    view = customer_insight_view(
        customer_id=customer.pk,
        lifecycle_stage=customer.lifecycle_stage,
        timezone_name=customer.timezone,
    )
    assert view is not None

    response = call(client, "get", f"/api/customers/{customer.pk}/insights", reader)

    body = response.json()
    assert response.status_code == 200
    assert (body["customer_id"], body["is_scored"], body["reasons"]) == (customer.pk, True, [])
    assert (body["computed_at"], body["as_of"], body["horizon_days"]) == (
        _json_time(stored.computed_at),
        _json_time(stored.as_of),
        365,
    )
    scores = body["scores"]
    for name in (
        "order_count",
        "repeat_count",
        "recency_score",
        "frequency_score",
        "monetary_score",
        "rfm_group",
        "predicted_orders",
        "probability_alive",
        "prediction_confidence",
        "churn_days",
        "churn_probability",
        "churn_band",
        "engagement_score",
        "engagement_tier",
        "click_count",
        "human_open_count",
        "visit_day_count",
        "best_hour",
        "best_weekday",
        "send_time_confidence",
        "discount_share",
        "currency",
    ):
        assert scores[name] == getattr(stored, name), name
    for name in ("historic_value", "predicted_value", "expected_order_value"):
        assert Decimal(scores[name]) == getattr(stored, name), name
    assert scores["next_order_at"] == _json_time(stored.next_order_at)
    assert scores["top_categories"] == [
        {"name": name, "share": share} for name, share in stored.top_categories
    ]
    assert scores["predicted_orders"] is not None and scores["churn_band"] in {
        "low",
        "medium",
        "high",
    }
    assert body["lifecycle_stage"] == customer.lifecycle_stage
    assert body["figures"] == [
        {
            "name": figure.name,
            "label": figure.label,
            "value": figure.value,
            "confidence": figure.confidence,
            "reasons": figure.reasons,
        }
        for figure in view.figures
    ]
    figures = {figure["name"]: figure for figure in body["figures"]}
    assert figures["predicted_orders"]["value"] == f"{stored.predicted_orders:.1f}"
    assert figures["send_time"]["reasons"][0].endswith(", Europe/Paris.")


def test_a_scored_customer_lists_the_products_due_with_their_reason(client, reader, shop):
    stored = _repeat_buyer()
    due = ReplenishmentDue.objects.get(customer_id=stored.customer_id)

    body = call(client, "get", f"/api/customers/{stored.customer_id}/insights", reader).json()

    assert body["replenishments"] == [
        {
            "product_id": due.product_id,
            "product_name": "Hydra moisturiser",
            "due_at": _json_time(due.due_at),
            "state": due.state,
            "confidence": due.confidence,
            "reason": replenishment_reason(due, "Hydra moisturiser", stored.as_of),
        }
    ]
    assert body["replenishments"][0]["reason"].startswith(
        f"bought Hydra moisturiser {stored.order_count} times, every "
    )


def test_a_customer_added_after_the_refresh_is_not_scored_yet(client, reader, world, system_actor):
    newcomer = customer_create(actor=system_actor, fields={"first_name": "Bo"})

    response = call(client, "get", f"/api/customers/{newcomer.pk}/insights", reader)

    assert response.status_code == 200
    assert response.json() == {
        "customer_id": newcomer.pk,
        "is_scored": False,
        "reasons": [NOT_SCORED],
        "lifecycle_stage": newcomer.lifecycle_stage,
        "computed_at": None,
        "as_of": None,
        "horizon_days": None,
        "figures": None,
        "scores": None,
        "replenishments": [],
    }


@pytest.mark.parametrize("path", ["/api/customers/999999/insights", "/api/insights/runs/999999"])
def test_an_unknown_customer_or_run_is_not_found(client, reader, world, path):
    response = call(client, "get", path, reader)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "path", ["/api/customers/0/insights", "/api/customers/99999999999999999999/insights"]
)
def test_an_impossible_customer_id_is_refused(client, reader, path):
    response = call(client, "get", path, reader)

    assert response.status_code == 400
    assert response.json()["message"].startswith("customer_id")


def _ids(response) -> list[int]:
    return [item["customer_id"] for item in response.json()["items"]]


def test_the_list_filters_by_each_figure(client, reader, shop):
    insights = CustomerInsight.objects.order_by("-customer_id")
    band = insights.exclude(churn_band="").values_list("churn_band", flat=True).first()
    group = insights.exclude(rfm_group="").values_list("rfm_group", flat=True).first()
    tier = insights.values_list("engagement_tier", flat=True).first()
    values = sorted(
        value for value in insights.values_list("predicted_value", flat=True) if value is not None
    )
    middle = values[len(values) // 2]
    soon = clock.now() + timedelta(days=30)
    cases = {
        f"churn_band={band}": insights.filter(churn_band=band),
        f"rfm_group={group}": insights.filter(rfm_group=group),
        f"engagement_tier={tier}": insights.filter(engagement_tier=tier),
        f"min_predicted_value={middle}": insights.filter(predicted_value__gte=middle),
        f"max_predicted_value={middle}": insights.filter(predicted_value__lte=middle),
        f"next_order_before={soon:%Y-%m-%d}": insights.filter(
            next_order_at__lt=soon.replace(hour=0, minute=0, second=0, microsecond=0)
        ),
        f"next_order_after={soon:%Y-%m-%d}": insights.filter(
            next_order_at__gte=soon.replace(hour=0, minute=0, second=0, microsecond=0)
        ),
    }

    for query, expected in cases.items():
        response = call(client, "get", f"/api/insights/customers?limit=500&{query}", reader)

        wanted = list(expected.values_list("customer_id", flat=True))
        assert response.status_code == 200, query
        assert _ids(response) == wanted, query
        assert 0 < len(wanted) < SHOP_CUSTOMERS + 1, query


def test_the_list_item_carries_the_stored_numbers_and_stage(client, reader, shop):
    newest = max(shop["customers"])
    stored = CustomerInsight.objects.get(customer_id=newest)

    item = call(client, "get", "/api/insights/customers?limit=1", reader).json()["items"][0]

    assert item["customer_id"] == newest
    assert item["lifecycle_stage"] == customer_get(newest).lifecycle_stage
    assert item["predicted_orders"] == stored.predicted_orders
    assert item["churn_probability"] == stored.churn_probability
    assert item["next_order_at"] == (
        None
        if stored.next_order_at is None
        else stored.next_order_at.isoformat().replace("+00:00", "Z")
    )


def test_the_list_pages_walk_every_scored_customer_once(client, reader, shop):
    seen: list[int] = []
    path = "/api/insights/customers?limit=15"
    while True:
        page = call(client, "get", path, reader).json()
        seen.extend(item["customer_id"] for item in page["items"])
        if page["next_cursor"] is None:
            break
        path = f"/api/insights/customers?limit=15&cursor={page['next_cursor']}"

    assert seen == sorted(shop["customers"], reverse=True)


@pytest.mark.parametrize("limit", [2, 30])
def test_the_list_costs_the_same_queries_whatever_the_page_size(
    client, reader, shop, django_assert_num_queries, limit
):
    call(client, "get", "/api/insights/customers?limit=1", reader)  # key use recorded

    # key lookup, one page of insights joined with the customers' stages
    with django_assert_num_queries(2):
        response = call(client, "get", f"/api/insights/customers?limit={limit}", reader)

    assert len(response.json()["items"]) == limit


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("churn_band=extreme", "churn_band"),
        ("rfm_group=%3Cscript%3Ealert(1)%3C/script%3E", "rfm_group"),
        ("engagement_tier=", "engagement_tier"),
        ("min_predicted_value=lots", "min_predicted_value"),
        ("max_predicted_value=-1", "max_predicted_value"),
        ("min_predicted_value=10&max_predicted_value=5", "min_predicted_value"),
        ("next_order_before=tomorrow", "next_order_before"),
        ("next_order_after=" + "9" * 65, "next_order_after"),
        ("limit=501", "limit"),
        ("cursor=bm90LWEtY3Vyc29y", "cursor"),
        ("churn=high", "churn"),
    ],
)
def test_the_list_refuses_bad_filters_naming_them(client, reader, query, field):
    response = call(client, "get", "/api/insights/customers?" + query, reader)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert response.json()["message"].startswith(field)
    assert "<script" not in response.json()["message"]


def test_replenishments_are_listed_soonest_first_with_reasons(client, reader, shop):
    dues = list(ReplenishmentDue.objects.order_by("due_at", "id"))

    response = call(client, "get", "/api/insights/replenishments?limit=500", reader)

    items = response.json()["items"]
    assert [(item["customer_id"], item["state"]) for item in items] == [
        (due.customer_id, due.state) for due in dues
    ]
    assert len(items) == len(dues) > 30
    assert {item["product_name"] for item in items} == {"Hydra moisturiser"}
    assert all(item["reason"].startswith("bought Hydra moisturiser ") for item in items)


def test_replenishments_filter_by_state_product_and_due_date(client, reader, shop):
    due = ReplenishmentDue.objects.order_by("due_at", "id")[5]
    cutoff = due.due_at.isoformat()
    states = ReplenishmentDue.objects.filter(state=due.state).order_by("due_at", "id")

    by_state = call(client, "get", f"/api/insights/replenishments?state={due.state}", reader)
    by_product = call(
        client, "get", f"/api/insights/replenishments?product_id={due.product_id + 1}", reader
    )
    by_date = call(
        client,
        "get",
        "/api/insights/replenishments?limit=500&due_before=" + cutoff.replace("+", "%2B"),
        reader,
    )

    assert [item["customer_id"] for item in by_state.json()["items"]] == [
        row.customer_id for row in states
    ]
    assert by_product.json() == {"items": [], "next_cursor": None}
    assert (
        len(by_date.json()["items"])
        == ReplenishmentDue.objects.filter(due_at__lt=due.due_at).count()
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("state=%3Cscript%3E", "state"),
        ("product_id=abc", "product_id"),
        ("product_id=0", "product_id"),
        ("due_before=soon", "due_before"),
        ("customer_id=1", "customer_id"),
    ],
)
def test_replenishments_refuse_bad_filters_naming_them(client, reader, query, field):
    response = call(client, "get", "/api/insights/replenishments?" + query, reader)

    assert response.status_code == 400
    assert response.json()["message"].startswith(field)


@pytest.mark.parametrize("limit", [2, 30])
def test_replenishments_cost_the_same_queries_whatever_the_page_size(
    client, reader, shop, django_assert_num_queries, limit
):
    call(client, "get", "/api/insights/replenishments?limit=1", reader)

    # key lookup, one page of dues with customer and product, the customers' as-of moments
    with django_assert_num_queries(3):
        response = call(client, "get", f"/api/insights/replenishments?limit={limit}", reader)

    assert len(response.json()["items"]) == limit


def test_fits_are_those_of_the_last_finished_refresh(client, reader, shop):
    run = InsightRun.objects.get(pk=shop["run"])
    stored = {fit.kind: fit for fit in Fit.objects.filter(run=run)}

    body = call(client, "get", "/api/insights/fits", reader).json()

    assert body["run_id"] == run.pk
    assert body["as_of"] == _json_time(run.as_of)
    assert [fit["kind"] for fit in body["fits"]] == sorted(stored)
    bg_nbd = next(fit for fit in body["fits"] if fit["kind"] == "bg_nbd")
    assert bg_nbd["parameters"] == stored["bg_nbd"].parameters
    assert bg_nbd["standard_errors"] == stored["bg_nbd"].standard_errors
    assert bg_nbd["log_likelihood"] == stored["bg_nbd"].log_likelihood
    buyers = CustomerInsight.objects.filter(order_count__gt=0).count()
    assert bg_nbd["customer_count"] == stored["bg_nbd"].customer_count == buyers
    assert bg_nbd["is_converged"] is stored["bg_nbd"].is_converged


def test_before_any_refresh_there_are_no_fits(client, reader):
    body = call(client, "get", "/api/insights/fits", reader).json()

    assert body == {"run_id": None, "as_of": None, "fits": []}


def test_a_refresh_is_queued_after_commit_and_runs(
    client, writer, world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = call(client, "post", "/api/insights/refresh", writer, {"horizon_days": 180})

    run = InsightRun.objects.get(pk=response.json()["id"])
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert (run.status, run.horizon_days, run.is_backtest) == (RunStatus.QUEUED, 180, False)
    assert len(callbacks) == 1
    callbacks[0]()  # what the commit does: the (immediate) queue runs the refresh
    finished = call(client, "get", f"/api/insights/runs/{run.pk}", writer).json()
    assert finished["status"] == "done"
    assert finished["done"] == finished["total"] > 0
    assert finished["customer_count"] == 1


def test_a_refresh_as_of_a_past_moment_is_a_backtest(client, writer):
    past = (clock.now() - timedelta(days=30)).replace(microsecond=0)

    response = call(client, "post", "/api/insights/refresh", writer, {"as_of": past.isoformat()})

    run = InsightRun.objects.get()
    assert response.status_code == 202
    assert (run.as_of, run.is_backtest) == (past, True)


def test_a_second_refresh_while_one_is_queued_is_a_conflict(client, writer):
    first = call(client, "post", "/api/insights/refresh", writer, {})

    second = call(client, "post", "/api/insights/refresh", writer, {})

    assert first.status_code == 202
    assert second.status_code == 409
    assert second.json()["code"] == "refresh_running"
    assert InsightRun.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"as_of": "2999-01-01T00:00:00Z"}, "as_of"),
        ({"as_of": "last tuesday"}, "as_of"),
        ({"as_of": 1_700_000_000}, "as_of"),
        ({"as_of": "2026-01-01T00:00:00Z" + " " * 64}, "as_of"),
        ({"horizon_days": 0}, "horizon_days"),
        ({"horizon_days": 3651}, "horizon_days"),
        ({"horizon_days": "365"}, "horizon_days"),
        ({"horizon_days": 36.5}, "horizon_days"),
        ({"churn_days": 30}, "churn_days"),
        ('{"horizon_days": ', None),
        ("[]", None),
    ],
)
def test_a_bad_refresh_request_is_refused_and_starts_nothing(client, writer, body, field):
    response = call(client, "post", "/api/insights/refresh", writer, body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    if field is not None:
        assert response.json()["message"].startswith(field)
    assert InsightRun.objects.count() == 0


def test_an_oversized_refresh_request_is_refused(client, writer):
    body = json.dumps({"as_of": "x" * (7 * 1024 * 1024)})

    response = call(client, "post", "/api/insights/refresh", writer, body)

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert InsightRun.objects.count() == 0


def test_a_run_reports_its_progress(client, reader, world):
    run = InsightRun.objects.get(pk=world["run"])

    body = call(client, "get", f"/api/insights/runs/{run.pk}", reader).json()

    assert body["id"] == run.pk
    assert body["status"] == "done"
    assert (body["stage"], body["done"], body["total"]) == (run.stage, run.done, run.total)
    assert body["customer_count"] == 1
    assert body["error"] == ""
