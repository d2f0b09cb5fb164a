"""The import_csv command that `patron import` runs: its report, exit status and files."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from patron.accounts.models import AuditEntry, Source
from patron.catalog.models import Product
from patron.customers.models import Customer
from patron.orders.models import Order

pytestmark = pytest.mark.django_db

REPOSITORY = Path(__file__).resolve().parents[3]
CUSTOMERS = REPOSITORY / "patron/customers/tests/data/customers_generic.csv"
SHOPIFY_CUSTOMERS = REPOSITORY / "patron/customers/tests/data/customers_shopify.csv"
PRODUCTS = REPOSITORY / "patron/catalog/tests/data/products_generic.csv"
SHOPIFY_ORDERS = REPOSITORY / "patron/orders/tests/data/orders_shopify.csv"


def copy(tmp_path: Path, path: Path) -> Path:
    return Path(shutil.copy(path, tmp_path / path.name))


def import_csv(*arguments: str) -> str:
    output = StringIO()
    call_command("import_csv", *arguments, stdout=output, stderr=StringIO())
    return output.getvalue()


def test_importing_a_generic_file_reports_what_it_did(tmp_path):
    output = import_csv("customers", str(copy(tmp_path, CUSTOMERS)))

    assert output.splitlines() == [
        "customers_generic.csv: 4 rows, generic format",
        "Imported customers: 4 created, 0 updated, 0 unchanged.",
    ]
    assert Customer.objects.count() == 4


def test_running_it_twice_reports_everything_unchanged(tmp_path):
    path = copy(tmp_path, SHOPIFY_CUSTOMERS)
    import_csv("customers", str(path))
    audit_count = AuditEntry.objects.count()

    output = import_csv("customers", str(path))

    assert "Imported customers: 0 created, 0 updated, 3 unchanged." in output
    assert AuditEntry.objects.count() == audit_count


def test_a_shopify_export_lists_the_columns_it_ignores(tmp_path):
    output = import_csv("customers", str(copy(tmp_path, SHOPIFY_CUSTOMERS)), "--format", "shopify")

    assert "customers_shopify.csv: 3 rows, shopify format" in output
    assert "Ignored columns: Accepts Email Marketing, Default Address Company" in output


def test_a_dry_run_reports_bad_rows_and_changes_nothing(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("email,phone\nana@example.com,\nben@,+44 20 7946 0958\n", encoding="utf-8")

    output = import_csv("customers", str(path), "--dry-run")

    assert output.splitlines()[1:] == [
        "1 bad row:",
        "  row 3, email: 'ben@' is not a valid email address: There must be something after "
        "the @-sign.",
        "Dry run: nothing was changed. 1 good row, 1 bad row.",
    ]
    assert Customer.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_a_real_run_with_a_bad_row_fails_and_writes_nothing(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("email,first_name\nana@example.com,Ana\nnobody,Ben\n", encoding="utf-8")
    output = StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("import_csv", "customers", str(path), stdout=output, stderr=StringIO())

    assert str(raised.value).startswith("1 bad row: nothing was imported.")
    assert "row 3, email: 'nobody' is not a valid email address" in output.getvalue()
    assert Customer.objects.count() == 0
    assert not (tmp_path / "people.rejected.csv").exists()


def test_skipping_bad_rows_imports_the_rest_and_names_the_rejected_file(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("email,first_name\nana@example.com,Ana\nnobody,Ben\n", encoding="utf-8")

    output = import_csv("customers", str(path), "--skip-bad-rows")

    rejected = tmp_path / "people.rejected.csv"
    assert f"Skipped 1 bad row; they are in {rejected} with the reason of each." in output
    assert "Imported customers: 1 created, 0 updated, 0 unchanged." in output
    assert rejected.read_text(encoding="utf-8").splitlines()[0] == "email,first_name,_row,_error"
    assert Customer.objects.count() == 1


def test_a_latin1_file_is_refused_with_the_row_to_look_at(tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes("email,first_name\nzoe@example.com,Zoë\n".encode("latin-1"))

    with pytest.raises(CommandError) as raised:
        import_csv("customers", str(path))

    assert str(raised.value).startswith("people.csv: the file is not UTF-8 text: row 2 holds")
    assert str(raised.value).endswith("; nothing was imported")
    assert Customer.objects.count() == 0


def test_many_bad_rows_are_capped_on_screen_with_a_full_report_file(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(
        "email\n" + "".join(f"broken{number}\n" for number in range(300)), encoding="utf-8"
    )

    output = import_csv("customers", str(path), "--dry-run")

    report = tmp_path / "people.errors.csv"
    assert f"(the first 100 of 300 problems; all of them are in {report})" in output
    assert len(report.read_text(encoding="utf-8").splitlines()) == 301
    assert sum(1 for line in output.splitlines() if line.startswith("  row ")) == 100


def test_orders_belong_to_the_named_source(tmp_path):
    output = import_csv("orders", str(copy(tmp_path, SHOPIFY_ORDERS)), "--source", "Shopify")

    assert "Imported orders: 3 created, 0 updated, 0 unchanged." in output
    assert set(Order.objects.values_list("source__name", flat=True)) == {"Shopify"}


def test_a_dry_run_of_orders_creates_no_source(tmp_path):
    import_csv("orders", str(copy(tmp_path, SHOPIFY_ORDERS)), "--source", "Shopify", "--dry-run")

    assert Source.objects.count() == 0
    assert Order.objects.count() == 0


def test_products_have_no_shopify_format(tmp_path):
    with pytest.raises(CommandError) as raised:
        import_csv("products", str(copy(tmp_path, PRODUCTS)), "--format", "shopify")

    assert "unknown format 'shopify'; use auto, generic" in str(raised.value)
    assert Product.objects.count() == 0


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(CommandError) as raised:
        import_csv("products", str(tmp_path / "nothing.csv"))

    assert str(raised.value) == f"{tmp_path / 'nothing.csv'} is not a file"
