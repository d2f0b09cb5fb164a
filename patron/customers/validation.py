"""Normalising and validating profile values with the field's own libraries.

Each function returns the clean value or raises ValidationFailed naming the field. Text is
stored as given (markup included) and escaped wherever it is shown or exported.
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import email_validator
import phonenumbers
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from email_validator import EmailNotValidError, validate_email

from patron.core.errors import ValidationFailed
from patron.customers.models import AttributeType

_LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
MAXIMUM_NAME_LENGTH = 200
# Unicode's control characters (category Cc, a set the standard promises never to change) are
# exactly U+0000-U+001F and U+007F-U+009F; tab and line feed are allowed in text.
_CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# The shape almost every real address has: an ASCII dot-atom before the @ and an ASCII host
# name of two or more labels of at most 63 characters after it, each label starting and
# ending with a letter or digit, the last ending with a letter. email_validator accepts every
# such address whose domain has no "--", is not a special-use name and fits the length
# limits, and changes nothing in it but the domain's case (test_validation restates its rules
# and checks this on thousands of addresses); anything else goes to the library, which says
# exactly what is wrong.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_EMAIL = re.compile(
    rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+(?:[A-Za-z0-9][A-Za-z0-9-]{{0,61}})?[A-Za-z]"
)
_MAXIMUM_EMAIL_LENGTH = 254  # email_validator's EMAIL_MAX_LENGTH, in bytes (here: characters)
_MAXIMUM_DOMAIN_LENGTH = 253
# Read once: Patron never changes the library's list of special-use names.
_SPECIAL_USE = frozenset(email_validator.SPECIAL_USE_DOMAIN_NAMES)
_SPECIAL_USE_ENDINGS = tuple("." + name for name in email_validator.SPECIAL_USE_DOMAIN_NAMES)


def clean_text(value: Any, *, field: str, maximum: int = MAXIMUM_NAME_LENGTH) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed(f"must be text, not {type(value).__name__}", field=field)
    text = unicodedata.normalize("NFC", value).strip()
    if _CONTROL_CHARACTER.search(text):
        raise ValidationFailed("must not contain control characters", field=field)
    if len(text) > maximum:
        raise ValidationFailed(f"must be at most {maximum} characters", field=field)
    return text


def plain_email(text: str) -> str | None:
    """The normalised form of an address of the common plain shape, without email_validator;
    None for any other address (which may still be valid: ask normalise_email)."""
    if len(text) > _MAXIMUM_EMAIL_LENGTH or not _PLAIN_EMAIL.fullmatch(text):
        return None
    domain = text[text.index("@") + 1 :].lower()
    if (
        len(domain) > _MAXIMUM_DOMAIN_LENGTH
        or "--" in domain
        or domain in _SPECIAL_USE
        or domain.endswith(_SPECIAL_USE_ENDINGS)
    ):
        return None
    return text.lower()


def normalise_email(value: Any, *, field: str = "email") -> str:
    if not isinstance(value, str):
        raise ValidationFailed(f"must be text, not {type(value).__name__}", field=field)
    # Most addresses are plain; validating one with the library costs more than the rest of
    # an imported row together.
    plain = plain_email(value.strip())
    if plain is not None:
        return plain
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise ValidationFailed(
            f"{value[:100]!r} is not a valid email address: {error}", field=field
        ) from error
    # Lower-cased whole: mailbox providers treat local parts case-insensitively in practice,
    # and identity matching must not split one person in two over capitalisation.
    return result.normalized.lower()


def normalise_phone(value: Any, *, region: str | None = None, field: str = "phone") -> str:
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise ValidationFailed(f"must be text, not {type(value).__name__}", field=field)
    try:
        number = phonenumbers.parse(value, (region or "").upper() or None)
    except phonenumbers.NumberParseException as error:
        raise ValidationFailed(
            f"{value[:40]!r} is not a phone number (use the +country form, e.g. +44 20 7946 0958)",
            field=field,
        ) from error
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed(f"{value[:40]!r} is not a valid phone number", field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def clean_timezone(value: Any, *, field: str = "timezone") -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or value not in _timezones():
        raise ValidationFailed(
            f"{str(value)[:64]!r} is not an IANA time zone such as Europe/Paris", field=field
        )
    return value


def clean_country(value: Any, *, field: str = "country") -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or value.strip().upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationFailed(
            f"{str(value)[:40]!r} is not a two-letter ISO country code", field=field
        )
    return value.strip().upper()


def clean_locale(value: Any, *, field: str = "locale") -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or not _LOCALE.match(value) or len(value) > 35:
        raise ValidationFailed(f"{str(value)[:40]!r} is not a locale such as en-GB", field=field)
    return value.replace("_", "-")


def clean_date(value: Any, *, field: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = parse_date(text[:10]) if len(text) >= 10 else parse_date(text)
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed
    raise ValidationFailed(f"{str(value)[:40]!r} is not a date (YYYY-MM-DD)", field=field)


def clean_datetime(value: Any, *, field: str) -> datetime:
    if isinstance(value, datetime):
        parsed: datetime | None = value
    elif isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip().replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is None:
            only_date = None
            try:
                only_date = parse_date(value.strip())
            except ValueError:
                only_date = None
            if only_date is not None:
                parsed = datetime(only_date.year, only_date.month, only_date.day)
    else:
        parsed = None
    if parsed is None:
        raise ValidationFailed(f"{str(value)[:40]!r} is not an ISO 8601 date and time", field=field)
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def clean_attribute(value: Any, *, type_: str, choices: list[str], field: str) -> Any:
    """A custom attribute value in its declared type, as stored in JSON."""
    if value is None:
        return None
    if type_ == AttributeType.TEXT:
        return clean_text(value, field=field, maximum=2000)
    if type_ == AttributeType.BOOLEAN:
        if isinstance(value, bool):
            return value
        raise ValidationFailed(f"must be true or false, not {value!r}"[:200], field=field)
    if type_ in (AttributeType.NUMBER, AttributeType.INTEGER):
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            raise ValidationFailed(f"must be a number, not {type(value).__name__}", field=field)
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as error:
            raise ValidationFailed(f"{str(value)[:40]!r} is not a number", field=field) from error
        if not number.is_finite():
            raise ValidationFailed("must be a finite number", field=field)
        if type_ == AttributeType.INTEGER:
            if number != number.to_integral_value():
                raise ValidationFailed(f"must be a whole number, not {value}", field=field)
            return int(number)
        return float(number)
    if type_ == AttributeType.DATE:
        return clean_date(value, field=field).isoformat()
    if type_ == AttributeType.DATETIME:
        return clean_datetime(value, field=field).isoformat()
    if type_ == AttributeType.CHOICE:
        if not isinstance(value, str) or value not in choices:
            raise ValidationFailed(f"must be one of {', '.join(choices)}", field=field)
        return value
    raise ValidationFailed(f"unknown attribute type {type_}", field=field)
