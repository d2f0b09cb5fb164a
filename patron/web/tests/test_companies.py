"""The company list and the company page: search, filters, sort, contacts, orders, editing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from patron.accounts.models import AuditEntry
from patron.accounts.selectors import source_find
from patron.core.actors import Actor
from patron.customers.models import Company, Customer
from patron.customers.services.companies import company_contact_add, company_upsert
from patron.customers.services.profile import customer_create
from patron.orders.services.orders import order_clean, order_record

pytestmark = pytest.mark.django_db

EVERYONE = {"admin", "marketer", "sales", "support", "viewer"}
EDITORS = {"admin", "sales"}
ACTOR = Actor.system("tests")
PLACED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _company(name: str, attributes: dict | None = None, **fields: object) -> Company:
    company, _ = company_upsert(actor=ACTOR, fields={"name": name, **fields}, attributes=attributes)
    return company


def _contact(company: Company, first: str, last: str, title: str = "") -> Customer:
    customer = customer_create(actor=ACTOR, fields={"first_name": first, "last_name": last})
    company_contact_add(company=company, customer=customer, actor=ACTOR, title=title)
    return customer


def _order(
    web_source,
    customer: Customer,
    number: str,
    total: str,
    *,
    days_ago: int = 0,
    currency: str = "EUR",
):
    shop = source_find(web_source.id)
    assert shop is not None
    order, _ = order_record(
        source=shop,
        customer=customer,
        order=order_clean(
            {
                "external_id": number,
                "currency": currency,
                "placed_at": (PLACED - timedelta(days=days_ago)).isoformat(),
                "lines": [{"sku": "SKU-1", "quantity": 1, "unit_price": total}],
            }
        ),
        actor=ACTOR,
    )
    return order


def _names(response) -> list[str]:
    return [company.name for company in response.context["page"].items]


# The list


def test_company_list_roles(assert_page_roles):
    assert_page_roles("/companies/", allowed=EVERYONE)


def test_list_searches_name_and_domain_prefixes(signed_in):
    _company("Acme Tools", domain="acme.example")
    _company("Globex", domain="globex.example")
    _company("Initech", domain="acmecorp.example")
    client = signed_in("viewer")

    by_name = client.get("/companies/?q=glo")
    by_domain = client.get("/companies/?q=www.acme")

    assert _names(by_name) == ["Globex"]
    assert _names(by_domain) == ["Acme Tools", "Initech"]


def test_list_filters_by_industry_and_plan(signed_in):
    _company("Acme", industry="Retail", plan="pro")
    _company("Globex", industry="Retail", plan="free")
    _company("Initech", industry="Software", plan="pro")
    client = signed_in("viewer")

    response = client.get("/companies/?industry=Retail&plan=pro")

    assert _names(response) == ["Acme"]
    html = response.content.decode()
    assert '<option value="Software">Software</option>' in html


def test_list_sorts_by_contacts_and_pages_with_a_cursor(signed_in, monkeypatch):
    monkeypatch.setattr("patron.web.views.companies.COMPANIES_PER_PAGE", 2)
    small, big, middle = _company("Small"), _company("Big"), _company("Middle")
    for n in range(3):
        _contact(big, "B", f"Person{n}")
    for n in range(2):
        _contact(middle, "M", f"Person{n}")
    _contact(small, "S", "Person")
    client = signed_in("viewer")

    first = client.get("/companies/?sort=-contacts")
    cursor = first.context["page"].next_cursor
    second = client.get(f"/companies/?sort=-contacts&cursor={cursor}")

    assert _names(first) == ["Big", "Middle"]
    assert [company.contact_count for company in first.context["page"].items] == [3, 2]
    assert _names(second) == ["Small"]
    assert second.context["page"].next_cursor is None


def test_list_sorts_by_name_descending_and_created(signed_in):
    for name in ("beta", "Alpha", "Gamma"):
        _company(name)
    client = signed_in("viewer")

    assert _names(client.get("/companies/?sort=-name")) == ["Gamma", "beta", "Alpha"]
    assert _names(client.get("/companies/?sort=-created")) == ["Gamma", "Alpha", "beta"]
    assert _names(client.get("/companies/?sort=name")) == ["Alpha", "beta", "Gamma"]


def test_empty_list_and_no_match_say_different_things(signed_in):
    client = signed_in("viewer")
    assert "No companies yet" in client.get("/companies/").content.decode()
    _company("Acme")
    assert "No company matches" in client.get("/companies/?q=zzz").content.decode()


def test_bad_sort_is_an_error_next_to_the_field(signed_in):
    response = signed_in("viewer").get("/companies/?sort=secret")

    assert response.status_code == 200
    assert "Select a valid choice. secret is not one of the available choices." in (
        response.content.decode()
    )


def test_list_escapes_script_in_a_name(signed_in):
    _company("<script>alert(1)</script>")

    html = signed_in("viewer").get("/companies/").content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_list_queries_do_not_grow_with_companies(signed_in, django_assert_max_num_queries):
    client = signed_in("viewer")
    _contact(_company("Acme", industry="Retail"), "A", "B")
    client.get("/companies/")
    # session, user, industries, plans, the page (and its rows without a value, on a last page)
    with django_assert_max_num_queries(6):
        client.get("/companies/?sort=-contacts")
    for n in range(60):
        _contact(_company(f"Company {n}", industry=f"Industry {n}"), "C", f"{n}")
    with django_assert_max_num_queries(6):
        client.get("/companies/?sort=-contacts")


# The company page


def test_company_page_roles(assert_page_roles):
    company = _company("Acme")
    assert_page_roles(f"/companies/{company.pk}/", allowed=EVERYONE)


def test_unknown_company_is_not_found(signed_in):
    assert signed_in("viewer").get("/companies/999999/").status_code == 404


def test_company_page_shows_properties_contacts_orders_totals_and_timeline(signed_in, web_source):
    company = _company(
        "Acme",
        domain="acme.example",
        industry="Retail",
        employee_count=120,
        plan="pro",
        website="https://acme.example/",
        attributes={"region": "EMEA"},
    )
    ana = _contact(company, "Ana", "Silva", title="Buyer")
    rui = _contact(company, "Rui", "Costa", title="CFO")
    outsider = customer_create(actor=ACTOR, fields={"first_name": "Not", "last_name": "Here"})
    _order(web_source, ana, "A-1", "10.00", days_ago=2)
    _order(web_source, rui, "R-1", "25.50", days_ago=1)
    _order(web_source, rui, "R-2", "5.00", currency="GBP")
    _order(web_source, outsider, "X-1", "99.00")

    response = signed_in("viewer").get(f"/companies/{company.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    for text in ("acme.example", "Retail", "120", "pro", "EMEA", "Buyer", "CFO"):
        assert text in html
    assert f'href="/customers/{ana.pk}/"' in html
    assert [order.external_id for order in response.context["orders"].items] == [
        "R-2",
        "R-1",
        "A-1",
    ]
    totals = {(total.currency, total.orders, total.total) for total in response.context["totals"]}
    assert totals == {("EUR", 2, Decimal("35.50")), ("GBP", 1, Decimal("5.00"))}
    assert "X-1" not in html
    kinds = [item.kind for item in response.context["timeline"]]
    assert kinds == ["contact added", "contact added", "created", "order", "order", "order"]
    assert "Edit" not in html.split('id="properties"')[1].split("</header>")[0]


def test_company_page_orders_page_on(signed_in, web_source, monkeypatch):
    monkeypatch.setattr("patron.web.views.companies.ORDERS_PER_PAGE", 2)
    company = _company("Acme")
    ana = _contact(company, "Ana", "Silva")
    for n in range(3):
        _order(web_source, ana, f"A-{n}", "10.00", days_ago=n)
    client = signed_in("viewer")

    first = client.get(f"/companies/{company.pk}/")
    second = client.get(
        f"/companies/{company.pk}/?cursor={first.context['orders'].next_cursor}",
        HTTP_HX_REQUEST="true",
    )

    assert [order.external_id for order in first.context["orders"].items] == ["A-0", "A-1"]
    assert [order.external_id for order in second.context["orders"].items] == ["A-2"]
    assert second.content.decode().lstrip().startswith('<section class="panel" id="orders"')


def test_company_page_has_a_fixed_number_of_queries(
    signed_in, web_source, django_assert_max_num_queries
):
    client = signed_in("viewer")
    small, large = _company("Small"), _company("Large")
    _order(web_source, _contact(small, "S", "One"), "S-1", "1.00")
    for n in range(12):
        contact = _contact(large, "L", f"Person{n:02}")
        for m in range(3):
            _order(web_source, contact, f"L-{n}-{m}", "2.00", days_ago=m)
    client.get(f"/companies/{small.pk}/")

    # session, user, company, orders page (two on its last page), contacts, contact count,
    # order counts of the contacts shown, totals, audit entries, timeline orders
    with django_assert_max_num_queries(11):
        client.get(f"/companies/{small.pk}/")
    with django_assert_max_num_queries(11):
        client.get(f"/companies/{large.pk}/")


def test_company_page_escapes_script_everywhere(signed_in):
    company = _company("<script>alert(1)</script>", industry="<img src=x onerror=alert(2)>")
    _contact(company, "<script>alert(3)</script>", "Silva", title="<b>boss</b>")

    html = signed_in("viewer").get(f"/companies/{company.pk}/").content.decode()

    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "<b>boss</b>" not in html
    assert "&lt;script&gt;alert(3)&lt;/script&gt; Silva" in html


# Editing


def test_edit_roles(assert_page_roles):
    company = _company("Acme")
    assert_page_roles(f"/companies/{company.pk}/edit/", allowed=EDITORS)
    assert_page_roles(
        f"/companies/{company.pk}/edit/", allowed=EDITORS, method="post", data={"name": ""}
    )


def test_sales_sees_the_edit_button_and_saves_with_an_audit(signed_in):
    company = _company("Acme", plan="free")
    client = signed_in("sales")

    page = client.get(f"/companies/{company.pk}/").content.decode()
    response = client.post(
        f"/companies/{company.pk}/edit/",
        {"name": "Acme Ltd", "domain": "acme.example", "plan": "pro", "employee_count": "40"},
    )

    assert f'href="/companies/{company.pk}/edit/"' in page
    assert response.status_code == 302
    assert response["Location"] == f"/companies/{company.pk}/"
    company.refresh_from_db()
    assert (company.name, company.domain, company.plan, company.employee_count) == (
        "Acme Ltd",
        "acme.example",
        "pro",
        40,
    )
    entry = AuditEntry.objects.get(action="company.updated")
    assert entry.actor_label == "sales-user"
    assert entry.changes["plan"] == ["free", "pro"]
    timeline = client.get(f"/companies/{company.pk}/").content.decode()
    assert "free → pro" in timeline


def test_edit_with_htmx_swaps_the_panel(signed_in):
    company = _company("Acme")
    client = signed_in("sales")

    form = client.get(f"/companies/{company.pk}/edit/", HTTP_HX_REQUEST="true")
    saved = client.post(
        f"/companies/{company.pk}/edit/", {"name": "Acme Ltd"}, HTTP_HX_REQUEST="true"
    )

    assert form.content.decode().lstrip().startswith('<section class="panel" id="properties"')
    assert 'name="employee_count"' in form.content.decode()
    assert saved.status_code == 200
    assert "<dd>Acme Ltd</dd>" in saved.content.decode()
    assert "<form" not in saved.content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"name": "Acme", "employee_count": "many"}, "employee_count", "Enter a whole number."),
        ({"name": "Acme", "domain": "not a domain"}, "domain", "is not a domain name"),
        ({"name": "Acme", "website": "javascript:alert(1)"}, "website", "is not an http(s) URL"),
    ],
)
def test_bad_values_are_shown_next_to_their_field_and_nothing_changes(
    signed_in, data, field, message
):
    company = _company("Acme")

    response = signed_in("sales").post(
        f"/companies/{company.pk}/edit/", data, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert message in str(response.context["form"].errors[field])
    html = response.content.decode()
    block = html.split(f'for="id_{field}"')[1].split('<div class="field')[0]
    assert 'class="error"' in block
    company.refresh_from_db()
    assert company.name == "Acme"
    assert not AuditEntry.objects.filter(action="company.updated").exists()


def test_a_taken_domain_is_shown_next_to_the_domain(signed_in):
    _company("Globex", domain="globex.example")
    company = _company("Acme")

    response = signed_in("sales").post(
        f"/companies/{company.pk}/edit/", {"name": "Acme", "domain": "globex.example"}
    )

    assert response.status_code == 200
    assert "another company already has this domain" in str(
        response.context["form"].errors["domain"]
    )


def test_viewer_post_changes_nothing(signed_in):
    company = _company("Acme")

    response = signed_in("viewer").post(f"/companies/{company.pk}/edit/", {"name": "Hacked"})

    assert response.status_code == 403
    company.refresh_from_db()
    assert company.name == "Acme"


def test_every_bad_field_is_reported_in_one_go(signed_in):
    company = _company("Acme")

    response = signed_in("sales").post(
        f"/companies/{company.pk}/edit/",
        {"name": "Acme", "employee_count": "-4", "website": "javascript:alert(1)"},
    )

    errors = response.context["form"].errors
    assert errors["employee_count"] == ["Ensure this value is greater than or equal to 0."]
    assert errors["website"] == ["'javascript:alert(1)' is not an http(s) URL"]
    company.refresh_from_db()
    assert company.website == ""


def test_contacts_show_how_many_orders_each_placed(signed_in, web_source):
    company = _company("Acme")
    ana = _contact(company, "Ana", "Silva")
    _contact(company, "Rui", "Costa")
    _order(web_source, ana, "A-1", "1.00")
    _order(web_source, ana, "A-2", "1.00")

    response = signed_in("viewer").get(f"/companies/{company.pk}/")

    counts = {contact.customer.first_name: count for contact, count in response.context["contacts"]}
    assert counts == {"Ana": 2, "Rui": 0}
