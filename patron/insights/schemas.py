"""Request and response shapes of the insights API: figures, lists, fits and refresh runs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field, StrictInt

from patron.core.api import MAXIMUM_ROW_ID, PageQuery, TimestampText
from patron.insights.models import (
    Band,
    CustomerInsight,
    EngagementTier,
    Fit,
    FitKind,
    ReplenishmentState,
    RfmGroup,
    RunStatus,
)
from patron.insights.selectors import ReplenishmentView
from patron.insights.services.runs import MAXIMUM_HORIZON_DAYS

# Predicted values are stored with 14 digits, 2 after the point; a bound beyond that can
# match nothing and would only overflow the database's decimal comparison.
MAXIMUM_VALUE_BOUND = Decimal("999999999999.99")


class FigureOut(Schema):
    name: str
    label: str
    value: str | None = Field(description="As people read it; null means not enough data")
    confidence: str = Field(description="high, medium, low, population or none")
    reasons: list[str]


class ShareOut(Schema):
    name: str
    share: float = Field(description="Share of the customer's spend, 0 to 1")


def _shares(pairs: list[list[Any]]) -> list[ShareOut]:
    # Stored as [[name, share], ...] best first (CustomerInsight.top_categories).
    return [ShareOut(name=str(name), share=float(share)) for name, share in pairs]


def _or_none(text: str) -> str | None:
    return text or None


class ScoresOut(Schema):
    """The stored numbers behind the figures; null means not enough data."""

    customer_id: int
    computed_at: datetime
    as_of: datetime
    order_count: int
    repeat_count: int
    first_order_at: datetime | None
    last_order_at: datetime | None
    mean_days_between_orders: float | None
    currency: str
    historic_value: Decimal | None
    other_currency_order_count: int
    recency_score: int = Field(description="1 to 5 (5 best); 0 without orders")
    frequency_score: int
    monetary_score: int
    rfm_group: RfmGroup | None
    horizon_days: int
    predicted_orders: float | None
    predicted_value: Decimal | None
    expected_order_value: Decimal | None
    probability_alive: float | None
    prediction_confidence: str
    churn_days: int
    churn_probability: float | None
    churn_band: Band | None
    next_order_at: datetime | None
    engagement_score: float | None
    engagement_tier: EngagementTier
    human_open_count: int
    machine_open_count: int
    click_count: int
    visit_day_count: int
    best_hour: int | None = Field(description="0 to 23 in the customer's own time zone")
    best_weekday: int | None = Field(description="0 = Monday")
    send_time_observations: int
    send_time_confidence: str
    top_categories: list[ShareOut]
    top_brands: list[ShareOut]
    price_band: str | None
    discount_share: float | None

    @staticmethod
    def resolve_rfm_group(insight: CustomerInsight) -> str | None:
        return _or_none(insight.rfm_group)

    @staticmethod
    def resolve_churn_band(insight: CustomerInsight) -> str | None:
        return _or_none(insight.churn_band)

    @staticmethod
    def resolve_price_band(insight: CustomerInsight) -> str | None:
        return _or_none(insight.price_band)

    @staticmethod
    def resolve_top_categories(insight: CustomerInsight) -> list[ShareOut]:
        return _shares(insight.top_categories)

    @staticmethod
    def resolve_top_brands(insight: CustomerInsight) -> list[ShareOut]:
        return _shares(insight.top_brands)


class CustomerScoresOut(ScoresOut):
    lifecycle_stage: str


class CustomerScoresPage(Schema):
    items: list[CustomerScoresOut]
    next_cursor: str | None


class CustomerReplenishmentOut(Schema):
    product_id: int
    product_name: str
    due_at: datetime
    state: ReplenishmentState
    confidence: str
    reason: str

    @staticmethod
    def resolve_due_at(view: ReplenishmentView) -> datetime:
        return view.due.due_at

    @staticmethod
    def resolve_state(view: ReplenishmentView) -> str:
        return view.due.state

    @staticmethod
    def resolve_confidence(view: ReplenishmentView) -> str:
        return view.due.confidence


class ReplenishmentOut(CustomerReplenishmentOut):
    customer_id: int

    @staticmethod
    def resolve_customer_id(view: ReplenishmentView) -> int:
        return view.due.customer_id


class ReplenishmentPage(Schema):
    items: list[ReplenishmentOut]
    next_cursor: str | None


class CustomerInsightsOut(Schema):
    """One customer's figures with reasons; before the first refresh scored them, is_scored
    is false, figures and scores are null and reasons say why."""

    customer_id: int
    is_scored: bool
    reasons: list[str] = Field(description="Why there are no figures; empty when scored")
    lifecycle_stage: str
    computed_at: datetime | None
    as_of: datetime | None
    horizon_days: int | None
    figures: list[FigureOut] | None
    scores: ScoresOut | None
    replenishments: list[CustomerReplenishmentOut]


class CustomerInsightListQuery(PageQuery):
    model_config = ConfigDict(extra="forbid")

    churn_band: Band | None = None
    rfm_group: RfmGroup | None = None
    engagement_tier: EngagementTier | None = None
    min_predicted_value: Decimal | None = Field(
        None, ge=0, le=MAXIMUM_VALUE_BOUND, description="Inclusive"
    )
    max_predicted_value: Decimal | None = Field(
        None, ge=0, le=MAXIMUM_VALUE_BOUND, description="Inclusive"
    )
    next_order_before: TimestampText | None = Field(None, description="Exclusive")
    next_order_after: TimestampText | None = Field(None, description="Inclusive")


class ReplenishmentListQuery(PageQuery):
    model_config = ConfigDict(extra="forbid")

    state: ReplenishmentState | None = None
    product_id: int | None = Field(None, ge=1, le=MAXIMUM_ROW_ID)
    due_before: TimestampText | None = Field(None, description="Exclusive")


class FitOut(Schema):
    kind: FitKind
    parameters: dict[str, float]
    standard_errors: dict[str, float | None]
    log_likelihood: float
    customer_count: int
    is_converged: bool
    calibration_start: datetime
    calibration_end: datetime
    time_unit: str
    currency: str

    @staticmethod
    def resolve_parameters(fit: Fit) -> dict[str, float]:
        return {name: float(value) for name, value in fit.parameters.items()}


class FitsOut(Schema):
    """The fits of the last finished refresh; run_id and as_of are null before the first."""

    run_id: int | None
    as_of: datetime | None
    fits: list[FitOut]


class RefreshIn(Schema):
    model_config = ConfigDict(extra="forbid")

    as_of: TimestampText | None = Field(
        None, description="Compute as if it were this moment, ignoring later facts (a backtest)"
    )
    horizon_days: StrictInt | None = Field(
        None,
        ge=1,
        le=MAXIMUM_HORIZON_DAYS,
        description="Days ahead the purchase predictions cover; the workspace setting if left out",
    )


class RunOut(Schema):
    id: int
    status: RunStatus
    stage: str
    done: int
    total: int
    customer_count: int
    as_of: datetime
    is_backtest: bool
    horizon_days: int
    churn_days: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str
