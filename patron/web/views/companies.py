"""Companies (B2B accounts): list and account page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse

from patron.accounts import selectors as account_selectors
from patron.accounts.permissions import Permission
from patron.core.errors import NotFound, PatronError
from patron.core.pagination import keyset_page_sorted
from patron.customers import selectors as customer_selectors
from patron.customers.models import Company
from patron.customers.services.companies import company_clean, company_update
from patron.orders import selectors as order_selectors
from patron.web.access import requires, staff_actor
from patron.web.forms.companies import CompanyFilterForm, CompanyForm
from patron.web.pages import is_htmx

COMPANIES_PER_PAGE = 50
CONTACTS_SHOWN = 50  # an account page lists people to call, not a whole payroll
ORDERS_PER_PAGE = 20
TIMELINE_ITEMS = 20
_SORT_KEYS = {"name": "lower_name", "contacts": "contact_count", "created": "created_at"}


@requires(Permission.COMPANIES_VIEW)
def company_list(request: HttpRequest) -> HttpResponse:
    industries, plans = customer_selectors.company_facets()
    form = CompanyFilterForm(request.GET or None, industries=industries, plans=plans)
    page = None
    data = form.cleaned_data if form.is_valid() else {}
    sort = data.get("sort") or "name"
    if not request.GET or form.is_valid():
        queryset = customer_selectors.company_list_for_display(
            filters=customer_selectors.CompanyFilters(
                q=data.get("q"), industry=data.get("industry"), plan=data.get("plan")
            )
        )
        try:
            page = keyset_page_sorted(
                queryset,
                keys=[_SORT_KEYS[sort.removeprefix("-")]],
                descending=sort.startswith("-"),
                cursor=request.GET.get("cursor"),
                limit=COMPANIES_PER_PAGE,
            )
        except PatronError as error:
            form.add_error(None, error.message)
    context = {
        "form": form,
        "page": page,
        "sort": sort,
        "is_filtered": any(data.get(name) for name in ("q", "industry", "plan")),
    }
    template = "web/companies/company_list.html"
    if is_htmx(request):
        template += "#results"
    return render(request, template, context)


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str
    text: str
    who: str
    url: str
    changes: list[tuple[str, str]]


def _change_lines(changes: Any) -> list[tuple[str, str]]:
    """An audit entry's changes as (field, "before → after") lines people read."""
    if not isinstance(changes, dict):
        return []
    lines = []
    for name, value in changes.items():
        if isinstance(value, list) and len(value) == 2:
            before, after = ("—" if part in (None, "") else str(part) for part in value)
            lines.append((str(name), f"{before} → {after}"))
        else:
            lines.append((str(name), "—" if value in (None, "") else str(value)))
    return lines


def _timeline(company: Company, contact_ids: Any) -> list[TimelineItem]:
    """Changes to the company and its contacts' orders, newest first: two queries."""
    entries = account_selectors.audit_list_for_subject(
        subject_type="company", subject_id=str(company.pk), limit=TIMELINE_ITEMS
    )
    orders = order_selectors.orders_of_customers(contact_ids).order_by("-placed_at", "-pk")[
        :TIMELINE_ITEMS
    ]
    items = [
        TimelineItem(
            at=entry.created_at,
            kind=entry.action.removeprefix("company.").replace("_", " "),
            text="",
            who=entry.actor_label,
            url="",
            changes=_change_lines(entry.changes),
        )
        for entry in entries
    ]
    items += [
        TimelineItem(
            at=order.placed_at,
            kind="order",
            text=f"Order {order.external_id}: {order.total:,.2f} {order.currency}",
            who=order.customer.display_name,
            url=reverse("web:customer_detail", args=[order.customer_id]),
            changes=[],
        )
        for order in orders
    ]
    return sorted(items, key=lambda item: item.at, reverse=True)[:TIMELINE_ITEMS]


def _company_context(request: HttpRequest, company: Company) -> dict[str, Any]:
    contact_ids = customer_selectors.company_contact_customer_ids(company_id=company.pk)
    orders = keyset_page_sorted(
        order_selectors.orders_of_customers(contact_ids),
        keys=["placed_at"],
        descending=True,
        cursor=request.GET.get("cursor"),
        limit=ORDERS_PER_PAGE,
    )
    contacts = customer_selectors.company_contacts_for_display(
        company_id=company.pk, limit=CONTACTS_SHOWN
    )
    order_counts = order_selectors.order_count_by_customer(
        [contact.customer_id for contact in contacts]
    )
    return {
        "company": company,
        "attributes": sorted(company.attributes.items()) if company.attributes else [],
        "contacts": [(contact, order_counts.get(contact.customer_id, 0)) for contact in contacts],
        "contact_count": customer_selectors.company_contact_count(company_id=company.pk),
        "orders": orders,
        "totals": order_selectors.order_totals_by_currency(contact_ids),
        "timeline": _timeline(company, contact_ids),
    }


def _company(company_id: int) -> Company:
    try:
        return customer_selectors.company_get(company_id)
    except NotFound as error:
        raise Http404(error.message) from error


def _initial(company: Company) -> dict[str, Any]:
    return {
        "name": company.name,
        "domain": company.domain or "",
        "industry": company.industry,
        "employee_count": company.employee_count,
        "plan": company.plan,
        "website": company.website,
    }


@requires(Permission.COMPANIES_VIEW)
def company_detail(request: HttpRequest, company_id: int) -> HttpResponse:
    company = _company(company_id)
    context = _company_context(request, company)
    if is_htmx(request) and request.GET.get("cursor"):
        return render(request, "web/companies/company_detail.html#orders", context)
    return render(request, "web/companies/company_detail.html", context)


@requires(Permission.COMPANIES_EDIT)
def company_edit(request: HttpRequest, company_id: int) -> HttpResponse:
    """The properties panel as a form (GET) and saving it (POST), in place with htmx.

    A form with errors answers 200: htmx swaps only successful answers into the page.
    """
    company = _company(company_id)
    is_swap = is_htmx(request)
    if request.method == "POST":
        form = CompanyForm(request.POST)
        form.is_valid()
        # The service's own rules (a real domain, an http(s) website) for every field the form
        # let through, so all problems show at once and not one round trip at a time.
        fields = {
            name: form.cleaned_data[name] for name in form.fields if name in form.cleaned_data
        }
        try:
            company_clean(fields)
            if not form.errors:
                company = company_update(company=company, actor=staff_actor(request), fields=fields)
        except PatronError as error:
            for problem in error.problems:
                field = problem.field if problem.field in form.fields else None
                if field is None or field not in form.errors:
                    form.add_error(field, problem.message)
        if not form.errors:
            if is_swap:
                return render(
                    request,
                    "web/companies/company_detail.html#properties",
                    {"company": company, "attributes": sorted(company.attributes.items())},
                )
            messages.success(request, f"{company.name} saved.")
            return redirect("web:company_detail", company_id=company.pk)
    else:
        form = CompanyForm(initial=_initial(company))
    if is_swap:
        return render(
            request,
            "web/companies/company_detail.html#properties_form",
            {"company": company, "form": form},
        )
    context = {**_company_context(request, company), "form": form, "is_editing": True}
    return render(request, "web/companies/company_detail.html", context)


urlpatterns = [
    path("companies/", company_list, name="company_list"),
    path("companies/<int:company_id>/", company_detail, name="company_detail"),
    path("companies/<int:company_id>/edit/", company_edit, name="company_edit"),
]
