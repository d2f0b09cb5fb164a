"""Identity resolution per batch, and applying what a person says about themselves."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patron.accounts.models import AuditEntry
from patron.core.actors import Actor
from patron.customers.models import (
    AttributeDefinition,
    AttributeType,
    Customer,
    Identity,
    IdentityConflict,
    IdentityKind,
    LifecycleStage,
    Milestone,
    MilestoneKind,
)
from patron.customers.services.identities import (
    LAST_SEEN_PRECISION,
    IdentityClaim,
    TraitValues,
    _identities_insert,
    attribute_key_from_name,
    attribute_type_infer,
    customer_traits_apply,
    datetime_adapter,
    identities_resolve,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def claim(key: str, minutes: int = 0, **identifiers: str) -> IdentityClaim:
    return IdentityClaim(key=key, at=at(minutes), **identifiers)


def known(*identities: tuple[str, str], identified: bool = True, **fields) -> Customer:
    customer = Customer.objects.create(is_identified=identified, **fields)
    for kind, value in identities:
        Identity.objects.create(customer=customer, kind=kind, value=value)
    return customer


def owner(kind: str, value: str) -> int:
    return Identity.objects.get(kind=kind, value=value).customer_id


# --- new people --------------------------------------------------------------------------------


def test_an_unknown_anonymous_id_creates_one_anonymous_lead(system_actor):
    resolved = identities_resolve(
        [claim("m1", anonymous_id="a-1"), claim("m2", 5, anonymous_id="a-1")], actor=system_actor
    )

    customer = Customer.objects.get()
    assert resolved.customer_ids == {"m1": customer.pk, "m2": customer.pk}
    assert customer.is_identified is False
    assert customer.lifecycle_stage == LifecycleStage.LEAD
    assert (customer.first_seen_at, customer.last_seen_at) == (at(0), at(5))
    assert resolved.created_customer_ids == {customer.pk}


def test_an_unknown_user_id_creates_one_identified_customer(system_actor):
    resolved = identities_resolve([claim("m1", user_id="u-1")], actor=system_actor)

    customer = Customer.objects.get()
    assert customer.is_identified is True
    assert owner(IdentityKind.USER_ID, "u-1") == customer.pk == resolved.customer_ids["m1"]


def test_new_customers_are_audited_as_created_by_the_actor():
    actor = Actor.system("ingest-test")

    identities_resolve([claim("m1", anonymous_id="a-1"), claim("m2", user_id="u-1")], actor=actor)

    entries = AuditEntry.objects.filter(action="customer.created")
    assert entries.count() == 2
    assert {entry.actor_label for entry in entries} == {"ingest-test"}
    assert sorted(entry.changes["identities"][0] for entry in entries) == [
        "anonymous_id:a-1",
        "user_id:u-1",
    ]


def test_both_ids_unknown_create_one_customer_holding_both(system_actor):
    identities_resolve([claim("m1", user_id="u-1", anonymous_id="a-1")], actor=system_actor)

    customer = Customer.objects.get()
    assert customer.is_identified is True
    assert owner(IdentityKind.ANONYMOUS_ID, "a-1") == owner(IdentityKind.USER_ID, "u-1")


def test_a_visitor_who_logs_in_within_the_batch_is_one_customer(system_actor):
    resolved = identities_resolve(
        [
            claim("m1", anonymous_id="a-1"),
            claim("m2", 1, anonymous_id="a-1", user_id="u-1"),
            claim("m3", 2, user_id="u-1"),
        ],
        actor=system_actor,
    )

    customer = Customer.objects.get()
    assert customer.is_identified is True
    assert set(resolved.customer_ids.values()) == {customer.pk}
    assert Identity.objects.count() == 2


def test_two_new_records_joined_within_the_batch_keep_the_earliest_time(system_actor):
    resolved = identities_resolve(
        [
            claim("m1", 5, user_id="u-1"),
            claim("m2", 0, anonymous_id="a-1"),
            claim("m3", 7, user_id="u-1", anonymous_id="a-1"),
        ],
        actor=system_actor,
    )

    customer = Customer.objects.get()
    assert set(resolved.customer_ids.values()) == {customer.pk}
    assert (customer.first_seen_at, customer.last_seen_at) == (at(0), at(7))
    assert Identity.objects.filter(customer=customer).count() == 2


def test_a_new_visitor_of_a_known_user_joins_them_without_a_new_customer(system_actor):
    person = known((IdentityKind.USER_ID, "u-1"))

    resolved = identities_resolve(
        [claim("m1", anonymous_id="a-new"), claim("m2", 1, anonymous_id="a-new", user_id="u-1")],
        actor=system_actor,
    )

    assert Customer.objects.count() == 1
    assert owner(IdentityKind.ANONYMOUS_ID, "a-new") == person.pk
    assert resolved.customer_ids == {"m1": person.pk, "m2": person.pk}
    assert (
        AuditEntry.objects.filter(action="customer.identity_added", customer_id=person.pk).count()
        == 1
    )


# --- known people ------------------------------------------------------------------------------


def test_known_identities_resolve_without_creating_anyone(system_actor):
    anonymous = known((IdentityKind.ANONYMOUS_ID, "a-1"), identified=False)
    person = known((IdentityKind.USER_ID, "u-1"), (IdentityKind.ANONYMOUS_ID, "a-2"))

    resolved = identities_resolve(
        [
            claim("m1", anonymous_id="a-1"),
            claim("m2", user_id="u-1"),
            claim("m3", user_id="u-1", anonymous_id="a-2"),
        ],
        actor=system_actor,
    )

    assert resolved.customer_ids == {"m1": anonymous.pk, "m2": person.pk, "m3": person.pk}
    assert Customer.objects.count() == 2
    assert resolved.created_customer_ids == frozenset()


def test_the_query_count_does_not_grow_with_the_batch(system_actor, django_assert_num_queries):
    for number in range(60):
        known((IdentityKind.USER_ID, f"u-{number}"))
    small = [claim(f"s{number}", user_id=f"u-{number}") for number in range(5)]
    large = [claim(f"l{number}", user_id=f"u-{number}") for number in range(60)]

    # identity lookup, seen update (the test's transaction holds them: no savepoint)
    with django_assert_num_queries(2):
        identities_resolve(small, actor=system_actor)
    with django_assert_num_queries(2):
        identities_resolve(large, actor=system_actor)


def test_new_people_cost_a_fixed_number_of_queries(system_actor, django_assert_num_queries):
    claims = [claim(f"m{number}", anonymous_id=f"a-{number}") for number in range(40)]

    # lookup, ids reserved (on SQLite the highest id and the table's sequence), customers
    # insert, identities insert, owners read, audit insert, seen update (which changes nothing
    # here); PostgreSQL's COPY of the customers and audit entries bypasses Django's query log
    expected = 5 if connection.vendor == "postgresql" else 8
    with django_assert_num_queries(expected):
        identities_resolve(claims, actor=system_actor)

    assert Customer.objects.count() == 40


def test_seen_times_widen_for_known_customers_in_one_update(system_actor):
    person = known((IdentityKind.USER_ID, "u-1"), first_seen_at=at(10), last_seen_at=at(20))
    untouched = known((IdentityKind.USER_ID, "u-2"), first_seen_at=at(0), last_seen_at=at(100))

    identities_resolve(
        [
            claim("m1", 5, user_id="u-1"),
            claim("m2", 30, user_id="u-1"),
            claim("m3", 50, user_id="u-2"),
        ],
        actor=system_actor,
    )

    person.refresh_from_db()
    untouched.refresh_from_db()
    assert (person.first_seen_at, person.last_seen_at) == (at(5), at(30))
    assert (untouched.first_seen_at, untouched.last_seen_at) == (at(0), at(100))


def test_seen_times_fill_in_when_a_customer_had_none(system_actor):
    person = known((IdentityKind.USER_ID, "u-1"))

    identities_resolve([claim("m1", 7, user_id="u-1")], actor=system_actor)

    person.refresh_from_db()
    assert (person.first_seen_at, person.last_seen_at) == (at(7), at(7))


def customer_updates(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries if query["sql"].lstrip().startswith("WITH seen")]


def test_last_seen_less_than_a_minute_behind_is_not_rewritten(system_actor):
    person = known((IdentityKind.USER_ID, "u-1"), first_seen_at=at(10), last_seen_at=at(20))
    soon = at(20) + LAST_SEEN_PRECISION - timedelta(seconds=1)

    with CaptureQueriesContext(connection) as queries:
        identities_resolve([IdentityClaim(key="m1", at=soon, user_id="u-1")], actor=system_actor)

    person.refresh_from_db()
    assert (person.first_seen_at, person.last_seen_at) == (at(10), at(20))
    assert customer_updates(queries) == []


def test_last_seen_a_minute_behind_or_more_is_written_exactly(system_actor):
    person = known((IdentityKind.USER_ID, "u-1"), first_seen_at=at(10), last_seen_at=at(20))
    fresh = known((IdentityKind.USER_ID, "u-2"), first_seen_at=at(10), last_seen_at=at(20))
    later = at(20) + LAST_SEEN_PRECISION + timedelta(microseconds=1)

    with CaptureQueriesContext(connection) as queries:
        identities_resolve(
            [
                IdentityClaim(key="m1", at=later, user_id="u-1"),
                IdentityClaim(key="m2", at=at(20), user_id="u-2"),
            ],
            actor=system_actor,
        )

    person.refresh_from_db()
    fresh.refresh_from_db()
    assert (person.first_seen_at, person.last_seen_at) == (at(10), later)
    assert (fresh.first_seen_at, fresh.last_seen_at) == (at(10), at(20))
    assert len(customer_updates(queries)) == 1


def test_an_earlier_first_seen_writes_the_row_and_its_exact_last_seen(system_actor):
    person = known((IdentityKind.USER_ID, "u-1"), first_seen_at=at(10), last_seen_at=at(20))
    soon = at(20) + timedelta(seconds=30)

    identities_resolve(
        [
            IdentityClaim(key="m1", at=at(5), user_id="u-1"),
            IdentityClaim(key="m2", at=soon, user_id="u-1"),
        ],
        actor=system_actor,
    )

    person.refresh_from_db()
    assert (person.first_seen_at, person.last_seen_at) == (at(5), soon)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="HOT updates are PostgreSQL's")
def test_moving_seen_times_is_a_hot_update_on_postgresql(system_actor):
    person = known((IdentityKind.USER_ID, "u-1"), first_seen_at=at(10), last_seen_at=at(20))

    def hot_updates() -> tuple[int, int]:
        # The transaction's own counts: the test runs inside one.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
                "WHERE relname = 'customers_customer'"
            )
            return cursor.fetchone()

    updated, hot = hot_updates()
    identities_resolve(
        [claim("m1", 5, user_id="u-1"), claim("m2", 30, user_id="u-1")], actor=system_actor
    )

    person.refresh_from_db()
    assert (person.first_seen_at, person.last_seen_at) == (at(5), at(30))
    assert hot_updates() == (updated + 1, hot + 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'customers_customer'")
        assert cursor.fetchone()[0] == ["fillfactor=70"]


# --- joining records ---------------------------------------------------------------------------


def test_an_anonymous_visitor_logging_in_as_a_known_user_is_merged_into_them(system_actor):
    visitor = known((IdentityKind.ANONYMOUS_ID, "a-1"), identified=False, city="Porto")
    person = known((IdentityKind.USER_ID, "u-1"))

    resolved = identities_resolve(
        [claim("m1", user_id="u-1", anonymous_id="a-1")], actor=system_actor
    )

    assert resolved.customer_ids == {"m1": person.pk}
    assert resolved.merged_customer_ids == {visitor.pk}
    assert not Customer.objects.filter(pk=visitor.pk).exists()
    assert owner(IdentityKind.ANONYMOUS_ID, "a-1") == person.pk
    person.refresh_from_db()
    assert person.city == "Porto"
    assert AuditEntry.objects.filter(action="customer.merged").count() == 2


def test_an_anonymous_visitor_with_a_new_user_id_becomes_identified(system_actor):
    visitor = known((IdentityKind.ANONYMOUS_ID, "a-1"), identified=False)

    resolved = identities_resolve(
        [claim("m1", user_id="u-new", anonymous_id="a-1")], actor=system_actor
    )

    visitor.refresh_from_db()
    assert resolved.customer_ids == {"m1": visitor.pk}
    assert visitor.is_identified is True
    assert owner(IdentityKind.USER_ID, "u-new") == visitor.pk
    assert Customer.objects.count() == 1
    assert AuditEntry.objects.filter(action="customer.identified", customer_id=visitor.pk).exists()


def test_an_anonymous_id_of_another_user_is_a_conflict_not_a_merge(system_actor):
    other = known((IdentityKind.USER_ID, "u-other"), (IdentityKind.ANONYMOUS_ID, "a-1"))
    person = known((IdentityKind.USER_ID, "u-1"))

    resolved = identities_resolve(
        [claim("m1", user_id="u-1", anonymous_id="a-1")], actor=system_actor
    )

    assert resolved.customer_ids == {"m1": person.pk}
    assert resolved.conflicts == 1
    assert Customer.objects.count() == 2
    assert owner(IdentityKind.ANONYMOUS_ID, "a-1") == other.pk
    conflict = IdentityConflict.objects.get()
    assert (conflict.kind, conflict.value, conflict.message_id) == ("anonymous_id", "a-1", "m1")
    assert (conflict.existing_customer_id, conflict.claiming_customer_id) == (other.pk, person.pk)


def test_an_unknown_user_id_with_another_users_anonymous_id_gets_its_own_customer(
    system_actor,
):
    other = known((IdentityKind.USER_ID, "u-other"), (IdentityKind.ANONYMOUS_ID, "a-1"))

    resolved = identities_resolve(
        [claim("m1", user_id="u-new", anonymous_id="a-1")], actor=system_actor
    )

    new_customer = owner(IdentityKind.USER_ID, "u-new")
    assert new_customer != other.pk
    assert resolved.customer_ids == {"m1": new_customer}
    assert IdentityConflict.objects.get().claiming_customer_id == new_customer
    assert owner(IdentityKind.ANONYMOUS_ID, "a-1") == other.pk


def test_the_same_conflict_is_recorded_once(system_actor):
    known((IdentityKind.USER_ID, "u-other"), (IdentityKind.ANONYMOUS_ID, "a-1"))
    known((IdentityKind.USER_ID, "u-1"))

    identities_resolve([claim("m1", user_id="u-1", anonymous_id="a-1")], actor=system_actor)
    identities_resolve([claim("m2", user_id="u-1", anonymous_id="a-1")], actor=system_actor)

    assert IdentityConflict.objects.count() == 1


def test_an_email_of_a_record_without_user_id_takes_the_new_user_id(system_actor):
    imported = known((IdentityKind.EMAIL, "ana@example.com"), first_name="Ana")

    resolved = identities_resolve(
        [claim("m1", user_id="u-1", email="ana@example.com")], actor=system_actor
    )

    assert resolved.customer_ids == {"m1": imported.pk}
    assert owner(IdentityKind.USER_ID, "u-1") == imported.pk
    assert Customer.objects.count() == 1


def test_an_email_links_a_known_user_and_a_record_without_user_id(system_actor):
    imported = known((IdentityKind.EMAIL, "ana@example.com"), first_name="Ana")
    person = known((IdentityKind.USER_ID, "u-1"))

    resolved = identities_resolve(
        [claim("m1", user_id="u-1", email="ana@example.com")], actor=system_actor
    )

    assert resolved.customer_ids == {"m1": person.pk}
    assert not Customer.objects.filter(pk=imported.pk).exists()
    person.refresh_from_db()
    assert person.first_name == "Ana"
    assert owner(IdentityKind.EMAIL, "ana@example.com") == person.pk


def test_an_email_of_another_user_is_a_conflict(system_actor):
    other = known((IdentityKind.USER_ID, "u-other"), (IdentityKind.EMAIL, "ana@example.com"))
    person = known((IdentityKind.USER_ID, "u-1"))

    resolved = identities_resolve(
        [claim("m1", user_id="u-1", email="ana@example.com")], actor=system_actor
    )

    assert resolved.customer_ids == {"m1": person.pk}
    assert owner(IdentityKind.EMAIL, "ana@example.com") == other.pk
    conflict = IdentityConflict.objects.get()
    assert (conflict.kind, conflict.existing_customer_id) == ("email", other.pk)
    assert Customer.objects.count() == 2


def test_an_anonymous_identify_with_a_known_email_folds_the_visitor_into_its_owner(system_actor):
    visitor = known((IdentityKind.ANONYMOUS_ID, "a-1"), identified=False)
    person = known((IdentityKind.USER_ID, "u-1"), (IdentityKind.EMAIL, "ana@example.com"))

    resolved = identities_resolve(
        [claim("m1", anonymous_id="a-1", email="ana@example.com")], actor=system_actor
    )

    assert resolved.customer_ids == {"m1": person.pk}
    assert not Customer.objects.filter(pk=visitor.pk).exists()


def test_events_before_a_merge_in_the_same_batch_follow_the_merge(system_actor):
    person = known((IdentityKind.USER_ID, "u-1"), (IdentityKind.EMAIL, "ana@example.com"))

    resolved = identities_resolve(
        [
            claim("m1", anonymous_id="a-1"),
            claim("m2", 1, anonymous_id="a-1", email="ana@example.com"),
        ],
        actor=system_actor,
    )

    assert resolved.customer_ids == {"m1": person.pk, "m2": person.pk}
    assert Customer.objects.count() == 1


# --- alias -------------------------------------------------------------------------------------


def test_alias_merges_the_previous_visitor_into_the_user(system_actor):
    visitor = known((IdentityKind.ANONYMOUS_ID, "a-1"), identified=False)
    person = known((IdentityKind.USER_ID, "u-1"))

    resolved = identities_resolve(
        [claim("m1", user_id="u-1", previous_id="a-1")], actor=system_actor
    )

    assert resolved.customer_ids == {"m1": person.pk}
    assert not Customer.objects.filter(pk=visitor.pk).exists()


def test_alias_to_a_new_user_id_renames_the_previous_customer(system_actor):
    old = known((IdentityKind.USER_ID, "old-id"))

    resolved = identities_resolve(
        [claim("m1", user_id="new-id", previous_id="old-id")], actor=system_actor
    )

    assert resolved.customer_ids == {"m1": old.pk}
    assert owner(IdentityKind.USER_ID, "new-id") == old.pk
    assert Customer.objects.count() == 1


def test_alias_from_an_unknown_id_remembers_it(system_actor):
    person = known((IdentityKind.USER_ID, "u-1"))

    identities_resolve([claim("m1", user_id="u-1", previous_id="a-9")], actor=system_actor)

    assert owner(IdentityKind.ANONYMOUS_ID, "a-9") == person.pk


def test_alias_between_two_user_ids_is_a_conflict(system_actor):
    first = known((IdentityKind.USER_ID, "u-1"))
    second = known((IdentityKind.USER_ID, "u-2"))

    resolved = identities_resolve(
        [claim("m1", user_id="u-2", previous_id="u-1")], actor=system_actor
    )

    assert resolved.customer_ids == {"m1": second.pk}
    assert Customer.objects.filter(pk__in=[first.pk, second.pk]).count() == 2
    conflict = IdentityConflict.objects.get()
    assert (conflict.kind, conflict.value) == ("user_id", "u-1")


def test_a_claim_without_any_id_is_refused(system_actor):
    from patron.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        identities_resolve([claim("m1", email="ana@example.com")], actor=system_actor)

    assert Customer.objects.count() == 0


def test_an_identity_taken_meanwhile_goes_to_its_owner():
    holder = known((IdentityKind.ANONYMOUS_ID, "a-1"))
    latecomer = Customer.objects.create()

    owners = _identities_insert(
        {
            (IdentityKind.ANONYMOUS_ID, "a-1"): latecomer.pk,
            (IdentityKind.ANONYMOUS_ID, "a-2"): latecomer.pk,
        },
        at=T0,
    )

    assert owners == {
        (IdentityKind.ANONYMOUS_ID, "a-1"): holder.pk,
        (IdentityKind.ANONYMOUS_ID, "a-2"): latecomer.pk,
    }


# --- traits ------------------------------------------------------------------------------------


def test_attribute_types_are_inferred_from_the_first_value():
    assert attribute_type_infer("gold") == AttributeType.TEXT
    assert attribute_type_infer("2024-05-01") == AttributeType.DATE
    assert attribute_type_infer("2024-05-01T10:00:00Z") == AttributeType.DATETIME
    assert attribute_type_infer(True) == AttributeType.BOOLEAN
    assert attribute_type_infer(3) == AttributeType.INTEGER
    assert attribute_type_infer(2.5) == AttributeType.NUMBER
    assert attribute_type_infer(["a"]) is None
    assert attribute_type_infer({"a": 1}) is None


def test_attribute_keys_come_from_camel_case_and_spaces():
    assert attribute_key_from_name("planType") == "plan_type"
    assert attribute_key_from_name("Shoe Size") == "shoe_size"
    assert attribute_key_from_name("plan-type") == "plan_type"


def test_traits_apply_profile_fields_and_audit_them(system_actor):
    person = known((IdentityKind.USER_ID, "u-1"))

    problems = customer_traits_apply(
        customer_id=person.pk,
        traits=TraitValues(
            fields={
                "first_name": "Ana",
                "email": "Ana@Example.com",
                "phone": "020 7946 0958",
                "country": "gb",
                "timezone": "Europe/London",
            }
        ),
        actor=system_actor,
        at=T0,
    )

    person.refresh_from_db()
    assert problems == []
    assert (person.first_name, person.email, person.phone, person.country) == (
        "Ana",
        "ana@example.com",
        "+442079460958",
        "GB",
    )
    assert owner(IdentityKind.EMAIL, "ana@example.com") == person.pk
    assert AuditEntry.objects.filter(action="customer.updated", customer_id=person.pk).count() == 1


def test_an_invalid_email_is_a_problem_and_the_rest_is_applied(system_actor):
    person = known((IdentityKind.USER_ID, "u-1"))

    problems = customer_traits_apply(
        customer_id=person.pk,
        traits=TraitValues(
            fields={"email": "not-an-email", "first_name": "Ana", "phone": "12"},
            origins={"email": "traits.email", "phone": "traits.phone"},
        ),
        actor=system_actor,
        at=T0,
    )

    person.refresh_from_db()
    assert sorted(problem.field for problem in problems) == ["traits.email", "traits.phone"]
    assert person.first_name == "Ana"
    assert person.email is None
    assert not Identity.objects.filter(kind=IdentityKind.EMAIL).exists()


def test_an_anonymous_customer_giving_an_email_becomes_identified(system_actor):
    visitor = known((IdentityKind.ANONYMOUS_ID, "a-1"), identified=False)

    customer_traits_apply(
        customer_id=visitor.pk,
        traits=TraitValues(fields={"email": "ana@example.com"}),
        actor=system_actor,
        at=T0,
    )

    visitor.refresh_from_db()
    assert visitor.is_identified is True


def test_an_email_of_someone_else_is_not_applied(system_actor):
    other = known((IdentityKind.EMAIL, "ana@example.com"))
    person = known((IdentityKind.USER_ID, "u-1"))

    problems = customer_traits_apply(
        customer_id=person.pk,
        traits=TraitValues(fields={"email": "ana@example.com", "city": "Leeds"}),
        actor=system_actor,
        at=T0,
    )

    person.refresh_from_db()
    assert [(problem.field, problem.message) for problem in problems] == [
        ("email", f"already belongs to customer {other.pk}; not applied")
    ]
    assert (person.email, person.city) == (None, "Leeds")


def test_empty_values_change_nothing(system_actor):
    person = known((IdentityKind.USER_ID, "u-1"), first_name="Ana")

    problems = customer_traits_apply(
        customer_id=person.pk,
        traits=TraitValues(fields={"first_name": "", "last_name": None}),
        actor=system_actor,
        at=T0,
    )

    person.refresh_from_db()
    assert problems == []
    assert person.first_name == "Ana"
    assert not AuditEntry.objects.filter(action="customer.updated").exists()


def test_unknown_attributes_are_defined_from_their_first_value(system_actor):
    person = known((IdentityKind.USER_ID, "u-1"))

    problems = customer_traits_apply(
        customer_id=person.pk,
        traits=TraitValues(
            attributes={
                "plan": "pro",
                "seats": 4,
                "score": 0.5,
                "is_beta": True,
                "renews_on": "2026-09-01",
            }
        ),
        actor=system_actor,
        at=T0,
    )

    person.refresh_from_db()
    assert problems == []
    assert dict(AttributeDefinition.objects.values_list("key", "type")) == {
        "plan": "text",
        "seats": "integer",
        "score": "number",
        "is_beta": "boolean",
        "renews_on": "date",
    }
    assert person.attributes == {
        "plan": "pro",
        "seats": 4,
        "score": 0.5,
        "is_beta": True,
        "renews_on": "2026-09-01",
    }
    assert AuditEntry.objects.filter(action="attribute.defined").count() == 5


def test_a_value_of_another_type_than_the_attribute_is_a_problem_not_stored(system_actor):
    AttributeDefinition.objects.create(key="seats", label="Seats", type=AttributeType.INTEGER)
    person = known((IdentityKind.USER_ID, "u-1"), attributes={"seats": 4})

    problems = customer_traits_apply(
        customer_id=person.pk,
        traits=TraitValues(
            attributes={"seats": "many", "plan": "pro"},
            origins={"attributes.seats": "traits.seats"},
        ),
        actor=system_actor,
        at=T0,
    )

    person.refresh_from_db()
    assert [problem.field for problem in problems] == ["traits.seats"]
    assert "integer" in problems[0].message
    assert person.attributes == {"seats": 4, "plan": "pro"}


def test_lists_objects_and_bad_keys_are_not_attributes(system_actor):
    person = known((IdentityKind.USER_ID, "u-1"))

    problems = customer_traits_apply(
        customer_id=person.pk,
        traits=TraitValues(attributes={"tags": ["a"], "9lives": 1, "nested": {"a": 1}}),
        actor=system_actor,
        at=T0,
    )

    person.refresh_from_db()
    assert sorted(problem.field for problem in problems) == [
        "attributes.9lives",
        "attributes.nested",
        "attributes.tags",
    ]
    assert person.attributes == {}
    assert AttributeDefinition.objects.count() == 0


def test_birthday_becomes_a_milestone_and_moves_when_corrected(system_actor):
    person = known((IdentityKind.USER_ID, "u-1"))

    customer_traits_apply(
        customer_id=person.pk, traits=TraitValues(birthday="1990-05-01"), actor=system_actor, at=T0
    )
    customer_traits_apply(
        customer_id=person.pk, traits=TraitValues(birthday="1990-05-01"), actor=system_actor, at=T0
    )
    customer_traits_apply(
        customer_id=person.pk,
        traits=TraitValues(birthday="1990-06-01T00:00:00Z"),
        actor=system_actor,
        at=T0,
    )

    milestone = Milestone.objects.get()
    assert (milestone.kind, milestone.date, milestone.is_recurring_yearly) == (
        MilestoneKind.BIRTHDAY,
        date(1990, 6, 1),
        True,
    )
    assert AuditEntry.objects.filter(action="customer.milestone_set").count() == 2


def test_an_invalid_birthday_is_a_problem(system_actor):
    person = known((IdentityKind.USER_ID, "u-1"))

    problems = customer_traits_apply(
        customer_id=person.pk,
        traits=TraitValues(birthday="someday", origins={"birthday": "traits.birthday"}),
        actor=system_actor,
        at=T0,
    )

    assert [problem.field for problem in problems] == ["traits.birthday"]
    assert Milestone.objects.count() == 0


def test_account_creation_moves_first_seen_earlier_only(system_actor):
    person = known((IdentityKind.USER_ID, "u-1"), first_seen_at=at(0))

    customer_traits_apply(
        customer_id=person.pk,
        traits=TraitValues(account_created_at="2020-01-01T00:00:00Z"),
        actor=system_actor,
        at=T0,
    )
    customer_traits_apply(
        customer_id=person.pk,
        traits=TraitValues(account_created_at="2030-01-01T00:00:00Z"),
        actor=system_actor,
        at=T0,
    )

    person.refresh_from_db()
    assert person.first_seen_at == datetime(2020, 1, 1, tzinfo=UTC)


def test_script_tags_in_traits_are_stored_verbatim(system_actor):
    person = known((IdentityKind.USER_ID, "u-1"))

    customer_traits_apply(
        customer_id=person.pk,
        traits=TraitValues(
            fields={"first_name": "<script>alert(1)</script>"},
            attributes={"nickname": "<img src=x onerror=alert(1)>"},
        ),
        actor=system_actor,
        at=T0,
    )

    person.refresh_from_db()
    assert person.first_name == "<script>alert(1)</script>"
    assert person.attributes == {"nickname": "<img src=x onerror=alert(1)>"}


# --- time parameters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        None,
        datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
        datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC),
        datetime(2026, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2026, 3, 1, 12, 0),
    ],
)
def test_the_time_adapter_writes_what_django_writes(value):
    adapt = datetime_adapter()

    assert adapt(value) == connection.ops.adapt_datetimefield_value(value)
    assert adapt(value) == connection.ops.adapt_datetimefield_value(value)  # remembered


def test_one_time_in_two_zones_is_one_parameter():
    adapt = datetime_adapter()
    moment = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    assert adapt(moment.astimezone(timezone(timedelta(hours=2)))) == adapt(moment)
