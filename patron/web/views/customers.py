"""The customer list: search, filters, sorting, saved views, bulk tagging and CSV export."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from patron.accounts.permissions import Permission
from patron.accounts.services.audit import audit_record
from patron.core.errors import NotFound, PatronError, ValidationFailed
from patron.core.tabular import neutralised
from patron.customers import selectors as customer_selectors
from patron.customers.models import Customer
from patron.customers.selectors import CustomerSort
from patron.customers.services import tags as tag_services
from patron.customers.services.tags import BulkTagJob, customers_tag_bulk
from patron.web.access import requires, staff_actor, staff_user
from patron.web.forms.customers import (
    DESCENDING_FIRST,
    FILTER_PARAMETERS,
    BulkTagForm,
    CustomerListForm,
    SavedViewForm,
    view_query,
)
from patron.web.models import SavedViewList
from patron.web.pages import is_htmx
from patron.web.selectors import saved_view_list
from patron.web.services.saved_views import saved_view_create, saved_view_delete

TEMPLATE = "web/customers/list.html"
BASIC_FILTERS = ("tag", "lifecycle_stage", "country", "company")
ORDER_FILTERS = (
    "first_order_from",
    "first_order_to",
    "last_order_from",
    "last_order_to",
    "orders_min",
    "orders_max",
    "spent_min",
    "spent_max",
)
BULK_JOB_SESSION_KEY = "customer_bulk_tag_job"  # the worker's bulk tag this user waits for
PAGE_SIZE = 50  # a screenful or two; the keyset cursor makes any depth as fast as the first
EXPORT_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "country",
    "lifecycle_stage",
    "order_count",
    "total_spent",
    "first_order_at",
    "last_order_at",
    "tags",
    "created_at",
)


@dataclass(frozen=True)
class Column:
    """A sortable column heading: its link and, when it is the current sort, aria-sort."""

    label: str
    query: str
    aria_sort: str
    is_number: bool


def _list_form(data: QueryDict) -> CustomerListForm:
    form = CustomerListForm(data)
    form.is_valid()  # fills cleaned_data with the good fields and errors for the bad ones
    return form


def _columns(data: QueryDict, form: CustomerListForm) -> dict[str, Column]:
    columns = {}
    numbers = {CustomerSort.ORDERS, CustomerSort.TOTAL_SPENT}
    for sort, label in CustomerSort.choices:
        is_current = form.sort_key == sort
        query = data.copy()
        query.pop("cursor", None)
        # The current column turns round; another starts from its natural direction.
        is_descending = not form.is_descending if is_current else sort in DESCENDING_FIRST
        query["sort"] = f"-{sort}" if is_descending else sort
        columns[sort] = Column(
            label=label,
            query=query.urlencode(),
            aria_sort=("descending" if form.is_descending else "ascending") if is_current else "",
            is_number=sort in numbers,
        )
    return columns


def _sort_only(data: QueryDict) -> str:
    """The query string without its filters: what "Clear filters" links to."""
    kept = QueryDict(mutable=True)
    value = data.get("sort")
    if value:
        kept["sort"] = value
    return kept.urlencode()


def _list_context(request: HttpRequest, data: QueryDict, **forms: Any) -> dict[str, Any]:
    is_partial = is_htmx(request)
    form = _list_form(data)
    filters = form.filters()
    cursor = form.cleaned_data.get("cursor") or None
    try:
        result = customer_selectors.customer_list_result(
            filters,
            sort=form.sort_key,
            descending=form.is_descending,
            cursor=cursor,
            limit=PAGE_SIZE,
        )
    except ValidationFailed as error:
        form.add_error("cursor", error.message)
        result = customer_selectors.customer_list_result(
            filters, sort=form.sort_key, descending=form.is_descending, limit=PAGE_SIZE
        )
    query = view_query(data)
    user = staff_user(request)
    return {
        "form": form,
        "page": result.page,
        "match_count": result.match_count,
        "is_count_capped": result.is_count_capped,
        "columns": _columns(data, form),
        "query": query,
        "clear_query": _sort_only(data),
        "has_filters": form.has_filters,  # given, good or bad: offer to clear them
        "is_filtered": filters != customer_selectors.CustomerListFilters(),  # applied
        # Outside the results region: a swap does not read them.
        "saved_views": []
        if is_partial
        else list(saved_view_list(owner=user, list_name=SavedViewList.CUSTOMERS)),
        "tag_names": [] if is_partial else customer_selectors.tag_names_in_use(),
        "bulk_form": forms.get("bulk_form") or BulkTagForm(initial={"query": query}),
        "saved_view_form": forms.get("saved_view_form") or SavedViewForm(initial={"query": query}),
        "filter_names": FILTER_PARAMETERS,
        "basic_filters": [form[name] for name in BASIC_FILTERS],
        "order_filters": [form[name] for name in ORDER_FILTERS],
        # Order filters fold away until used; a bad value in one keeps them open.
        "more_open": any(data.get(name) or name in form.errors for name in ORDER_FILTERS),
        "user_id": user.pk,
        "bulk_job": None if is_partial else _bulk_job_waited_for(request),
    }


def _bulk_job_waited_for(request: HttpRequest) -> BulkTagJob | None:
    token = request.session.get(BULK_JOB_SESSION_KEY)
    if not token:
        return None
    try:
        job = tag_services.bulk_tag_job_get(token)
    except NotFound:
        job = None
    if job is None or job.is_finished:
        # Said once: the next visit to the list shows no finished job again.
        request.session.pop(BULK_JOB_SESSION_KEY, None)
    return job


@require_GET
@requires(Permission.CUSTOMERS_VIEW)
def customer_list(request: HttpRequest) -> HttpResponse:
    context = _list_context(request, request.GET)
    if is_htmx(request):
        # The results region, plus each filter's error out of band, so typing in the search
        # box never replaces the box itself.
        results = render_to_string(f"{TEMPLATE}#results", context, request)
        errors = render_to_string(f"{TEMPLATE}#filter-errors-oob", context, request)
        response = HttpResponse(results + errors)
        # The address bar shows the filters in use, not every empty field of the form.
        shown = QueryDict(context["query"], mutable=True)
        if request.GET.get("cursor"):
            shown["cursor"] = request.GET["cursor"]
        response["HX-Push-Url"] = f"{request.path}?{shown.urlencode()}" if shown else request.path
        return response
    return render(request, TEMPLATE, context)


class _Echo:
    """csv.writer's file: hands each formatted line straight back to the response."""

    def write(self, value: str) -> str:
        return value


def _export_cells(customer: Customer) -> list[str]:
    values: list[Any] = [
        customer.pk,
        customer.first_name,
        customer.last_name,
        customer.email or "",
        customer.phone or "",
        customer.country,
        customer.lifecycle_stage,
        customer.order_count,
        customer.total_spent,
        customer.first_order_at.isoformat() if customer.first_order_at else "",
        customer.last_order_at.isoformat() if customer.last_order_at else "",
        ", ".join(tag.name for tag in customer.tag_list),  # type: ignore[attr-defined]
        customer.created_at.isoformat(),
    ]
    # Only typed text can start a formula; numbers and times are written by Patron.
    return [neutralised(value) if isinstance(value, str) else str(value) for value in values]


@require_GET
@requires(Permission.CUSTOMERS_EXPORT)
def customer_export(request: HttpRequest) -> HttpResponse:
    form = _list_form(request.GET)
    query = view_query(request.GET)
    if form.errors:
        messages.error(request, "Fix the filters marked below before exporting.")
        return HttpResponseRedirect(f"{reverse('web:customer_list')}?{query}")
    filters = form.filters()
    actor = staff_actor(request)
    sort, descending = form.sort_key, form.is_descending

    def lines() -> Iterator[str]:
        writer = csv.writer(_Echo())
        written = 0
        try:
            yield writer.writerow(EXPORT_COLUMNS)
            for customer in customer_selectors.customer_list_export_rows(
                filters, sort=sort, descending=descending
            ):
                yield writer.writerow(_export_cells(customer))
                written += 1
        finally:
            # At the end, so the entry holds the rows that actually left (a download can be
            # cancelled half-way).
            audit_record(
                actor=actor,
                action="customers.exported",
                subject_type="customer_list",
                subject_id="customers",
                changes={"filters": query, "rows": written},
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="customers.csv"'
    # `requires` types pages as returning HttpResponse; a streamed one serves the same way.
    return cast(HttpResponse, response)


def _back_to_list(query: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse('web:customer_list')}{'?' + query if query else ''}")


def _query_data(query: str) -> QueryDict:
    return QueryDict(query, mutable=False)


@require_POST
@requires(Permission.CUSTOMERS_EDIT)
def customer_bulk_tag(request: HttpRequest) -> HttpResponse:
    form = BulkTagForm(request.POST, selected=request.POST.getlist("customer"))
    query = view_query(_query_data(request.POST.get("query", "")))
    if form.is_valid():
        list_form = _list_form(_query_data(query))
        if form.cleaned_data["scope"] == "all" and list_form.errors:
            form.add_error("scope", "Fix the list's filters first.")
        else:
            is_all = form.cleaned_data["scope"] == "all"
            is_adding = form.cleaned_data["action"] == "add"
            threshold = tag_services.BULK_TAG_IN_WORKER_ABOVE
            if is_all and (
                customer_selectors.customer_list_count(list_form.filters(), limit=threshold + 1)
                > threshold
            ):
                return _bulk_tag_in_worker(request, form, list_form, query)
            ids = (
                list(customer_selectors.customer_list_ids(list_form.filters()))
                if is_all
                else form.customer_ids()
            )
            try:
                changed = customers_tag_bulk(
                    customer_ids=ids,
                    name=form.cleaned_data["tag"],
                    is_adding=is_adding,
                    actor=staff_actor(request),
                )
            except ValidationFailed as error:
                form.add_error("tag", error.message)
            else:
                tag = " ".join(form.cleaned_data["tag"].split())
                noun = "customer" if changed == 1 else "customers"
                messages.success(
                    request,
                    f"Tag “{tag}” added to {changed} {noun}."
                    if is_adding
                    else f"Tag “{tag}” removed from {changed} {noun}.",
                )
                return _back_to_list(query)
    context = _list_context(request, _query_data(query), bulk_form=form)
    return render(request, TEMPLATE, context)


def _bulk_tag_in_worker(
    request: HttpRequest, form: BulkTagForm, list_form: CustomerListForm, query: str
) -> HttpResponse:
    """Queue a large bulk tag and go back to the list, which shows its progress."""
    try:
        job = tag_services.bulk_tag_job_start(
            filters=list_form.filters(),
            name=form.cleaned_data["tag"],
            is_adding=form.cleaned_data["action"] == "add",
            actor=staff_actor(request),
        )
    except ValidationFailed as error:
        form.add_error("tag", error.message)
        context = _list_context(request, _query_data(query), bulk_form=form)
        return render(request, TEMPLATE, context)
    request.session[BULK_JOB_SESSION_KEY] = job.token
    above = f"{tag_services.BULK_TAG_IN_WORKER_ABOVE:,}"
    messages.info(
        request,
        f"Adding tag “{job.tag}” to more than {above} customers in the background."
        if job.is_adding
        else f"Removing tag “{job.tag}” from more than {above} customers in the background.",
    )
    return _back_to_list(query)


@require_GET
@requires(Permission.CUSTOMERS_EDIT)
def customer_bulk_tag_progress(request: HttpRequest, token: str) -> HttpResponse:
    """The progress fragment the list polls until the worker's bulk tag is finished."""
    try:
        job = tag_services.bulk_tag_job_get(token)
    except NotFound as error:
        raise Http404(error.message) from error
    if job.is_finished and request.session.get(BULK_JOB_SESSION_KEY) == token:
        # Said once: the next visit to the list shows no finished job again.
        request.session.pop(BULK_JOB_SESSION_KEY)
    return render(request, f"{TEMPLATE}#bulk-progress", {"bulk_job": job})


@require_POST
@requires(Permission.CUSTOMERS_VIEW)
def saved_view_save(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST)
    query = view_query(_query_data(request.POST.get("query", "")))
    if form.is_valid():
        try:
            view = saved_view_create(
                owner=staff_user(request),
                list_name=SavedViewList.CUSTOMERS,
                name=form.cleaned_data["name"],
                query=query,
                is_shared=form.cleaned_data["is_shared"],
                actor=staff_actor(request),
            )
        except PatronError as error:
            form.add_error("name" if error.field == "name" else None, error.message)
        else:
            messages.success(request, f"View “{view.name}” saved.")
            return _back_to_list(query)
    context = _list_context(request, _query_data(query), saved_view_form=form)
    return render(request, TEMPLATE, context)


@require_POST
@requires(Permission.CUSTOMERS_VIEW)
def saved_view_remove(request: HttpRequest, view_id: int) -> HttpResponse:
    try:
        saved_view_delete(owner=staff_user(request), view_id=view_id, actor=staff_actor(request))
    except NotFound as error:
        raise Http404(error.message) from error
    messages.success(request, "Saved view deleted.")
    return _back_to_list(view_query(_query_data(request.POST.get("query", ""))))


urlpatterns = [
    path("customers/", customer_list, name="customer_list"),
    path("customers/export/", customer_export, name="customer_export"),
    path("customers/bulk-tag/", customer_bulk_tag, name="customer_bulk_tag"),
    path(
        "customers/bulk-tag/<str:token>/",
        customer_bulk_tag_progress,
        name="customer_bulk_tag_progress",
    ),
    path("customers/views/", saved_view_save, name="saved_view_create"),
    path("customers/views/<int:view_id>/delete/", saved_view_remove, name="saved_view_delete"),
]
