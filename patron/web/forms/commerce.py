"""Forms of the order and product pages: list filters, and the refund and cancel confirmations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django import forms

from patron.catalog.models import StockStatus
from patron.catalog.selectors import CategoryChoice, ProductSearch
from patron.orders.models import OrderStatus
from patron.orders.selectors import OrderSearch

ORDER_SORTS = (
    ("-placed_at", "Newest first"),
    ("placed_at", "Oldest first"),
    ("-total", "Highest total"),
    ("total", "Lowest total"),
)
PRODUCT_SORTS = (
    ("sort_name", "Name A to Z"),
    ("-sort_name", "Name Z to A"),
    ("price", "Lowest price"),
    ("-price", "Highest price"),
)
MAXIMUM_AMOUNT = Decimal("999999999999.99")  # what the 14-digit money columns hold


def _amount(label: str) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=Decimal("0"),
        max_value=MAXIMUM_AMOUNT,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )


def _date(label: str) -> forms.DateField:
    return forms.DateField(
        label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


def _range_check(
    form: forms.Form, cleaned: dict[str, Any], low: str, high: str, message: str
) -> None:
    low_value, high_value = cleaned.get(low), cleaned.get(high)
    if low_value is not None and high_value is not None and low_value > high_value:
        form.add_error(high, message)


class OrderFilterForm(forms.Form):
    """The order list's search, filters and sort, from the query string."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=320,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Order id or customer email"}
        ),
    )
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *OrderStatus.choices]
    )
    source = forms.TypedChoiceField(
        label="Source", required=False, coerce=int, empty_value=None, choices=()
    )
    placed_from = _date("Placed from")
    placed_to = _date("Placed to")
    total_min = _amount("Total from")
    total_max = _amount("Total to")
    currency = forms.RegexField(
        label="Currency",
        required=False,
        regex=r"^[A-Za-z]{3}$",
        max_length=3,
        error_messages={"invalid": "Enter a three-letter code such as EUR."},
        widget=forms.TextInput(
            attrs={"placeholder": "EUR", "size": "3", "autocapitalize": "characters"}
        ),
    )
    sort = forms.ChoiceField(label="Sort", required=False, choices=ORDER_SORTS)

    def __init__(
        self,
        *args: Any,
        sources: Sequence[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        source_field: forms.TypedChoiceField = self.fields["source"]  # type: ignore[assignment]
        source_field.choices = [("", "Any source"), *sources]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        _range_check(self, cleaned, "placed_from", "placed_to", "must not be before the start")
        _range_check(self, cleaned, "total_min", "total_max", "must not be below the minimum")
        return cleaned

    def search(self) -> OrderSearch:
        """The checked filters as the selector takes them; dates are whole UTC days."""
        data = self.cleaned_data
        placed_to = data.get("placed_to")
        return OrderSearch(
            text=data.get("q") or "",
            status=data.get("status") or None,
            source_id=data.get("source"),
            placed_from=_day_start(data.get("placed_from")),
            placed_before=_day_start(placed_to + timedelta(days=1)) if placed_to else None,
            total_min=data.get("total_min"),
            total_max=data.get("total_max"),
            currency=(data.get("currency") or "").upper() or None,
        )

    def sort_value(self) -> str:
        return self.cleaned_data.get("sort") or ORDER_SORTS[0][0]


def _day_start(day: Any) -> datetime | None:
    return None if day is None else datetime.combine(day, time.min, tzinfo=UTC)


class ProductFilterForm(forms.Form):
    """The product list's search, filters and sort, from the query string."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name, SKU or brand"}),
    )
    category = forms.ChoiceField(label="Category", required=False, choices=())
    brand = forms.ChoiceField(label="Brand", required=False, choices=())
    stock_status = forms.ChoiceField(
        label="Stock", required=False, choices=[("", "Any stock"), *StockStatus.choices]
    )
    price_min = _amount("Price from")
    price_max = _amount("Price to")
    sort = forms.ChoiceField(label="Sort", required=False, choices=PRODUCT_SORTS)

    def __init__(
        self,
        *args: Any,
        categories: Sequence[CategoryChoice],
        brands: Sequence[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        category_field: forms.ChoiceField = self.fields["category"]  # type: ignore[assignment]
        # Indented with non-breaking spaces: a select shows the tree without markup.
        category_field.choices = [
            ("", "Any category"),
            *((choice.slug, "\u00a0\u00a0" * choice.depth + choice.name) for choice in categories),
        ]
        brand_field: forms.ChoiceField = self.fields["brand"]  # type: ignore[assignment]
        brand_field.choices = [("", "Any brand"), *((brand, brand) for brand in brands)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        _range_check(self, cleaned, "price_min", "price_max", "must not be below the minimum")
        return cleaned

    def search(self) -> ProductSearch:
        data = self.cleaned_data
        return ProductSearch(
            text=data.get("q") or "",
            category=data.get("category") or None,
            brand=data.get("brand") or None,
            stock_status=data.get("stock_status") or None,
            price_min=data.get("price_min"),
            price_max=data.get("price_max"),
        )

    def sort_value(self) -> str:
        return self.cleaned_data.get("sort") or PRODUCT_SORTS[0][0]


class RefundForm(forms.Form):
    """A staff refund; the token makes a form sent twice refund once (the service's key)."""

    amount = forms.DecimalField(
        label="Amount",
        required=False,
        min_value=Decimal("0.01"),
        max_value=MAXIMUM_AMOUNT,
        decimal_places=2,
        help_text="Leave empty to refund everything not yet refunded.",
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"}),
    )
    reason = forms.CharField(
        label="Reason",
        required=True,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown on the order and in the audit log.",
    )
    token = forms.RegexField(regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput)


class CancelForm(forms.Form):
    confirm = forms.BooleanField(
        label="Yes, cancel this order",
        required=True,
        error_messages={"required": "Tick the box to confirm the cancellation."},
    )
