"""Forms of the customer list: search, filters and sort; bulk tagging; saving a view."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.http import QueryDict

from patron.customers.models import LifecycleStage
from patron.customers.selectors import CustomerListFilters, CustomerSort

# Parameters of the list's query string that a saved view or an export keeps (not the cursor).
VIEW_PARAMETERS = (
    "q",
    "tag",
    "lifecycle_stage",
    "country",
    "company",
    "first_order_from",
    "first_order_to",
    "last_order_from",
    "last_order_to",
    "orders_min",
    "orders_max",
    "spent_min",
    "spent_max",
    "sort",
)
FILTER_PARAMETERS = VIEW_PARAMETERS[:-1]
# Figures read best largest or latest first; names and creation from the start.
DESCENDING_FIRST = (CustomerSort.LAST_ORDER, CustomerSort.ORDERS, CustomerSort.TOTAL_SPENT)
# "total_spent" ascending, "-total_spent" descending, as the other workspace lists write it.
SORT_CHOICES = [
    choice
    for value, label in CustomerSort.choices
    for choice in ((value, f"{label}, ascending"), (f"-{value}", f"{label}, descending"))
]
MAXIMUM_MONEY = Decimal("999999999999.99")  # what Customer.total_spent holds


def _date(label: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


def _count(label: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=0,
        max_value=2_147_483_647,
        error_messages={"invalid": "Enter a whole number."},
        widget=forms.NumberInput(attrs={"min": "0", "step": "1", "inputmode": "numeric"}),
    )


def _money(label: str) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=Decimal("0"),
        max_value=MAXIMUM_MONEY,
        decimal_places=2,
        error_messages={"invalid": "Enter an amount such as 120 or 99.50."},
        widget=forms.NumberInput(attrs={"min": "0", "step": "0.01", "inputmode": "decimal"}),
    )


class CustomerListForm(forms.Form):
    """The list's query string; a bad value is an error next to its filter, never a 500."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        help_text="Start of a name, email or phone, or an exact external id.",
        widget=forms.TextInput(
            attrs={"type": "search", "autocomplete": "off", "placeholder": "Name, email, phone…"}
        ),
    )
    tag = forms.CharField(
        label="Tag",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"list": "customer-tags", "autocomplete": "off"}),
    )
    lifecycle_stage = forms.ChoiceField(
        label="Lifecycle stage",
        required=False,
        choices=[("", "Any stage"), *LifecycleStage.choices],
    )
    country = forms.RegexField(
        label="Country",
        required=False,
        regex=r"^[A-Za-z]{2}$",
        error_messages={"invalid": "Enter a two-letter country code, such as PT."},
        widget=forms.TextInput(
            attrs={"maxlength": "2", "size": "2", "autocomplete": "off", "placeholder": "PT"}
        ),
    )
    company = forms.CharField(
        label="Company",
        required=False,
        max_length=300,
        help_text="Start of the company's name.",
    )
    first_order_from = _date("First order from")
    first_order_to = _date("First order to")
    last_order_from = _date("Last order from")
    last_order_to = _date("Last order to")
    orders_min = _count("Orders at least")
    orders_max = _count("Orders at most")
    spent_min = _money("Spent at least")
    spent_max = _money("Spent at most")
    sort = forms.ChoiceField(label="Sort by", required=False, choices=SORT_CHOICES)
    cursor = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for low, high in (
            ("first_order_from", "first_order_to"),
            ("last_order_from", "last_order_to"),
            ("orders_min", "orders_max"),
            ("spent_min", "spent_max"),
        ):
            start, end = cleaned.get(low), cleaned.get(high)
            if start is not None and end is not None and start > end:
                self.add_error(high, f"Must not be below {self.fields[low].label.lower()}.")  # type: ignore[union-attr]
        return cleaned

    def filters(self) -> CustomerListFilters:
        """The valid filters (a field with an error counts as not given)."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}

        def given(name: str) -> Any:
            return None if name in self.errors else data.get(name)

        return CustomerListFilters(
            q=given("q") or "",
            tag=given("tag") or "",
            lifecycle_stage=given("lifecycle_stage") or "",
            country=(given("country") or "").upper(),
            company=given("company") or "",
            first_order_from=given("first_order_from"),
            first_order_to=given("first_order_to"),
            last_order_from=given("last_order_from"),
            last_order_to=given("last_order_to"),
            orders_min=given("orders_min"),
            orders_max=given("orders_max"),
            spent_min=given("spent_min"),
            spent_max=given("spent_max"),
        )

    @property
    def sort_value(self) -> str:
        """The chosen sort as the query string writes it; a bad one falls back to the name."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return str(data.get("sort") or CustomerSort.NAME)

    @property
    def sort_key(self) -> str:
        return self.sort_value.removeprefix("-")

    @property
    def is_descending(self) -> bool:
        return self.sort_value.startswith("-")

    @property
    def has_filters(self) -> bool:
        return any(self.data.get(name) for name in FILTER_PARAMETERS)


def view_query(data: QueryDict) -> str:
    """The part of a list's query string a saved view or an export keeps, encoded."""
    kept = QueryDict(mutable=True)
    for name in VIEW_PARAMETERS:
        value = data.get(name)
        if value:
            kept[name] = value
    return kept.urlencode()


class BulkTagForm(forms.Form):
    tag = forms.CharField(
        label="Tag to add or remove",
        max_length=100,
        widget=forms.TextInput(attrs={"list": "customer-tags", "autocomplete": "off"}),
    )
    action = forms.ChoiceField(
        label="Action",
        choices=[("add", "Add tag"), ("remove", "Remove tag")],
        initial="add",
    )
    scope = forms.ChoiceField(
        label="Customers",
        choices=[("selected", "Selected rows"), ("all", "All matching")],
        initial="selected",
    )
    query = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)

    def __init__(self, *args: Any, selected: list[str] | None = None, **kwargs: Any) -> None:
        # Its own ids: the filters on the same page have a "tag" field too.
        kwargs.setdefault("auto_id", "bulk_%s")
        super().__init__(*args, **kwargs)
        self.selected = selected or []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("scope") == "selected":
            if not self.selected:
                self.add_error("scope", "Select at least one customer, or choose All matching.")
            elif not all(value.isdigit() for value in self.selected):
                self.add_error("scope", "The selection is not one this page made.")
        return cleaned

    def customer_ids(self) -> list[int]:
        return [int(value) for value in self.selected]


class SavedViewForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "view_%s")
        super().__init__(*args, **kwargs)

    name = forms.CharField(label="View name", max_length=80)
    is_shared = forms.BooleanField(label="Share with the team", required=False)
    query = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)
