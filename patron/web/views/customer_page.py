"""The customer 360 page: profile, identities, notes, figures, products and one timeline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from patron.accounts.permissions import Permission
from patron.core import clock
from patron.core.errors import PatronError
from patron.core.panels import (
    Panel,
    PanelContent,
    TimelineItem,
    TimelinePosition,
    TimelineSource,
    panel_register,
    panels_visible,
    timeline_page,
    timeline_sources_visible,
)
from patron.customers import selectors as customer_selectors
from patron.customers.models import Customer, Note
from patron.customers.services import notes as note_services
from patron.customers.services import profile as profile_services
from patron.customers.services import tags as tag_services
from patron.orders import selectors as order_selectors
from patron.privacy import selectors as privacy_selectors
from patron.web.access import is_allowed, requires, staff_actor
from patron.web.forms.customer_page import NoteForm, ProfileForm, TagForm
from patron.web.pages import is_htmx
from patron.web.timeline import url_if_page_exists

TEMPLATE = "web/customer_page/page.html"
TIMELINE_PAGE_SIZE = 25  # a screen and a half; "Load older" brings the next
# created_at and updated_at are stamped separately on insert, a moment apart.
NOTE_EDIT_GRACE = timedelta(seconds=1)
NOTE_EDIT_IDS = "id_edit_%s"  # apart from the new-note form's, which stays on the page
RECENT_NOTES = 5  # the side panel's latest notes; all of them are in the timeline
# Sent with every write's answer: the timeline listens for it and reloads with its filters.
TIMELINE_CHANGED = "timeline-changed"


def _allows(request: HttpRequest) -> Callable[[str], bool]:
    """The registries name permissions as text; an unknown name is never allowed."""

    def allows(permission: str) -> bool:
        try:
            return is_allowed(request, Permission(permission))
        except ValueError:
            return False

    return allows


def _customer_or_404(customer_id: int) -> Customer:
    customer = customer_selectors.customer_find_for_page(customer_id)
    if customer is None:
        raise Http404("No such customer.")
    return customer


@dataclass(frozen=True)
class RenderedPanel:
    key: str
    title: str
    html: SafeString


def _panels(request: HttpRequest, customer_id: int) -> dict[str, list[RenderedPanel]]:
    regions: dict[str, list[RenderedPanel]] = {"side": [], "main": []}
    for panel in panels_visible(allows=_allows(request)):
        content = panel.render(customer_id)
        if content is None:
            continue
        html = render_to_string(content.template_name, dict(content.context), request=request)
        regions.setdefault(panel.region, []).append(
            RenderedPanel(key=panel.key, title=panel.title, html=SafeString(html))
        )
    return regions


@dataclass(frozen=True)
class TimelineView:
    """The timeline region: which kinds are on, this page of items, the link to older ones."""

    sources: list[TimelineSource]
    selected: frozenset[str]
    items: list[TimelineItem]
    older_query: str  # the query string of the next page; empty on the last page
    filter_query: str


def _timeline(request: HttpRequest, customer_id: int) -> TimelineView:
    sources = timeline_sources_visible(allows=_allows(request))
    known = {source.kind for source in sources}
    asked = [kind for kind in request.GET.getlist("kind") if kind in known]
    selected = frozenset(asked) if asked else frozenset(known)
    before = None
    cursor = request.GET.get("cursor")
    if cursor:
        try:
            before = TimelinePosition.decode(cursor)
        except PatronError:
            before = None  # a mangled link starts again from the newest, not an error page
    page = timeline_page(
        customer_id,
        sources=[source for source in sources if source.kind in selected],
        before=before,
        limit=TIMELINE_PAGE_SIZE,
    )
    kinds = [("kind", kind) for kind in sorted(selected)] if asked else []
    older = (
        urlencode([*kinds, ("cursor", page.next_position.encode())]) if page.next_position else ""
    )
    return TimelineView(
        sources=sources,
        selected=selected,
        items=page.items,
        older_query=older,
        filter_query=urlencode(kinds),
    )


def _local_time(customer: Customer) -> str:
    """The customer's wall clock, as text: the date filter would turn it back into UTC."""
    if not customer.timezone:
        return ""
    return clock.now().astimezone(ZoneInfo(customer.timezone)).strftime("%H:%M")


def _next_occurrence(day: date, today: date, is_recurring: bool) -> date | None:
    if not is_recurring:
        return day if day >= today else None
    for year in (today.year, today.year + 1):
        try:
            candidate = day.replace(year=year)
        except ValueError:  # 29 February in a year without one
            candidate = date(year, 3, 1)
        if candidate >= today:
            return candidate
    return None


def _milestones(customer: Customer) -> list[dict[str, Any]]:
    today = clock.now().date()
    rows = []
    for milestone in customer.milestones.all():
        upcoming = _next_occurrence(milestone.date, today, milestone.is_recurring_yearly)
        rows.append(
            {
                "milestone": milestone,
                "next": upcoming,
                "days_until": (upcoming - today).days if upcoming else None,
            }
        )
    return rows


def _attributes(customer: Customer, definitions: Sequence[Any]) -> list[tuple[str, Any]]:
    labels = {definition.key: definition.label or definition.key for definition in definitions}
    return [(labels.get(key, key), value) for key, value in sorted(customer.attributes.items())]


def _context(
    request: HttpRequest,
    customer: Customer,
    *,
    profile_form: ProfileForm | None = None,
    note_form: NoteForm | None = None,
    tag_form: TagForm | None = None,
    editing_note: Note | None = None,
    note_edit_form: NoteForm | None = None,
    refresh_related: bool = False,
) -> dict[str, Any]:
    definitions = list(customer_selectors.attribute_definition_list().order_by("key"))
    actor = staff_actor(request)
    notes = customer_selectors.note_list(customer_id=customer.pk).order_by("-created_at", "-pk")
    recent_notes = [
        {
            "note": note,
            "is_editable": note_services.note_is_editable_by(note, actor),
            "is_edited": note.updated_at - note.created_at > NOTE_EDIT_GRACE,
        }
        for note in notes[:RECENT_NOTES]
    ]
    return {
        "customer": customer,
        "identities": list(customer.identities.all()),
        "memberships": [
            {
                "membership": membership,
                "url": url_if_page_exists("web:company_detail", membership.company_id)
                or reverse("web:company_list") + "?" + urlencode({"q": membership.company.name}),
            }
            for membership in customer.memberships.all()
        ],
        "tags": customer.tag_list,  # type: ignore[attr-defined]
        "milestones": _milestones(customer),
        "attributes": _attributes(customer, definitions),
        "definitions": definitions,
        "local_time": _local_time(customer),
        "consents": privacy_selectors.consent_state(customer_id=customer.pk),
        "recent_notes": recent_notes,
        "profile_form": profile_form,
        "note_form": note_form or NoteForm(),
        "tag_form": tag_form or TagForm(),
        "editing_note": editing_note,
        "note_edit_form": note_edit_form,
        "refresh_related": refresh_related,
    }


def _full_page(request: HttpRequest, customer: Customer, **forms: Any) -> HttpResponse:
    context = _context(request, customer, **forms)
    context["timeline"] = _timeline(request, customer.pk)
    context["panels"] = _panels(request, customer.pk)
    return render(request, TEMPLATE, context)


def _back_to_page(customer_id: int) -> HttpResponseRedirect:
    return redirect("web:customer_detail", customer_id=customer_id)


def _partial(
    request: HttpRequest, customer: Customer, name: str, *, changed: bool = False, **forms: Any
) -> HttpResponse:
    response = render(request, f"{TEMPLATE}#{name}", _context(request, customer, **forms))
    if changed:
        response["HX-Trigger"] = TIMELINE_CHANGED
    return response


@requires(Permission.CUSTOMERS_VIEW)
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = customer_selectors.customer_find_for_page(customer_id)
    if customer is None:
        survivor = customer_selectors.customer_survivor_id(customer_id)
        if survivor is None:
            raise Http404("No such customer.")
        messages.info(request, f"Customer #{customer_id} was merged into this customer.")
        return _back_to_page(survivor)
    return _full_page(request, customer)


@requires(Permission.CUSTOMERS_VIEW)
def customer_timeline(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The timeline region for htmx: whole (a filter changed) or the next items (Load older)."""
    customer = customer_selectors.customer_find(customer_id)
    if customer is None:
        raise Http404("No such customer.")
    if not is_htmx(request):
        query = request.GET.urlencode()
        url = reverse("web:customer_detail", args=[customer.pk])
        return HttpResponseRedirect(f"{url}?{query}" if query else url)
    name = "timeline-items" if request.GET.get("append") else "timeline"
    context = {"customer": customer, "timeline": _timeline(request, customer.pk)}
    return render(request, f"{TEMPLATE}#{name}", context)


@requires(Permission.CUSTOMERS_VIEW)
def customer_profile(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The profile's read view, which Cancel puts back in place of the form."""
    customer = _customer_or_404(customer_id)
    if not is_htmx(request):
        return _back_to_page(customer.pk)
    return _partial(request, customer, "profile")


@requires(Permission.CUSTOMERS_EDIT)
def customer_profile_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer_or_404(customer_id)
    definitions = list(customer_selectors.attribute_definition_list().order_by("key"))
    if request.method != "POST":
        form = ProfileForm.for_customer(customer, definitions)
    else:
        form = ProfileForm(request.POST, definitions=definitions)
        if form.is_valid():
            try:
                profile_services.customer_update(
                    customer=customer,
                    actor=staff_actor(request),
                    fields=form.profile_fields(),
                    attributes=form.attribute_values(),
                )
            except PatronError as error:
                form.add_problems(error)
            else:
                customer = _customer_or_404(customer_id)
                if is_htmx(request):
                    # The name in the heading and the identities follow the email and phone.
                    return _partial(
                        request, customer, "profile", changed=True, refresh_related=True
                    )
                messages.success(request, "Profile saved.")
                return _back_to_page(customer.pk)
    if is_htmx(request):
        return _partial(request, customer, "profile", profile_form=form)
    return _full_page(request, customer, profile_form=form)


def _tags_answer(request: HttpRequest, customer_id: int, **forms: Any) -> HttpResponse:
    customer = _customer_or_404(customer_id)
    if is_htmx(request):
        return _partial(request, customer, "tags", changed=not forms, **forms)
    if forms:
        return _full_page(request, customer, **forms)
    return _back_to_page(customer.pk)


@requires(Permission.CUSTOMERS_EDIT)
def customer_tag_add(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer_or_404(customer_id)
    if request.method != "POST":
        return _back_to_page(customer.pk)
    form = TagForm(request.POST)
    if form.is_valid():
        try:
            tag_services.customer_tags_add(
                customer=customer, names=[form.cleaned_data["name"]], actor=staff_actor(request)
            )
        except PatronError as error:
            form.add_problems(error)
        else:
            return _tags_answer(request, customer.pk)
    return _tags_answer(request, customer.pk, tag_form=form)


@requires(Permission.CUSTOMERS_EDIT)
def customer_tag_remove(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer_or_404(customer_id)
    if request.method == "POST":
        try:
            tag_services.customer_tag_remove(
                customer=customer, name=request.POST.get("name", ""), actor=staff_actor(request)
            )
        except PatronError as error:
            # Someone else took it off first: the refreshed list already says so.
            messages.warning(request, error.message)
    return _tags_answer(request, customer.pk)


@requires(Permission.NOTES_WRITE)
def customer_note_add(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer_or_404(customer_id)
    if request.method != "POST":
        return _back_to_page(customer.pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            note_services.note_add(
                customer=customer, body=form.cleaned_data["body"], actor=staff_actor(request)
            )
        except PatronError as error:
            form.add_problems(error)
        else:
            if is_htmx(request):
                return _partial(request, customer, "notes", changed=True)
            messages.success(request, "Note added.")
            return _back_to_page(customer.pk)
    if is_htmx(request):
        return _partial(request, customer, "notes", note_form=form)
    return _full_page(request, customer, note_form=form)


@requires(Permission.NOTES_WRITE)
def customer_note_edit(request: HttpRequest, customer_id: int, note_id: int) -> HttpResponse:
    customer = _customer_or_404(customer_id)
    try:
        note = customer_selectors.note_get(customer_id=customer.pk, note_id=note_id)
    except PatronError as error:
        raise Http404(error.message) from error
    actor = staff_actor(request)
    if not note_services.note_is_editable_by(note, actor):
        raise PermissionDenied("Only the author of a note can edit it.")
    if request.method != "POST":
        form = NoteForm(initial={"body": note.body}, auto_id=NOTE_EDIT_IDS)
    else:
        form = NoteForm(request.POST, auto_id=NOTE_EDIT_IDS)
        if form.is_valid():
            try:
                note_services.note_edit(note=note, body=form.cleaned_data["body"], actor=actor)
            except PatronError as error:
                form.add_problems(error)
            else:
                if is_htmx(request):
                    return _partial(request, customer, "notes", changed=True)
                messages.success(request, "Note saved.")
                return _back_to_page(customer.pk)
    if is_htmx(request):
        return _partial(request, customer, "notes", editing_note=note, note_edit_form=form)
    return _full_page(request, customer, editing_note=note, note_edit_form=form)


def _purchase_figures_panel(customer_id: int) -> PanelContent:
    return PanelContent(
        "web/customer_page/figures_panel.html",
        {"figures": order_selectors.customer_purchase_figures(customer_id=customer_id)},
    )


PRODUCTS_SHOWN = 10  # beside the timeline; the most bought first


def _products_panel(customer_id: int) -> PanelContent:
    products = order_selectors.customer_product_purchases(
        customer_id=customer_id, limit=PRODUCTS_SHOWN
    )
    return PanelContent(
        "web/customer_page/products_panel.html",
        {
            "products": [
                {"product": product, "url": url_if_page_exists("web:product_by_sku", product.sku)}
                for product in products
            ]
        },
    )


def built_in_panels_register() -> None:
    """Called from WebConfig.ready(): built through the registry later capabilities use, so the
    page has no special case for them."""
    orders_view = Permission.ORDERS_VIEW.value
    panel_register(
        Panel("purchase_figures", "Key figures", 10, orders_view, _purchase_figures_panel)
    )
    panel_register(Panel("products", "Products they buy", 20, orders_view, _products_panel))


urlpatterns = [
    path("customers/<int:customer_id>/", customer_detail, name="customer_detail"),
    path("customers/<int:customer_id>/timeline/", customer_timeline, name="customer_timeline"),
    path("customers/<int:customer_id>/profile/", customer_profile, name="customer_profile"),
    path(
        "customers/<int:customer_id>/profile/edit/",
        customer_profile_edit,
        name="customer_profile_edit",
    ),
    path("customers/<int:customer_id>/tags/", customer_tag_add, name="customer_tag_add"),
    path(
        "customers/<int:customer_id>/tags/remove/",
        customer_tag_remove,
        name="customer_tag_remove",
    ),
    path("customers/<int:customer_id>/notes/", customer_note_add, name="customer_note_add"),
    path(
        "customers/<int:customer_id>/notes/<int:note_id>/edit/",
        customer_note_edit,
        name="customer_note_edit",
    ),
]
