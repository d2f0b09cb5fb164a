"""Forms of the duplicates list and the merge page: what staff type or tick, checked for type."""

from __future__ import annotations

from django import forms

from patron.customers.duplicates import MatchKind


class DuplicateFilterForm(forms.Form):
    match = forms.ChoiceField(
        label="Match by", choices=MatchKind.choices, required=False, initial=MatchKind.EMAIL
    )
    q = forms.CharField(
        label="Starts with",
        required=False,
        max_length=200,
        help_text="The start of the email, phone or last name.",
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )


class MergeForm(forms.Form):
    # The survivor the page showed: a merge posted from a stale or swapped page is refused.
    survivor = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    force = forms.BooleanField(
        label="Merge anyway: I checked these are one person",
        required=False,
        help_text="They carry different user ids from your own systems. Merging joins the two "
        "histories for good.",
    )


class DismissForm(forms.Form):
    first = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    second = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
