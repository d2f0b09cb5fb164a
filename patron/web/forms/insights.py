"""Forms of the Insights page: the settings, the holdout check and the due-list filter."""

from __future__ import annotations

from django import forms

from patron.insights.models import ReplenishmentState
from patron.insights.services.holdout import MAXIMUM_HOLDOUT_DAYS, MINIMUM_HOLDOUT_DAYS
from patron.insights.services.runs import InsightSettingsChange

DEFAULT_HOLDOUT_DAYS = 90  # a quarter: long enough for most shops' customers to buy again


def _days_field(label: str, help_text: str) -> forms.IntegerField:
    # The service checks the range; the form only makes sure a whole number was typed.
    return forms.IntegerField(
        label=label,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"min": 1, "inputmode": "numeric"}),
    )


class InsightSettingsForm(forms.Form):
    reporting_currency = forms.CharField(
        label="Reporting currency",
        required=False,
        max_length=3,
        help_text="Three letters such as EUR. Values are computed in it; orders in other "
        "currencies count as purchases but add no value. Empty: the currency of most of the "
        "latest 10,000 orders.",
        widget=forms.TextInput(attrs={"size": 4, "autocomplete": "off"}),
    )
    horizon_days = _days_field(
        "Prediction horizon (days)", "Predicted orders and value cover this many days ahead."
    )
    churn_days = _days_field(
        "Churn window (days)", "Churn risk is the chance of no order in this many days."
    )
    new_days = _days_field("New for (days)", "A first order this recent makes a customer new.")
    at_risk_days = _days_field(
        "At risk after (days)", "No order for longer than this puts a customer at risk."
    )
    lapsed_days = _days_field(
        "Lapsed after (days)", "No order for longer than this makes a customer lapsed."
    )

    def change(self) -> InsightSettingsChange:
        """The cleaned values for the service (call after is_valid())."""
        data = self.cleaned_data
        return InsightSettingsChange(
            reporting_currency=data["reporting_currency"] or "",
            horizon_days=data["horizon_days"],
            churn_days=data["churn_days"],
            new_days=data["new_days"],
            at_risk_days=data["at_risk_days"],
            lapsed_days=data["lapsed_days"],
        )


class HoldoutCheckForm(forms.Form):
    holdout_days = forms.IntegerField(
        label="Holdout (days)",
        initial=DEFAULT_HOLDOUT_DAYS,
        help_text=f"The last {MINIMUM_HOLDOUT_DAYS} to {MAXIMUM_HOLDOUT_DAYS} days are hidden "
        "from the fit, predicted, and compared with what customers actually bought.",
        widget=forms.NumberInput(
            attrs={"min": MINIMUM_HOLDOUT_DAYS, "max": MAXIMUM_HOLDOUT_DAYS, "inputmode": "numeric"}
        ),
    )


EVERY_STATE = "all"
# Who to remind now: due today or within the cycle's last days. Lapsed pairs (overdue for so
# long the customer probably buys elsewhere) would otherwise fill the first pages.
DEFAULT_DUE_STATE = ReplenishmentState.DUE


class DueFilterForm(forms.Form):
    state = forms.ChoiceField(
        label="State",
        required=False,
        choices=[*ReplenishmentState.choices, (EVERY_STATE, "Every state")],
    )

    def state_chosen(self) -> str:
        """The state to list ("" for every state); the default when none or a bad one is given."""
        state = self.cleaned_data.get("state") if self.is_valid() else None
        if not state:
            return DEFAULT_DUE_STATE.value
        return "" if state == EVERY_STATE else str(state)
