"""Finding customers who are probably the same person, page by page, without comparing every pair.

Three ways of matching, each walking an index in order from a cursor so a page costs the same
at a thousand customers as at a million:

- same email: equal neighbours in the email index, read EXACT_SCAN_LIMIT at a time (stored
  emails are already normalised by validation.normalise_email, so equal text is the same
  address); a bounded GROUP BY ... HAVING COUNT(*) > 1 done in one pass over sorted values;
- same phone: the same over the phone index (stored phones are E.164);
- similar names: a sorted neighbourhood over the (last name, first name) index. Each customer
  is compared with the next NAME_WINDOW customers in name order that share the block: the
  first BLOCK_PREFIX letters of the last name. A pair counts when rapidfuzz scores the full
  names at NAME_SCORE_THRESHOLD or more *and* something else that identifies a person agrees
  (the same email local part, dots and +tags aside, or the same last PHONE_SUFFIX_DIGITS phone
  digits), because common names alone, even in one city, join strangers. One page reads at
  most NAME_SCAN_LIMIT customers, so a page may end before it fills and offer to scan on.

Pairs somebody dismissed as "not a duplicate" are left out; the dismissal is an audit entry
(action DISMISSED_ACTION, subject "customer_pair" "<lower id>-<higher id>"), so it needs no
table of its own and says who decided and when.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from rapidfuzz import fuzz

from patron.accounts.selectors import audit_subject_ids
from patron.core.errors import ValidationFailed
from patron.core.pagination import decode_cursor, encode_cursor
from patron.customers.models import Customer

DISMISSED_ACTION = "customer.duplicate_dismissed"
PAIR_SUBJECT_TYPE = "customer_pair"
# token_sort_ratio of the lower-cased full names: "Ana Silva" / "Anna Silva" scores 95,
# "Maria Garcia" / "Mario Garcia" 92, "Ana Silva" / "Ana Sousa" 67.
NAME_SCORE_THRESHOLD = 90
# Customers compared ahead of each one in name order. A common name fills a long run of the
# index, and a typo twin ("Anna" for "Ana") sorts after the whole run: on the 100,000-customer
# demo shop plus 300 twins added by hand, a window of 8 found 178, 20 found 272, 50 found 297, at
# the same ~0.25 s a page (comparing two rows' keys is a set intersection; names are scored
# only when keys agree).
NAME_WINDOW = 50
BLOCK_PREFIX = 3
# About 0.2 s of reading and scoring on a laptop; the page says how far it got.
NAME_SCAN_LIMIT = 20_000
PHONE_SUFFIX_DIGITS = 7
# Emails or phones read per page: one covering-index range, about 0.1 s; equal values sit
# side by side in it, so finding the shared ones is one pass.
EXACT_SCAN_LIMIT = 100_000


class MatchKind(models.TextChoices):
    EMAIL = "email", "Same email"
    PHONE = "phone", "Same phone"
    NAME = "name", "Similar names"


@dataclass(frozen=True)
class DuplicatePair:
    """Two customers, the older first, and every reason to think they are one person."""

    first: Customer
    second: Customer
    reasons: tuple[str, ...]
    name_score: int

    @property
    def key(self) -> str:
        return pair_key(self.first.pk, self.second.pk)

    @property
    def suggested_survivor(self) -> Customer:
        """The record a merge should keep: the one with more orders, then the one seen first
        (a guest checkout usually comes after the account), then the older row."""

        def standing(customer: Customer) -> tuple[int, float, int]:
            seen = customer.first_seen_at.timestamp() if customer.first_seen_at else float("inf")
            return (-customer.order_count, seen, customer.pk)

        return min((self.first, self.second), key=standing)

    @property
    def suggested_merged_away(self) -> Customer:
        return self.second if self.suggested_survivor is self.first else self.first


@dataclass(frozen=True)
class DuplicatePage:
    pairs: list[DuplicatePair]
    next_cursor: str | None
    # For similar names: where the scan stopped, so the page can say how far it looked.
    scanned: int = 0
    scanned_up_to: str = ""


def pair_key(first_id: int, second_id: int) -> str:
    low, high = sorted((first_id, second_id))
    return f"{low}-{high}"


def duplicate_page(
    *, kind: str, q: str | None = None, cursor: str | None = None, limit: int = 25
) -> DuplicatePage:
    """One page of likely duplicate pairs found by `kind`, narrowed by a prefix `q`."""
    if kind not in MatchKind.values:
        raise ValidationFailed(f"must be one of {', '.join(MatchKind.values)}", field="match")
    after = _cursor_key(cursor)
    prefix = (q or "").strip().lower()
    if kind == MatchKind.NAME:
        return _similar_names(prefix=prefix, after=after, limit=limit)
    return _same_value(column=kind, prefix=prefix, after=after, limit=limit)


def _cursor_key(cursor: str | None) -> list[object] | None:
    if not cursor:
        return None
    decoded = decode_cursor(cursor)
    key = decoded.get("key")
    if not isinstance(key, list) or not all(isinstance(part, str | int) for part in key):
        raise ValidationFailed("cursor is not one this page issued", field="cursor")
    return key


def _same_value(
    *, column: str, prefix: str, after: list[object] | None, limit: int
) -> DuplicatePage:
    """Runs of customers sharing the exact stored email or phone, read in the index's order."""
    queryset = Customer.objects.filter(**{f"{column}__isnull": False})
    if prefix:
        queryset = queryset.filter(**{f"{column}__startswith": prefix})
    if after is not None:
        queryset = queryset.filter(**{f"{column}__gt": after[0]})
    values: list[str] = list(
        queryset.order_by(column).values_list(column, flat=True)[:EXACT_SCAN_LIMIT]
    )
    is_end = len(values) < EXACT_SCAN_LIMIT
    looked = values
    if not is_end:
        # The last value's run may go on past what was read: leave it whole to the next page.
        cut = len(values)
        while cut > 0 and values[cut - 1] == values[-1]:
            cut -= 1
        looked = values[:cut] if cut else values
    shared: list[str] = []
    for position in range(1, len(looked)):
        if looked[position] == looked[position - 1] and (
            not shared or shared[-1] != looked[position]
        ):
            shared.append(looked[position])
    cursor_value = None
    if len(shared) > limit:
        shared = shared[:limit]
        cursor_value = shared[-1]
    elif not is_end:
        cursor_value = looked[-1]
    members = Customer.objects.filter(**{f"{column}__in": shared}).order_by(column, "pk")
    groups: dict[str, list[Customer]] = {}
    for customer in members:
        groups.setdefault(getattr(customer, column), []).append(customer)
    candidates = [
        (group[0], other)
        for value in shared
        for group in [groups.get(value, [])]
        for other in group[1:]
    ]
    return DuplicatePage(
        pairs=_undismissed(candidates),
        next_cursor=encode_cursor({"id": 0, "key": [cursor_value]}) if cursor_value else None,
        scanned=len(looked),
        scanned_up_to=cursor_value or "",
    )


def _similar_names(*, prefix: str, after: list[object] | None, limit: int) -> DuplicatePage:
    queryset = Customer.objects.annotate(
        lower_last_name=Lower("last_name"), lower_first_name=Lower("first_name")
    ).filter(lower_last_name__gt="")
    if prefix:
        queryset = queryset.filter(lower_last_name__startswith=prefix)
    if after is not None:
        last, first, pk = after
        # The >= bound lets the database start its index range at the cursor; the OR is exact.
        queryset = queryset.filter(lower_last_name__gte=last).filter(
            Q(lower_last_name__gt=last)
            | Q(lower_last_name=last, lower_first_name__gt=first)
            | Q(lower_last_name=last, lower_first_name=first, pk__gt=pk)
        )
    rows = list(
        queryset.order_by("lower_last_name", "lower_first_name", "pk").values_list(
            "pk", "lower_last_name", "lower_first_name", "email", "phone"
        )[: NAME_SCAN_LIMIT + NAME_WINDOW]
    )
    is_end = len(rows) < NAME_SCAN_LIMIT + NAME_WINDOW
    last_row = len(rows) if is_end else NAME_SCAN_LIMIT
    found: list[tuple[int, int]] = []
    stopped_at = last_row
    # Each row's identifying keys once, so the window compares plain strings.
    blocks = [row[1][:BLOCK_PREFIX] for row in rows]
    keys = [_identifying_keys(row[3], row[4]) for row in rows]
    for index in range(last_row):
        row = rows[index]
        for other_index in range(index + 1, min(index + 1 + NAME_WINDOW, len(rows))):
            if blocks[other_index] != blocks[index]:
                break
            if not keys[index] & keys[other_index]:
                continue
            other = rows[other_index]
            if _name_score(f"{row[2]} {row[1]}", f"{other[2]} {other[1]}") >= NAME_SCORE_THRESHOLD:
                found.append((row[0], other[0]))
        if len(found) >= limit:
            stopped_at = index + 1
            break
    next_cursor = None
    if stopped_at < last_row or not is_end:
        resume = rows[stopped_at - 1]
        next_cursor = encode_cursor({"id": 0, "key": [resume[1], resume[2], resume[0]]})
    customers = Customer.objects.in_bulk({pk for pair in found for pk in pair})
    candidates = [
        (customers[low], customers[high])
        for low, high in (sorted(pair) for pair in found)
        if low in customers and high in customers
    ]
    scanned_up_to = rows[stopped_at - 1][1] if rows else ""
    return DuplicatePage(
        pairs=_undismissed(candidates),
        next_cursor=next_cursor,
        scanned=stopped_at,
        scanned_up_to=scanned_up_to,
    )


def _name_score(first: str, second: str) -> int:
    return round(fuzz.token_sort_ratio(first.strip(), second.strip()))


def _email_local_part(email: str | None) -> str:
    if not email:
        return ""
    local = email.split("@", 1)[0]
    return local.split("+", 1)[0].replace(".", "")


def _identifying_keys(email: str | None, phone: str | None) -> frozenset[str]:
    """What, besides a name, two records of one person share: email local part, phone ending.

    A shared city is not enough: common names repeat in every big city.
    """
    keys = set()
    local = _email_local_part(email)
    if local:
        keys.add(f"email:{local}")
    if phone:
        keys.add(f"phone:{phone[-PHONE_SUFFIX_DIGITS:]}")
    return frozenset(keys)


def pair_reasons(first: Customer, second: Customer) -> tuple[tuple[str, ...], int]:
    """Every reason the two look alike, in words staff can check, and the name score."""
    reasons: list[str] = []
    if first.email and first.email == second.email:
        reasons.append(f"same email {first.email}")
    elif _email_local_part(first.email) and _email_local_part(first.email) == _email_local_part(
        second.email
    ):
        reasons.append(f"same email name: {first.email} / {second.email}")
    if first.phone and first.phone == second.phone:
        reasons.append(f"same phone {first.phone}")
    elif (
        first.phone
        and second.phone
        and first.phone[-PHONE_SUFFIX_DIGITS:] == second.phone[-PHONE_SUFFIX_DIGITS:]
    ):
        reasons.append(f"phones end alike: {first.phone} / {second.phone}")
    first_name = f"{first.first_name} {first.last_name}".strip()
    second_name = f"{second.first_name} {second.last_name}".strip()
    score = (
        _name_score(first_name.lower(), second_name.lower()) if first_name and second_name else 0
    )
    if score >= NAME_SCORE_THRESHOLD:
        reasons.append(f"names {score}% alike: {first_name} / {second_name}")
    if first.city and first.city.lower() == second.city.lower() and first.country == second.country:
        reasons.append(f"same city {first.city}")
    return tuple(reasons), score


def _undismissed(candidates: Iterable[tuple[Customer, Customer]]) -> list[DuplicatePair]:
    candidates = list(candidates)
    dismissed = audit_subject_ids(
        action=DISMISSED_ACTION,
        subject_type=PAIR_SUBJECT_TYPE,
        subject_ids=[pair_key(first.pk, second.pk) for first, second in candidates],
    )
    pairs = []
    for first, second in candidates:
        if pair_key(first.pk, second.pk) in dismissed:
            continue
        reasons, score = pair_reasons(first, second)
        pairs.append(DuplicatePair(first=first, second=second, reasons=reasons, name_score=score))
    return pairs


def duplicate_is_dismissed(*, first_id: int, second_id: int) -> bool:
    key = pair_key(first_id, second_id)
    return key in audit_subject_ids(
        action=DISMISSED_ACTION, subject_type=PAIR_SUBJECT_TYPE, subject_ids=[key]
    )
