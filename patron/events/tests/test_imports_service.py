"""Import runs from the workspace: upload, mapping, check and import in the worker, files."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from patron.accounts.models import AuditEntry
from patron.catalog.importers import ProductImporter
from patron.core.actors import Actor
from patron.core.errors import Conflict, ValidationFailed
from patron.customers.importers import CustomerImporter
from patron.customers.models import Customer
from patron.events import selectors
from patron.events.models import ImportMode, ImportProblem, ImportRun, ImportStatus
from patron.events.services import imports
from patron.events.services.messages import WarningCode
from patron.orders.importers import OrderImporter
from patron.orders.models import Order

pytestmark = pytest.mark.django_db

REPOSITORY = Path(__file__).resolve().parents[3]
SHOPIFY_CUSTOMERS = REPOSITORY / "patron/customers/tests/data/customers_shopify.csv"
ACTOR = Actor.system("tests")


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path / "media"


def upload(text: str | bytes, *, kind: str = "customers", source_name: str = "") -> ImportRun:
    data = text.encode() if isinstance(text, str) else text
    return imports.import_upload(
        kind=kind,
        file_name="people.csv",
        chunks=[data[index : index + 7] for index in range(0, len(data), 7)],
        source_name=source_name,
        actor=ACTOR,
        created_by=None,
    )


def run_mode(run: ImportRun, mode: str, capture) -> ImportRun:
    with capture(execute=True):
        imports.import_run_start(run_id=run.pk, mode=mode, actor=ACTOR, user=None)
    return ImportRun.objects.get(pk=run.pk)


def mapped(text: str | bytes, **options) -> ImportRun:
    run = upload(text, **options)
    return imports.import_run_map(
        run_id=run.pk, format_name=run.format_name, mapping=run.mapping, actor=ACTOR
    )


GOOD_AND_BAD = (
    "E-mail,first_name,Shoe size\n"
    "ana@example.com,Ana,38\n"
    'not-an-email,=HYPERLINK("http://x"),40\n'
    "ben@example.com,<script>alert(1)</script>,44\n"
)


def test_the_cli_and_the_workspace_share_one_choice_of_importer():
    assert isinstance(
        imports.importer_for("customers", source_name="x", actor=ACTOR), CustomerImporter
    )
    assert isinstance(
        imports.importer_for("products", source_name="x", actor=ACTOR), ProductImporter
    )
    assert isinstance(imports.importer_for("orders", source_name="x", actor=ACTOR), OrderImporter)
    with pytest.raises(ValidationFailed) as raised:
        imports.importer_for("refunds", source_name="x", actor=ACTOR)
    assert raised.value.field == "kind"


def test_an_upload_is_stored_under_media_and_its_columns_suggested(media):
    run = upload(SHOPIFY_CUSTOMERS.read_bytes())

    assert (media / "imports" / f"{run.token}.csv").read_bytes() == SHOPIFY_CUSTOMERS.read_bytes()
    assert run.status == ImportStatus.UPLOADED
    assert run.format_name == "shopify"
    suggested = dict(zip(run.header, run.mapping, strict=True))
    assert suggested["Customer ID"] == "external_id"
    assert suggested["Default Address City"] == "city"
    assert suggested["Accepts Email Marketing"] == ""
    assert AuditEntry.objects.filter(action="import.uploaded", subject_id=str(run.pk)).count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty: its first row must name the columns"),
        (b"\n \n", "the file is empty: its first row must name the columns"),
        (b"email,first_name\n", "the file has a header but no rows: there is nothing to import"),
        (
            "email\nana@example.com\n".encode("utf-16"),
            "the file is UTF-16 text; save it as 'CSV UTF-8' and upload that",
        ),
        (
            "pr\xe9nom,email\nAna,a@example.com\n".encode("latin-1"),
            "the file is not UTF-8 text: row 1 holds the byte 0xE9; save it as 'CSV UTF-8' "
            "and upload it again",
        ),
    ],
    ids=["empty", "blank", "header-only", "utf-16", "latin-1"],
)
def test_an_unusable_file_is_refused_and_not_kept(media, data, message):
    with pytest.raises(ValidationFailed) as raised:
        upload(data)

    assert (raised.value.field, raised.value.message) == ("file", message)
    assert ImportRun.objects.count() == 0
    assert list((media / "imports").iterdir()) == []


def test_a_file_of_another_kind_is_refused_naming_the_kind_it_looks_like():
    orders = "order_id,customer_email,sku,unit_price\n1001,ana@example.com,SKU-1,9.50\n"

    with pytest.raises(ValidationFailed) as raised:
        upload(orders, kind="products")

    assert raised.value.field == "kind"
    assert raised.value.message == (
        "1 of the 4 columns are products columns but 4 are orders columns: choose Orders, "
        "or check the file"
    )


def test_a_file_over_the_size_cap_is_refused(monkeypatch, media):
    monkeypatch.setattr(imports, "MAXIMUM_UPLOAD_BYTES", 20)

    with pytest.raises(ValidationFailed) as raised:
        upload("email\n" + "a@example.com\n" * 5)

    assert raised.value.field == "file"
    assert "larger than" in raised.value.message
    assert list((media / "imports").iterdir()) == []


def test_a_mapping_names_each_problem_at_its_column():
    run = upload("Mail,Other mail,Name\na@example.com,b@example.com,Ana\n")

    with pytest.raises(ValidationFailed) as duplicated:
        imports.import_run_map(
            run_id=run.pk,
            format_name="generic",
            mapping=["email", "email", "no_such_field"],
            actor=ACTOR,
        )
    with pytest.raises(ValidationFailed) as unkeyed:
        imports.import_run_map(
            run_id=run.pk, format_name="generic", mapping=["", "", "first_name"], actor=ACTOR
        )

    assert [(problem.field, problem.message) for problem in duplicated.value.problems] == [
        ("column_1", "column A (Mail) already gives email; ignore one of them"),
        ("column_2", "'no_such_field' is not a field of a customers file"),
    ]
    assert [(problem.field, problem.message) for problem in unkeyed.value.problems] == [
        (
            "mapping",
            "map a column to external_id or email or phone: every row of a customers file needs it",
        )
    ]
    assert ImportRun.objects.get(pk=run.pk).status == ImportStatus.UPLOADED


def test_the_mapped_file_has_the_formats_names_and_every_row_where_it_was(media):
    text = '\nE-mail,Note text,Shoe size\na@example.com,"two\nlines",38\n\nb@example.com,x,40\n'
    run = upload(text)

    run = imports.import_run_map(
        run_id=run.pk, format_name="generic", mapping=["email", "note", ""], actor=ACTOR
    )

    written = (media / "imports" / f"{run.token}.mapped.csv").read_text()
    assert written.splitlines() == [
        "email,note,",
        "",
        'a@example.com,"two',
        'lines",38',
        "",
        "b@example.com,x,40",
    ]
    assert run.status == ImportStatus.MAPPED


def test_a_dry_run_lists_every_bad_row_under_the_files_own_column_names(
    django_capture_on_commit_callbacks,
):
    run = upload(GOOD_AND_BAD)
    run = imports.import_run_map(
        run_id=run.pk, format_name="generic", mapping=["email", "first_name", ""], actor=ACTOR
    )

    run = run_mode(run, ImportMode.DRY_RUN, django_capture_on_commit_callbacks)

    assert (run.status, run.row_count, run.bad_row_count, run.problem_count) == (
        ImportStatus.CHECKED,
        3,
        1,
        1,
    )
    ((row, column, reason),) = ImportProblem.objects.values_list("row", "column", "reason")
    assert (row, column) == (3, "E-mail")
    assert "not-an-email" in reason
    assert Customer.objects.count() == 0
    assert not AuditEntry.objects.filter(action__in=["import.started", "import.finished"]).exists()


def test_a_real_run_with_a_bad_row_writes_nothing_and_says_so(django_capture_on_commit_callbacks):
    run = upload(GOOD_AND_BAD)
    run = imports.import_run_map(
        run_id=run.pk, format_name="generic", mapping=["email", "first_name", ""], actor=ACTOR
    )

    run = run_mode(run, ImportMode.ALL_OR_NOTHING, django_capture_on_commit_callbacks)

    assert run.status == ImportStatus.NOT_IMPORTED
    assert (run.created_count, run.has_rejected_rows) == (None, False)
    assert Customer.objects.count() == 0
    assert list(
        AuditEntry.objects.filter(subject_type="import_run").values_list("action", flat=True)
    ) == ["import.uploaded", "import.mapped", "import.started", "import.finished"]
    finished = AuditEntry.objects.get(action="import.finished")
    assert finished.changes["status"] == "not_imported"


def test_skipping_bad_rows_imports_the_good_ones_and_keeps_the_rejected_safe_to_open(
    django_capture_on_commit_callbacks,
):
    text = (
        "E-mail,first_name,Shoe size\n"
        "ana@example.com,Ana,38\n"
        'broken,"=HYPERLINK(""http://x"")",40\n'
        "ben@example.com,<script>alert(1)</script>,44\n"
    )
    run = upload(text)
    run = imports.import_run_map(
        run_id=run.pk, format_name="generic", mapping=["email", "first_name", ""], actor=ACTOR
    )

    run = run_mode(run, ImportMode.SKIP_BAD_ROWS, django_capture_on_commit_callbacks)

    assert (run.status, run.created_count, run.updated_count, run.unchanged_count) == (
        ImportStatus.IMPORTED,
        2,
        0,
        0,
    )
    assert run.has_rejected_rows
    assert sorted(Customer.objects.values_list("first_name", flat=True)) == [
        "<script>alert(1)</script>",
        "Ana",
    ]
    rows = list(selectors.import_rejected_rows(run))
    assert rows[0] == ["E-mail", "first_name", "Shoe size", "_row", "_error"]
    assert rows[1][:4] == ["broken", '\'=HYPERLINK("http://x")', "40", "3"]
    assert rows[1][4].startswith("email: ")


def test_importing_the_same_file_again_changes_nothing(django_capture_on_commit_callbacks):
    text = "email,first_name\nana@example.com,Ana\nben@example.com,Ben\n"
    first = run_mode(mapped(text), ImportMode.ALL_OR_NOTHING, django_capture_on_commit_callbacks)
    audit_count = AuditEntry.objects.exclude(subject_type="import_run").count()

    again = run_mode(mapped(text), ImportMode.ALL_OR_NOTHING, django_capture_on_commit_callbacks)

    assert (first.created_count, first.unchanged_count) == (2, 0)
    assert (again.status, again.created_count, again.updated_count, again.unchanged_count) == (
        ImportStatus.IMPORTED,
        0,
        0,
        2,
    )
    assert AuditEntry.objects.exclude(subject_type="import_run").count() == audit_count


def test_a_file_broken_after_its_header_fails_with_its_row_and_writes_nothing(
    django_capture_on_commit_callbacks,
):
    # Far enough down that the upload, which reads the file's start, does not see it.
    rows = "".join(f"person{number}@example.com,Name\n" for number in range(1000))
    data = f"email,first_name\n{rows}".encode() + "b@example.com,Andr\xe9\n".encode("latin-1")
    run = mapped(data)

    run = run_mode(run, ImportMode.ALL_OR_NOTHING, django_capture_on_commit_callbacks)

    assert run.status == ImportStatus.FAILED
    assert run.error.startswith("the file is not UTF-8 text: row 1002 holds the byte 0xE9")
    assert Customer.objects.count() == 0


def test_orders_go_to_the_chosen_source(django_capture_on_commit_callbacks):
    text = (
        "order_id,customer_email,placed_at,currency,sku,unit_price\n"
        "1001,ana@example.com,2026-03-01T10:00:00Z,EUR,SKU-1,9.50\n"
    )
    run = mapped(text, kind="orders", source_name="Shop export")

    run_mode(run, ImportMode.ALL_OR_NOTHING, django_capture_on_commit_callbacks)

    assert Order.objects.get().source.name == "Shop export"


def test_a_run_cannot_start_twice_or_after_it_imported(django_capture_on_commit_callbacks):
    run = mapped("email\nana@example.com\n")
    with django_capture_on_commit_callbacks(execute=False):
        imports.import_run_start(run_id=run.pk, mode=ImportMode.DRY_RUN, actor=ACTOR, user=None)

    with pytest.raises(Conflict):
        imports.import_run_start(run_id=run.pk, mode=ImportMode.DRY_RUN, actor=ACTOR, user=None)
    imports.import_run_execute(run_id=run.pk)
    imported = run_mode(run, ImportMode.ALL_OR_NOTHING, django_capture_on_commit_callbacks)
    with pytest.raises(Conflict):
        imports.import_run_start(
            run_id=run.pk, mode=ImportMode.ALL_OR_NOTHING, actor=ACTOR, user=None
        )
    with pytest.raises(Conflict):
        imports.import_run_map(run_id=run.pk, format_name="generic", mapping=["email"], actor=ACTOR)

    assert imported.status == ImportStatus.IMPORTED
    assert imports.import_run_execute(run_id=run.pk) is None  # not queued: left alone
    assert Customer.objects.count() == 1


def test_more_problems_than_the_screen_holds_are_all_kept(django_capture_on_commit_callbacks):
    rows = "".join(f"bad-{number},x\n" for number in range(150))
    run = mapped("email,first_name\n" + rows)

    run = run_mode(run, ImportMode.DRY_RUN, django_capture_on_commit_callbacks)

    assert (run.problem_count, ImportProblem.objects.filter(run=run).count()) == (150, 150)
    assert list(
        ImportProblem.objects.filter(run=run).order_by("pk").values_list("row", flat=True)[:3]
    ) == [2, 3, 4]
    assert set(ImportProblem.objects.values_list("column", flat=True)) == {"email"}


def test_progress_is_read_from_the_workers_file(media):
    run = mapped("email\nana@example.com\n")
    run.status = ImportStatus.RUNNING
    report = imports._progress_to(imports.import_progress_path(run))

    with report("Importing rows") as step:
        step(40, 160)

    assert selectors.import_run_progress(run) == selectors.ImportProgress("Importing rows", 40, 160)
    assert selectors.import_run_progress(run).percent == 25


def test_every_warning_code_is_explained_in_words():
    codes = {value for name, value in vars(WarningCode).items() if name.isupper()}

    assert codes == set(selectors.WARNING_EXPLANATIONS)
    for explanation in selectors.WARNING_EXPLANATIONS.values():
        assert explanation.what_happened.endswith(".")
        assert explanation.how_to_fix.endswith(".")


def test_the_rejected_rows_file_is_a_csv_a_spreadsheet_reads(django_capture_on_commit_callbacks):
    run = run_mode(
        mapped("email,first_name\n@bad,-1+1\nok@example.com,Ok\n"),
        ImportMode.SKIP_BAD_ROWS,
        django_capture_on_commit_callbacks,
    )
    buffer = io.StringIO()
    csv.writer(buffer).writerows(selectors.import_rejected_rows(run))

    assert buffer.getvalue().splitlines()[1].startswith("'@bad,'-1+1,2,")


def test_mapping_again_after_a_check_clears_its_findings(django_capture_on_commit_callbacks):
    run = upload(GOOD_AND_BAD)
    run = imports.import_run_map(
        run_id=run.pk, format_name="generic", mapping=["email", "first_name", ""], actor=ACTOR
    )
    run_mode(run, ImportMode.DRY_RUN, django_capture_on_commit_callbacks)

    run = imports.import_run_map(
        run_id=run.pk, format_name="generic", mapping=["email", "", ""], actor=ACTOR
    )

    assert (run.status, run.row_count, run.problem_count, run.finished_at) == (
        ImportStatus.MAPPED,
        None,
        None,
        None,
    )
    assert not ImportProblem.objects.filter(run=run).exists()
