"""Reads of the insights: one customer's figures with confidence and reasons, lists, summaries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, F, QuerySet

from patron.core.errors import NotFound, ValidationFailed
from patron.insights import reasons
from patron.insights.models import (
    Band,
    Confidence,
    CustomerInsight,
    EngagementTier,
    Fit,
    InsightRun,
    ReplenishmentDue,
    ReplenishmentState,
    RfmGroup,
)
from patron.insights.services.runs import insight_settings_get, run_latest_done


@dataclass(frozen=True)
class Figure:
    """One figure as people read it: its value (None = not enough data), confidence, reasons."""

    name: str
    label: str
    value: str | None
    confidence: str
    reasons: list[str]


@dataclass(frozen=True)
class ReplenishmentView:
    product_id: int
    product_name: str
    due: ReplenishmentDue
    reason: str


@dataclass(frozen=True)
class CustomerInsightView:
    insight: CustomerInsight
    lifecycle_stage: str
    figures: list[Figure]
    replenishments: list[ReplenishmentView]


def _confidence_of(value: object, confidence: str) -> str:
    return Confidence.NONE.value if value is None else confidence


def customer_insight_view(
    *, customer_id: int, lifecycle_stage: str, timezone_name: str
) -> CustomerInsightView | None:
    """The customer's insights with reasons; None before the first refresh scored them."""
    insight = CustomerInsight.objects.filter(customer_id=customer_id).first()
    if insight is None:
        return None
    settings = insight_settings_get()
    money = insight.currency
    predicted_value = (
        None if insight.predicted_value is None else f"{money} {insight.predicted_value:,.2f}"
    )
    predictions = reasons.prediction_reasons(insight)
    figures = [
        Figure(
            "rfm",
            "RFM",
            RfmGroup(insight.rfm_group).label if insight.rfm_group else None,
            Confidence.HIGH.value if insight.rfm_group else Confidence.NONE.value,
            reasons.rfm_reasons(insight),
        ),
        Figure(
            "predicted_orders",
            f"Orders in the next {insight.horizon_days} days",
            None if insight.predicted_orders is None else f"{insight.predicted_orders:.1f}",
            _confidence_of(insight.predicted_orders, insight.prediction_confidence),
            predictions,
        ),
        Figure(
            "predicted_value",
            f"Value in the next {insight.horizon_days} days",
            predicted_value,
            _confidence_of(insight.predicted_value, insight.prediction_confidence),
            predictions,
        ),
        Figure(
            "probability_alive",
            "Still a customer",
            None
            if insight.probability_alive is None
            else f"{insight.probability_alive * 100:.0f}%",
            _confidence_of(insight.probability_alive, insight.prediction_confidence),
            predictions,
        ),
        Figure(
            "churn",
            f"Churn risk ({insight.churn_days} days)",
            None
            if insight.churn_probability is None
            else f"{Band(insight.churn_band).label} ({insight.churn_probability * 100:.0f}%)",
            _confidence_of(insight.churn_probability, insight.prediction_confidence),
            reasons.churn_reasons(insight),
        ),
        Figure(
            "next_order",
            "Next order",
            None if insight.next_order_at is None else f"{insight.next_order_at:%-d %b %Y}",
            _confidence_of(insight.next_order_at, insight.prediction_confidence),
            reasons.next_order_reasons(insight),
        ),
        Figure(
            "engagement",
            "Engagement",
            None
            if insight.engagement_score is None
            else f"{EngagementTier(insight.engagement_tier).label} "
            f"({insight.engagement_score:.0f})",
            Confidence.NONE.value
            if insight.engagement_score is None
            else Confidence.HIGH.value
            if insight.click_count + insight.human_open_count + insight.visit_day_count >= 10
            else Confidence.MEDIUM.value,
            reasons.engagement_reasons(insight),
        ),
        Figure(
            "send_time",
            "Best send time",
            None
            if insight.best_hour is None or insight.best_weekday is None
            else f"{_weekday(insight.best_weekday)} {insight.best_hour:02d}:00",
            insight.send_time_confidence,
            reasons.send_time_reasons(insight, timezone_name),
        ),
        Figure(
            "affinities",
            "Affinities",
            None if not insight.top_categories else str(insight.top_categories[0][0]),
            Confidence.NONE.value
            if not insight.top_categories
            else Confidence.HIGH.value
            if insight.order_count >= 3
            else Confidence.LOW.value,
            reasons.affinity_reasons(insight),
        ),
        Figure(
            "lifecycle",
            "Lifecycle stage",
            lifecycle_stage,
            Confidence.HIGH.value,
            reasons.lifecycle_reasons(
                lifecycle_stage,
                insight,
                new_days=settings.new_days,
                at_risk_days=settings.at_risk_days,
                lapsed_days=settings.lapsed_days,
            ),
        ),
    ]
    dues = (
        ReplenishmentDue.objects.filter(customer_id=customer_id)
        .select_related("product")
        .order_by("due_at")
    )
    replenishments = [
        ReplenishmentView(
            due.product_id,
            due.product.name,
            due,
            reasons.replenishment_reason(due, due.product.name, insight.as_of),
        )
        for due in dues
    ]
    return CustomerInsightView(insight, lifecycle_stage, figures, replenishments)


def _weekday(index: int) -> str:
    return ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")[index]


@dataclass(frozen=True)
class ReplenishmentFilters:
    state: str = ""
    product_id: int | None = None
    due_before: datetime | None = None


def replenishment_list(*, filters: ReplenishmentFilters) -> QuerySet[ReplenishmentDue]:
    """Due replenishments, soonest first, with customer and product for display."""
    queryset = ReplenishmentDue.objects.select_related("customer", "product")
    if filters.state:
        if filters.state not in ReplenishmentState.values:
            raise ValidationFailed(
                f"must be one of {', '.join(ReplenishmentState.values)}", field="state"
            )
        queryset = queryset.filter(state=filters.state)
    if filters.product_id is not None:
        queryset = queryset.filter(product_id=filters.product_id)
    if filters.due_before is not None:
        queryset = queryset.filter(due_at__lt=filters.due_before)
    return queryset.order_by("due_at", "id")


@dataclass(frozen=True)
class InsightSummary:
    customer_count: int
    churn_bands: dict[str, int]
    rfm_groups: dict[str, int]
    rfm_grid: dict[tuple[int, int], int]  # (recency score, frequency score) -> customers
    engagement_tiers: dict[str, int]
    replenishment_states: dict[str, int]
    predicted_values: list[float]  # a sample of predicted values for the CLV spread


# Predicted values read for the spread: a histogram of this many is indistinguishable from one
# of a million, and reading a million decimals for a chart would cost seconds.
CLV_SAMPLE = 20_000


def insight_summary() -> InsightSummary:
    """Counts for the Insights page; each is one grouped query over indexed columns."""
    insights = CustomerInsight.objects.order_by()
    grid = {
        (recency, frequency): count
        for recency, frequency, count in insights.filter(recency_score__gt=0)
        .values_list("recency_score", "frequency_score")
        .annotate(count=Count("pk"))
    }
    values = [
        float(value or 0)
        for value in insights.filter(predicted_value__isnull=False)
        .order_by("customer_id")
        .values_list("predicted_value", flat=True)[:CLV_SAMPLE]
    ]
    return InsightSummary(
        customer_count=insights.count(),
        churn_bands=dict(insights.values_list("churn_band").annotate(count=Count("pk"))),
        rfm_groups=dict(insights.values_list("rfm_group").annotate(count=Count("pk"))),
        rfm_grid=grid,
        engagement_tiers=dict(insights.values_list("engagement_tier").annotate(count=Count("pk"))),
        replenishment_states=dict(
            ReplenishmentDue.objects.order_by().values_list("state").annotate(count=Count("pk"))
        ),
        predicted_values=values,
    )


def run_list(limit: int = 10) -> list[InsightRun]:
    return list(InsightRun.objects.order_by("-created_at", "-id")[:limit])


def fits_latest() -> list[Fit]:
    """The fits of the last finished refresh (the parameters every prediction now uses)."""
    run = run_latest_done()
    return [] if run is None else list(run.fits.order_by("kind"))


@dataclass(frozen=True)
class CustomerInsightFilters:
    churn_band: str = ""
    rfm_group: str = ""
    engagement_tier: str = ""
    min_predicted_value: Decimal | None = None
    max_predicted_value: Decimal | None = None
    next_order_before: datetime | None = None
    next_order_after: datetime | None = None


def customer_insight_list(*, filters: CustomerInsightFilters) -> QuerySet[CustomerInsight]:
    """Scored customers narrowed by every filter given, each with its lifecycle stage, in one
    query; a filter on a figure leaves out customers without that figure."""
    if (
        filters.min_predicted_value is not None
        and filters.max_predicted_value is not None
        and filters.min_predicted_value > filters.max_predicted_value
    ):
        raise ValidationFailed(
            "must not be greater than max_predicted_value", field="min_predicted_value"
        )
    choices = (
        ("churn_band", filters.churn_band, Band.values),
        ("rfm_group", filters.rfm_group, RfmGroup.values),
        ("engagement_tier", filters.engagement_tier, EngagementTier.values),
    )
    queryset = CustomerInsight.objects.annotate(lifecycle_stage=F("customer__lifecycle_stage"))
    for name, value, allowed in choices:
        if not value:
            continue
        if value not in allowed:
            raise ValidationFailed(f"must be one of {', '.join(allowed)}", field=name)
        queryset = queryset.filter(**{name: value})
    if filters.min_predicted_value is not None:
        queryset = queryset.filter(predicted_value__gte=filters.min_predicted_value)
    if filters.max_predicted_value is not None:
        queryset = queryset.filter(predicted_value__lte=filters.max_predicted_value)
    if filters.next_order_before is not None:
        queryset = queryset.filter(next_order_at__lt=filters.next_order_before)
    if filters.next_order_after is not None:
        queryset = queryset.filter(next_order_at__gte=filters.next_order_after)
    return queryset


def replenishment_views(dues: Sequence[ReplenishmentDue]) -> list[ReplenishmentView]:
    """Rows of replenishment_list with their reasons, dated from each customer's last refresh;
    one query for the whole page."""
    as_of_by_customer = dict(
        CustomerInsight.objects.filter(customer_id__in={due.customer_id for due in dues})
        .order_by()
        .values_list("customer_id", "as_of")
    )
    return [
        ReplenishmentView(
            due.product_id,
            due.product.name,
            due,
            reasons.replenishment_reason(
                due, due.product.name, as_of_by_customer.get(due.customer_id, due.computed_at)
            ),
        )
        for due in dues
    ]


def run_get(run_id: int) -> InsightRun:
    run = InsightRun.objects.filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"no insight refresh with id {run_id}", field="id")
    return run
