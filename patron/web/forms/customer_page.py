"""Forms of the customer page: the profile with its custom attributes, a note, a tag.

The forms only shape what was typed; the customers services validate it (email-validator,
phonenumbers, IANA zones, attribute types), and their problems are put next to the fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms

from patron.core.errors import PatronError
from patron.customers.models import AttributeDefinition, AttributeType, Customer, LifecycleStage
from patron.customers.services.notes import MAXIMUM_NOTE_LENGTH
from patron.customers.services.profile import PROFILE_FIELDS
from patron.customers.services.tags import MAXIMUM_TAG_LENGTH

ATTRIBUTE_PREFIX = "attribute_"  # form field name of a custom attribute: attribute_<key>
_BOOLEAN_CHOICES = (("", "Not set"), ("yes", "Yes"), ("no", "No"))


def _text(
    label: str, *, help_text: str = "", input_type: str = "text", **attrs: str
) -> forms.Field:
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        help_text=help_text,
        widget=forms.TextInput(attrs={"type": input_type, "autocomplete": "off", **attrs}),
    )


def _attribute_field(definition: AttributeDefinition) -> forms.Field:
    label = definition.label or definition.key
    if definition.type == AttributeType.BOOLEAN:
        return forms.ChoiceField(label=label, required=False, choices=_BOOLEAN_CHOICES)
    if definition.type == AttributeType.CHOICE:
        choices = [("", "Not set")] + [(str(value), str(value)) for value in definition.choices]
        # The service, not the form, rejects a value outside the list, with its own message.
        return forms.CharField(label=label, required=False, widget=forms.Select(choices=choices))
    if definition.type == AttributeType.DATE:
        return _text(label, input_type="date")
    if definition.type == AttributeType.DATETIME:
        return _text(label, help_text="ISO 8601, e.g. 2024-05-01T09:30:00Z")
    if definition.type in (AttributeType.NUMBER, AttributeType.INTEGER):
        return _text(label, inputmode="decimal")
    return _text(label)


class ProfileForm(forms.Form):
    first_name = _text("First name")
    last_name = _text("Last name")
    email = _text("Email", input_type="email")
    phone = _text(
        "Phone", input_type="tel", help_text="With the country code, e.g. +44 20 7946 0958"
    )
    locale = _text("Locale", help_text="e.g. en-GB")
    timezone = _text("Time zone", help_text="IANA name, e.g. Europe/Paris")
    country = _text("Country", help_text="Two letters, e.g. FR")
    city = _text("City")
    lifecycle_stage = forms.ChoiceField(label="Lifecycle stage", choices=LifecycleStage.choices)

    def __init__(
        self, *args: Any, definitions: Sequence[AttributeDefinition] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.definitions = {definition.key: definition for definition in definitions}
        for definition in definitions:
            self.fields[ATTRIBUTE_PREFIX + definition.key] = _attribute_field(definition)

    @classmethod
    def for_customer(
        cls, customer: Customer, definitions: Sequence[AttributeDefinition]
    ) -> ProfileForm:
        initial: dict[str, Any] = {name: getattr(customer, name) or "" for name in PROFILE_FIELDS}
        for definition in definitions:
            value = customer.attributes.get(definition.key)
            if definition.type == AttributeType.BOOLEAN and isinstance(value, bool):
                value = "yes" if value else "no"
            initial[ATTRIBUTE_PREFIX + definition.key] = "" if value is None else value
        return cls(initial=initial, definitions=definitions)

    def profile_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in PROFILE_FIELDS}

    def attribute_values(self) -> dict[str, Any]:
        """Typed as the service expects; an emptied field removes the attribute (None)."""
        values: dict[str, Any] = {}
        for key, definition in self.definitions.items():
            raw = self.cleaned_data.get(ATTRIBUTE_PREFIX + key)
            if raw in (None, ""):
                values[key] = None
            elif definition.type == AttributeType.BOOLEAN:
                values[key] = raw == "yes"
            else:
                values[key] = raw.strip() if isinstance(raw, str) else raw
        return values

    def add_problems(self, error: PatronError) -> None:
        """Each of the service's problems next to its field; any other under the form."""
        for problem in error.problems:
            name = problem.field
            if name.startswith("attributes."):
                name = ATTRIBUTE_PREFIX + name.removeprefix("attributes.")
            self.add_error(name if name in self.fields else None, problem.message)


class NoteForm(forms.Form):
    body = forms.CharField(
        label="Note",
        max_length=MAXIMUM_NOTE_LENGTH,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def add_problems(self, error: PatronError) -> None:
        for problem in error.problems:
            self.add_error("body" if problem.field in ("body", "") else None, problem.message)


class TagForm(forms.Form):
    name = forms.CharField(label="Add a tag", max_length=MAXIMUM_TAG_LENGTH)

    def add_problems(self, error: PatronError) -> None:
        for problem in error.problems:
            self.add_error("name", problem.message)
