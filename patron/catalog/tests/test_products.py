"""Product validation and upsert."""

from __future__ import annotations

from decimal import Decimal

import pytest

from patron.catalog.models import Category, Product
from patron.catalog.services.products import product_clean, product_upsert
from patron.core.errors import ValidationFailed


def test_clean_reports_every_bad_field_at_once():
    with pytest.raises(ValidationFailed) as raised:
        product_clean(
            {
                "price": "-1",
                "currency": "euro",
                "supply_days": 0,
                "image_url": "javascript:alert(1)",
            }
        )

    message = raised.value.message
    assert "price: must not be negative" in message
    assert "currency: must be a three-letter" in message
    assert "supply_days: must be a whole number" in message
    assert "image_url:" in message


def test_clean_accepts_strings_from_csv_and_keeps_markup_verbatim():
    cleaned = product_clean(
        {
            "name": "<script>x</script> Serum",
            "price": "12.50",
            "supply_days": "90",
            "currency": "eur",
        }
    )

    assert cleaned == {
        "name": "<script>x</script> Serum",
        "price": Decimal("12.50"),
        "supply_days": 90,
        "currency": "EUR",
    }


@pytest.mark.parametrize("price", ["1.001", "NaN", "1e400", True, [1]])
def test_clean_rejects_unrepresentable_prices(price):
    with pytest.raises(ValidationFailed) as raised:
        product_clean({"price": price})

    assert raised.value.field == "price"


@pytest.mark.django_db
def test_upsert_creates_then_changes_only_given_fields():
    product, created = product_upsert(
        sku="SER-1",
        fields=product_clean({"name": "Serum", "price": 30, "category": "Skincare > Serums"}),
    )
    assert created
    assert product.category is not None and product.category.parent is not None
    assert product.category.parent.name == "Skincare"

    again, created_again = product_upsert(sku="SER-1", fields=product_clean({"supply_days": 90}))

    assert not created_again
    assert again.pk == product.pk
    assert (again.name, again.price, again.supply_days) == ("Serum", Decimal("30.00"), 90)
    assert Product.objects.count() == 1
    assert Category.objects.count() == 2
