"""The orders and products pages: lists, filters, detail pages, refunds and cancellations."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from patron.accounts.models import AuditEntry, Role, Source
from patron.accounts.services.keys import source_create
from patron.catalog.models import Product
from patron.catalog.services.products import product_clean, product_upsert
from patron.core.actors import Actor
from patron.customers.services.profile import customer_create
from patron.orders.models import Order, OrderStatus, Refund
from patron.orders.selectors import product_sales
from patron.orders.services.orders import order_cancel, order_clean, order_record, order_refund
from patron.web.views import commerce

pytestmark = pytest.mark.django_db

EVERY_ROLE = set(Role.values)
SYSTEM = Actor.system("tests")
START = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def source(web_source) -> Source:
    return Source.objects.get(pk=web_source.id)


def make_customer(email: str, **fields: Any):
    return customer_create(actor=SYSTEM, fields={"email": email, **fields})


def line(sku: str = "SERUM-30", quantity: int = 1, price: str = "20.00", **extra: Any) -> dict:
    return {"sku": sku, "quantity": quantity, "unit_price": price, **extra}


def record(
    source: Source,
    customer,
    external_id: str,
    *,
    lines: list[dict] | None = None,
    placed_at: datetime = START,
    **extra: Any,
) -> Order:
    raw = {
        "external_id": external_id,
        "currency": "EUR",
        "placed_at": placed_at.isoformat(),
        "lines": lines or [line()],
        **extra,
    }
    order, _ = order_record(source=source, customer=customer, order=order_clean(raw), actor=SYSTEM)
    return order


def product(sku: str, **fields: Any) -> Product:
    created, _ = product_upsert(sku=sku, fields=product_clean(fields), actor=SYSTEM)
    return created


def cells(html: str, table_label: str) -> list[list[str]]:
    """The text of each body row's cells of the table with this aria-label."""
    table = html.split(f'aria-label="{table_label}"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, flags=re.DOTALL)
    return [
        [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.DOTALL)
        ]
        for row in rows
    ]


def order_ids(response) -> list[str]:
    return [row[0] for row in cells(response.content.decode(), "Orders")]


# Who may see what.


def test_every_role_may_see_orders_and_products_and_anonymous_must_sign_in(
    assert_page_roles, source
):
    order = record(source, make_customer("ana@example.com"), "1001")
    item = Product.objects.get(sku="SERUM-30")

    for url in (
        "/orders/",
        f"/orders/{order.pk}/",
        "/products/",
        f"/products/{item.pk}/",
        f"/products/{item.pk}/sales/",
    ):
        assert_page_roles(url, allowed=EVERY_ROLE)


def test_only_admins_may_refund_or_cancel(assert_page_roles, source):
    order = record(source, make_customer("ana@example.com"), "1001")

    for url in (f"/orders/{order.pk}/refund/", f"/orders/{order.pk}/cancel/"):
        assert_page_roles(url, allowed={Role.ADMIN})
        assert_page_roles(url, allowed={Role.ADMIN}, method="post", data={})


def test_a_post_from_a_role_without_orders_edit_refunds_nothing(signed_in, source):
    order = record(source, make_customer("ana@example.com"), "1001")
    client = signed_in(Role.SUPPORT)

    response = client.post(
        f"/orders/{order.pk}/refund/",
        {"amount": "5.00", "reason": "broken", "token": "a" * 32},
    )
    cancel = client.post(f"/orders/{order.pk}/cancel/", {"confirm": "on"})

    assert response.status_code == 403
    assert cancel.status_code == 403
    assert Refund.objects.count() == 0
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert AuditEntry.objects.filter(action="permission.denied").count() == 2


def test_an_unknown_order_or_product_is_404(signed_in):
    client = signed_in(Role.VIEWER)

    assert client.get("/orders/999999/").status_code == 404
    assert client.get("/products/999999/").status_code == 404
    assert client.get("/products/999999/sales/").status_code == 404
    assert client.get("/products/sku/NOPE/").status_code == 404


# The order list.


def test_the_order_list_shows_each_order_with_its_customer_and_figures(signed_in, source):
    customer = make_customer("ana@example.com", first_name="<script>alert(1)</script>")
    record(
        source,
        customer,
        "1001",
        lines=[line(quantity=2, price="24.00"), line("SPF-50", 3, "10.00")],
        shipping_total="4.90",
    )

    response = signed_in(Role.VIEWER).get("/orders/")

    html = response.content.decode()
    assert response.status_code == 200
    assert cells(html, "Orders") == [
        [
            "1001",
            "2026-03-01 10:00",
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "Completed",
            "5",
            "82.90 EUR",
            "Web shop",
        ]
    ]
    assert "<script>alert(1)" not in html
    assert f'href="/customers/{customer.pk}/"' in html


def test_the_order_list_finds_an_order_by_its_id_exactly_or_by_prefix(signed_in, source):
    customer = make_customer("ana@example.com")
    for external_id in ("1001", "1002", "2001", "10010"):
        record(source, customer, external_id)
    client = signed_in(Role.VIEWER)

    assert order_ids(client.get("/orders/", {"q": "2001"})) == ["2001"]
    assert sorted(order_ids(client.get("/orders/", {"q": "100"}))) == ["1001", "10010", "1002"]
    # Placed at the same time: the later recorded comes first.
    assert order_ids(client.get("/orders/", {"q": "1001"})) == ["10010", "1001"]


def test_the_order_list_finds_a_customers_orders_by_email(signed_in, source):
    record(source, make_customer("ana@example.com"), "1001")
    record(source, make_customer("bo@example.com"), "1002")

    response = signed_in(Role.VIEWER).get("/orders/", {"q": "  Ana@Example.com "})

    assert order_ids(response) == ["1001"]


def test_the_order_list_filters_by_status_source_dates_total_and_currency(signed_in, source):
    customer = make_customer("ana@example.com")
    other_source = Source.objects.get(pk=source_create(name="POS", actor=SYSTEM).id)
    record(source, customer, "A", placed_at=START, lines=[line(price="10.00")])
    record(source, customer, "B", placed_at=START + timedelta(days=1), lines=[line(price="50")])
    cancelled = record(source, customer, "C", placed_at=START + timedelta(days=2))
    order_cancel(order=cancelled, cancelled_at=START, actor=SYSTEM)
    record(other_source, customer, "D", placed_at=START, currency="USD")
    client = signed_in(Role.VIEWER)

    def ids(**query: str) -> list[str]:
        return sorted(order_ids(client.get("/orders/", query)))

    assert ids(status="cancelled") == ["C"]
    assert ids(source=str(other_source.pk)) == ["D"]
    assert ids(placed_from="2026-03-02") == ["B", "C"]
    assert ids(placed_to="2026-03-01") == ["A", "D"]
    assert ids(placed_from="2026-03-02", placed_to="2026-03-02") == ["B"]
    assert ids(total_min="20.01") == ["B"]
    assert ids(total_max="19.99") == ["A"]
    assert ids(currency="usd") == ["D"]


def test_sorting_by_total_walks_every_order_once_across_pages(signed_in, source, monkeypatch):
    monkeypatch.setattr(commerce, "PAGE_SIZE", 2)
    customer = make_customer("ana@example.com")
    for number, price in enumerate(["30", "10", "20", "10", "40"], start=1):
        record(source, customer, f"O{number}", lines=[line(price=price)])
    client = signed_in(Role.VIEWER)

    seen = []
    url = "/orders/?sort=-total"
    for _ in range(5):
        response = client.get(url)
        seen += order_ids(response)
        next_link = re.search(r'href="\?([^"]*cursor=[^"]*)" rel="next"', response.content.decode())
        if next_link is None:
            break
        url = "/orders/?" + next_link.group(1).replace("&amp;", "&")

    assert seen == ["O5", "O1", "O3", "O4", "O2"]


def test_sorting_by_oldest_first(signed_in, source):
    customer = make_customer("ana@example.com")
    record(source, customer, "late", placed_at=START + timedelta(days=3))
    record(source, customer, "early", placed_at=START)

    client = signed_in(Role.VIEWER)

    assert order_ids(client.get("/orders/")) == ["late", "early"]
    assert order_ids(client.get("/orders/", {"sort": "placed_at"})) == ["early", "late"]


def test_bad_filters_are_shown_next_to_their_fields_not_a_500(signed_in, source):
    record(source, make_customer("ana@example.com"), "1001")

    response = signed_in(Role.VIEWER).get(
        "/orders/",
        {
            "total_min": "abc",
            "placed_from": "yesterday",
            "currency": "E1",
            "status": "lost",
            "sort": "drop table",
        },
    )

    html = response.content.decode()
    assert response.status_code == 200
    for name, message in (
        ("total_min", "Enter a number."),
        ("placed_from", "Enter a valid date."),
        ("currency", "Enter a three-letter code such as EUR."),
        ("status", "Select a valid choice. lost is not one of the available choices."),
        ("sort", "Select a valid choice. drop table is not one of the available choices."),
    ):
        field = re.search(
            rf'<div class="field( wide)? has-error">\s*<label for="id_{name}">.*?</div>',
            html,
            re.DOTALL,
        )
        assert field is not None, name
        assert message in field.group(0), name
    assert 'aria-label="Orders"' not in html
    assert "Fix the filters above" in html


def test_reversed_ranges_are_refused_on_the_upper_field(signed_in):
    response = signed_in(Role.VIEWER).get(
        "/orders/",
        {
            "total_min": "50",
            "total_max": "10",
            "placed_from": "2026-03-02",
            "placed_to": "2026-03-01",
        },
    )

    html = response.content.decode()
    assert "must not be below the minimum" in html
    assert "must not be before the start" in html


def test_a_hand_mangled_cursor_starts_again_at_the_first_page(signed_in, source):
    record(source, make_customer("ana@example.com"), "1001")

    response = signed_in(Role.VIEWER).get("/orders/", {"cursor": "not-a-cursor"})

    assert response.status_code == 200
    assert order_ids(response) == ["1001"]


def test_an_htmx_request_gets_only_the_listing(signed_in, source):
    record(source, make_customer("ana@example.com"), "1001")

    response = signed_in(Role.VIEWER).get("/orders/", {"q": "1001"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert "<html" not in html
    assert 'aria-label="Filter orders"' in html
    assert order_ids(response) == ["1001"]


def test_no_orders_yet_explains_how_to_send_or_import_them(signed_in):
    admin_page = signed_in(Role.ADMIN).get("/orders/").content.decode()

    assert "No orders yet" in admin_page
    assert "<code>Order Completed</code>" in admin_page
    assert 'href="/data/imports/"' in admin_page


def test_no_import_link_for_a_role_that_may_not_import(signed_in):
    viewer_page = signed_in(Role.VIEWER).get("/orders/").content.decode()

    assert "No orders yet" in viewer_page
    assert 'href="/data/imports/"' not in viewer_page


def test_filters_matching_nothing_say_so_and_offer_to_clear(signed_in, source):
    record(source, make_customer("ana@example.com"), "1001")

    html = signed_in(Role.VIEWER).get("/orders/", {"q": "999"}).content.decode()

    assert "No orders match these filters" in html
    assert "No orders yet" not in html


def test_the_order_list_costs_the_same_queries_for_2_or_40_orders(
    signed_in, source, django_assert_num_queries
):
    customer = make_customer("ana@example.com")
    client = signed_in(Role.VIEWER)
    for number in range(2):
        record(source, customer, f"small-{number}", lines=[line(), line("SPF-50")])
    client.get("/orders/")  # the session's first request also refreshes it

    with django_assert_num_queries(6):
        small = client.get("/orders/")
    for number in range(38):
        record(source, customer, f"more-{number}", lines=[line(), line("SPF-50"), line("X")])
    with django_assert_num_queries(6):
        large = client.get("/orders/")

    assert len(order_ids(small)) == 2
    assert len(order_ids(large)) == 40


# The order page.


def test_the_order_page_shows_lines_refunds_customer_source_and_history(signed_in, source):
    customer = make_customer("ana@example.com", first_name="Ana")
    order = record(
        source,
        customer,
        "1001",
        lines=[
            line(quantity=2, price="24.00", name="Hydra <b>serum</b>"),
            line("SPF-50", 1, "19.50", discount="2.50"),
        ],
        coupon="SPRING",
        discount_total="5.00",
    )
    order_refund(
        order=order,
        external_id="r-1",
        amount=Decimal("7.25"),
        refunded_at=START + timedelta(days=2),
        actor=SYSTEM,
        reason="Damaged in transit",
    )
    serum = Product.objects.get(sku="SERUM-30")

    response = signed_in(Role.VIEWER).get(f"/orders/{order.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert cells(html, "Order lines") == [
        ["Hydra &lt;b&gt;serum&lt;/b&gt;", "SERUM-30", "2", "24.00", "—", "48.00"],
        ["SPF-50", "SPF-50", "1", "19.50", "\u22122.50", "17.00"],
    ]
    assert f'href="/products/{serum.pk}/"' in html
    assert cells(html, "Refunds") == [["2026-03-03 10:00", "7.25 EUR", "Damaged in transit", "r-1"]]
    assert f'href="/customers/{customer.pk}/"' in html
    assert "Partially refunded" in html
    assert "order.created" in html and "order.refunded" in html
    assert "SPRING" in html
    # Viewers see no buttons that would only answer 403.
    assert "/refund/" not in html and "/cancel/" not in html


def test_the_order_page_offers_refund_and_cancel_to_admins(signed_in, source):
    order = record(source, make_customer("ana@example.com"), "1001")

    html = signed_in(Role.ADMIN).get(f"/orders/{order.pk}/").content.decode()

    assert f'href="/orders/{order.pk}/refund/"' in html
    assert f'href="/orders/{order.pk}/cancel/"' in html


def test_the_order_page_costs_the_same_queries_for_2_or_40_lines(
    signed_in, source, django_assert_num_queries
):
    customer = make_customer("ana@example.com")
    small = record(source, customer, "small", lines=[line(f"S{n}") for n in range(2)])
    large = record(source, customer, "large", lines=[line(f"L{n}") for n in range(40)])
    order_refund(order=large, external_id="r", amount=Decimal("1"), refunded_at=START, actor=SYSTEM)
    client = signed_in(Role.VIEWER)
    client.get(f"/orders/{small.pk}/")

    with django_assert_num_queries(7):
        client.get(f"/orders/{small.pk}/")
    with django_assert_num_queries(7):
        response = client.get(f"/orders/{large.pk}/")

    assert len(cells(response.content.decode(), "Order lines")) == 40


# Refunds and cancellations.


def refund_token(client, order: Order) -> str:
    page = client.get(f"/orders/{order.pk}/refund/").content.decode()
    return re.search(r'name="token" value="([0-9a-f]{32})"', page).group(1)  # type: ignore[union-attr]


def test_an_admin_refunds_part_of_an_order_once_even_if_the_form_is_sent_twice(signed_in, source):
    order = record(source, make_customer("ana@example.com"), "1001", lines=[line(price="30")])
    client = signed_in(Role.ADMIN)
    token = refund_token(client, order)
    form = {"amount": "12.50", "reason": "Late delivery", "token": token}

    first = client.post(f"/orders/{order.pk}/refund/", form)
    second = client.post(f"/orders/{order.pk}/refund/", form)

    assert first.status_code == 302 and first["Location"] == f"/orders/{order.pk}/"
    assert second.status_code == 302
    refund = Refund.objects.get()
    assert (refund.amount, refund.reason) == (Decimal("12.50"), "Late delivery")
    order.refresh_from_db()
    assert order.refunded_total == Decimal("12.50")
    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    entry = AuditEntry.objects.get(action="order.refunded")
    assert entry.actor_label == "admin-user"
    assert entry.subject_id == str(order.pk)


def test_an_empty_amount_refunds_what_is_left(signed_in, source):
    order = record(source, make_customer("ana@example.com"), "1001", lines=[line(price="30")])
    client = signed_in(Role.ADMIN)

    client.post(
        f"/orders/{order.pk}/refund/",
        {"amount": "", "reason": "Returned", "token": refund_token(client, order)},
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert order.refunded_total == Decimal("30.00")


def test_a_refund_above_what_is_left_is_refused_next_to_the_amount(signed_in, source):
    order = record(source, make_customer("ana@example.com"), "1001", lines=[line(price="30")])
    client = signed_in(Role.ADMIN)

    response = client.post(
        f"/orders/{order.pk}/refund/",
        {"amount": "30.01", "reason": "x", "token": refund_token(client, order)},
    )

    html = response.content.decode()
    assert response.status_code == 200
    amount_field = re.search(
        r'<div class="field has-error">\s*<label for="id_amount">.*?</div>', html, re.DOTALL
    )
    assert amount_field is not None
    assert "refund 30.01 is more than the 30.00 left on this order" in amount_field.group(0)
    assert Refund.objects.count() == 0


def test_a_refund_with_bad_input_shows_each_error_by_its_field(signed_in, source):
    order = record(source, make_customer("ana@example.com"), "1001")
    client = signed_in(Role.ADMIN)

    response = client.post(
        f"/orders/{order.pk}/refund/",
        {"amount": "ten", "reason": "", "token": refund_token(client, order)},
    )

    html = response.content.decode()
    assert "Enter a number." in html
    assert "This field is required." in html
    assert Refund.objects.count() == 0


def test_an_admin_cancels_an_order_after_confirming(signed_in, source):
    order = record(source, make_customer("ana@example.com"), "1001")
    client = signed_in(Role.ADMIN)

    unconfirmed = client.post(f"/orders/{order.pk}/cancel/", {})
    order.refresh_from_db()
    assert unconfirmed.status_code == 200
    assert "Tick the box to confirm the cancellation." in unconfirmed.content.decode()
    assert order.status == OrderStatus.COMPLETED

    confirmed = client.post(f"/orders/{order.pk}/cancel/", {"confirm": "on"})

    order.refresh_from_db()
    assert confirmed.status_code == 302
    assert order.status == OrderStatus.CANCELLED
    assert (
        AuditEntry.objects.filter(action="order.cancelled", subject_id=str(order.pk)).count() == 1
    )
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert "The order is cancelled." in page
    assert f'href="/orders/{order.pk}/cancel/"' not in page


# The product list.


@pytest.fixture
def catalogue(db) -> dict[str, Product]:
    return {
        "serum": product(
            "SERUM-30",
            name="Vitamin C serum",
            brand="Lumen",
            category="Skincare > Serums",
            price="29.00",
            currency="EUR",
            stock_status="in_stock",
        ),
        "cream": product(
            "CREAM-50",
            name="Night cream",
            brand="Lumen",
            category="Skincare > Moisturisers",
            price="45.00",
            currency="EUR",
            stock_status="low_stock",
        ),
        "tea": product(
            "TEA-20",
            name="<script>alert('tea')</script>",
            brand="Leafy",
            category="Wellness",
            price="8.50",
            currency="EUR",
            stock_status="out_of_stock",
        ),
        "gift": product("GIFT-1", name="Gift card"),
    }


def product_names(response) -> list[str]:
    return [row[0] for row in cells(response.content.decode(), "Products")]


def test_the_product_list_shows_the_catalogue_escaped(signed_in, catalogue):
    response = signed_in(Role.VIEWER).get("/products/")

    html = response.content.decode()
    assert cells(html, "Products") == [
        [
            "&lt;script&gt;alert(&#x27;tea&#x27;)&lt;/script&gt;",
            "TEA-20",
            "Leafy",
            "Wellness",
            "8.50 EUR",
            "Out of stock",
            "—",
        ],
        ["Gift card", "GIFT-1", "—", "—", "—", "Unknown", "—"],
        ["Night cream", "CREAM-50", "Lumen", "Moisturisers", "45.00 EUR", "Low stock", "—"],
        ["Vitamin C serum", "SERUM-30", "Lumen", "Serums", "29.00 EUR", "In stock", "—"],
    ]
    assert "<script>alert(" not in html


def test_the_product_list_searches_names_skus_and_brands(signed_in, catalogue):
    client = signed_in(Role.VIEWER)

    assert product_names(client.get("/products/", {"q": "serum"})) == ["Vitamin C serum"]
    assert product_names(client.get("/products/", {"q": "cream-"})) == ["Night cream"]
    assert product_names(client.get("/products/", {"q": "lum"})) == [
        "Night cream",
        "Vitamin C serum",
    ]


def test_a_category_filter_takes_its_subcategories(signed_in, catalogue):
    client = signed_in(Role.VIEWER)

    html = client.get("/products/").content.decode()
    assert '<option value="skincare-serums">\u00a0\u00a0Serums</option>' in html

    assert product_names(client.get("/products/", {"category": "skincare"})) == [
        "Night cream",
        "Vitamin C serum",
    ]
    assert product_names(client.get("/products/", {"category": "skincare-serums"})) == [
        "Vitamin C serum"
    ]


def test_the_product_list_filters_by_brand_stock_and_price(signed_in, catalogue):
    client = signed_in(Role.VIEWER)

    def names(**query: str) -> list[str]:
        return product_names(client.get("/products/", query))

    assert names(brand="Leafy") == ["&lt;script&gt;alert(&#x27;tea&#x27;)&lt;/script&gt;"]
    assert names(stock_status="low_stock") == ["Night cream"]
    assert names(price_min="10", price_max="30") == ["Vitamin C serum"]


def test_the_product_list_sorts_by_price_with_unpriced_products_last(signed_in, catalogue):
    client = signed_in(Role.VIEWER)

    assert [
        row[1] for row in cells(client.get("/products/?sort=price").content.decode(), "Products")
    ] == ["TEA-20", "SERUM-30", "CREAM-50", "GIFT-1"]
    assert [
        row[1] for row in cells(client.get("/products/?sort=-price").content.decode(), "Products")
    ] == ["CREAM-50", "SERUM-30", "TEA-20", "GIFT-1"]


def test_product_pages_walk_every_product_once_by_name_and_by_price(
    signed_in, catalogue, monkeypatch
):
    monkeypatch.setattr(commerce, "PAGE_SIZE", 1)
    product("FREE-1", name="a free sample")
    client = signed_in(Role.VIEWER)

    def walk(sort: str) -> list[str]:
        seen: list[str] = []
        url = f"/products/?sort={sort}"
        for _ in range(10):
            response = client.get(url)
            seen += [row[1] for row in cells(response.content.decode(), "Products")]
            link = re.search(r'href="\?([^"]*cursor=[^"]*)" rel="next"', response.content.decode())
            if link is None:
                return seen
            url = "/products/?" + link.group(1).replace("&amp;", "&")
        return seen

    assert walk("sort_name") == ["TEA-20", "FREE-1", "GIFT-1", "CREAM-50", "SERUM-30"]
    assert walk("-price") == ["CREAM-50", "SERUM-30", "TEA-20", "FREE-1", "GIFT-1"]


def test_a_bad_price_filter_is_shown_next_to_its_field(signed_in, catalogue):
    html = signed_in(Role.VIEWER).get("/products/", {"price_min": "cheap"}).content.decode()

    field = re.search(
        r'<div class="field has-error">\s*<label for="id_price_min">.*?</div>', html, re.DOTALL
    )
    assert field is not None and "Enter a number." in field.group(0)
    assert 'aria-label="Products"' not in html


def test_no_products_yet_says_where_they_come_from(signed_in):
    html = signed_in(Role.MARKETER).get("/products/").content.decode()

    assert "No products yet" in html
    assert 'href="/data/imports/"' in html


def test_the_product_list_costs_the_same_queries_for_few_or_many_products(
    signed_in, django_assert_num_queries
):
    client = signed_in(Role.VIEWER)
    product("ONE", name="One", category="A > B")
    client.get("/products/")

    with django_assert_num_queries(6):
        client.get("/products/")
    for number in range(30):
        product(f"P{number}", name=f"Product {number}", category=f"C{number % 3} > D{number}")
    with django_assert_num_queries(6):
        response = client.get("/products/")

    assert len(product_names(response)) == 31


# The product page.


def test_the_product_page_shows_properties_path_and_the_image_only_as_a_link(
    signed_in, catalogue, source
):
    serum = catalogue["serum"]
    product_upsert(
        sku="SERUM-30",
        fields=product_clean({"image_url": "https://cdn.example.com/serum.jpg", "supply_days": 60}),
        actor=SYSTEM,
    )
    record(source, make_customer("ana@example.com"), "1001")

    response = signed_in(Role.VIEWER).get(f"/products/{serum.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Skincare \u203a Serums" in html
    assert 'href="https://cdn.example.com/serum.jpg"' in html
    assert "<img" not in html
    assert "60 <small>one unit lasts this long</small>" in html
    assert cells(html, "Orders with this product")[0][0] == "1001"
    assert f'hx-get="/products/{serum.pk}/sales/"' in html


def test_the_product_page_escapes_a_script_in_the_name(signed_in, catalogue):
    html = signed_in(Role.VIEWER).get(f"/products/{catalogue['tea'].pk}/").content.decode()

    assert "&lt;script&gt;alert(&#x27;tea&#x27;)&lt;/script&gt;" in html
    assert "<script>alert(" not in html
    assert "Not ordered yet" in html


def test_a_sku_link_leads_to_the_product_page(signed_in, catalogue):
    response = signed_in(Role.VIEWER).get("/products/sku/SERUM-30/")

    assert response.status_code == 302
    assert response["Location"] == f"/products/{catalogue['serum'].pk}/"


def test_the_product_page_costs_the_same_queries_for_1_or_many_orders(
    signed_in, source, django_assert_max_num_queries, django_assert_num_queries
):
    customer = make_customer("ana@example.com")
    record(source, customer, "first")
    serum = Product.objects.get(sku="SERUM-30")
    client = signed_in(Role.VIEWER)
    client.get(f"/products/{serum.pk}/")

    with django_assert_max_num_queries(6):
        client.get(f"/products/{serum.pk}/")
    with django_assert_num_queries(4):
        client.get(f"/products/{serum.pk}/sales/")
    for number in range(30):
        record(source, customer, f"more-{number}", placed_at=START + timedelta(days=number))
    with django_assert_max_num_queries(6):
        response = client.get(f"/products/{serum.pk}/")
    with django_assert_num_queries(4):
        client.get(f"/products/{serum.pk}/sales/")

    assert len(cells(response.content.decode(), "Orders with this product")) == 20


def test_product_sales_counts_orders_units_revenue_buyers_and_repeat_gaps(source):
    ana, bo, cy = (make_customer(f"{name}@example.com") for name in ("ana", "bo", "cy"))
    # Ana buys on days 0, 10 and 30 (gaps 10 and 20), Bo on days 0 and 4 (gap 4), Cy once.
    for customer, days in ((ana, (0, 10, 30)), (bo, (0, 4)), (cy, (5,))):
        for day in days:
            record(
                source,
                customer,
                f"{customer.pk}-{day}",
                placed_at=START + timedelta(days=day),
                lines=[line(quantity=2, price="10.00"), line("OTHER", 1, "99.00")],
            )
    cancelled = record(source, cy, "cancelled", placed_at=START + timedelta(days=6))
    order_cancel(order=cancelled, cancelled_at=START, actor=SYSTEM)
    record(source, cy, "usd", placed_at=START + timedelta(days=50), currency="USD")
    serum = Product.objects.get(sku="SERUM-30")

    sales = product_sales(serum.pk)

    # Cy's USD order is a second purchase: gaps are 4, 10, 20 and 45; the median is 15.
    assert sales.order_count == 7
    assert sales.units == 13
    assert [(revenue.currency, revenue.amount) for revenue in sales.revenue] == [
        ("EUR", Decimal("120.00")),
        ("USD", Decimal("20.00")),
    ]
    assert sales.buyer_count == 3
    assert sales.repeat_buyer_count == 3
    assert sales.median_days_between_repeats == pytest.approx(15.0)


def test_product_sales_of_a_product_never_ordered_are_zero(catalogue):
    sales = product_sales(catalogue["gift"].pk)

    assert (sales.order_count, sales.units, sales.revenue, sales.buyer_count) == (0, 0, (), 0)
    assert sales.repeat_share is None
    assert sales.median_days_between_repeats is None


def test_the_sales_figures_fragment_shows_the_figures(signed_in, source):
    ana, bo = make_customer("ana@example.com"), make_customer("bo@example.com")
    record(source, ana, "1", placed_at=START)
    record(source, ana, "2", placed_at=START + timedelta(days=30))
    record(source, bo, "3", placed_at=START)
    serum = Product.objects.get(sku="SERUM-30")

    html = signed_in(Role.VIEWER).get(f"/products/{serum.pk}/sales/").content.decode()

    assert "<html" not in html
    figures = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", html, flags=re.DOTALL))
    assert figures["Orders"] == "3"
    assert figures["Units sold"] == "3"
    assert figures["Revenue"] == '<span title="60.00 EUR">60</span> <small>EUR</small>'
    assert figures["Buyers"] == "2"
    assert figures["Bought again"] == "50%<small> of buyers</small>"
    assert figures["Median repeat gap"] == "30<small> days</small>"
