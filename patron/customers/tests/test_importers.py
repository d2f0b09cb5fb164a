"""Importing customers from CSV: generic and Shopify files, matching, changes only, bad rows."""

from __future__ import annotations

import csv
import shutil
from datetime import date
from pathlib import Path

import pytest

from patron.accounts.models import AuditEntry
from patron.core import tabular
from patron.core.actors import Actor
from patron.core.tabular import ImportOutcome, RowProblem, WriteCounts, table_import
from patron.customers.importers import CustomerImporter, CustomerReference, customers_ensure
from patron.customers.models import (
    AttributeDefinition,
    AttributeType,
    Customer,
    Identity,
    IdentityKind,
    Milestone,
    Note,
    Tag,
)
from patron.customers.services.profile import customer_create

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"
ACTOR = Actor.system("import")


def fixture_copy(tmp_path: Path, name: str) -> Path:
    """A copy in a fresh folder, so files written beside it stay out of the repository."""
    return Path(shutil.copy(DATA / name, tmp_path / name))


def write_csv(tmp_path: Path, text: str, name: str = "customers.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(
    path: Path, *, is_dry_run: bool = False, is_skipping_bad_rows: bool = False
) -> ImportOutcome:
    return table_import(
        path,
        CustomerImporter(actor=ACTOR),
        is_dry_run=is_dry_run,
        is_skipping_bad_rows=is_skipping_bad_rows,
    )


def test_generic_file_creates_customers_with_identities_tags_birthday_and_note(tmp_path):
    path = fixture_copy(tmp_path, "customers_generic.csv")

    outcome = run(path)

    assert outcome.format_name == "generic"
    assert outcome.counts == WriteCounts(created=4)
    ana = Customer.objects.get(email="ana.silva@example.com")
    assert (ana.first_name, ana.last_name, ana.phone, ana.country, ana.city) == (
        "Ana",
        "Silva",
        "+442079460958",
        "GB",
        "London",
    )
    assert (ana.locale, ana.timezone, ana.lifecycle_stage) == ("en-GB", "Europe/London", "active")
    assert set(ana.identities.values_list("kind", "value")) == {
        (IdentityKind.EXTERNAL_ID, "C-1001"),
        (IdentityKind.EMAIL, "ana.silva@example.com"),
        (IdentityKind.PHONE, "+442079460958"),
    }
    assert sorted(ana.tags.values_list("name", flat=True)) == ["newsletter", "vip"]
    assert Milestone.objects.get(customer=ana).date == date(1990, 4, 12)
    assert Note.objects.get(customer=ana).body == "Prefers morning calls"
    ben = Customer.objects.get(email="ben.okafor@example.com")
    assert Note.objects.get(customer=ben).body == "Asked about\ngift wrapping"
    assert Tag.objects.count() == 2
    assert Identity.objects.count() == 4 + 4 + 2
    assert AuditEntry.objects.filter(action="customer.created").count() == 4


def test_rerunning_the_same_file_changes_nothing(tmp_path):
    path = fixture_copy(tmp_path, "customers_generic.csv")
    run(path)
    before = (
        Customer.objects.count(),
        Identity.objects.count(),
        Note.objects.count(),
        Milestone.objects.count(),
        AuditEntry.objects.count(),
    )

    outcome = run(path)

    assert outcome.counts == WriteCounts(unchanged=4)
    assert (
        Customer.objects.count(),
        Identity.objects.count(),
        Note.objects.count(),
        Milestone.objects.count(),
        AuditEntry.objects.count(),
    ) == before


def test_shopify_export_is_recognised_and_mapped(tmp_path):
    path = fixture_copy(tmp_path, "customers_shopify.csv")

    outcome = run(path)

    assert outcome.format_name == "shopify"
    assert "Total Spent" in outcome.ignored_columns
    assert "Accepts Email Marketing" in outcome.ignored_columns
    assert outcome.counts == WriteCounts(created=3)
    emma = Customer.objects.get(email="emma.clarke@example.co.uk")
    assert (emma.phone, emma.city, emma.country) == ("+447911123456", "Bristol", "GB")
    assert sorted(emma.tags.values_list("name", flat=True)) == ["repeat buyer", "vip"]
    assert Identity.objects.get(kind=IdentityKind.EXTERNAL_ID, value="7012345678901").customer == (
        emma
    )
    assert Note.objects.get(customer=emma).body == "Likes the lavender range"


def test_a_matched_customer_gets_only_the_changed_fields_and_empty_cells_keep_values(
    tmp_path,
):
    existing = customer_create(
        actor=ACTOR,
        fields={"email": "ana@example.com", "first_name": "Ana", "city": "Porto"},
    )
    path = write_csv(tmp_path, "email,first_name,last_name,city\nANA@example.com,Ana,,Lisbon\n")

    outcome = run(path)

    assert outcome.counts == WriteCounts(updated=1)
    existing.refresh_from_db()
    assert (existing.first_name, existing.city) == ("Ana", "Lisbon")
    entry = AuditEntry.objects.get(action="customer.updated")
    assert entry.customer_id == existing.pk
    assert entry.changes == {"city": ["Porto", "Lisbon"]}
    assert Customer.objects.count() == 1


def test_a_dry_run_changes_nothing(tmp_path):
    path = fixture_copy(tmp_path, "customers_generic.csv")

    outcome = run(path, is_dry_run=True)

    assert outcome.problem_count == 0
    assert outcome.counts is None
    assert Customer.objects.count() == 0
    assert Identity.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_a_bad_row_at_the_end_means_nothing_is_written(tmp_path):
    text = (DATA / "customers_generic.csv").read_text(encoding="utf-8")
    path = write_csv(tmp_path, text + "C-1005,not-an-email,,Eve,,,,,,,,,\n")

    outcome = run(path)

    assert outcome.counts is None
    assert outcome.problems == (
        RowProblem(
            7,
            "email",
            "'not-an-email' is not a valid email address: An email address must have an @-sign.",
        ),
    )
    assert Customer.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_invalid_phone_and_timezone_name_their_columns(tmp_path):
    path = write_csv(
        tmp_path,
        "email,phone,timezone\nana@example.com,12,Mars/Olympus\n",
    )

    outcome = run(path, is_dry_run=True)

    assert [(problem.row, problem.column) for problem in outcome.problems] == [
        (2, "phone"),
        (2, "timezone"),
    ]


def test_formulas_and_script_tags_are_stored_as_text(tmp_path):
    path = write_csv(
        tmp_path,
        "email,first_name,last_name,city\n"
        'eve@example.com,"=HYPERLINK(""http://evil.example"",""x"")",+cmd|\' /C calc\'!A0,'
        "<script>alert(1)</script>\n",
    )

    run(path)

    eve = Customer.objects.get(email="eve@example.com")
    assert eve.first_name == '=HYPERLINK("http://evil.example","x")'
    assert eve.last_name == "+cmd|' /C calc'!A0"
    assert eve.city == "<script>alert(1)</script>"


def test_the_same_email_twice_in_a_file_rejects_the_later_row(tmp_path):
    path = write_csv(
        tmp_path,
        "email,first_name\nana@example.com,Ana\nben@example.com,Ben\nAna@Example.com,Anna\n",
    )

    outcome = run(path, is_skipping_bad_rows=True)

    assert outcome.problems == (
        RowProblem(
            4, "email", "the same value is already on row 2; each record may appear once per file"
        ),
    )
    assert outcome.counts == WriteCounts(created=2)
    assert Customer.objects.get(email="ana@example.com").first_name == "Ana"


def test_two_rows_reaching_one_customer_by_different_keys_reject_the_later(tmp_path):
    customer_create(actor=ACTOR, fields={"email": "ana@example.com"}, external_id="A-1")
    path = write_csv(tmp_path, "external_id,email,city\nA-1,,Lisbon\n,ana@example.com,Porto\n")

    outcome = run(path)

    assert outcome.problems == (
        RowProblem(
            3,
            "email",
            "row 2 already updates the same customer; each customer may appear once per file",
        ),
    )
    assert outcome.counts is None


def test_keys_of_two_different_customers_are_a_bad_row(tmp_path):
    ana = customer_create(actor=ACTOR, fields={"email": "ana@example.com"}, external_id="A-1")
    ben = customer_create(actor=ACTOR, fields={"email": "ben@example.com"})
    path = write_csv(tmp_path, "external_id,email\nA-1,ben@example.com\n")

    outcome = run(path)

    assert outcome.problems == (
        RowProblem(
            2,
            "email",
            f"'ben@example.com' belongs to customer #{ben.pk}, but external_id is customer "
            f"#{ana.pk}'s; merge the two customers first or correct the row",
        ),
    )


def test_a_row_without_any_key_is_bad(tmp_path):
    path = write_csv(tmp_path, "email,first_name\n,Ana\n")

    outcome = run(path)

    assert outcome.problems == (
        RowProblem(2, "", "needs email to know who the customer is; all are empty"),
    )


def test_custom_attribute_columns_are_checked_against_their_definitions(tmp_path):
    AttributeDefinition.objects.create(key="vip", label="VIP", type=AttributeType.BOOLEAN)
    AttributeDefinition.objects.create(
        key="shoe_size", label="Shoe size", type=AttributeType.INTEGER
    )
    path = write_csv(
        tmp_path,
        "email,attributes.vip,attributes.shoe_size,attributes.colour\n"
        "ana@example.com,yes,38,\n"
        "ben@example.com,perhaps,4.5,\n"
        "cleo@example.com,no,,blue\n",
    )

    outcome = run(path, is_skipping_bad_rows=True)

    assert [(problem.row, problem.column) for problem in outcome.problems] == [
        (3, "attributes.vip"),
        (3, "attributes.shoe_size"),
        (4, "attributes.colour"),
    ]
    assert Customer.objects.get(email="ana@example.com").attributes == {
        "vip": True,
        "shoe_size": 38,
    }
    assert Customer.objects.count() == 1


def test_skipping_bad_rows_writes_the_good_ones_and_the_rejected_file(tmp_path):
    path = write_csv(
        tmp_path,
        "email,phone,first_name\nana@example.com,,Ana\nbroken,,Ben\ncleo@example.com,+1 555,Cleo\n",
    )

    outcome = run(path, is_skipping_bad_rows=True)

    assert outcome.counts == WriteCounts(created=1)
    assert list(Customer.objects.values_list("email", flat=True)) == ["ana@example.com"]
    with (tmp_path / "customers.rejected.csv").open(newline="", encoding="utf-8") as file:
        rejected = list(csv.DictReader(file))
    assert [(row["_row"], row["first_name"]) for row in rejected] == [("3", "Ben"), ("4", "Cleo")]
    assert rejected[0]["_error"].startswith("email: 'broken' is not a valid email address")
    assert rejected[1]["_error"].startswith("phone: '+1 555' is not")


def test_twenty_thousand_rows_are_written_across_batches(tmp_path):
    lines = ["external_id,email,first_name,tags"]
    lines += [f"X-{n},person{n}@example.com,Person {n},bulk" for n in range(20_000)]
    path = write_csv(tmp_path, "\n".join(lines) + "\n")

    outcome = run(path)

    assert outcome.counts == WriteCounts(created=20_000)
    assert Customer.objects.count() == 20_000
    assert Identity.objects.filter(kind=IdentityKind.EMAIL).count() == 20_000
    assert Identity.objects.filter(kind=IdentityKind.EXTERNAL_ID).count() == 20_000
    assert Tag.objects.get().customers.count() == 20_000
    assert AuditEntry.objects.filter(action="customer.created").count() == 20_000
    assert Customer.objects.get(email="person19999@example.com").first_name == "Person 19999"


def test_customers_ensure_finds_known_and_creates_unknown_once(tmp_path):
    known = customer_create(actor=ACTOR, fields={"email": "ana@example.com"})

    ids = customers_ensure(
        [
            CustomerReference(email="ana@example.com", external_id=None),
            CustomerReference(email="new@example.com", external_id="N-1"),
            CustomerReference(email=None, external_id="N-1"),
            CustomerReference(email="new@example.com", external_id=None),
        ],
        actor=ACTOR,
    )

    assert ids[0] == known.pk
    assert ids[1] == ids[2] == ids[3] != known.pk
    created = Customer.objects.get(pk=ids[1])
    assert set(created.identities.values_list("kind", "value")) == {
        (IdentityKind.EMAIL, "new@example.com"),
        (IdentityKind.EXTERNAL_ID, "N-1"),
    }
    assert AuditEntry.objects.get(action="customer.created", customer_id=created.pk).changes == {
        "external_id": [None, "N-1"],
        "email": [None, "new@example.com"],
    }


def test_a_row_repeating_an_earlier_rows_other_key_names_that_row(tmp_path):
    path = write_csv(
        tmp_path,
        "external_id,email\nX-1,ana@example.com\nY-1,ana@example.com\nY-1,\n",
    )

    outcome = run(path, is_skipping_bad_rows=True)

    assert outcome.problems == (
        RowProblem(
            3, "email", "the same value is already on row 2; each record may appear once per file"
        ),
        RowProblem(
            4,
            "external_id",
            "the same value is already on row 3; each record may appear once per file",
        ),
    )
    assert outcome.counts == WriteCounts(created=1)
    assert Identity.objects.filter(kind=IdentityKind.EXTERNAL_ID).count() == 1


@pytest.mark.parametrize("is_dry_run", [True, False])
def test_rows_are_judged_against_the_database_as_the_import_found_it(
    tmp_path, monkeypatch, is_dry_run
):
    # One row per batch, so row 2 is written before row 3 is checked in a real run; row 3
    # must not see row 2's new email as someone else's, or dry and real runs would differ.
    monkeypatch.setattr(tabular, "BATCH_SIZE", 1)
    customer_create(actor=ACTOR, fields={"first_name": "Pat"}, external_id="P-1")
    path = write_csv(
        tmp_path,
        "external_id,email,city\nN-1,new@example.com,Lisbon\nP-1,new@example.com,Porto\n",
    )

    outcome = run(path, is_dry_run=is_dry_run, is_skipping_bad_rows=not is_dry_run)

    assert outcome.problems == (
        RowProblem(
            3, "email", "the same value is already on row 2; each record may appear once per file"
        ),
    )
    if not is_dry_run:
        assert outcome.counts == WriteCounts(created=1)
        assert Customer.objects.get(email="new@example.com").city == "Lisbon"
        assert Customer.objects.get(first_name="Pat").city == ""


def test_a_file_with_a_bad_row_in_a_later_batch_writes_no_customer(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "BATCH_SIZE", 2)
    path = write_csv(
        tmp_path,
        "email,first_name\na@example.com,A\nb@example.com,B\nc@example.com,C\nbroken,D\n",
    )

    outcome = run(path)

    assert outcome.counts is None
    assert [(problem.row, problem.column) for problem in outcome.problems] == [(5, "email")]
    assert Customer.objects.count() == 0
    assert Identity.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_a_large_file_is_cleaned_by_a_worker_process_with_the_same_result(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "BATCH_SIZE", 50)
    lines = ["external_id,email,first_name,tags,attributes.vip"]
    lines += [
        f"X-{n},person{n}@example.com,Person {n},bulk,{'yes' if n % 2 else 'no'}"
        for n in range(300)
    ]
    lines += ["X-7,someone@example.com,Again,,", "X-301,not-an-email,Bad,,"]
    AttributeDefinition.objects.create(key="vip", label="VIP", type=AttributeType.BOOLEAN)
    monkeypatch.setattr(tabular, "WORKER_MINIMUM_ROWS", 1)
    path = write_csv(tmp_path, "\n".join(lines) + "\n")

    outcome = run(path, is_skipping_bad_rows=True)

    assert [(problem.row, problem.column) for problem in outcome.problems] == [
        (302, "external_id"),
        (303, "email"),
    ]
    assert outcome.counts == WriteCounts(created=300)
    assert Customer.objects.filter(attributes__vip=True).count() == 150
    assert Tag.objects.get().customers.count() == 300
    assert AuditEntry.objects.filter(action="customer.created").count() == 300
