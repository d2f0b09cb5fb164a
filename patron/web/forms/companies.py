"""Forms of the company pages: the list's search, filters and sort, and editing a company."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms

COMPANY_SORTS = (
    ("name", "Name A to Z"),
    ("-name", "Name Z to A"),
    ("-contacts", "Most contacts"),
    ("contacts", "Fewest contacts"),
    ("-created", "Newest"),
    ("created", "Oldest"),
)


class CompanyFilterForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        help_text="The start of the name or domain.",
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    industry = forms.ChoiceField(label="Industry", required=False)
    plan = forms.ChoiceField(label="Plan", required=False)
    sort = forms.ChoiceField(label="Sort", choices=COMPANY_SORTS, required=False)

    def __init__(
        self, *args: object, industries: Sequence[str], plans: Sequence[str], **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["industry"].choices = [("", "Any industry"), *((v, v) for v in industries)]  # type: ignore[attr-defined]
        self.fields["plan"].choices = [("", "Any plan"), *((v, v) for v in plans)]  # type: ignore[attr-defined]


class CompanyForm(forms.Form):
    """The company's own fields; the customers service checks them and names the bad ones."""

    name = forms.CharField(label="Name", max_length=300)
    domain = forms.CharField(
        label="Domain", required=False, max_length=255, help_text="Such as example.com."
    )
    industry = forms.CharField(label="Industry", required=False, max_length=200)
    employee_count = forms.IntegerField(
        label="Employees", required=False, min_value=0, max_value=10_000_000
    )
    plan = forms.CharField(label="Plan", required=False, max_length=120)
    website = forms.CharField(
        label="Website",
        required=False,
        max_length=2048,
        help_text="An http(s) address.",
        widget=forms.URLInput,
    )
