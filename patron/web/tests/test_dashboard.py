"""The dashboard: rollups equal to a direct computation over the orders, the page, its roles."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from patron.accounts.models import Role, Source
from patron.core.actors import Actor
from patron.customers.services.merge import customer_merge
from patron.customers.services.profile import customer_create
from patron.orders import reports
from patron.orders.models import (
    CohortMonth,
    Order,
    OrderStatus,
    ProductSalesDay,
    RollupState,
    SalesDay,
)
from patron.orders.reports import Grain, SalesPeriod
from patron.orders.services.orders import order_cancel, order_clean, order_record, order_refund
from patron.orders.services.rollups import rollups_refresh

pytestmark = pytest.mark.django_db

TODAY = timezone.now().date()


def at(day: date, hour: int = 12) -> str:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC).isoformat()


class Shop:
    """Orders written through the orders services, as the API and imports write them."""

    def __init__(self, source: Source, actor: Actor) -> None:
        self.source, self.actor, self.number = source, actor, 0

    def customer(self, name: str):
        return customer_create(actor=self.actor, fields={"first_name": name})

    def order(
        self,
        customer,
        day: date,
        *,
        lines: list[tuple[str, int, str]] | None = None,
        currency: str = "EUR",
        hour: int = 12,
        name: str = "",
    ) -> Order:
        self.number += 1
        raw = {
            "external_id": f"order-{self.number}",
            "currency": currency,
            "placed_at": at(day, hour),
            "lines": [
                {"sku": sku, "quantity": quantity, "unit_price": price, "name": name or sku}
                for sku, quantity, price in (lines or [("SERUM-30", 1, "30.00")])
            ],
        }
        order, _ = order_record(
            source=self.source, customer=customer, order=order_clean(raw), actor=self.actor
        )
        return order


@pytest.fixture
def shop(web_source, system_actor) -> Shop:
    return Shop(Source.objects.get(pk=web_source.id), system_actor)


def month(day: date) -> date:
    return day.replace(day=1)


def months_ago(count: int) -> date:
    first = month(TODAY)
    index = first.year * 12 + first.month - 1 - count
    return date(index // 12, index % 12 + 1, 10)


@pytest.fixture
def history(shop: Shop, system_actor: Actor) -> dict[str, object]:
    """Five customers over seven months: repeaters, a one-off, a cancelled first order, a
    full and a partial refund, an order in another currency."""
    ana, ben, cem, dee, eve = (shop.customer(name) for name in ("Ana", "Ben", "Cem", "Dee", "Eve"))
    shop.order(ana, months_ago(6), lines=[("SERUM-30", 2, "30.00"), ("SPF-50", 1, "19.50")])
    shop.order(ana, months_ago(5))
    shop.order(ana, TODAY - timedelta(days=3), lines=[("SPF-50", 3, "19.50")])
    shop.order(ben, months_ago(5), lines=[("GIFT-BOX", 1, "80.00")])
    cancelled = shop.order(cem, months_ago(4))
    order_cancel(order=cancelled, cancelled_at=timezone.now(), actor=system_actor)
    shop.order(cem, months_ago(3), lines=[("SPF-50", 1, "19.50")])
    shop.order(cem, months_ago(3), hour=15)
    refunded = shop.order(dee, TODAY - timedelta(days=40), lines=[("SERUM-30", 1, "30.00")])
    order_refund(
        order=refunded,
        external_id="r-1",
        amount=None,
        refunded_at=timezone.now(),
        actor=system_actor,
    )
    partial = shop.order(dee, TODAY - timedelta(days=10), lines=[("GIFT-BOX", 2, "80.00")])
    order_refund(
        order=partial,
        external_id="r-2",
        amount=Decimal("25.00"),
        refunded_at=timezone.now(),
        actor=system_actor,
    )
    shop.order(eve, TODAY - timedelta(days=1), currency="USD", lines=[("SPF-50", 1, "21.00")])
    return {"ana": ana, "ben": ben, "cem": cem, "dee": dee, "eve": eve}


def direct(start: date, end: date) -> dict[str, object]:
    """The figures computed straight from the orders, the way docs/workspace.md defines them."""
    counted = [order for order in Order.objects.all() if order.status != OrderStatus.CANCELLED]
    first_at: dict[int, datetime] = {}
    per_customer: Counter[int] = Counter()
    for order in counted:
        per_customer[order.customer_id] += 1
        if order.customer_id not in first_at or order.placed_at < first_at[order.customer_id]:
            first_at[order.customer_id] = order.placed_at
    inside = [order for order in counted if start <= order.placed_at.date() <= end]
    newcomers = [customer for customer, first in first_at.items() if start <= first.date() <= end]
    shop_orders = [order for order in inside if order.currency == "EUR"]
    return {
        "orders": len(inside),
        "revenue": sum((order.total - order.refunded_total for order in shop_orders), Decimal(0)),
        "revenue_orders": len(shop_orders),
        "new_customers": len(newcomers),
        "returned": sum(1 for customer in newcomers if per_customer[customer] > 1),
    }


def direct_cohorts() -> dict[tuple[date, date], int]:
    counted = Order.objects.exclude(status=OrderStatus.CANCELLED)
    first: dict[int, date] = {}
    for order in counted.order_by("placed_at"):
        first.setdefault(order.customer_id, month(order.placed_at.date()))
    active = {(order.customer_id, month(order.placed_at.date())) for order in counted}
    cells: Counter[tuple[date, date]] = Counter()
    for customer, activity in active:
        cells[(first[customer], activity)] += 1
    return dict(cells)


def direct_products(start: date, end: date) -> dict[str, tuple[int, Decimal]]:
    totals: dict[str, list] = defaultdict(lambda: [0, Decimal(0)])
    for order in Order.objects.exclude(status=OrderStatus.CANCELLED).prefetch_related("lines"):
        if start <= order.placed_at.date() <= end:
            for line in order.lines.all():
                totals[line.sku][0] += line.quantity
                if order.currency == "EUR":
                    totals[line.sku][1] += line_total(line)
    return {sku: (units, revenue) for sku, (units, revenue) in totals.items()}


def line_total(line) -> Decimal:
    return line.line_total


def rollup_figures(start: date, end: date) -> dict[str, object]:
    total = reports.sales_total(reports.sales_days(start, end), start=start)
    return {
        "orders": total.orders,
        "revenue": total.revenue,
        "revenue_orders": total.revenue_orders,
        "new_customers": total.new_customers,
        "returned": total.new_customers_returned,
    }


def rollup_cohorts() -> dict[tuple[date, date], int]:
    return {
        (cell.cohort_month, cell.activity_month): cell.customers
        for cell in CohortMonth.objects.all()
    }


def rollup_products(start: date, end: date) -> dict[str, tuple[int, Decimal]]:
    return {
        product.sku: (product.units, product.revenue)
        for product in reports.product_sales_top(start, end, limit=100)
    }


RANGES = [
    (TODAY - timedelta(days=29), TODAY),
    (TODAY - timedelta(days=89), TODAY),
    (TODAY - timedelta(days=364), TODAY),
    (months_ago(5), months_ago(3)),
    (date(2000, 1, 1), TODAY),
]


def tables() -> tuple[list[tuple], list[tuple], list[tuple]]:
    return (
        list(SalesDay.objects.order_by("day").values_list()),
        list(
            ProductSalesDay.objects.order_by("day", "product_id").values_list(
                "day", "product_id", "units", "revenue"
            )
        ),
        list(
            CohortMonth.objects.order_by("cohort_month", "activity_month").values_list(
                "cohort_month", "activity_month", "customers"
            )
        ),
    )


# Rollups


def test_full_refresh_equals_a_direct_computation_over_the_orders(history):
    result = rollups_refresh()

    assert result.is_full is True
    for start, end in RANGES:
        assert rollup_figures(start, end) == direct(start, end), (start, end)
        assert rollup_products(start, end) == direct_products(start, end), (start, end)
    assert rollup_cohorts() == direct_cohorts()
    state = RollupState.objects.get()
    assert state.currency == "EUR"
    assert state.first_day == months_ago(6)
    assert state.last_day == TODAY - timedelta(days=1)


def test_definitions_on_the_fixed_history(history):
    rollups_refresh()

    everything = rollup_figures(date(2000, 1, 1), TODAY)

    # 10 orders; Cem's cancelled one is left out, Dee's fully refunded one stays (net 0).
    assert everything["orders"] == 9
    # Eve's USD order counts as an order, not as EUR revenue.
    assert everything["revenue_orders"] == 8
    assert everything["new_customers"] == 5
    # Ana, Cem (two orders on one day) and Dee ordered again; Ben and Eve did not.
    assert everything["returned"] == 3
    # Cem's cohort is the month of his first counted order, not of the cancelled one.
    assert rollup_cohorts()[(month(months_ago(3)), month(months_ago(3)))] == 1
    assert (month(months_ago(4)), month(months_ago(4))) not in rollup_cohorts()


def test_incremental_refresh_recomputes_only_what_changed_and_matches_a_rebuild(
    shop, history, system_actor
):
    rollups_refresh()
    RollupState.objects.update(changes_since=timezone.now())
    untouched_day = SalesDay.objects.get(day=months_ago(5))
    # A new customer, a returning one, an order older than a customer's first (a late
    # import), the cancellation of a customer's first order, and a refund.
    fay = shop.customer("Fay")
    shop.order(fay, TODAY)
    shop.order(history["ben"], TODAY, lines=[("SPF-50", 2, "19.50")])
    shop.order(history["eve"], months_ago(2), lines=[("SERUM-30", 1, "30.00")])
    ana_first = Order.objects.filter(customer=history["ana"]).order_by("placed_at").first()
    assert ana_first is not None
    order_cancel(order=ana_first, cancelled_at=timezone.now(), actor=system_actor)

    result = rollups_refresh()

    assert result.is_full is False
    assert result.changed_orders == 4
    assert SalesDay.objects.get(day=months_ago(5)).new_customers == untouched_day.new_customers + 1
    incremental = tables()
    for start, end in RANGES:
        assert rollup_figures(start, end) == direct(start, end), (start, end)
    assert rollup_cohorts() == direct_cohorts()
    rollups_refresh(full=True)
    assert tables() == incremental


def test_incremental_refresh_after_a_merge_matches_a_rebuild(shop, history, system_actor):
    rollups_refresh()
    RollupState.objects.update(changes_since=timezone.now())

    ben_orders = Order.objects.filter(customer=history["ben"]).count()

    # Ben's orders move to Ana: Ben's cohort loses him and his orders become Ana's repeats.
    customer_merge(source=history["ben"], target=history["ana"], actor=system_actor)
    result = rollups_refresh()

    assert result.is_full is False
    assert ben_orders > 0
    assert result.changed_orders == ben_orders
    incremental = tables()
    for start, end in RANGES:
        assert rollup_figures(start, end) == direct(start, end), (start, end)
    assert rollup_cohorts() == direct_cohorts()
    rollups_refresh(full=True)
    assert tables() == incremental


def test_refresh_without_orders_records_the_time_and_no_figures(db):
    result = rollups_refresh()

    assert result.is_full is True
    state = RollupState.objects.get()
    assert state.first_day is None and state.currency == ""
    assert SalesDay.objects.count() == 0


def test_stage_counts_are_snapshotted_at_refresh(shop):
    shop.customer("Lead one")
    shop.customer("Lead two")
    rollups_refresh()

    counts = reports.stage_counts()

    assert counts["lead"] == 2
    assert counts["active"] == 0


# Periods


def test_periods_fill_gaps_and_clip_the_first_week_to_the_range():
    wednesday = date(2026, 3, 4)
    days = [
        SalesPeriod(start=wednesday, orders=2, revenue=Decimal("10.00"), revenue_orders=2),
        SalesPeriod(start=date(2026, 3, 9), orders=1, revenue=Decimal("5.00"), revenue_orders=1),
        SalesPeriod(start=date(2026, 3, 10), orders=1, revenue=Decimal("5.00"), revenue_orders=1),
    ]

    periods = reports.sales_periods(days, start=wednesday, end=date(2026, 3, 22), grain=Grain.WEEK)

    assert [(period.start, period.orders) for period in periods] == [
        (wednesday, 2),
        (date(2026, 3, 9), 2),
        (date(2026, 3, 16), 0),
    ]
    assert periods[1].revenue == Decimal("10.00")
    assert periods[1].average_order_value == Decimal("5.00")


def test_grain_is_daily_to_90_days_weekly_to_a_year_monthly_beyond():
    start = date(2026, 1, 1)

    assert reports.grain_for(start, start + timedelta(days=89)) is Grain.DAY
    assert reports.grain_for(start, start + timedelta(days=90)) is Grain.WEEK
    assert reports.grain_for(start, start + timedelta(days=365)) is Grain.WEEK
    assert reports.grain_for(start, start + timedelta(days=366)) is Grain.MONTH


# The page


def test_roles_anonymous_goes_to_sign_in_every_role_sees_the_dashboard(assert_page_roles):
    assert_page_roles("/", allowed=set(Role.values))
    assert_page_roles("/dashboard/your-data/", allowed=set(Role.values))


def test_without_figures_the_page_says_how_to_add_data(signed_in):
    response = signed_in("viewer").get("/")

    assert response.status_code == 200
    text = response.content.decode()
    assert "No figures yet" in text
    assert "patron demo-data" in text
    assert "Import orders" not in text  # a viewer may not import


def test_without_orders_the_page_offers_the_import_to_who_may_import(signed_in):
    rollups_refresh()

    response = signed_in("marketer").get("/")

    text = response.content.decode()
    assert "No orders yet" in text
    assert "Import orders" in text


def test_page_shows_the_figures_of_the_period(signed_in, history):
    rollups_refresh()
    expected = direct(TODAY - timedelta(days=89), TODAY)

    response = signed_in("viewer").get("/", {"period": "90d"})

    assert response.status_code == 200
    text = response.content.decode()
    assert f"<dt>Orders</dt><dd>{expected['orders']}</dd>" in text
    revenue = expected["revenue"]
    assert isinstance(revenue, Decimal)
    assert f"<dt>Revenue</dt><dd>€{revenue:,.2f} <small>net of refunds</small>" in text
    assert "Figures as of" in text
    assert 'aria-current="true">Last 90 days</a>' in text
    assert '<details class="table-view' in text
    assert "Cohort retention" in text
    assert text.count("<svg") == 6
    assert "{#" not in text and "{%" not in text


def test_every_chart_has_a_table_with_its_numbers(signed_in, history):
    rollups_refresh()

    response = signed_in("viewer").get("/", {"period": "all"})

    text = response.content.decode()
    for heading in ("Average order value", "Stage", "First order in", "SKU"):
        assert '<th scope="col"' in text and heading in text
    assert "GIFT-BOX" in text
    assert "€240.00" in text  # GIFT-BOX: 80.00 (Ben) + 160.00 (Dee) of line revenue


def test_query_count_does_not_grow_with_the_history(
    signed_in, shop, history, django_assert_num_queries
):
    client = signed_in("viewer")
    rollups_refresh()
    # Session, user, freshness; then sales days, cohorts, stages and top products.
    with django_assert_num_queries(7):
        client.get("/", {"period": "all"})
    for day in range(1, 60):
        shop.order(history["ben"], TODAY - timedelta(days=day), lines=[(f"SKU-{day}", 1, "9.00")])
    rollups_refresh()

    with django_assert_num_queries(7):
        response = client.get("/", {"period": "all"})

    assert response.status_code == 200
    assert "SKU-1" in response.content.decode()


def figures_region(page: str) -> str:
    return page[page.index('<p class="as-of') : page.index('<section class="your-data"')]


def test_figures_are_drawn_once_per_refresh_and_period(
    signed_in, shop, history, django_assert_num_queries
):
    client = signed_in("viewer")
    rollups_refresh()
    first = client.get("/", {"period": "all"}).content.decode()

    # Until the next refresh the same period is served from the cache: no rollup reads.
    with django_assert_num_queries(3):
        again = client.get("/", {"period": "all"}).content.decode()
    shop.order(history["ben"], TODAY, lines=[("NEW-SKU", 1, "999.00")])
    assert "NEW-SKU" not in client.get("/", {"period": "all"}).content.decode()
    rollups_refresh()
    after_refresh = client.get("/", {"period": "all"}).content.decode()

    assert figures_region(again) == figures_region(first)
    assert "NEW-SKU" in after_refresh


def test_htmx_period_change_renders_only_the_dashboard_region(signed_in, history):
    rollups_refresh()

    response = signed_in("viewer").get("/", {"period": "30d"}, HTTP_HX_REQUEST="true")

    text = response.content.decode()
    assert text.lstrip().startswith('<div id="dashboard">')
    assert "<html" not in text


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"period": "custom", "start": "2026-05-01", "end": "2026-03-01"}, "end", "on or after"),
        ({"period": "custom", "start": "yesterday", "end": "2026-03-01"}, "start", "valid date"),
        ({"period": "custom", "end": "2026-03-01"}, "start", "first day of the range"),
        (
            {"period": "custom", "start": "1999-12-31", "end": "2026-03-01"},
            "start",
            "from 1 January 2000",
        ),
        (
            {"period": "custom", "start": "1990-01-01", "end": "2026-03-01"},
            "start",
            "from 1 January 2000",
        ),
    ],
)
def test_bad_custom_range_shows_the_error_next_to_the_field(
    signed_in, history, query, field, message
):
    rollups_refresh()

    response = signed_in("viewer").get("/", query)

    assert response.status_code == 200
    text = response.content.decode()
    label = f'<label for="id_{field}">'
    assert label in text
    after_label = text[text.index(label) :]
    error_start = after_label.index('<p class="error" role="alert">')
    assert message in after_label[error_start : after_label.index("</p>", error_start)]
    assert "Fix the dates above" in text
    assert "<dt>Orders</dt>" not in text


def test_custom_range_shows_its_own_figures(signed_in, history):
    rollups_refresh()
    start, end = months_ago(5), months_ago(3)

    response = signed_in("viewer").get(
        "/", {"period": "custom", "start": start.isoformat(), "end": end.isoformat()}
    )

    expected = direct(start, end)
    assert f"<dt>Orders</dt><dd>{expected['orders']}</dd>" in response.content.decode()


def test_a_script_in_a_product_name_is_shown_as_text(signed_in, shop, history):
    shop.order(
        history["ben"], TODAY, lines=[("XSS-1", 9, "99.00")], name="<script>alert(1)</script>"
    )
    rollups_refresh()

    response = signed_in("viewer").get("/", {"period": "30d"})

    text = response.content.decode()
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_your_data_counts_the_installation(signed_in, history):
    client = signed_in("viewer")

    fragment = client.get("/dashboard/your-data/", HTTP_HX_REQUEST="true")
    page = client.get("/dashboard/your-data/")

    assert "<dt>Customers</dt><dd>5</dd>" in fragment.content.decode()
    assert "<html" not in fragment.content.decode()
    assert "<dt>Orders</dt><dd>10</dd>" in page.content.decode()
    assert "<html" in page.content.decode()
