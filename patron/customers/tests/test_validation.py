"""The fast paths in validation give exactly what the slow, authoritative checks give."""

from __future__ import annotations

import random
import sys
import unicodedata

import pytest
from email_validator import EmailNotValidError, validate_email

from patron.core.errors import ValidationFailed
from patron.customers import validation

# Characters an address is made of: mostly plain ones, now and then one a rule is about.
_PLAIN_LOCAL = "abcXYZ019"
_ODD_LOCAL = ".-_+!#$%&'*/=?^`{|}~" + ' "(),:;<>@[\\]é\u00a0\u200b'
_PLAIN_DOMAIN = "abcxnXYZ019"
_ODD_DOMAIN = "--..._é@ \u3002"
_TOP_LEVEL = ["com", "uk", "io", "x1", "1x", "c0m", "123", "a", "-a", "a-", "test", "local"]


def library_normalised(text: str) -> str | None:
    """What normalise_email gave before the fast path: the library's answer, lower-cased."""
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def text_of(generator: random.Random, plain: str, odd: str, length: int, oddness: float) -> str:
    return "".join(
        generator.choice(odd if generator.random() < oddness else plain) for _ in range(length)
    )


def address_like(generator: random.Random) -> str:
    oddness = generator.choice((0.0, 0.0, 0.01, 0.05, 0.2))
    local = text_of(
        generator, _PLAIN_LOCAL, _ODD_LOCAL, generator.choice((1, 3, 8, 20, 65)), oddness
    )
    labels = [
        text_of(
            generator,
            _PLAIN_DOMAIN,
            _ODD_DOMAIN,
            generator.choice((1, 2, 4, 9, 62, 63, 64)),
            oddness,
        )
        for _ in range(generator.choice((0, 1, 1, 2, 4)))
    ]
    domain = ".".join([*labels, generator.choice(_TOP_LEVEL)])
    return f"{local}@{domain}" if generator.random() < 0.95 else local + domain


EDGE_CASES = [
    "ana@example.com",
    "Ana.Silva@Example.COM",
    "  padded@example.com ",
    "first.last+tag@sub.example.co.uk",
    "o'brien@example.ie",
    "x@a.io",
    "x@a.b",
    "x@1.com",
    "x@example.c0m",
    "x@example.123",
    "x@example",
    "x@-example.com",
    "x@example-.com",
    "x@ex--ample.com",
    "x@ab--c.com",
    "x@xn--bcher-kva.example",
    "x@example.test",
    "x@sub.localhost",
    "x@example.local",
    "x@example.onion",
    "x@example.invalid",
    "x@10.in-addr.arpa",
    "x@notlocal.com",
    ".x@example.com",
    "x.@example.com",
    "x..y@example.com",
    '"quoted"@example.com',
    "Name <x@example.com>",
    "x@[127.0.0.1]",
    "x@@example.com",
    "x@example..com",
    "x@example.com.",
    "postmaster@example.com",
    "Info@Example.com",
    "zoë@example.com",
    "x@bücher.example",
    "a" * 64 + "@example.com",
    "a" * 240 + "@example.com",
    "a" * 242 + "@example.com",
    "x@" + "a" * 63 + ".com",
    "x@" + "a" * 64 + ".com",
    "x@" + ".".join(["a" * 60] * 4) + ".com",
    "x@" + ".".join(["a" * 61] * 4) + ".com",
]


@pytest.mark.parametrize("text", EDGE_CASES)
def test_the_plain_email_path_agrees_with_email_validator_on_edge_cases(text):
    plain = validation.plain_email(text.strip())

    assert plain is None or plain == library_normalised(text)


def test_normalise_email_agrees_with_email_validator_on_twenty_thousand_generated_addresses():
    generator = random.Random(20_251_104)
    candidates = [address_like(generator) for _ in range(20_000)]
    fast = accepted = 0
    mismatches = []

    for text in candidates:
        expected = library_normalised(text)
        accepted += expected is not None
        fast += validation.plain_email(text.strip()) is not None
        try:
            got: str | None = validation.normalise_email(text)
        except ValidationFailed:
            got = None
        if got != expected:
            mismatches.append((text, got, expected))

    assert mismatches == []
    # Both paths and both answers are common, so the agreement above means something.
    assert 2_000 < fast < accepted < 18_000


def test_a_rejected_address_keeps_the_librarys_reason():
    with pytest.raises(ValidationFailed) as raised:
        validation.normalise_email("x@example.test")

    assert raised.value.message == (
        "'x@example.test' is not a valid email address: The part after the @-sign is a "
        "special-use or reserved name that cannot be used with email."
    )
    assert raised.value.field == "email"


def test_control_characters_are_exactly_unicodes_control_category_less_tab_and_newline():
    disagreeing = [
        code
        for code in range(sys.maxunicode + 1)
        if bool(validation._CONTROL_CHARACTER.search(chr(code)))
        != (unicodedata.category(chr(code)) == "Cc" and chr(code) not in "\t\n")
    ]

    assert disagreeing == []


@pytest.mark.parametrize(
    ("text", "is_refused"),
    [("Ana\tSilva", False), ("two\nlines", False), ("bell\x07", True), ("next\x85line", True)],
)
def test_clean_text_refuses_control_characters_but_tab_and_newline(text, is_refused):
    if is_refused:
        with pytest.raises(ValidationFailed) as raised:
            validation.clean_text(text, field="first_name")
        assert raised.value.message == "must not contain control characters"
    else:
        assert validation.clean_text(text, field="first_name") == text
