"""REST routers for insights: one customer's figures, lists by figure, fits and refreshes.

Authentication and scopes are attached where config/api.py mounts these routers.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router, Status

from patron.core.api import RowId, request_actor
from patron.core.pagination import Page, keyset_page, keyset_page_sorted
from patron.customers import selectors as customer_selectors
from patron.customers.validation import clean_datetime
from patron.insights import selectors
from patron.insights.models import CustomerInsight, InsightRun
from patron.insights.schemas import (
    CustomerInsightListQuery,
    CustomerInsightsOut,
    CustomerScoresPage,
    FitsOut,
    RefreshIn,
    ReplenishmentListQuery,
    ReplenishmentPage,
    RunOut,
)
from patron.insights.services.runs import refresh_options, run_create, run_latest_done
from patron.insights.tasks import insights_refresh_task

# Mounted at /customers/{customer_id}/insights: the customer's figures need insights:read.
customer_insights_router = Router(tags=["insights"])
router = Router(tags=["insights"])

NOT_SCORED = (
    "Not scored yet: no insights refresh has run since this customer was added; "
    "figures appear after the next one (POST /api/insights/refresh, or the nightly refresh)."
)


@customer_insights_router.get("", response=CustomerInsightsOut)
def customer_insights_read(request: HttpRequest, customer_id: RowId) -> dict[str, Any]:
    """The customer's figures, each with its value (null = not enough data), confidence and
    reasons, the numbers behind them and the products they will soon need again."""
    customer = customer_selectors.customer_get(customer_id)
    view = selectors.customer_insight_view(
        customer_id=customer.pk,
        lifecycle_stage=customer.lifecycle_stage,
        timezone_name=customer.timezone,
    )
    if view is None:
        return {
            "customer_id": customer.pk,
            "is_scored": False,
            "reasons": [NOT_SCORED],
            "lifecycle_stage": customer.lifecycle_stage,
            "computed_at": None,
            "as_of": None,
            "horizon_days": None,
            "figures": None,
            "scores": None,
            "replenishments": [],
        }
    return {
        "customer_id": customer.pk,
        "is_scored": True,
        "reasons": [],
        "lifecycle_stage": view.lifecycle_stage,
        "computed_at": view.insight.computed_at,
        "as_of": view.insight.as_of,
        "horizon_days": view.insight.horizon_days,
        "figures": view.figures,
        "scores": view.insight,
        "replenishments": view.replenishments,
    }


@router.get("/customers", response=CustomerScoresPage)
def customer_insight_list(
    request: HttpRequest, query: Query[CustomerInsightListQuery]
) -> Page[CustomerInsight]:
    """Scored customers, newest first, narrowed by every filter given; a filter on a figure
    leaves out customers without that figure."""
    filters = selectors.CustomerInsightFilters(
        churn_band=query.churn_band or "",
        rfm_group=query.rfm_group or "",
        engagement_tier=query.engagement_tier or "",
        min_predicted_value=query.min_predicted_value,
        max_predicted_value=query.max_predicted_value,
        next_order_before=None
        if query.next_order_before is None
        else clean_datetime(query.next_order_before, field="next_order_before"),
        next_order_after=None
        if query.next_order_after is None
        else clean_datetime(query.next_order_after, field="next_order_after"),
    )
    return keyset_page(
        selectors.customer_insight_list(filters=filters), cursor=query.cursor, limit=query.limit
    )


@router.get("/replenishments", response=ReplenishmentPage)
def replenishment_list(
    request: HttpRequest, query: Query[ReplenishmentListQuery]
) -> dict[str, Any]:
    """Products customers will soon need again, soonest due first, each with its reason."""
    filters = selectors.ReplenishmentFilters(
        state=query.state or "",
        product_id=query.product_id,
        due_before=None
        if query.due_before is None
        else clean_datetime(query.due_before, field="due_before"),
    )
    page = keyset_page_sorted(
        selectors.replenishment_list(filters=filters),
        keys=["due_at"],
        descending=False,
        cursor=query.cursor,
        limit=query.limit,
    )
    return {"items": selectors.replenishment_views(page.items), "next_cursor": page.next_cursor}


@router.get("/fits", response=FitsOut)
def fits_read(request: HttpRequest) -> dict[str, Any]:
    """The population fits of the last finished refresh, which every prediction now uses."""
    run = run_latest_done()
    return {
        "run_id": None if run is None else run.pk,
        "as_of": None if run is None else run.as_of,
        "fits": selectors.fits_latest(),
    }


@router.post("/refresh", response={202: RunOut})
def insights_refresh_start(request: HttpRequest, payload: RefreshIn) -> Status[InsightRun]:
    """Start recomputing every customer's insights; a worker runs it and /runs/{id} shows its
    progress. An as_of in the past is a backtest: the stored insights are left alone. 409
    (refresh_running) while another refresh is queued or running."""
    options = refresh_options(
        as_of=None if payload.as_of is None else clean_datetime(payload.as_of, field="as_of"),
        horizon_days=payload.horizon_days,
    )
    with transaction.atomic():
        run = run_create(options=options, actor=request_actor(request))
        # The worker must find the run, so it is queued only once the run is committed.
        transaction.on_commit(lambda: insights_refresh_task(run.pk))
    return Status(202, run)


@router.get("/runs/{run_id}", response=RunOut)
def insights_run_read(request: HttpRequest, run_id: RowId) -> InsightRun:
    """A refresh's status and progress: done of total steps in its current stage."""
    return selectors.run_get(run_id)
