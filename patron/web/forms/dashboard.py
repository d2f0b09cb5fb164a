"""The dashboard's date-range picker: a preset period or custom from/to dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django import forms
from django.db.models import TextChoices

EARLIEST = date(2000, 1, 1)  # before any shop that could have its orders in Patron
LONGEST_DAYS = 366 * 20  # a longer custom range is a typo, not a question


class Period(TextChoices):
    LAST_30_DAYS = "30d", "Last 30 days"
    LAST_90_DAYS = "90d", "Last 90 days"
    LAST_365_DAYS = "365d", "Last 365 days"
    THIS_YEAR = "year", "This year"
    ALL_TIME = "all", "All time"
    CUSTOM = "custom", "Custom"


DEFAULT_PERIOD = Period.LAST_90_DAYS
_LAST_DAYS = {Period.LAST_30_DAYS: 30, Period.LAST_90_DAYS: 90, Period.LAST_365_DAYS: 365}


@dataclass(frozen=True)
class DateRange:
    period: Period
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


class DateInput(forms.DateInput):
    input_type = "date"


class DateRangeForm(forms.Form):
    period = forms.ChoiceField(choices=Period.choices, required=False)
    start = forms.DateField(required=False, label="From", widget=DateInput())
    end = forms.DateField(required=False, label="To", widget=DateInput())

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        has_dates = bool(self.data.get("start") or self.data.get("end"))
        period = cleaned.get("period") or (Period.CUSTOM if has_dates else DEFAULT_PERIOD)
        cleaned["period"] = Period(period)
        if cleaned["period"] != Period.CUSTOM or self.errors:
            return cleaned
        if start is None:
            self.add_error("start", "Enter the first day of the range.")
        if end is None:
            self.add_error("end", "Enter the last day of the range.")
        if isinstance(start, date) and start < EARLIEST:
            self.add_error("start", f"Enter a day from {EARLIEST:%-d %B %Y} on.")
        if isinstance(start, date) and isinstance(end, date) and not self.errors:
            if end < start:
                self.add_error("end", "The last day must be on or after the first day.")
            elif (end - start).days >= LONGEST_DAYS:
                self.add_error("end", "Choose a range of at most 20 years.")
        return cleaned

    def date_range(self, *, today: date, first_day: date | None) -> DateRange:
        """The chosen range; call after is_valid(). All time starts at the first order."""
        period = Period(self.cleaned_data["period"])
        if period == Period.CUSTOM:
            return DateRange(period, self.cleaned_data["start"], self.cleaned_data["end"])
        if period == Period.THIS_YEAR:
            return DateRange(period, today.replace(month=1, day=1), today)
        if period == Period.ALL_TIME:
            return DateRange(period, min(first_day or today, today), today)
        return DateRange(period, today - timedelta(days=_LAST_DAYS[period] - 1), today)
