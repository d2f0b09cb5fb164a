"""Creating and updating products and their categories, with one set of rules for every caller."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from patron.catalog.models import Category, Product, StockStatus
from patron.core import hooks
from patron.core.actors import Actor
from patron.core.errors import ProblemList, ValidationFailed

PRODUCT_FIELDS = (
    "name",
    "brand",
    "category",
    "price",
    "currency",
    "image_url",
    "url",
    "stock_status",
    "supply_days",
    "is_repeatable",
)
MAXIMUM_SKU_LENGTH = 128
MAXIMUM_PRICE = Decimal("999999999999.99")  # what a 14-digit, 2-place column holds
_url = URLValidator(schemes=["http", "https"])


def clean_sku(value: Any, *, field: str = "sku") -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed("is required and must be text", field=field)
    value = value.strip()
    if len(value) > MAXIMUM_SKU_LENGTH:
        raise ValidationFailed(f"must be at most {MAXIMUM_SKU_LENGTH} characters", field=field)
    if any(ord(character) < 32 for character in value):
        raise ValidationFailed("must not contain control characters", field=field)
    return value


def clean_money(value: Any, *, field: str, allow_none: bool = False) -> Decimal | None:
    """A non-negative amount with at most two decimal places, from a number or a string."""
    if value is None or value == "":
        if allow_none:
            return None
        raise ValidationFailed("is required", field=field)
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValidationFailed(f"must be a number, not {type(value).__name__}", field=field)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as error:
        raise ValidationFailed(f"{str(value)[:40]!r} is not a number", field=field) from error
    if not amount.is_finite():
        raise ValidationFailed("must be a finite number", field=field)
    if amount < 0:
        raise ValidationFailed("must not be negative", field=field)
    if amount > MAXIMUM_PRICE:
        raise ValidationFailed(f"must be at most {MAXIMUM_PRICE}", field=field)
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed("must have at most two decimal places", field=field)
    return amount.quantize(Decimal("0.01"))


def clean_currency(value: Any, *, field: str = "currency") -> str:
    if not isinstance(value, str) or len(value.strip()) != 3 or not value.strip().isalpha():
        raise ValidationFailed("must be a three-letter ISO 4217 code such as EUR", field=field)
    return value.strip().upper()


def _clean_url(value: Any, field: str) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or len(value) > 2048:
        raise ValidationFailed("must be an http(s) URL of at most 2048 characters", field=field)
    try:
        _url(value)
    except DjangoValidationError as error:
        raise ValidationFailed(f"{value[:80]!r} is not an http(s) URL", field=field) from error
    return value


def _clean_category(value: Any, field: str) -> list[str]:
    """A category path: 'Skincare > Serums' or a list of names."""
    if value in (None, ""):
        return []
    parts = (
        value
        if isinstance(value, list)
        else str(value).split(">")
        if isinstance(value, str)
        else None
    )
    if parts is None or not all(isinstance(part, str) for part in parts):
        raise ValidationFailed("must be a name or a path such as 'Skincare > Serums'", field=field)
    names = [part.strip() for part in parts if part.strip()]
    if any(len(name) > 200 for name in names) or len(names) > 8:
        raise ValidationFailed("at most 8 levels of at most 200 characters each", field=field)
    return names


def product_clean(fields: Mapping[str, Any], *, field_prefix: str = "") -> dict[str, Any]:
    """Validate the given product fields; every problem is reported together."""
    problems = ProblemList()
    cleaned: dict[str, Any] = {}
    for name, value in fields.items():
        label = f"{field_prefix}{name}"
        try:
            cleaned[name] = _clean_product_field(name, value, label)
        except ValidationFailed as error:
            problems.add(error.field or label, error.message)
    problems.raise_if_any()
    return cleaned


def _clean_product_field(name: str, value: Any, label: str) -> Any:
    if name == "name":
        if not isinstance(value, str) or not value.strip() or len(value.strip()) > 300:
            raise ValidationFailed("must be text of 1 to 300 characters", field=label)
        return value.strip()
    if name == "brand":
        if value is None:
            return ""
        if not isinstance(value, str) or len(value) > 200:
            raise ValidationFailed("must be text of at most 200 characters", field=label)
        return value.strip()
    if name == "category":
        return _clean_category(value, label)
    if name == "price":
        return clean_money(value, field=label, allow_none=True)
    if name == "currency":
        return "" if value in (None, "") else clean_currency(value, field=label)
    if name in ("image_url", "url"):
        return _clean_url(value, label)
    if name == "stock_status":
        if value not in StockStatus.values:
            raise ValidationFailed(f"must be one of {', '.join(StockStatus.values)}", field=label)
        return value
    if name == "supply_days":
        if value in (None, ""):
            return None
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3650:
            raise ValidationFailed("must be a whole number of days from 1 to 3650", field=label)
        return value
    if name == "is_repeatable":
        if not isinstance(value, bool):
            raise ValidationFailed("must be true or false", field=label)
        return value
    raise ValidationFailed("is not a product field", field=label)


def category_ensure(names: Sequence[str]) -> Category | None:
    """The category at this path, created level by level if missing."""
    parent: Category | None = None
    path: list[str] = []
    for name in names:
        path.append(name)
        slug = slugify(" ".join(path))[:200] or f"category-{len(path)}"
        category = Category.objects.filter(slug=slug).first()
        if category is None:
            try:
                with transaction.atomic():
                    category = Category.objects.create(name=name, slug=slug, parent=parent)
            except IntegrityError:
                category = Category.objects.get(slug=slug)
        parent = category
    return parent


def product_upsert(
    *, sku: str, fields: Mapping[str, Any], actor: Actor | None = None
) -> tuple[Product, bool]:
    """Create the product or change only the given fields; returns (product, created).

    Fields must come from product_clean. A product seen only on an order line gets the line's
    name; later catalog data overwrites it. With an actor the write is audited (callers that
    record products as part of a larger audited write, such as an order, pass none).
    """
    values = dict(fields)
    category_path = values.pop("category", None)
    if category_path is not None:
        values["category"] = category_ensure(category_path)
    with transaction.atomic():
        product = Product.objects.select_for_update().filter(sku=sku).first()
        if product is None:
            values.setdefault("name", sku)
            try:
                with transaction.atomic():
                    created = Product.objects.create(sku=sku, **values)
            except IntegrityError:
                product = Product.objects.select_for_update().get(sku=sku)
            else:
                _audit(
                    actor,
                    "product.created",
                    created,
                    {name: [None, value] for name, value in values.items()},
                )
                return created, True
        changes = {
            name: [getattr(product, name), value]
            for name, value in values.items()
            if getattr(product, name) != value
        }
        for name, (_, value) in changes.items():
            setattr(product, name, value)
        if changes:
            product.save(update_fields=[*changes, "updated_at"])
            _audit(actor, "product.updated", product, changes)
        return product, False


def _audit(actor: Actor | None, action: str, product: Product, changes: Mapping[str, Any]) -> None:
    if actor is not None:
        hooks.dispatch(
            hooks.AUDIT_RECORD,
            actor=actor,
            action=action,
            subject_type="product",
            subject_id=product.pk,
            changes={"sku": product.sku, **changes},
        )
