"""The dashboard: revenue, orders, customers and cohorts over a chosen period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import path
from django.utils.safestring import mark_safe

from patron.accounts.permissions import Permission
from patron.core import clock
from patron.customers.models import LifecycleStage
from patron.orders import reports
from patron.orders.reports import Grain, SalesPeriod
from patron.web import charts
from patron.web.access import requires
from patron.web.forms.dashboard import DateRange, DateRangeForm, Period
from patron.web.pages import is_htmx
from patron.web.selectors import installation_stats

TOP_PRODUCTS = 10
COHORT_MONTHS = 12  # rows of the heatmap for a range of a year or less
MAXIMUM_COHORT_MONTHS = 24  # a longer range shows its latest two years of cohorts
_PAGE = "web/dashboard/page.html"
# The widths (CSS pixels) the charts are drawn for: half a laptop's content area, and all of
# it. SVG scales to its panel, so near these widths the text is drawn at about 11px.
HALF_WIDTH = 540
FULL_WIDTH = 1080
HALF_HEIGHT = 220
# A refresh changes the key anyway; this only bounds how long an unused entry lingers.
FIGURES_CACHE_SECONDS = 60 * 60


@dataclass(frozen=True)
class Row:
    """One row of a chart's table view."""

    label: str
    cells: tuple[str, ...]


def _period_label(start: date, grain: Grain, *, is_long: bool = False) -> str:
    """Months as "Mar 2026"; days and weeks (by their first day) as "4 Mar", long "4 Mar 2026"."""
    if grain is Grain.MONTH:
        return f"{start:%b %Y}"
    return f"{start:%-d %b %Y}" if is_long else f"{start:%-d %b}"


def _month_shift(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _sales_context(periods: list[SalesPeriod], grain: Grain, currency: str) -> dict[str, Any]:
    labels = [_period_label(period.start, grain) for period in periods]
    long_labels = [_period_label(period.start, grain, is_long=True) for period in periods]
    revenue = [float(period.revenue) for period in periods]
    orders = [float(period.orders) for period in periods]

    def money(value: float) -> str:
        return charts.format_money(value, currency, cents=False)

    def axis_money(value: float) -> str:
        return charts.CURRENCY_SYMBOLS.get(currency, "") + charts.format_compact(value)

    return {
        "revenue_chart": charts.line_chart(
            revenue,
            labels,
            titles=long_labels,
            value_label=money,
            axis_label=axis_money,
            width=HALF_WIDTH,
            height=HALF_HEIGHT,
        ),
        "orders_chart": charts.line_chart(
            orders, labels, titles=long_labels, width=HALF_WIDTH, height=HALF_HEIGHT
        ),
        "customers_chart": charts.stacked_bars(
            labels,
            [
                ("New customers", [period.new_customers for period in periods]),
                ("Returning customers' orders", [period.returning_orders for period in periods]),
            ],
            width=HALF_WIDTH,
            height=HALF_HEIGHT,
        ),
        "sales_rows": [
            Row(
                long_labels[index],
                (
                    charts.format_money(period.revenue, currency),
                    charts.format_number(period.orders),
                    charts.format_money(period.average_order_value, currency),
                    charts.format_number(period.new_customers),
                    charts.format_number(period.returning_orders),
                ),
            )
            for index, period in enumerate(periods)
        ],
    }


def _cohort_context(start: date, end: date) -> dict[str, Any]:
    last = end.replace(day=1)
    first = max(
        min(start.replace(day=1), _month_shift(last, -(COHORT_MONTHS - 1))),
        _month_shift(last, -(MAXIMUM_COHORT_MONTHS - 1)),
    )
    rows = reports.cohort_rows(first, last)
    columns = max((len(row.retained) - 1 for row in rows), default=0)
    heatmap = charts.heatmap(
        [f"{row.month:%b %Y}" for row in rows],
        [str(months) for months in range(1, columns + 1)],
        [
            [
                row.rate(months) if months < len(row.retained) else None
                for months in range(1, columns + 1)
            ]
            for row in rows
        ],
        cell_text=lambda _row, _column, rate: f"{rate * 100:.0f}%",
        width=FULL_WIDTH,
        cell_title=lambda row, column, rate: (
            f"{rows[row].month:%b %Y} cohort, {column + 1} months later: "
            f"{charts.format_percent(rate)} of {charts.format_number(rows[row].customers)}"
        ),
    )
    return {
        "cohort_rows": rows,
        "cohort_heatmap": heatmap,
        "cohort_columns": range(1, columns + 1),
        "cohort_table": [
            Row(
                f"{row.month:%b %Y}",
                (
                    charts.format_number(row.customers),
                    *(
                        charts.format_percent(row.rate(months))
                        if months < len(row.retained)
                        else ""
                        for months in range(1, columns + 1)
                    ),
                ),
            )
            for row in rows
        ],
    }


def _stage_context(counts: dict[str, int]) -> dict[str, Any]:
    items = [(stage.label, counts.get(stage.value, 0)) for stage in LifecycleStage]
    return {
        "stage_chart": charts.horizontal_bars(
            [(label, count, charts.format_number(count)) for label, count in items],
            width=HALF_WIDTH,
            label_width=100,
        ),
        "stage_rows": [Row(label, (charts.format_number(count),)) for label, count in items],
        "stage_total": charts.format_number(sum(counts.values())),
    }


def _product_context(start: date, end: date, currency: str) -> dict[str, Any]:
    products = reports.product_sales_top(start, end, limit=TOP_PRODUCTS)
    return {
        "products_chart": charts.horizontal_bars(
            [
                (
                    product.name or product.sku,
                    float(product.revenue),
                    charts.format_money(product.revenue, currency, cents=False),
                )
                for product in products
            ],
            width=FULL_WIDTH,
            label_width=300,
        ),
        "product_rows": [
            Row(
                product.name or product.sku,
                (
                    product.sku,
                    charts.format_number(product.units),
                    charts.format_money(product.revenue, currency),
                ),
            )
            for product in products
        ],
    }


def _figures_context(chosen: DateRange, freshness: reports.Freshness) -> dict[str, Any]:
    grain = reports.grain_for(chosen.start, chosen.end)
    days = reports.sales_days(chosen.start, chosen.end)
    periods = reports.sales_periods(days, start=chosen.start, end=chosen.end, grain=grain)
    total = reports.sales_total(days, start=chosen.start)
    currency = freshness.currency
    returning_share = total.returning_orders / total.orders if total.orders else None
    return {
        "freshness": freshness,
        "range": chosen,
        "grain": grain,
        "total": total,
        "kpis": [
            ("Revenue", charts.format_money(total.revenue, currency), "net of refunds"),
            ("Orders", charts.format_number(total.orders), ""),
            ("Average order value", charts.format_money(total.average_order_value, currency), ""),
            ("New customers", charts.format_number(total.new_customers), "first order"),
            (
                "Returning customers' orders",
                charts.format_percent(returning_share),
                "of all orders",
            ),
            (
                "Repeat-purchase rate",
                charts.format_percent(total.repeat_purchase_rate),
                "of new customers ordered again",
            ),
        ],
        **_sales_context(periods, grain, currency),
        **_cohort_context(chosen.start, chosen.end),
        **_stage_context(reports.stage_counts()),
        **_product_context(chosen.start, chosen.end, currency),
    }


def _figures_html(request: HttpRequest, form: DateRangeForm) -> dict[str, Any]:
    """The figures region, rendered once per refresh of the rollups and period.

    The rollups only change when they are refreshed, so the drawn region is cached under the
    refresh's time: every view of the same period until the next refresh reuses it, and a
    refresh makes a new key (old entries expire). Nothing in it depends on who looks.
    """
    freshness = reports.freshness_get()
    if freshness is None or freshness.first_day is None:
        return {"freshness": freshness, "has_orders": False}
    chosen = form.date_range(today=clock.now().date(), first_day=freshness.first_day)
    key = f"web:dashboard:{freshness.refreshed_at.isoformat()}:{chosen.start}:{chosen.end}"
    html = cache.get(key)
    if html is None:
        context = _figures_context(chosen, freshness)
        html = render_to_string(f"{_PAGE}#figures", context, request=request)
        cache.set(key, html, FIGURES_CACHE_SECONDS)
    return {"freshness": freshness, "has_orders": True, "figures_html": mark_safe(html)}  # noqa: S308 - rendered by our template, escaped there


@requires(Permission.DASHBOARD_VIEW)
def dashboard(request: HttpRequest, **kwargs: object) -> HttpResponse:
    form = DateRangeForm(request.GET)  # no parameters: the default period
    is_valid = form.is_valid()
    context: dict[str, Any] = {"form": form, "periods": Period, "is_valid": is_valid}
    if is_valid:
        context.update(_figures_html(request, form))
        context["current_period"] = form.cleaned_data["period"]
    template = f"{_PAGE}#dashboard" if is_htmx(request) else _PAGE
    return render(request, template, context)


@requires(Permission.DASHBOARD_VIEW)
def dashboard_your_data(request: HttpRequest, **kwargs: object) -> HttpResponse:
    """The installation's row counts, loaded after the page: counting big tables takes time."""
    template = f"{_PAGE}#your-data" if is_htmx(request) else "web/dashboard/your_data.html"
    return render(request, template, {"stats": installation_stats()})


urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("dashboard/your-data/", dashboard_your_data, name="dashboard_your_data"),
]
