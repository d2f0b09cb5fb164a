"""Importing customers from CSV: the generic and Shopify columns, and set-based batch writes.

The rules are the API's (profile_clean, attributes_clean); this module maps CSV cells onto
them and writes a batch with a handful of queries. An empty cell leaves a value as it is;
tags, a birthday and a note are added, never removed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from django.db.models import Max
from django.db.models.functions import Lower

from patron.accounts.services.audit import (
    AuditFact,
    audit_changes_encode,
    audit_record_bulk,
    audit_table,
)
from patron.core import clock
from patron.core.actors import Actor
from patron.core.errors import ProblemList, ValidationFailed
from patron.core.tabular import (
    Header,
    JsonText,
    Prepared,
    Record,
    Rejected,
    RowProblem,
    TableFormat,
    UniqueKey,
    WriteCounts,
    WriteResult,
    column_defaults,
    ids_reserve,
    parse_boolean,
    row_problems,
    rows_find,
    rows_insert,
    rows_update,
)
from patron.customers import validation
from patron.customers.models import (
    AttributeDefinition,
    AttributeType,
    Customer,
    CustomerTag,
    Identity,
    IdentityKind,
    Milestone,
    MilestoneKind,
    Note,
    Tag,
)
from patron.customers.services.profile import (
    PROFILE_FIELDS,
    attribute_definitions,
    attributes_clean,
    profile_clean,
)
from patron.customers.services.tags import tag_names_clean

ATTRIBUTE_PREFIX = "attributes."
MAXIMUM_NOTE_LENGTH = 10_000  # a long support note fits; a whole pasted document does not
MAXIMUM_EXTERNAL_ID_LENGTH = 255  # Identity.value holds 320, the API allows 255

GENERIC = TableFormat(
    name="generic",
    columns={
        name: name
        for name in (
            "external_id",
            *PROFILE_FIELDS,
            "birthday",
            "tags",
            "note",
        )
    },
    prefixes=(ATTRIBUTE_PREFIX,),
    required=(("external_id", "email", "phone"),),
)
SHOPIFY = TableFormat(
    name="shopify",
    columns={
        "Customer ID": "external_id",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email",
        "Phone": "phone",
        "Default Address City": "city",
        "Default Address Country Code": "country",
        # Shopify's older export names the same columns without "Default Address".
        "City": "city",
        "Country Code": "country",
        "Tags": "tags",
        "Note": "note",
    },
    is_strict=False,
    required=(("external_id", "email", "phone"),),
)
_IDENTITY_FIELDS: dict[str, str] = {
    IdentityKind.EXTERNAL_ID: "external_id",
    IdentityKind.EMAIL: "email",
}
# The order in which a row's keys find its customer: the shop's own id first, as emails change.
_MATCH_ORDER = (
    ("external_id", IdentityKind.EXTERNAL_ID),
    ("email", IdentityKind.EMAIL),
    ("phone", IdentityKind.PHONE),
)
_KINDS: dict[str, str] = dict(_MATCH_ORDER)
_PROFILE_POSITIONS = {name: position for position, name in enumerate(PROFILE_FIELDS)}


# What a new customer gets for a profile field its row leaves empty, as the ORM would give it.
_PROFILE_DEFAULTS = column_defaults(Customer, PROFILE_FIELDS)


class CustomerRow(NamedTuple):
    """One cleaned customer row; which customer it is, is decided when it is checked and again
    when it is written. A named tuple: a large file's rows cross a pipe from the process that
    cleans them, and it unpickles fast."""

    row: int
    keys: Mapping[str, str]  # external_id, email, phone -> the row's value, in _MATCH_ORDER
    fields: Mapping[str, Any]  # cleaned profile fields
    attributes: Mapping[str, Any]
    tags: tuple[str, ...]
    birthday: date | None
    note: str
    # What the row becomes if nobody has its keys, prepared while cleaning (in that process):
    # the new customer's PROFILE_FIELDS and attributes, and its customer.created changes.
    new_values: tuple[Any, ...]
    created_changes: JsonText


class CustomerReference(NamedTuple):
    """How another app's row names a customer (an order's buyer); a named tuple, as it
    crosses the pipe from the process cleaning that app's rows."""

    email: str | None
    external_id: str | None


def identity_owners(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The customer id behind each known (kind, value), one query per kind."""
    return {key: customer_id for key, (customer_id, _) in _identities(pairs).items()}


def _identities(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, int]]:
    """(customer id, identity id) behind each known (kind, value), one query per kind."""
    by_kind: dict[str, list[str]] = {}
    for kind, value in pairs:
        by_kind.setdefault(kind, []).append(value)
    return {
        (kind, value): (customer_id, identity_id)
        for kind, values in by_kind.items()
        for value, customer_id, identity_id in rows_find(
            Identity, "value", values, ("customer_id", "id"), where={"kind": kind}
        )
    }


def identity_id_highest() -> int:
    """The newest identity's id: identities an import adds come after it."""
    return Identity.objects.aggregate(highest=Max("id"))["highest"] or 0


class CustomerImporter:
    """Customers from the generic format or a Shopify customer export."""

    formats = (GENERIC, SHOPIFY)
    group_field = None
    tables = (Customer, Identity, audit_table())

    def __init__(self, *, actor: Actor) -> None:
        self.actor = actor
        self._definitions: dict[str, AttributeDefinition] = {}
        # Identities up to this id existed when the import began; the later ones are its own.
        self._known_identities_up_to = 0
        # What check last read: write comes right after it, in the same transaction, with the
        # batch's rows that passed, so it reuses the answer instead of asking again.
        self._checked: dict[tuple[str, str], tuple[int, int]] = {}
        self._checked_rows: frozenset[int] = frozenset()

    def begin(self, header: Header) -> None:
        self._definitions = attribute_definitions(
            name.removeprefix(ATTRIBUTE_PREFIX)
            for name in header.fields
            if name is not None and name.startswith(ATTRIBUTE_PREFIX)
        )
        self._known_identities_up_to = identity_id_highest()

    def clean(
        self, groups: Sequence[Sequence[Record]], header: Header
    ) -> list[Prepared[CustomerRow] | Rejected]:
        results: list[Prepared[CustomerRow] | Rejected] = []
        for group in groups:
            draft = self._draft(group[0], header)
            if isinstance(draft, Rejected):
                results.append(draft)
                continue
            results.append(
                Prepared(
                    rows=(draft.row,),
                    value=draft,
                    unique_keys=tuple(
                        UniqueKey(column=header.column(name), value=f"{name}:{value}")
                        for name, value in draft.keys.items()
                    ),
                )
            )
        return results

    def check(
        self, items: Sequence[Prepared[CustomerRow]], header: Header
    ) -> list[Prepared[CustomerRow] | Rejected]:
        """Find each row's customer as the database was when the import began."""
        # When the import began nobody had an identity, so none can be found as it found
        # the database; and now only this import's own identities exist, whose keys only a
        # repeated row (refused, never written) can carry. Another writer adding the same key
        # meanwhile is refused by the unique index, which stops and rolls back the import.
        self._checked = (
            _owners(item.value for item in items) if self._known_identities_up_to else {}
        )
        self._checked_rows = frozenset(item.value.row for item in items)
        owners = {
            key: customer_id
            for key, (customer_id, identity_id) in self._checked.items()
            if identity_id <= self._known_identities_up_to
        }
        results: list[Prepared[CustomerRow] | Rejected] = []
        for item in items:
            found = _resolve(item.value, owners, header)
            if isinstance(found, Rejected):
                results.append(found)
                continue
            customer_id, matched_by = found
            if customer_id is None:
                results.append(item)
                continue
            results.append(
                Prepared(
                    rows=item.rows,
                    value=item.value,
                    unique_keys=(
                        *item.unique_keys,
                        UniqueKey(
                            column=header.column(matched_by),
                            value=f"customer:{customer_id}",
                            reason="row {row} already updates the same customer; "
                            "each customer may appear once per file",
                        ),
                    ),
                )
            )
        return results

    def _draft(self, record: Record, header: Header) -> CustomerRow | Rejected:
        """Clean one row's cells; every problem of the row is collected."""
        problems: list[RowProblem] = []
        profile = {name: record.fields[name] for name in PROFILE_FIELDS if name in record.fields}
        if "phone" in profile:
            # Shop exports write phones as '+44… so spreadsheets keep the plus sign.
            profile["phone"] = profile["phone"].removeprefix("'")
        fields: dict[str, Any] = {}
        try:
            fields = profile_clean(profile)
        except ValidationFailed as error:
            problems.extend(row_problems(error, row=record.row, header=header))
        keys: dict[str, str] = {}
        external_id = record.fields.get("external_id", "")
        try:
            external_id = validation.clean_text(
                external_id, field="external_id", maximum=MAXIMUM_EXTERNAL_ID_LENGTH
            )
        except ValidationFailed as error:
            problems.extend(row_problems(error, row=record.row, header=header))
        if external_id:
            keys["external_id"] = external_id
        for name in ("email", "phone"):
            if fields.get(name):
                keys[name] = fields[name]
        attributes: dict[str, Any] = {}
        birthday: date | None = None
        note = ""
        tags: tuple[str, ...] = ()
        try:
            attributes = self._attributes(record)
        except ValidationFailed as error:
            problems.extend(row_problems(error, row=record.row, header=header))
        try:
            if "birthday" in record.fields:
                birthday = validation.clean_date(record.fields["birthday"], field="birthday")
            note = validation.clean_text(
                record.fields.get("note"), field="note", maximum=MAXIMUM_NOTE_LENGTH
            )
        except ValidationFailed as error:
            problems.extend(row_problems(error, row=record.row, header=header))
        try:
            tags = _tags(record.fields.get("tags", ""), separator=_separator(header))
        except ValidationFailed as error:
            # tag_names_clean names the tag by position (tags[2]); the column is "tags".
            problems.extend(
                RowProblem(
                    row=record.row,
                    column=header.column("tags"),
                    reason=f"{problem.field.removeprefix('tags')}: {problem.message}",
                )
                for problem in error.problems
            )
        if not problems and not keys:
            problems.append(
                RowProblem(
                    row=record.row,
                    column="",
                    reason="needs "
                    + ", ".join(
                        header.column(name) for name, _ in _MATCH_ORDER if name in header.fields
                    )
                    + " to know who the customer is; all are empty",
                )
            )
        if problems:
            return Rejected(rows=(record.row,), problems=tuple(problems))
        keys = {name: keys[name] for name, _ in _MATCH_ORDER if name in keys}
        return CustomerRow(
            row=record.row,
            keys=keys,
            fields=fields,
            attributes=attributes,
            tags=tags,
            birthday=birthday,
            note=note,
            new_values=(
                *[fields.get(name, default) for name, default in _PROFILE_DEFAULTS.items()],
                # As Customer.attributes (a JSONField without an encoder) would store it.
                JsonText(json.dumps(attributes)),
            ),
            created_changes=audit_changes_encode(
                _created_changes(keys, fields, attributes, tags, birthday, note)
            ),
        )

    def _attributes(self, record: Record) -> dict[str, Any]:
        raw = {
            name.removeprefix(ATTRIBUTE_PREFIX): value
            for name, value in record.fields.items()
            if name.startswith(ATTRIBUTE_PREFIX)
        }
        if not raw:
            return {}
        problems = ProblemList()
        values: dict[str, Any] = dict(raw)
        for key, text in raw.items():
            definition = self._definitions.get(key)
            if definition is not None and definition.type == AttributeType.BOOLEAN:
                try:
                    values[key] = parse_boolean(text, field=f"{ATTRIBUTE_PREFIX}{key}")
                except ValidationFailed as error:
                    problems.add(error.field or key, error.message)
                    del values[key]
        cleaned: dict[str, Any] = {}
        try:
            # The definitions begin() read for the file's columns: cleaning reads no database.
            cleaned = attributes_clean(values, definitions=self._definitions)
        except ValidationFailed as error:
            for problem in error.problems:
                problems.add(problem.field, problem.message)
        problems.raise_if_any()
        return cleaned

    def write(self, items: Sequence[CustomerRow], header: Header) -> WriteResult:
        checked, checked_rows = self._checked, self._checked_rows
        self._checked, self._checked_rows = {}, frozenset()
        if not all(item.row in checked_rows for item in items):
            checked = _owners(items)  # not the batch check just saw: ask the database
        owners = {key: customer_id for key, (customer_id, _) in checked.items()}
        found: list[tuple[CustomerRow, int | None]] = []
        rejected: list[Rejected] = []
        for item in items:
            resolution = _resolve(item, owners, header)
            if isinstance(resolution, Rejected):
                rejected.append(resolution)
            else:
                found.append((item, resolution[0]))
        counts = _customers_write(found, owners, actor=self.actor)
        return WriteResult(counts=counts, rejected=tuple(rejected))


def _separator(header: Header) -> str:
    # Shopify separates tags with commas; the generic format uses semicolons, so that a
    # tag list needs no quoting in a comma-separated file.
    return "," if header.format is SHOPIFY else ";"


def _tags(text: str, *, separator: str) -> tuple[str, ...]:
    parts = [part for part in text.split(separator) if part.strip()]
    return tuple(tag_names_clean(parts)) if parts else ()


def _owners(items: Iterable[CustomerRow]) -> dict[tuple[str, str], tuple[int, int]]:
    return _identities((_KINDS[name], value) for item in items for name, value in item.keys.items())


def _resolve(
    item: CustomerRow, owners: Mapping[tuple[str, str], int], header: Header
) -> tuple[int | None, str] | Rejected:
    """The customer the row's keys point at (None: a new one) and the key that found it.

    Keys pointing at two different customers make a bad row.
    """
    customer_id: int | None = None
    matched_by = ""
    problems: list[RowProblem] = []
    for name, value in item.keys.items():
        owner = owners.get((_KINDS[name], value))
        if owner is None:
            continue
        if customer_id is None:
            customer_id, matched_by = owner, name
        elif owner != customer_id:
            problems.append(
                RowProblem(
                    row=item.row,
                    column=header.column(name),
                    reason=f"{value!r} belongs to customer #{owner}, but "
                    f"{header.column(matched_by)} is customer #{customer_id}'s; "
                    "merge the two customers first or correct the row",
                )
            )
    if problems:
        return Rejected(rows=(item.row,), problems=tuple(problems))
    return customer_id, matched_by


def _customers_write(
    found: Sequence[tuple[CustomerRow, int | None]],
    owners: Mapping[tuple[str, str], int],
    *,
    actor: Actor,
) -> WriteCounts:
    """Create the new customers and change the found ones, a few statements per batch."""
    now = clock.now()
    new_ids = iter(ids_reserve(Customer, sum(1 for _, found_id in found if found_id is None)))
    stored = {
        values[0]: values[1:]
        for values in Customer.objects.filter(
            pk__in=[found_id for _, found_id in found if found_id is not None]
        ).values_list("pk", *PROFILE_FIELDS, "attributes")
    }
    new_rows: list[tuple[Any, ...]] = []
    updates: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    identity_rows: list[tuple[int, str, str]] = []
    written: list[_Written] = []
    facts: list[AuditFact] = []
    updated = 0
    for item, found_id in found:
        if found_id is None:
            customer_id = next(new_ids)
            new_rows.append((customer_id, *item.new_values))
            identity_rows.extend(
                (customer_id, _KINDS[name], value) for name, value in item.keys.items()
            )
            # Its changes were prepared while cleaning; tags, birthday and note add to a
            # throwaway copy.
            written.append((item, customer_id, {}))
            facts.append(
                AuditFact(
                    action="customer.created",
                    subject_type="customer",
                    subject_id=customer_id,
                    customer_id=customer_id,
                    changes=item.created_changes,
                    at=now,
                )
            )
            continue
        customer_id = found_id
        change, values = _profile_changes(stored[customer_id], item)
        if values:
            updates.setdefault(tuple(values), []).append((*values.values(), now, customer_id))
        for name, value in item.keys.items():
            kind = _KINDS[name]
            if (kind, value) not in owners:
                identity_rows.append((customer_id, kind, value))
                if kind == IdentityKind.EXTERNAL_ID:
                    change["external_id"] = [None, value]
        written.append((item, customer_id, change))
    rows_insert(
        Customer,
        ("id", *PROFILE_FIELDS, "attributes"),
        new_rows,
        constants={"first_seen_at": now, "last_seen_at": now, "created_at": now, "updated_at": now},
    )
    for changed_fields, rows in updates.items():
        rows_update(Customer, (*changed_fields, "updated_at"), rows)
    rows_insert(
        Identity,
        ("customer_id", "kind", "value"),
        identity_rows,
        constants={"last_seen_at": now, "created_at": now, "updated_at": now},
    )
    _tags_write(written, at=now)
    _birthdays_write(written, at=now)
    _notes_write(written, actor=actor, at=now)
    for (_, customer_id, change), (_, found_id) in zip(written, found, strict=True):
        if found_id is not None and change:
            updated += 1
            facts.append(
                AuditFact(
                    action="customer.updated",
                    subject_type="customer",
                    subject_id=customer_id,
                    customer_id=customer_id,
                    changes=change,
                    at=now,
                )
            )
    audit_record_bulk(actor=actor, facts=facts)
    created = len(new_rows)
    return WriteCounts(created=created, updated=updated, unchanged=len(found) - created - updated)


def _created_changes(
    keys: Mapping[str, str],
    fields: Mapping[str, Any],
    attributes: Mapping[str, Any],
    tags: Sequence[str],
    birthday: date | None,
    note: str,
) -> dict[str, list[Any]]:
    """A new customer's customer.created changes: everything the row sets, as an update of an
    existing customer lists what it changes (same names, same order)."""
    change: dict[str, list[Any]] = {name: [None, value] for name, value in fields.items()}
    change.update({f"attributes.{key}": [None, value] for key, value in attributes.items()})
    if "external_id" in keys:
        change["external_id"] = [None, keys["external_id"]]
    if tags:
        change["tags"] = [None, list(tags)]
    if birthday is not None:
        change["birthday"] = [None, birthday]
    if note:
        change["note"] = [None, note]
    return change


def _profile_changes(
    stored: Sequence[Any], item: CustomerRow
) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """The row's changes to a stored customer (as customer_update sees them) and the columns
    to set; stored holds the customer's PROFILE_FIELDS, then its attributes."""
    change: dict[str, list[Any]] = {}
    values: dict[str, Any] = {}
    for name, value in item.fields.items():
        before = stored[_PROFILE_POSITIONS[name]]
        if before != value:
            change[name] = [before, value]
            values[name] = value
    merged = dict(stored[-1])
    for key, value in item.attributes.items():
        before = merged.get(key)
        if before != value:
            change[f"attributes.{key}"] = [before, value]
            merged[key] = value
            values["attributes"] = merged
    return change, values


# A customer as _customers_write leaves it: its row, its id and the changes its audit entry lists.
_Written = tuple[CustomerRow, int, dict[str, list[Any]]]


def _tags_write(written: Sequence[_Written], *, at: datetime) -> None:
    """Add each row's tags to its customer; tags the customer already has stay as they are."""
    wanted = {name.lower(): name for item, _, _ in written for name in item.tags}
    if not wanted:
        return
    known = dict(
        Tag.objects.annotate(folded=Lower("name"))
        .filter(folded__in=sorted(wanted))
        .values_list("folded", "pk")
    )
    created = Tag.objects.bulk_create(
        [Tag(name=name) for folded, name in wanted.items() if folded not in known]
    )
    known.update({tag.name.lower(): tag.pk for tag in created})
    linked = set(
        CustomerTag.objects.filter(
            customer_id__in=[customer_id for item, customer_id, _ in written if item.tags]
        ).values_list("customer_id", "tag_id")
    )
    links: list[tuple[int, int]] = []
    for item, customer_id, change in written:
        added = [name for name in item.tags if (customer_id, known[name.lower()]) not in linked]
        links.extend((customer_id, known[name.lower()]) for name in added)
        if added:
            change["tags"] = [None, added]
    rows_insert(CustomerTag, ("customer_id", "tag_id"), links, constants={"created_at": at})


def _birthdays_write(written: Sequence[_Written], *, at: datetime) -> None:
    dated = [entry for entry in written if entry[0].birthday is not None]
    if not dated:
        return
    existing = {
        customer_id: (milestone_id, stored)
        for customer_id, milestone_id, stored in Milestone.objects.filter(
            customer_id__in=[customer_id for _, customer_id, _ in dated],
            kind=MilestoneKind.BIRTHDAY,
            label="",
        ).values_list("customer_id", "pk", "date")
    }
    new_rows: list[tuple[int, date]] = []
    changed_rows: list[tuple[date, datetime, int]] = []
    for item, customer_id, change in dated:
        birthday = item.birthday
        assert birthday is not None
        if customer_id not in existing:
            new_rows.append((customer_id, birthday))
            change["birthday"] = [None, birthday]
            continue
        milestone_id, stored = existing[customer_id]
        if stored != birthday:
            change["birthday"] = [stored, birthday]
            changed_rows.append((birthday, at, milestone_id))
    rows_insert(
        Milestone,
        ("customer_id", "date"),
        new_rows,
        constants={"kind": MilestoneKind.BIRTHDAY, "label": "", "created_at": at, "updated_at": at},
    )
    rows_update(Milestone, ("date", "updated_at"), changed_rows)


def _notes_write(written: Sequence[_Written], *, actor: Actor, at: datetime) -> None:
    """Add the row's note unless the customer already has one with the same text."""
    noted = [entry for entry in written if entry[0].note]
    if not noted:
        return
    existing = set(
        Note.objects.filter(
            customer_id__in=[customer_id for _, customer_id, _ in noted],
            body__in=sorted({item.note for item, _, _ in noted}),
        ).values_list("customer_id", "body")
    )
    rows: list[tuple[int, str]] = []
    for item, customer_id, change in noted:
        if (customer_id, item.note) in existing:
            continue
        rows.append((customer_id, item.note))
        change["note"] = [None, item.note]
    rows_insert(
        Note,
        ("customer_id", "body"),
        rows,
        constants={
            "author_kind": actor.kind,
            "author_identifier": actor.identifier,
            "author_label": actor.label,
            "created_at": at,
            "updated_at": at,
        },
    )


def customers_ensure(references: Sequence[CustomerReference], *, actor: Actor) -> list[int]:
    """The customer id for each reference, creating the unknown ones in bulk.

    A reference is matched by external id, then email. An unknown one becomes a new customer
    with those identities; two references to the same unknown person in one call share it.
    Call it inside a transaction (an import's write pass): new ids are reserved in it.
    """
    keys = [
        [
            (kind, value)
            for kind, value in (
                (IdentityKind.EXTERNAL_ID, reference.external_id),
                (IdentityKind.EMAIL, reference.email),
            )
            if value
        ]
        for reference in references
    ]
    owners = identity_owners(pair for pairs in keys for pair in pairs)
    # Unknown people are gathered first so their ids are reserved at once.
    pending: dict[tuple[str, str], int] = {}  # key -> index in `created`
    created: list[tuple[CustomerReference, dict[str, list[Any]]]] = []
    identities: list[tuple[int, str, str]] = []  # (index in `created`, kind, value)
    chosen: list[tuple[int | None, int]] = []  # (known customer id, else index in `created`)
    for reference, pairs in zip(references, keys, strict=True):
        owner = next((owners[pair] for pair in pairs if pair in owners), None)
        if owner is not None:
            chosen.append((owner, 0))
            continue
        index = next((pending[pair] for pair in pairs if pair in pending), None)
        if index is None:
            index = len(created)
            created.append((reference, {}))
        for pair in pairs:
            if pair not in pending:
                pending[pair] = index
                identities.append((index, *pair))
                created[index][1][_IDENTITY_FIELDS[pair[0]]] = [None, pair[1]]
        chosen.append((None, index))
    new_ids = list(ids_reserve(Customer, len(created)))
    now = clock.now()
    rows_insert(
        Customer,
        ("id", "email"),
        [(new_ids[index], reference.email) for index, (reference, _) in enumerate(created)],
        constants={"first_seen_at": now, "last_seen_at": now, "created_at": now, "updated_at": now},
    )
    rows_insert(
        Identity,
        ("customer_id", "kind", "value"),
        [(new_ids[index], kind, value) for index, kind, value in identities],
        constants={"last_seen_at": now, "created_at": now, "updated_at": now},
    )
    audit_record_bulk(
        actor=actor,
        facts=[
            AuditFact(
                action="customer.created",
                subject_type="customer",
                subject_id=new_ids[index],
                customer_id=new_ids[index],
                changes=changes,
                at=now,
            )
            for index, (_, changes) in enumerate(created)
        ],
    )
    return [owner if owner is not None else new_ids[index] for owner, index in chosen]
