"""Importing products from CSV: the generic format, changes only, bad rows, unknown SKUs."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from patron.catalog.importers import ProductImporter, products_ensure
from patron.catalog.models import Category, Product, StockStatus
from patron.catalog.services.products import product_upsert
from patron.core.tabular import ImportOutcome, RowProblem, WriteCounts, table_import

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"


def fixture_copy(tmp_path: Path) -> Path:
    return Path(shutil.copy(DATA / "products_generic.csv", tmp_path / "products.csv"))


def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "products.csv"
    path.write_text(text, encoding="utf-8")
    return path


def run(path: Path, *, is_dry_run: bool = False) -> ImportOutcome:
    return table_import(path, ProductImporter(), is_dry_run=is_dry_run)


def test_generic_file_creates_products_and_their_categories(tmp_path):
    outcome = run(fixture_copy(tmp_path))

    assert outcome.counts == WriteCounts(created=4)
    moisturiser = Product.objects.get(sku="MOIST-60")
    assert moisturiser.price == Decimal("24.00")
    assert (moisturiser.currency, moisturiser.supply_days) == ("EUR", 60)
    assert moisturiser.stock_status == StockStatus.IN_STOCK
    assert moisturiser.category is not None
    assert moisturiser.category.name == "Moisturisers"
    assert moisturiser.category.parent is not None
    assert moisturiser.category.parent.name == "Skincare"
    assert Product.objects.get(sku="GIFT-SET").name == 'Gift set "Calm"'
    assert Product.objects.get(sku="GIFT-SET").is_repeatable is False
    assert Product.objects.get(sku="SPF-50").is_repeatable is True
    assert Category.objects.count() == 6


def test_rerunning_the_same_file_changes_nothing(tmp_path):
    path = fixture_copy(tmp_path)
    run(path)
    stamps = dict(Product.objects.values_list("sku", "updated_at"))

    outcome = run(path)

    assert outcome.counts == WriteCounts(unchanged=4)
    assert Product.objects.count() == 4
    assert Category.objects.count() == 6
    assert dict(Product.objects.values_list("sku", "updated_at")) == stamps


def test_a_known_sku_gets_only_its_changed_fields(tmp_path):
    product_upsert(sku="MOIST-60", fields={"name": "Moisturiser", "price": Decimal("20.00")})
    path = write_csv(tmp_path, "sku,name,price,brand\nMOIST-60,Moisturiser,22.00,\n")

    outcome = run(path)

    assert outcome.counts == WriteCounts(updated=1)
    product = Product.objects.get(sku="MOIST-60")
    assert product.price == Decimal("22.00")
    assert (product.name, product.price, product.brand) == ("Moisturiser", Decimal("22.00"), "")


def test_bad_cells_are_named_and_nothing_is_written(tmp_path):
    path = write_csv(
        tmp_path,
        "sku,name,price,stock_status,is_repeatable\n"
        "OK-1,Fine,1.00,in_stock,true\n"
        ",No sku,-1,sold,maybe\n",
    )

    outcome = run(path)

    assert [(problem.row, problem.column) for problem in outcome.problems] == [
        (3, "sku"),
        (3, "is_repeatable"),
        (3, "price"),
        (3, "stock_status"),
    ]
    assert outcome.counts is None
    assert Product.objects.count() == 0


def test_the_same_sku_twice_is_a_bad_row(tmp_path):
    path = write_csv(tmp_path, "sku,name\nA-1,First\nA-1,Second\n")

    outcome = run(path, is_dry_run=True)

    assert outcome.problems == (
        RowProblem(
            3, "sku", "the same value is already on row 2; each record may appear once per file"
        ),
    )


def test_products_ensure_creates_unknown_skus_and_leaves_known_ones(tmp_path):
    known, _ = product_upsert(sku="MOIST-60", fields={"name": "Hydra moisturiser"})

    ids = products_ensure({"MOIST-60": "Renamed on a line", "NEW-1": "New thing", "NEW-2": ""})

    assert ids["MOIST-60"] == known.pk
    assert Product.objects.get(sku="MOIST-60").name == "Hydra moisturiser"
    assert Product.objects.get(pk=ids["NEW-1"]).name == "New thing"
    assert Product.objects.get(pk=ids["NEW-2"]).name == "NEW-2"
    assert Product.objects.count() == 3
