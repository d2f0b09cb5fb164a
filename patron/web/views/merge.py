"""Likely duplicate customers and merging them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from patron.accounts.permissions import Permission
from patron.accounts.services.audit import audit_record
from patron.core.errors import Conflict, PatronError
from patron.customers import duplicates
from patron.customers import selectors as customer_selectors
from patron.customers.models import Customer
from patron.customers.services.merge import customer_merge, customer_merge_fills, user_ids_of
from patron.events import selectors as event_selectors
from patron.orders import selectors as order_selectors
from patron.privacy import selectors as privacy_selectors
from patron.web.access import deny, is_allowed, requires, staff_actor
from patron.web.forms.merge import DismissForm, DuplicateFilterForm, MergeForm
from patron.web.pages import is_htmx

DUPLICATES_PER_PAGE = 25
# The profile fields shown side by side, in the order a person reads a contact card.
PROFILE_FIELDS = (
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("city", "City"),
    ("country", "Country"),
    ("locale", "Locale"),
    ("timezone", "Time zone"),
    ("lifecycle_stage", "Lifecycle stage"),
)


@requires(Permission.CUSTOMERS_MERGE)
def duplicate_list(request: HttpRequest) -> HttpResponse:
    form = DuplicateFilterForm(request.GET or None)
    page = None
    if form.is_valid() or not request.GET:
        data = form.cleaned_data if request.GET else {}
        match = data.get("match") or duplicates.MatchKind.EMAIL
        try:
            page = duplicates.duplicate_page(
                kind=match,
                q=data.get("q"),
                cursor=request.GET.get("cursor"),
                limit=DUPLICATES_PER_PAGE,
            )
        except PatronError as error:
            form.add_error(None, error.message)
    else:
        match = duplicates.MatchKind.EMAIL
    context = {
        "form": form,
        "page": page,
        "match": match,
        "match_label": duplicates.MatchKind(match).label,
        "tabs": duplicates.MatchKind.choices,
        "threshold": duplicates.NAME_SCORE_THRESHOLD,
    }
    template = "web/merge/duplicate_list.html"
    if is_htmx(request):
        template += "#results"
    return render(request, template, context)


@requires(Permission.CUSTOMERS_MERGE)
def duplicate_dismiss(request: HttpRequest) -> HttpResponse:
    """Record that two customers are different people, so the pair is no longer listed."""
    if request.method != "POST":
        return redirect("web:duplicate_list")
    form = DismissForm(request.POST)
    if not form.is_valid() or form.cleaned_data["first"] == form.cleaned_data["second"]:
        messages.error(request, "That pair could not be read; nothing was dismissed.")
        return redirect("web:duplicate_list")
    first, second = form.cleaned_data["first"], form.cleaned_data["second"]
    if not duplicates.duplicate_is_dismissed(first_id=first, second_id=second):
        audit_record(
            actor=staff_actor(request),
            action=duplicates.DISMISSED_ACTION,
            subject_type=duplicates.PAIR_SUBJECT_TYPE,
            subject_id=duplicates.pair_key(first, second),
            changes={"customers": sorted([first, second])},
        )
    if is_htmx(request):
        # The row disappears in place; the list keeps the person's position.
        return HttpResponse("")
    messages.success(
        request, f"Customers #{first} and #{second} are no longer listed as duplicates."
    )
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("web:duplicate_list")


@dataclass(frozen=True)
class FieldRow:
    label: str
    source: Any
    target: Any
    is_filled: bool

    @property
    def is_dropped(self) -> bool:
        """Both have a value and they differ: the source's is not copied."""
        return bool(self.source and self.target and self.source != self.target)


@dataclass(frozen=True)
class MoveRow:
    label: str
    count: int


def _preview(source: Customer, target: Customer) -> dict[str, Any]:
    fills = customer_merge_fills(source=source, target=target)
    moves = customer_selectors.customer_merge_moves(source_id=source.pk, target_id=target.pk)
    orders = order_selectors.customer_order_counts(customer_id=source.pk)
    user_ids = user_ids_of([source.pk, target.pk])
    source_user_ids = sorted(user_ids.get(source.pk, set()))
    target_user_ids = sorted(user_ids.get(target.pk, set()))
    return {
        "source": source,
        "target": target,
        "fields": [
            FieldRow(
                label,
                getattr(source, name),
                getattr(target, name),
                name in fills,
            )
            for name, label in PROFILE_FIELDS
        ],
        "filled": fills,
        "new_attributes": fills.get("attributes", []),
        "moves": [
            MoveRow("Identities", moves.identities),
            MoveRow("Tags", moves.tags),
            MoveRow("Notes", moves.notes),
            MoveRow("Milestones", moves.milestones),
            MoveRow("Company contacts", moves.company_contacts),
            MoveRow("Events", event_selectors.customer_event_count(customer_id=source.pk)),
            MoveRow("Orders", orders.orders),
            MoveRow("Carts", orders.carts),
            MoveRow(
                "Consent records", privacy_selectors.consent_record_count(customer_id=source.pk)
            ),
        ],
        "source_user_ids": source_user_ids,
        "target_user_ids": target_user_ids,
        "is_user_id_conflict": bool(
            source_user_ids and target_user_ids and source_user_ids != target_user_ids
        ),
        "is_dismissed": duplicates.duplicate_is_dismissed(first_id=source.pk, second_id=target.pk),
    }


@requires(Permission.CUSTOMERS_MERGE)
def merge_preview(request: HttpRequest, source_id: int, target_id: int) -> HttpResponse:
    """What merging source into target moves and fills; POST merges, then shows the survivor."""
    if source_id == target_id:
        raise Http404("A customer cannot be merged into itself.")
    source = customer_selectors.customer_find(source_id)
    target = customer_selectors.customer_find(target_id)
    if source is None or target is None:
        raise Http404("One of these customers no longer exists: it may have been merged already.")
    may_force = is_allowed(request, Permission.CUSTOMERS_MERGE_FORCE)
    form = MergeForm(request.POST or None, initial={"survivor": target.pk})
    status = 200
    if request.method == "POST":
        if request.POST.get("force") and not may_force:
            deny(request, Permission.CUSTOMERS_MERGE_FORCE)
        if form.is_valid():
            if form.cleaned_data["survivor"] != target.pk:
                form.add_error(
                    None,
                    "The survivor changed since this page was shown; check the preview again.",
                )
            else:
                try:
                    survivor = customer_merge(
                        source=source,
                        target=target,
                        actor=staff_actor(request),
                        force=bool(form.cleaned_data["force"]) and may_force,
                    )
                except Conflict as error:
                    form.add_error(None, f"Merge refused: {error.message}.")
                    status = 409
                except PatronError as error:
                    form.add_error(None, error.message)
                    status = 400
                else:
                    messages.success(
                        request,
                        f"Merged customer #{source_id} into {survivor.display_name}.",
                    )
                    return redirect("web:customer_detail", customer_id=survivor.pk)
    context = {
        **_preview(source, target),
        "form": form,
        "may_force": may_force,
        "swap_url": reverse("web:merge_preview", args=[target.pk, source.pk]),
    }
    return render(request, "web/merge/merge_preview.html", context, status=status)


urlpatterns = [
    path("customers/duplicates/", duplicate_list, name="duplicate_list"),
    path("customers/duplicates/dismiss/", duplicate_dismiss, name="duplicate_dismiss"),
    path(
        "customers/merge/<int:source_id>/into/<int:target_id>/",
        merge_preview,
        name="merge_preview",
    ),
]
