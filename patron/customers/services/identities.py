"""Identity resolution: which customer each incoming message belongs to, decided per batch.

A batch of claims (user id, anonymous id, email, alias) is resolved with one query for the
identities it names; customers and identities it introduces are created in bulk. Only
messages that join two existing customers (an anonymous visitor who logs in, an email
that matches someone, an alias) are handled one by one, because they may merge.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from django.db import connection, transaction
from django.db.models import Q
from django.utils.dateparse import parse_date, parse_datetime

from patron.accounts.services.audit import (
    AuditFact,
    audit_entry,
    audit_record_bulk,
    audit_record_many,
)
from patron.core import clock
from patron.core.actors import Actor
from patron.core.errors import Conflict, FieldProblem, ValidationFailed
from patron.core.tabular import ids_reserve, rows_insert
from patron.customers import validation
from patron.customers.models import (
    AttributeDefinition,
    AttributeType,
    Customer,
    Identity,
    IdentityConflict,
    IdentityKind,
    Milestone,
    MilestoneKind,
)
from patron.customers.services.merge import customer_merge, user_ids_of
from patron.customers.services.profile import customer_update, profile_clean

IdentityKey = tuple[str, str]  # (IdentityKind, value)

# The rule attribute_define applies to keys declared in the workspace.
_ATTRIBUTE_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@dataclass(frozen=True)
class IdentityClaim:
    """The identifiers one message carries; `key` is the caller's handle for the message."""

    key: str
    at: datetime
    user_id: str = ""
    anonymous_id: str = ""
    email: str = ""  # normalised (validation.normalise_email) or empty
    previous_id: str = ""  # alias: this earlier id is the same person as user_id


@dataclass(frozen=True)
class ResolvedIdentities:
    customer_ids: Mapping[str, int]  # claim key -> customer id
    created_customer_ids: frozenset[int]
    merged_customer_ids: frozenset[int]  # customers that no longer exist
    conflicts: int


@dataclass(eq=False)
class _NewCustomer:
    """A customer this batch will create; the identities of the batch may still fold into it."""

    identities: list[IdentityKey]
    is_identified: bool
    first_seen_at: datetime
    last_seen_at: datetime
    customer_id: int | None = None
    is_folded: bool = False

    @property
    def has_user_id(self) -> bool:
        return any(kind == IdentityKind.USER_ID for kind, _ in self.identities)


Reference = int | _NewCustomer


@dataclass
class _Resolver:
    """The state of one batch's resolution: who holds each identity, and what to create."""

    actor: Actor
    now: datetime
    index: dict[IdentityKey, Reference] = field(default_factory=dict)
    grants: list[tuple[IdentityKey, Reference]] = field(default_factory=list)
    new_customers: list[_NewCustomer] = field(default_factory=list)
    created: set[int] = field(default_factory=set)
    merged_into: dict[int, int] = field(default_factory=dict)
    conflicts: int = 0
    # Customers whose stored seen times took in the batch's when it began (last seen to
    # within LAST_SEEN_PRECISION): the seen-time UPDATE leaves them out.
    seen_fresh: set[int] = field(default_factory=set)

    # --- the bulk path ---------------------------------------------------------------------

    def load(self, claims: Sequence[IdentityClaim]) -> None:
        wanted: dict[str, set[str]] = {kind: set() for kind in IdentityKind.values}
        for claim in claims:
            if claim.user_id:
                wanted[IdentityKind.USER_ID].add(claim.user_id)
            if claim.anonymous_id:
                wanted[IdentityKind.ANONYMOUS_ID].add(claim.anonymous_id)
            if claim.email:
                wanted[IdentityKind.EMAIL].add(claim.email)
            if claim.previous_id:
                wanted[IdentityKind.USER_ID].add(claim.previous_id)
                wanted[IdentityKind.ANONYMOUS_ID].add(claim.previous_id)
        times = [claim.at for claim in claims]
        owners, self.seen_fresh = _owners(
            wanted, seen_between=(min(times), max(times)) if times else None
        )
        self.index.update(owners)

    def resolve_simply(self, claim: IdentityClaim) -> bool:
        """Resolve a claim that cannot merge anyone; False leaves it for resolve_one."""
        if claim.previous_id:
            return False
        if claim.email and isinstance(self.index.get((IdentityKind.EMAIL, claim.email)), int):
            return False
        user_key = (IdentityKind.USER_ID, claim.user_id) if claim.user_id else None
        anonymous_key = (
            (IdentityKind.ANONYMOUS_ID, claim.anonymous_id) if claim.anonymous_id else None
        )
        user = self.index.get(user_key) if user_key else None
        anonymous = self.index.get(anonymous_key) if anonymous_key else None
        if user_key and not anonymous_key:
            if user is None:
                self._new([user_key], is_identified=True, at=claim.at)
            else:
                self._touch(user, claim.at)
            return True
        if anonymous_key and not user_key:
            if anonymous is None:
                self._new([anonymous_key], is_identified=False, at=claim.at)
            else:
                self._touch(anonymous, claim.at)
            return True
        assert user_key and anonymous_key
        if user is None and anonymous is None:
            self._new([user_key, anonymous_key], is_identified=True, at=claim.at)
        elif anonymous is None:
            assert user is not None
            self._attach(anonymous_key, user)
            self._touch(user, claim.at)
        elif user is None:
            if not isinstance(anonymous, _NewCustomer) or anonymous.has_user_id:
                return False  # an existing customer: whether it has a user id needs a look
            anonymous.identities.append(user_key)
            anonymous.is_identified = True
            self.index[user_key] = anonymous
            self._touch(anonymous, claim.at)
        elif user == anonymous:
            self._touch(user, claim.at)
        elif isinstance(anonymous, _NewCustomer) and not anonymous.has_user_id:
            # A visitor first seen in this very batch who logged in: never create them apart.
            anonymous.is_folded = True
            for key in anonymous.identities:
                self._attach(key, user)
            self._touch(user, claim.at)
        else:
            return False
        return True

    def _new(self, keys: list[IdentityKey], *, is_identified: bool, at: datetime) -> None:
        customer = _NewCustomer(
            identities=list(keys), is_identified=is_identified, first_seen_at=at, last_seen_at=at
        )
        self.new_customers.append(customer)
        for key in keys:
            self.index[key] = customer

    def _attach(self, key: IdentityKey, owner: Reference) -> None:
        if isinstance(owner, _NewCustomer):
            owner.identities.append(key)
        else:
            self.grants.append((key, owner))
        self.index[key] = owner

    def _touch(self, owner: Reference, at: datetime) -> None:
        if isinstance(owner, _NewCustomer):
            owner.first_seen_at = min(owner.first_seen_at, at)
            owner.last_seen_at = max(owner.last_seen_at, at)

    def create_pending(self) -> None:
        """Create the batch's new customers and identities in bulk; settle races after."""
        new = [customer for customer in self.new_customers if not customer.is_folded]
        # Written out rather than bulk_create: the ORM's preparing of every value of every row
        # took 20 ms of a batch of 100 new people, three times what the database spent.
        for customer, customer_id in zip(new, ids_reserve(Customer, len(new)), strict=True):
            customer.customer_id = customer_id
        rows_insert(
            Customer,
            ("id", "is_identified", "first_seen_at", "last_seen_at"),
            [
                (
                    customer.customer_id,
                    customer.is_identified,
                    customer.first_seen_at,
                    customer.last_seen_at,
                )
                for customer in new
            ],
        )
        wanted: dict[IdentityKey, int] = {}
        for customer in new:
            assert customer.customer_id is not None
            for key in customer.identities:
                wanted[key] = customer.customer_id
        for key, owner in self.grants:
            owner_id = owner.customer_id if isinstance(owner, _NewCustomer) else owner
            assert owner_id is not None
            wanted.setdefault(key, owner_id)
        actual = _identities_insert(wanted, at=self.now)
        for key, reference in list(self.index.items()):
            if isinstance(reference, _NewCustomer):
                assert reference.customer_id is not None
                self.index[key] = reference.customer_id
        self.index.update(actual)
        held: dict[int, list[str]] = {}
        for (kind, value), owner_id in actual.items():
            held.setdefault(owner_id, []).append(f"{kind}:{value}")
        orphans = [customer.customer_id for customer in new if customer.customer_id not in held]
        if orphans:
            # Another request created these people at the same moment; theirs won.
            Customer.objects.filter(pk__in=orphans).delete()
        new_ids = {customer.customer_id for customer in new} - set(orphans)
        self.created.update(customer_id for customer_id in new_ids if customer_id is not None)
        facts = [
            AuditFact(
                action="customer.created",
                subject_type="customer",
                subject_id=customer_id,
                customer_id=customer_id,
                changes={"identities": sorted(held[customer_id])},
                at=self.now,
            )
            for customer_id in sorted(self.created)
        ]
        facts += [
            AuditFact(
                action="customer.identity_added",
                subject_type="customer",
                subject_id=owner_id,
                customer_id=owner_id,
                changes={"kind": key[0], "value": key[1]},
                at=self.now,
            )
            for key, owner_id in actual.items()
            if owner_id not in self.created and wanted[key] == owner_id
        ]
        audit_record_bulk(actor=self.actor, facts=facts)

    # --- the one-by-one path ---------------------------------------------------------------

    def lookup(self, key: IdentityKey) -> int | None:
        reference = self.index.get(key)
        assert reference is None or isinstance(reference, int)
        return reference

    def resolve_one(self, claim: IdentityClaim) -> int:
        user_key = (IdentityKind.USER_ID, claim.user_id) if claim.user_id else None
        anonymous_key = (
            (IdentityKind.ANONYMOUS_ID, claim.anonymous_id) if claim.anonymous_id else None
        )
        primary = self.lookup(user_key) if user_key else None
        anonymous = self.lookup(anonymous_key) if anonymous_key else None
        previous_key: IdentityKey | None = None
        previous = None
        if claim.previous_id:
            previous_key = (IdentityKind.ANONYMOUS_ID, claim.previous_id)
            for kind in (IdentityKind.USER_ID, IdentityKind.ANONYMOUS_ID):
                previous = self.lookup((kind, claim.previous_id))
                if previous is not None:
                    previous_key = (kind, claim.previous_id)
                    break
        email_key = (IdentityKind.EMAIL, claim.email) if claim.email else None
        if user_key and primary is None:
            if previous is not None:
                # An alias to a user id never seen renames: the earlier customer takes it.
                primary = self._grant(user_key, previous, identify=True)
            else:
                # A new user id goes to the visitor or the email's owner if neither has one,
                # so the record the business already holds keeps its id.
                candidates = [anonymous, self.lookup(email_key) if email_key else None]
                known = [candidate for candidate in candidates if candidate is not None]
                with_user_ids = user_ids_of(known) if known else {}
                free = next((c for c in known if c not in with_user_ids), None)
                if free is not None:
                    primary = self._grant(user_key, free, identify=True)
                else:
                    primary = self._create([user_key], is_identified=True, at=claim.at)
        elif primary is None:
            assert anonymous_key is not None
            primary = (
                anonymous
                if anonymous is not None
                else self._create([anonymous_key], is_identified=False, at=claim.at)
            )
        for key in (anonymous_key, previous_key):
            if key is None:
                continue
            owner = self.lookup(key)
            if owner is None:
                self._grant(key, primary)
            elif owner != primary:
                primary = self._link(primary, owner, key, claim)
        if email_key:
            owner = self.lookup(email_key)
            if owner is not None and owner != primary:
                primary = self._link(primary, owner, email_key, claim)
        return primary

    def _create(self, keys: list[IdentityKey], *, is_identified: bool, at: datetime) -> int:
        customer = Customer.objects.create(
            is_identified=is_identified, first_seen_at=at, last_seen_at=at
        )
        actual = _identities_insert(dict.fromkeys(keys, customer.pk), at=self.now)
        self.index.update(actual)
        if customer.pk not in actual.values():
            customer.delete()
            return actual[keys[0]]
        self.created.add(customer.pk)
        audit_record_many(
            [
                audit_entry(
                    actor=self.actor,
                    action="customer.created",
                    subject_type="customer",
                    subject_id=customer.pk,
                    customer_id=customer.pk,
                    changes={"identities": sorted(f"{kind}:{value}" for kind, value in keys)},
                    at=self.now,
                )
            ]
        )
        return customer.pk

    def _grant(self, key: IdentityKey, customer_id: int, *, identify: bool = False) -> int:
        """Give the identity to the customer; returns whoever owns it afterwards."""
        owner = _identities_insert({key: customer_id}, at=self.now)[key]
        self.index[key] = owner
        if owner == customer_id:
            if identify:
                Customer.objects.filter(pk=customer_id).update(is_identified=True)
            audit_record_many(
                [
                    audit_entry(
                        actor=self.actor,
                        action="customer.identified" if identify else "customer.identity_added",
                        subject_type="customer",
                        subject_id=customer_id,
                        customer_id=customer_id,
                        changes={"kind": key[0], "value": key[1]},
                        at=self.now,
                    )
                ]
            )
        return owner

    def _link(self, primary: int, other: int, key: IdentityKey, claim: IdentityClaim) -> int:
        """One person under two records: merge them unless that joins two user ids."""
        user_ids = user_ids_of([primary, other])
        if user_ids.get(primary) and user_ids.get(other) and user_ids[primary] != user_ids[other]:
            self._conflict(key, existing=other, claiming=primary, claim=claim)
            return primary
        customers = Customer.objects.in_bulk([primary, other])
        target, source = _merge_order(customers[primary], customers[other], user_ids)
        customer_merge(source=source, target=target, actor=self.actor)
        self.merged_into[source.pk] = target.pk
        self.created.discard(source.pk)
        for indexed_key, owner in list(self.index.items()):
            if owner == source.pk:
                self.index[indexed_key] = target.pk
        return target.pk

    def _conflict(
        self, key: IdentityKey, *, existing: int, claiming: int, claim: IdentityClaim
    ) -> None:
        """Record that a message tied a known identity to a second person; merge nothing."""
        self.conflicts += 1
        kind, value = key
        if IdentityConflict.objects.filter(
            kind=kind,
            value=value,
            existing_customer_id=existing,
            claiming_customer_id=claiming,
            resolved_at__isnull=True,
        ).exists():
            return
        reason = (
            f"{kind} {value!r} belongs to customer {existing}, whose user id differs from "
            f"{claim.user_id!r}; not merged"
        )
        IdentityConflict.objects.create(
            kind=kind,
            value=value,
            existing_customer_id=existing,
            claiming_customer_id=claiming,
            reason=reason[:500],
            message_id=claim.key[:255],
            detected_at=self.now,
        )
        audit_record_many(
            [
                audit_entry(
                    actor=self.actor,
                    action="customer.identity_conflict",
                    subject_type="customer",
                    subject_id=claiming,
                    customer_id=claiming,
                    changes={"kind": kind, "value": value, "existing_customer": existing},
                    at=self.now,
                )
            ]
        )

    def final(self, customer_id: int) -> int:
        while customer_id in self.merged_into:
            customer_id = self.merged_into[customer_id]
        return customer_id


# How far a customer's last_seen_at may trail their latest event. A browsing customer sends
# an event every few seconds; writing their row for each (a new row version, WAL, and a
# statement per batch) was the largest share of ingestion's work in PostgreSQL after the
# events themselves. API keys' last use is kept to the same minute.
LAST_SEEN_PRECISION = timedelta(minutes=1)


def _owners(
    wanted: Mapping[str, set[str]], *, seen_between: tuple[datetime, datetime] | None = None
) -> tuple[dict[IdentityKey, int], set[int]]:
    """Who holds each of the identities named; one query, written out because building the
    ORM's OR of IN lists costs several times what the database spends answering it.

    With seen_between=(earliest, latest), also the holders whose first and last seen already
    take in those times, last seen to within LAST_SEEN_PRECISION: a flag from the database,
    where reading the times themselves cost more Python than the UPDATE they spare.
    """
    quote = connection.ops.quote_name
    conditions: list[str] = []
    parameters: list[Any] = []
    for kind, values in wanted.items():
        if not values:
            continue
        if connection.vendor == "postgresql":
            # One array parameter per kind: psycopg splits the statement text in Python to
            # bind it, slowly for a batch's thousands of placeholders.
            conditions.append("(identity.kind = %s AND identity.value = ANY(%s))")
            parameters += [kind, sorted(values)]
        else:
            conditions.append(
                f"(identity.kind = %s AND identity.value IN ({', '.join(['%s'] * len(values))}))"
            )
            parameters += [kind, *values]
    if not conditions:
        return {}, set()
    source = f"{quote(Identity._meta.db_table)} identity"
    fresh = "0"
    if seen_between is not None:
        earliest, latest = seen_between
        adapt = datetime_adapter()
        source += (
            f" JOIN {quote(Customer._meta.db_table)} customer ON customer.id = identity.customer_id"
        )
        fresh = "(customer.first_seen_at <= %s AND customer.last_seen_at >= %s)"
        parameters = [adapt(earliest), adapt(latest - LAST_SEEN_PRECISION), *parameters]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT identity.kind, identity.value, identity.customer_id, {fresh} "  # noqa: S608 - values are bound
            f"FROM {source} WHERE " + " OR ".join(conditions),
            parameters,
        )
        rows = cursor.fetchall()
    owners = {(kind, value): customer_id for kind, value, customer_id, _ in rows}
    return owners, {customer_id for _, _, customer_id, is_fresh in rows if is_fresh}


def _identities_insert(
    wanted: Mapping[IdentityKey, int], *, at: datetime
) -> dict[IdentityKey, int]:
    """Insert identities, skipping any someone else holds; returns the owner of each."""
    if not wanted:
        return {}
    # Sorted, so that two requests inserting overlapping sets lock rows in the same order.
    rows_insert(
        Identity,
        ("kind", "value", "customer_id", "last_seen_at"),
        [(kind, value, customer_id, at) for (kind, value), customer_id in sorted(wanted.items())],
        conflicts_skipped=True,
    )
    by_kind: dict[str, set[str]] = {}
    for kind, value in wanted:
        by_kind.setdefault(kind, set()).add(value)
    actual, _ = _owners(by_kind)
    return {key: actual.get(key, customer_id) for key, customer_id in wanted.items()}


def _merge_order(
    first: Customer, second: Customer, user_ids: Mapping[int, set[str]]
) -> tuple[Customer, Customer]:
    """(target, source): the record with a user id survives, then an identified one, then the
    older one, so that an anonymous visitor folds into the person they turned out to be."""

    def rank(customer: Customer) -> tuple[bool, bool, int]:
        return (bool(user_ids.get(customer.pk)), customer.is_identified, -customer.pk)

    target, source = sorted([first, second], key=rank, reverse=True)
    return target, source


def identities_resolve(
    claims: Sequence[IdentityClaim], *, actor: Actor, at: datetime | None = None
) -> ResolvedIdentities:
    """Attach every claim to a customer, creating, identifying and merging as the rules say.

    Every claim needs a user id or an anonymous id; an alias needs user_id and previous_id.
    Customers' first_seen_at and last_seen_at take in the claims' times with one UPDATE,
    which leaves out a customer whose first seen stands and whose last seen trails the
    claims by less than LAST_SEEN_PRECISION.
    """
    now = at or clock.now()
    for claim in claims:
        if not claim.user_id and not claim.anonymous_id:
            raise ValidationFailed("needs a user id or an anonymous id", field="userId")
        if claim.previous_id and not claim.user_id:
            raise ValidationFailed("an alias needs a user id", field="userId")
    resolver = _Resolver(actor=actor, now=now)
    # No savepoint inside a caller's transaction (ingestion's batch): a failure here fails
    # the whole batch anyway, and the savepoint cost two more round trips to the database.
    with transaction.atomic(savepoint=False):
        resolver.load(claims)
        one_by_one = [claim for claim in claims if not resolver.resolve_simply(claim)]
        resolver.create_pending()
        explicit = {claim.key: resolver.resolve_one(claim) for claim in one_by_one}
        customer_ids: dict[str, int] = {}
        seen: dict[int, tuple[datetime, datetime]] = {}
        for claim in claims:
            if claim.key in explicit:
                customer_id = explicit[claim.key]
            elif claim.user_id:
                customer_id = resolver.lookup((IdentityKind.USER_ID, claim.user_id)) or 0
            else:
                customer_id = resolver.lookup((IdentityKind.ANONYMOUS_ID, claim.anonymous_id)) or 0
            customer_id = resolver.final(customer_id)
            customer_ids[claim.key] = customer_id
            first, last = seen.get(customer_id, (claim.at, claim.at))
            seen[customer_id] = (min(first, claim.at), max(last, claim.at))
        _seen_update(
            {
                customer_id: times
                for customer_id, times in seen.items()
                if customer_id not in resolver.seen_fresh
            }
        )
    return ResolvedIdentities(
        customer_ids=customer_ids,
        created_customer_ids=frozenset(resolver.created),
        merged_customer_ids=frozenset(resolver.merged_into),
        conflicts=resolver.conflicts,
    )


def datetime_adapter() -> Callable[[datetime | None], Any]:
    """A function that turns times into SQL parameters for the open connection, remembering
    the ones it has seen, for a caller that writes many rows of times in one statement.

    On SQLite storing UTC it writes the text Django would (the naive UTC time, space
    separated) without Django's per-value settings and timezone look-ups, which cost more
    than the INSERT of the row; on other databases the driver takes the time itself.
    """
    adapted: dict[datetime | None, Any] = {None: None}
    if connection.vendor != "sqlite" or connection.timezone_name != "UTC":
        operations = connection.ops

        def adapt_generally(value: datetime | None) -> Any:
            if value not in adapted:
                adapted[value] = operations.adapt_datetimefield_value(value)
            return adapted[value]

        return adapt_generally

    def adapt_for_sqlite(value: datetime | None) -> Any:
        if value not in adapted:
            assert value is not None
            if value.tzinfo is None:
                adapted[value] = str(value)
            else:
                adapted[value] = str(value.astimezone(UTC).replace(tzinfo=None))
        return adapted[value]

    return adapt_for_sqlite


def _seen_update(seen: Mapping[int, tuple[datetime, datetime]]) -> None:
    """One UPDATE that widens each customer's first/last seen to take in the given times.

    Raw SQL because the ORM spends far longer compiling a CASE per customer than the
    database spends running it; the statement is plain SQL that SQLite and PostgreSQL share.
    """
    if not seen:
        return
    table = connection.ops.quote_name(Customer._meta.db_table)
    # In id order, so that two batches touching the same customers lock them in one order.
    ordered = sorted(seen.items())
    parameters: list[Any] = []
    if connection.vendor == "postgresql":
        # One JSON parameter rather than a placeholder per value, which psycopg binds by
        # splitting the statement text in Python, or arrays of times, which it adapts one
        # element at a time (0.8 ms of CPU for a batch's 100 customers; orjson takes 0.05).
        rows = (
            "SELECT * FROM jsonb_to_recordset(%s::jsonb) "
            "AS seen (id bigint, first_at timestamptz, last_at timestamptz)"
        )
        parameters = [
            orjson.dumps(
                [
                    {"id": customer_id, "first_at": first, "last_at": last}
                    for customer_id, (first, last) in ordered
                ]
            ).decode()
        ]
    else:
        adapt = datetime_adapter()
        rows = "VALUES " + ", ".join(["(%s, %s, %s)"] * len(seen))
        for customer_id, (first, last) in ordered:
            parameters += [customer_id, adapt(first), adapt(last)]
    sql = (
        f"WITH seen (id, first_at, last_at) AS ({rows}) "  # noqa: S608 - values are bound
        f"UPDATE {table} SET "
        f"first_seen_at = CASE WHEN {table}.first_seen_at IS NULL "
        f"OR {table}.first_seen_at > seen.first_at THEN seen.first_at "
        f"ELSE {table}.first_seen_at END, "
        f"last_seen_at = CASE WHEN {table}.last_seen_at IS NULL "
        f"OR {table}.last_seen_at < seen.last_at THEN seen.last_at "
        f"ELSE {table}.last_seen_at END "
        f"FROM seen WHERE {table}.id = seen.id AND ("
        f"{table}.first_seen_at IS NULL OR {table}.first_seen_at > seen.first_at "
        f"OR {table}.last_seen_at IS NULL OR {table}.last_seen_at < seen.last_at)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)


@dataclass(frozen=True)
class TraitValues:
    """What a message says about the person, already under Patron's names.

    `origins` maps each of those names ("email", "attributes.plan", "birthday") to where the
    sender wrote it ("traits.email"), so that every problem points at the sender's field.
    """

    fields: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, Any] = field(default_factory=dict)
    birthday: Any = None
    account_created_at: Any = None
    origins: Mapping[str, str] = field(default_factory=dict)


def attribute_type_infer(value: Any) -> str | None:
    """The attribute type a first value implies; None for lists and objects."""
    if isinstance(value, bool):
        return AttributeType.BOOLEAN
    if isinstance(value, int):
        return AttributeType.INTEGER
    if isinstance(value, float):
        return AttributeType.NUMBER
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10 and parse_date(text) is not None:
                return AttributeType.DATE
            if len(text) > 10 and parse_datetime(text.replace("Z", "+00:00")) is not None:
                return AttributeType.DATETIME
        except ValueError:
            pass
        return AttributeType.TEXT
    return None


def attribute_key_from_name(name: str) -> str:
    """planType and plan-type both become plan_type; the result may still be invalid."""
    return _CAMEL_BOUNDARY.sub("_", name.strip()).replace("-", "_").replace(" ", "_").lower()


def customer_traits_apply(
    *, customer_id: int, traits: TraitValues, actor: Actor, at: datetime
) -> list[FieldProblem]:
    """Apply every valid value and return a problem for each invalid one.

    Empty values change nothing (an identify without a name must not erase the name). A
    custom attribute without a definition gets one with the type of its first value; a
    later value of another type is a problem, never stored as text.
    """
    problems: list[FieldProblem] = []

    def origin(name: str) -> str:
        return traits.origins.get(name, name)

    with transaction.atomic():
        fields = _profile_fields_clean(customer_id, traits, origin, problems)
        attributes = _attributes_clean(traits.attributes, actor, origin, problems, at)
        if fields or attributes:
            customer = Customer.objects.get(pk=customer_id)
            try:
                with transaction.atomic():
                    customer_update(
                        customer=customer, actor=actor, fields=fields, attributes=attributes, at=at
                    )
            except Conflict as error:
                problems.append(FieldProblem(origin(error.field or "email"), error.message))
            else:
                if fields.get("email"):
                    Customer.objects.filter(pk=customer_id, is_identified=False).update(
                        is_identified=True
                    )
        if traits.birthday not in (None, ""):
            try:
                _birthday_set(
                    customer_id, validation.clean_date(traits.birthday, field="birthday"), actor, at
                )
            except ValidationFailed as error:
                problems.append(FieldProblem(origin("birthday"), error.message))
        if traits.account_created_at not in (None, ""):
            try:
                created = validation.clean_datetime(traits.account_created_at, field="created_at")
            except ValidationFailed as error:
                problems.append(FieldProblem(origin("created_at"), error.message))
            else:
                # The account's creation is when the business first knew the person.
                Customer.objects.filter(
                    Q(first_seen_at__isnull=True) | Q(first_seen_at__gt=created), pk=customer_id
                ).update(first_seen_at=created)
    return problems


def _profile_fields_clean(
    customer_id: int,
    traits: TraitValues,
    origin: Any,
    problems: list[FieldProblem],
) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    # Country first: a phone number without a + is read in the person's country.
    names = sorted(traits.fields, key=lambda name: name != "country")
    for name in names:
        value = traits.fields[name]
        if value in (None, ""):
            continue
        raw = {name: value}
        if name == "phone" and cleaned.get("country"):
            raw["country"] = cleaned["country"]
        try:
            cleaned[name] = profile_clean(raw)[name]
        except ValidationFailed as error:
            problems.append(FieldProblem(origin(name), error.message.removeprefix(f"{name}: ")))
    for name, kind in (("email", IdentityKind.EMAIL), ("phone", IdentityKind.PHONE)):
        if not cleaned.get(name):
            continue
        owner = (
            Identity.objects.filter(kind=kind, value=cleaned[name])
            .values_list("customer_id", flat=True)
            .first()
        )
        if owner is not None and owner != customer_id:
            problems.append(
                FieldProblem(origin(name), f"already belongs to customer {owner}; not applied")
            )
            del cleaned[name]
    return cleaned


def _attributes_clean(
    values: Mapping[str, Any],
    actor: Actor,
    origin: Any,
    problems: list[FieldProblem],
    at: datetime,
) -> dict[str, Any]:
    wanted: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        if not _ATTRIBUTE_KEY.match(key):
            problems.append(
                FieldProblem(
                    origin(f"attributes.{key}"),
                    "cannot be a custom attribute key: a letter, then letters, digits or _ "
                    "(at most 64)",
                )
            )
            continue
        wanted[key] = value
    if not wanted:
        return {}
    definitions = {
        definition.key: definition
        for definition in AttributeDefinition.objects.filter(key__in=list(wanted))
    }
    missing: dict[str, str] = {}
    for key, value in wanted.items():
        if key in definitions:
            continue
        inferred = attribute_type_infer(value)
        if inferred is None:
            problems.append(
                FieldProblem(
                    origin(f"attributes.{key}"),
                    "a list or object cannot be a custom attribute",
                )
            )
        else:
            missing[key] = inferred
    if missing:
        AttributeDefinition.objects.bulk_create(
            [
                AttributeDefinition(key=key, label=key.replace("_", " ").capitalize(), type=type_)
                for key, type_ in sorted(missing.items())
            ],
            ignore_conflicts=True,
        )
        definitions = {
            definition.key: definition
            for definition in AttributeDefinition.objects.filter(key__in=list(wanted))
        }
        audit_record_many(
            audit_entry(
                actor=actor,
                action="attribute.defined",
                subject_type="attribute_definition",
                subject_id=definitions[key].pk,
                changes={"key": key, "type": definitions[key].type, "inferred": True},
                at=at,
            )
            for key in sorted(missing)
            if key in definitions
        )
    cleaned: dict[str, Any] = {}
    for key, value in wanted.items():
        definition = definitions.get(key)
        if definition is None:
            continue
        try:
            cleaned[key] = validation.clean_attribute(
                value, type_=definition.type, choices=list(definition.choices), field=key
            )
        except ValidationFailed as error:
            problems.append(
                FieldProblem(
                    origin(f"attributes.{key}"),
                    f"{error.message} (the attribute {key!r} holds {definition.type})",
                )
            )
    return cleaned


def _birthday_set(customer_id: int, birthday: date, actor: Actor, at: datetime) -> None:
    milestone = Milestone.objects.filter(
        customer_id=customer_id, kind=MilestoneKind.BIRTHDAY, label=""
    ).first()
    if milestone is not None and milestone.date == birthday:
        return
    before = milestone.date.isoformat() if milestone is not None else None
    Milestone.objects.update_or_create(
        customer_id=customer_id,
        kind=MilestoneKind.BIRTHDAY,
        label="",
        defaults={"date": birthday, "is_recurring_yearly": True},
    )
    audit_record_many(
        [
            audit_entry(
                actor=actor,
                action="customer.milestone_set",
                subject_type="customer",
                subject_id=customer_id,
                customer_id=customer_id,
                changes={"birthday": [before, birthday.isoformat()]},
                at=at,
            )
        ]
    )
