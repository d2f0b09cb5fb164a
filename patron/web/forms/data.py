"""Forms of the Data area: sources, the live event debugger's filters and CSV import."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms

from patron.core.tabular import column_letter
from patron.events.models import EventType, ImportKind, ImportMode, ImportStatus
from patron.events.services.imports import MAXIMUM_UPLOAD_BYTES, OWN_COLUMNS
from patron.events.services.messages import WarningCode

_ANY = [("", "Any")]


class SourceCreateForm(forms.Form):
    name = forms.CharField(
        max_length=120,
        help_text="Where the events come from, such as “Web shop” or “iOS app”.",
    )


class SourceFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", help_text="Name or key prefix")
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Any"), ("active", "Active"), ("revoked", "Revoked")],
    )
    order = forms.ChoiceField(
        required=False, label="Sort", choices=[("", "Newest first"), ("oldest", "Oldest first")]
    )


def _source_field(sources: Sequence[tuple[int, str]], *, label: str = "Source") -> forms.Field:
    return forms.TypedChoiceField(
        required=False,
        label=label,
        coerce=int,
        empty_value=None,
        choices=_ANY + [(str(identifier), name) for identifier, name in sources],
    )


class EventFilterForm(forms.Form):
    """Which events the debugger shows; `after` is the newest id the page already has."""

    type = forms.ChoiceField(required=False, choices=_ANY + list(EventType.choices))
    after = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args: Any, sources: Sequence[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields = {"source": _source_field(sources), **self.fields}


class WarningFilterForm(forms.Form):
    code = forms.ChoiceField(
        required=False,
        label="Code",
        choices=_ANY
        + sorted((value, value) for name, value in vars(WarningCode).items() if name.isupper()),
    )

    def __init__(self, *args: Any, sources: Sequence[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields = {"warning_source": _source_field(sources), **self.fields}


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(choices=ImportKind.choices, label="What the file holds")
    file = forms.FileField(
        label="CSV file",
        help_text=f"UTF-8, comma-separated, the first row naming the columns; at most "
        f"{MAXIMUM_UPLOAD_BYTES // 1024 // 1024} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    source_name = forms.CharField(
        required=False,
        max_length=120,
        label="Source of the orders",
        help_text="Orders only: which source they belong to (created if new; default “import”).",
    )

    def clean_file(self) -> Any:
        uploaded = self.cleaned_data["file"]
        if uploaded.size > MAXIMUM_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAXIMUM_UPLOAD_BYTES // 1024 // 1024} MB; split it "
                "and import the parts one after the other."
            )
        return uploaded


class ImportFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", help_text="Part of the file name")
    kind = forms.ChoiceField(required=False, choices=_ANY + list(ImportKind.choices))
    status = forms.ChoiceField(required=False, choices=_ANY + list(ImportStatus.choices))
    order = forms.ChoiceField(
        required=False, label="Sort", choices=[("", "Newest first"), ("oldest", "Oldest first")]
    )


class ImportMappingForm(forms.Form):
    """One select per column of the file: the field it gives, or "ignore"."""

    def __init__(
        self,
        *args: Any,
        header: Sequence[str],
        targets: Sequence[tuple[str, str]],
        initial_mapping: Sequence[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "— ignore this column —"), *targets]
        self.header = list(header)
        for index, (name, field_name) in enumerate(zip(header, initial_mapping, strict=True)):
            letter = column_letter(index)
            if name in OWN_COLUMNS:
                continue  # Patron's own columns in a rejected-rows file: always ignored
            self.fields[f"column_{index}"] = forms.ChoiceField(
                required=False,
                label=f"{letter}: {name}" if name else f"{letter}: (no name)",
                choices=choices,
                initial=field_name,
            )

    def mapping(self) -> list[str]:
        return [
            self.cleaned_data.get(f"column_{index}", "") or "" for index in range(len(self.header))
        ]


class ImportStartForm(forms.Form):
    mode = forms.ChoiceField(choices=ImportMode.choices, widget=forms.HiddenInput)
