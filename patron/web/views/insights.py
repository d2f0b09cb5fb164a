"""The Insights page (spread of value, churn bands, RFM grid, engagement, the replenishment due
list, fit diagnostics, holdout checks, refreshes, settings) and the customer page's panel."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh

from patron.accounts.permissions import Permission
from patron.core.errors import PatronError
from patron.core.pagination import Page, keyset_page_sorted
from patron.core.panels import Panel, PanelContent, panel_register
from patron.customers import selectors as customer_selectors
from patron.customers.models import LifecycleStage
from patron.insights import reasons
from patron.insights import selectors as insight_selectors
from patron.insights.models import (
    Band,
    Confidence,
    EngagementTier,
    Fit,
    HoldoutCheck,
    InsightRun,
    InsightSettings,
    ReplenishmentDue,
    ReplenishmentState,
    RfmGroup,
    RunStatus,
)
from patron.insights.services import holdout as holdout_services
from patron.insights.services import runs as run_services
from patron.insights.tasks import holdout_check_task, insights_refresh_task
from patron.web import charts
from patron.web.access import requires, staff_actor
from patron.web.forms.insights import (
    DEFAULT_DUE_STATE,
    DueFilterForm,
    HoldoutCheckForm,
    InsightSettingsForm,
)
from patron.web.pages import is_htmx, service_errors_show
from patron.web.views.dashboard import FULL_WIDTH, HALF_HEIGHT, HALF_WIDTH, Row

TEMPLATE = "web/insights/page.html"
RUNS_SHOWN = 5  # the latest refreshes; older ones only matter when tracing a problem
DUE_PAGE_SIZE = 25  # a screen of the due list; "Next page" brings more
# Bars of the value spread: enough to see its shape, few enough to label each in a half panel.
VALUE_BINS = 10
# The spread's axis ends at this share of customers so that a few very large customers do not
# squeeze everyone else into the first bar; the last bar holds everyone above it.
VALUE_SPREAD_QUANTILE = 0.95

CONFIDENCE_TONES = {
    Confidence.HIGH: "good",
    Confidence.MEDIUM: "accent",
    Confidence.LOW: "warn",
    Confidence.POPULATION: "",
    Confidence.NONE: "",
}
STATE_TONES = {
    ReplenishmentState.NOT_DUE: "",
    ReplenishmentState.DUE_SOON: "accent",
    ReplenishmentState.DUE: "warn",
    ReplenishmentState.OVERDUE: "bad",
    ReplenishmentState.LAPSED: "",
}
# What the calibration plot's AUCs measure, in the order they are listed.
AUC_LABELS = (
    ("auc_churn_score", "Churn score"),
    ("auc_probability_no_purchase", "Chance of no purchase"),
    ("auc_expected_purchases", "Expected purchases (fewest first)"),
    ("auc_probability_alive", "Chance still a customer (lowest first)"),
)


def _tone(tones: dict[Any, str], value: str) -> str:
    return tones.get(value, "")


# --- the customer page's panel --------------------------------------------------------------


@dataclass(frozen=True)
class FigureRow:
    """One prediction as the panel shows it."""

    label: str
    value: str | None
    confidence: str
    confidence_tone: str
    reasons: list[str]


@dataclass(frozen=True)
class DueRow:
    product_name: str
    due: ReplenishmentDue
    state_label: str
    state_tone: str
    reason: str


def _predictions_panel(customer_id: int) -> PanelContent | None:
    """Every figure with its confidence and reasons, and what the customer will run out of.

    Four queries with insights (the customer's zone and stage, the insight row, the settings,
    the due products), two before the first refresh.
    """
    customer = customer_selectors.customer_find(customer_id)
    if customer is None:
        return None
    view = insight_selectors.customer_insight_view(
        customer_id=customer_id,
        lifecycle_stage=customer.lifecycle_stage,
        timezone_name=customer.timezone,
    )
    if view is None:
        return PanelContent("web/insights/predictions_panel.html", {"view": None})
    stage_labels = dict(LifecycleStage.choices)
    figures = [
        FigureRow(
            label=figure.label,
            # The stage is stored as its value; people read its label.
            value=stage_labels.get(figure.value or "", figure.value)
            if figure.name == "lifecycle"
            else figure.value,
            confidence=Confidence(figure.confidence).label,
            confidence_tone=_tone(CONFIDENCE_TONES, figure.confidence),
            reasons=figure.reasons,
        )
        for figure in view.figures
    ]
    dues = [
        DueRow(
            product_name=row.product_name,
            due=row.due,
            state_label=ReplenishmentState(row.due.state).label,
            state_tone=_tone(STATE_TONES, row.due.state),
            reason=row.reason,
        )
        for row in view.replenishments
    ]
    # Lapsed products (long overdue: probably bought elsewhere now) are folded away, so the
    # products to remind about come first.
    return PanelContent(
        "web/insights/predictions_panel.html",
        {
            "view": view,
            "figures": figures,
            "dues": [row for row in dues if row.due.state != ReplenishmentState.LAPSED],
            "lapsed": [row for row in dues if row.due.state == ReplenishmentState.LAPSED],
        },
    )


def predictions_panel_register() -> None:
    """Called from WebConfig.ready(): the panel goes beside the timeline, after the products."""
    panel_register(
        Panel(
            "predictions",
            "Predictions",
            30,
            Permission.INSIGHTS_VIEW.value,
            _predictions_panel,
        )
    )


# --- the Insights page ----------------------------------------------------------------------


def value_bins(values: Sequence[float]) -> list[tuple[float, float | None, int]]:
    """(low, high, customers) bars of a value spread; high is None for the open last bar.

    The bars are round-numbered and end near the 95th percentile; everyone above it is in the
    last, open bar, so one whale does not flatten the chart. Values are never negative.
    """
    if not values:
        return []
    ordered = sorted(values)
    upper = ordered[min(len(ordered) - 1, math.floor(VALUE_SPREAD_QUANTILE * len(ordered)))]
    scale = charts.nice_scale(upper, steps=VALUE_BINS)
    step = scale.ticks[1] - scale.ticks[0]
    edges = list(scale.ticks)
    counts = [0] * len(edges)  # one bar per edge: the last is "edge and above"
    for value in ordered:
        index = min(int(value // step), len(edges) - 1) if value > 0 else 0
        counts[index] += 1
    bins: list[tuple[float, float | None, int]] = [
        (edges[index], edges[index + 1], counts[index]) for index in range(len(edges) - 1)
    ]
    if counts[-1]:
        bins.append((edges[-1], None, counts[-1]))
    return bins


def _money_axis(currency: str) -> Any:
    symbol = charts.CURRENCY_SYMBOLS.get(currency, f"{currency} " if currency else "")
    return lambda value: symbol + charts.format_compact(value)


def _value_context(values: list[float], currency: str) -> dict[str, Any]:
    money = _money_axis(currency)
    bins = value_bins(values)
    labels = [money(low) if high is not None else f"{money(low)}+" for low, high, _ in bins]
    return {
        "value_chart": charts.stacked_bars(
            labels,
            [("Customers", [count for _, _, count in bins])],
            width=HALF_WIDTH,
            height=HALF_HEIGHT,
        )
        if bins
        else None,
        "value_rows": [
            Row(
                f"{money(low)} to {money(high)}" if high is not None else f"{money(low)} and more",
                (charts.format_number(count),),
            )
            for low, high, count in bins
        ],
        "value_sampled": len(values),
    }


def _count_rows(items: list[tuple[str, int]]) -> list[Row]:
    return [Row(label, (charts.format_number(count),)) for label, count in items]


def _count_chart(items: list[tuple[str, int]], *, label_width: int = 150) -> Any:
    return charts.horizontal_bars(
        [(label, count, charts.format_number(count)) for label, count in items],
        width=HALF_WIDTH,
        label_width=label_width,
    )


def _summary_context(summary: insight_selectors.InsightSummary, currency: str) -> dict[str, Any]:
    churn = [(band.label, summary.churn_bands.get(band.value, 0)) for band in Band]
    unscored = summary.churn_bands.get("", 0)
    if unscored:
        churn.append(("Not enough data", unscored))
    groups = [(group.label, summary.rfm_groups.get(group.value, 0)) for group in RfmGroup]
    leads = summary.rfm_groups.get("", 0)
    if leads:
        groups.append(("No orders yet", leads))
    tiers = [(tier.label, summary.engagement_tiers.get(tier.value, 0)) for tier in EngagementTier]
    recencies = range(5, 0, -1)  # the most recent buyers on top
    frequencies = range(1, 6)
    grid = [
        [float(summary.rfm_grid.get((recency, frequency), 0)) for frequency in frequencies]
        for recency in recencies
    ]
    states = [
        (state.label, summary.replenishment_states.get(state.value, 0))
        for state in ReplenishmentState
    ]
    return {
        "due_state_chart": _count_chart(states),
        "due_state_rows": _count_rows(states),
        "churn_chart": _count_chart(churn),
        "churn_rows": _count_rows(churn),
        "rfm_heatmap": charts.heatmap(
            [f"R{recency}" for recency in recencies],
            [f"F{frequency}" for frequency in frequencies],
            grid,
            cell_text=lambda _row, _column, count: charts.format_number(count),
            cell_title=lambda row, column, count: (
                f"Recency {5 - row}, frequency {column + 1}: "
                f"{charts.format_number(count)} customers"
            ),
            width=HALF_WIDTH,
        ),
        "rfm_table": [
            Row(f"R{recency}", tuple(charts.format_number(count) for count in row))
            for recency, row in zip(recencies, grid, strict=True)
        ],
        "rfm_group_chart": _count_chart(groups),
        "rfm_group_rows": _count_rows(groups),
        "engagement_chart": _count_chart(tiers),
        "engagement_rows": _count_rows(tiers),
        **_value_context(summary.predicted_values, currency),
    }


def _due_page(request: HttpRequest, form: DueFilterForm) -> Page[ReplenishmentDue]:
    """The due list's page for the chosen state; a bad filter shows the default state and a
    bad cursor the first page, with the reason beside the filter."""
    state = form.state_chosen()
    queryset = insight_selectors.replenishment_list(
        filters=insight_selectors.ReplenishmentFilters(state=state)
    )
    try:
        return keyset_page_sorted(
            queryset,
            keys=["due_at"],
            descending=False,
            cursor=request.GET.get("cursor"),
            limit=DUE_PAGE_SIZE,
        )
    except PatronError as error:
        form.add_error(None, error.message)
        return keyset_page_sorted(
            queryset, keys=["due_at"], descending=False, cursor=None, limit=DUE_PAGE_SIZE
        )


def _due_context(request: HttpRequest, state_counts: dict[str, int] | None) -> dict[str, Any]:
    data = request.GET.copy()
    data.setdefault("state", DEFAULT_DUE_STATE.value)
    form = DueFilterForm(data)
    page = _due_page(request, form)
    rows = [
        DueRow(
            product_name=due.product.name or due.product.sku,
            due=due,
            state_label=ReplenishmentState(due.state).label,
            state_tone=_tone(STATE_TONES, due.state),
            reason=reasons.replenishment_reason(
                due, due.product.name or due.product.sku, due.computed_at
            ),
        )
        for due in page.items
    ]
    return {
        "due_form": form,
        "due_page": page,
        "due_rows": rows,
        "due_state": form.state_chosen(),
        "due_state_counts": [
            (state.value, state.label, state_counts.get(state.value, 0))
            for state in ReplenishmentState
        ]
        if state_counts is not None
        else None,
    }


@dataclass(frozen=True)
class ParameterRow:
    name: str
    value: str
    standard_error: str


@dataclass(frozen=True)
class FitView:
    fit: Fit
    parameters: list[ParameterRow]


def _number(value: object) -> str:
    """A parameter or error as people compare them: four significant figures; '—' if unknown."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return "—"
    return f"{value:.4g}"


def _fit_views(fits: list[Fit]) -> list[FitView]:
    return [
        FitView(
            fit,
            [
                ParameterRow(name, _number(value), _number(fit.standard_errors.get(name)))
                for name, value in fit.parameters.items()
            ],
        )
        for fit in fits
    ]


@dataclass(frozen=True)
class RunView:
    run: InsightRun
    percent: int
    is_busy: bool


def _run_views(runs: list[InsightRun], busy: InsightRun | None) -> list[RunView]:
    return [
        RunView(
            run,
            min(100, round(100 * run.done / run.total)) if run.total else 0,
            busy is not None and run.pk == busy.pk,
        )
        for run in runs
    ]


def _runs_context() -> dict[str, Any]:
    busy = run_services.run_busy()
    return {"runs": _run_views(insight_selectors.run_list(RUNS_SHOWN), busy), "busy_run": busy}


@dataclass(frozen=True)
class CalibrationRow:
    frequency: str
    customers: str
    predicted: str
    actual: str


def _holdout_context(check: HoldoutCheck | None) -> dict[str, Any]:
    """The latest check; its chart and table when it found enough data."""
    context: dict[str, Any] = {"check": check, "check_is_busy": False, "calibration": None}
    if check is None:
        return context
    context["check_is_busy"] = check.status in (RunStatus.QUEUED, RunStatus.RUNNING)
    result = check.result or {}
    if check.status != RunStatus.DONE or not result.get("is_enough_data"):
        context["check_reason"] = result.get("reason", "")
        return context
    rows = result.get("rows", [])
    labels = [str(row["frequency"]) for row in rows]

    def mean(value: object) -> str:
        return "—" if not isinstance(value, int | float) else f"{value:.2f}"

    context["calibration"] = {
        "chart": charts.grouped_bars(
            labels,
            [
                ("Predicted", [row.get("predicted") for row in rows]),
                ("Actual", [row.get("actual") for row in rows]),
            ],
            value_label=lambda value: f"{value:.2f}",
            axis_label=lambda value: f"{value:g}",
            width=FULL_WIDTH,
            height=HALF_HEIGHT,
        ),
        "rows": [
            CalibrationRow(
                str(row["frequency"]),
                charts.format_number(row.get("customers", 0)),
                mean(row.get("predicted")),
                mean(row.get("actual")),
            )
            for row in rows
        ],
        "predicted_total": f"{result.get('predicted_total', 0):,.0f}",
        "actual_total": f"{result.get('actual_total', 0):,.0f}",
        "customers": charts.format_number(result.get("customers", 0)),
        "repeat_customers": charts.format_number(result.get("repeat_customers", 0)),
        "aucs": [
            (label, "—" if result.get(key) is None else f"{result[key]:.3f}")
            for key, label in AUC_LABELS
        ],
    }
    return context


def _settings_form(settings: InsightSettings) -> InsightSettingsForm:
    return InsightSettingsForm(
        initial={
            "reporting_currency": settings.reporting_currency,
            **{
                name: getattr(settings, name)
                for name in (
                    "horizon_days",
                    "churn_days",
                    "new_days",
                    "at_risk_days",
                    "lapsed_days",
                )
            },
        }
    )


def _page_context(
    request: HttpRequest,
    *,
    settings_form: InsightSettingsForm | None = None,
    holdout_form: HoldoutCheckForm | None = None,
) -> dict[str, Any]:
    summary = insight_selectors.insight_summary()
    fits = insight_selectors.fits_latest()
    settings = run_services.insight_settings_get()
    currency = next((fit.currency for fit in fits if fit.currency), settings.reporting_currency)
    has_insights = summary.customer_count > 0
    context: dict[str, Any] = {
        "summary": summary,
        "has_insights": has_insights,
        "currency": currency,
        "fits": _fit_views(fits),
        "settings": settings,
        "settings_form": settings_form or _settings_form(settings),
        "holdout_form": holdout_form or HoldoutCheckForm(),
        **_runs_context(),
        **_holdout_context(holdout_services.holdout_check_latest()),
        **_due_context(request, summary.replenishment_states),
    }
    if has_insights:
        context.update(_summary_context(summary, currency))
    return context


@requires(Permission.INSIGHTS_VIEW)
def insights_page(request: HttpRequest) -> HttpResponse:
    if is_htmx(request):
        # The due list's filter and pages swap only their region.
        return render(request, f"{TEMPLATE}#due-list", _due_context(request, None))
    return render(request, TEMPLATE, _page_context(request))


def _page_with_errors(
    request: HttpRequest,
    *,
    settings_form: InsightSettingsForm | None = None,
    holdout_form: HoldoutCheckForm | None = None,
) -> HttpResponse:
    context = _page_context(request, settings_form=settings_form, holdout_form=holdout_form)
    return render(request, TEMPLATE, context, status=400)


@requires(Permission.INSIGHTS_VIEW)
def insights_runs(request: HttpRequest) -> HttpResponse:
    """The refreshes region, polled while one is busy; its end reloads the page's figures."""
    if not is_htmx(request):
        return redirect(reverse("web:insights") + "#runs")
    context = _runs_context()
    if request.GET.get("poll") == "1" and context["busy_run"] is None:
        return HttpResponseClientRefresh()
    return render(request, f"{TEMPLATE}#runs", context)


@requires(Permission.INSIGHTS_MANAGE)
@require_POST
def insights_refresh(request: HttpRequest) -> HttpResponse:
    try:
        run = run_services.run_create(
            options=run_services.refresh_options(), actor=staff_actor(request)
        )
    except PatronError as error:
        messages.error(request, error.message[:1].upper() + error.message[1:] + ".")
    else:
        run_id = run.pk
        transaction.on_commit(lambda: insights_refresh_task(run_id))
        messages.success(
            request,
            "Refresh started: every customer is rescored in the background "
            "(`patron worker` must be running). This page follows its progress.",
        )
    return redirect(reverse("web:insights") + "#runs")


@requires(Permission.INSIGHTS_MANAGE)
@require_POST
def insights_settings(request: HttpRequest) -> HttpResponse:
    form = InsightSettingsForm(request.POST)
    if form.is_valid():
        try:
            run_services.insight_settings_update(change=form.change(), actor=staff_actor(request))
        except PatronError as error:
            service_errors_show(form, error)
        else:
            messages.success(request, "Settings saved. They apply from the next refresh.")
            return redirect(reverse("web:insights") + "#settings")
    return _page_with_errors(request, settings_form=form)


@requires(Permission.INSIGHTS_VIEW)
def insights_holdout(request: HttpRequest) -> HttpResponse:
    """The calibration region, polled while a check is queued or running."""
    if not is_htmx(request):
        return redirect(reverse("web:insights") + "#calibration")
    context = {
        "holdout_form": HoldoutCheckForm(),
        **_holdout_context(holdout_services.holdout_check_latest()),
    }
    return render(request, f"{TEMPLATE}#calibration", context)


@requires(Permission.INSIGHTS_MANAGE)
@require_POST
def insights_holdout_start(request: HttpRequest) -> HttpResponse:
    form = HoldoutCheckForm(request.POST)
    if form.is_valid():
        try:
            check = holdout_services.holdout_check_create(
                holdout_days=form.cleaned_data["holdout_days"], actor=staff_actor(request)
            )
        except PatronError as error:
            service_errors_show(form, error)
        else:
            check_id = check.pk
            transaction.on_commit(lambda: holdout_check_task(check_id))
            messages.success(
                request,
                f"Holdout check of the last {check.holdout_days} days started in the "
                "background; the result appears below.",
            )
            return redirect(reverse("web:insights") + "#calibration")
    return _page_with_errors(request, holdout_form=form)


urlpatterns = [
    path("insights/", insights_page, name="insights"),
    path("insights/runs/", insights_runs, name="insights_runs"),
    path("insights/refresh/", insights_refresh, name="insights_refresh"),
    path("insights/settings/", insights_settings, name="insights_settings"),
    path("insights/holdout/", insights_holdout, name="insights_holdout"),
    path("insights/holdout/start/", insights_holdout_start, name="insights_holdout_start"),
]
