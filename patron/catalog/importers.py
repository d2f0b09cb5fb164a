"""Importing products from CSV: the generic columns, checked by product_clean, written per batch.

A product is matched by its SKU; an empty cell leaves a value as it is, and a new product
without a name is named by its SKU, as product_upsert does. Like product_upsert it leaves no
audit entry: products are not customer data, and accounts (the audit log) sits beside
catalog in the layers, not below it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from patron.catalog.models import Product
from patron.catalog.services.products import (
    PRODUCT_FIELDS,
    category_ensure,
    clean_sku,
    product_clean,
)
from patron.core import clock
from patron.core.errors import ValidationFailed
from patron.core.tabular import (
    Header,
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
    rows_insert,
    rows_update,
)

# The columns of the product fields, as values_list and rows_insert name them.
_COLUMNS = tuple("category_id" if name == "category" else name for name in PRODUCT_FIELDS)
_DEFAULTS = column_defaults(Product, _COLUMNS)

GENERIC = TableFormat(
    name="generic",
    columns={name: name for name in ("sku", *PRODUCT_FIELDS)},
    required=(("sku",),),
)


class ProductRow(NamedTuple):
    """One cleaned product row; a named tuple, as it crosses the pipe from the cleaning process."""

    sku: str
    fields: dict[str, Any]  # from product_clean; category is a list of names


class ProductImporter:
    """Products in the generic format."""

    formats = (GENERIC,)
    group_field = None
    tables = (Product,)

    def __init__(self) -> None:
        # Category paths seen in this import: a catalog has a few hundred at most.
        self._categories: dict[tuple[str, ...], int | None] = {}

    def begin(self, header: Header) -> None:
        pass

    def clean(
        self, groups: Sequence[Sequence[Record]], header: Header
    ) -> list[Prepared[ProductRow] | Rejected]:
        return [self._prepare_one(group[0], header) for group in groups]

    def check(
        self, items: Sequence[Prepared[ProductRow]], header: Header
    ) -> Sequence[Prepared[ProductRow] | Rejected]:
        return items  # a product is matched by its SKU when it is written; nothing to refuse

    def _prepare_one(self, record: Record, header: Header) -> Prepared[ProductRow] | Rejected:
        problems: list[RowProblem] = []
        sku = ""
        try:
            sku = clean_sku(record.fields.get("sku"))
        except ValidationFailed as error:
            problems.extend(row_problems(error, row=record.row, header=header))
        raw: dict[str, Any] = {
            name: record.fields[name] for name in PRODUCT_FIELDS if name in record.fields
        }
        if "is_repeatable" in raw:
            try:
                raw["is_repeatable"] = parse_boolean(raw["is_repeatable"], field="is_repeatable")
            except ValidationFailed as error:
                problems.extend(row_problems(error, row=record.row, header=header))
                del raw["is_repeatable"]
        fields: dict[str, Any] = {}
        try:
            fields = product_clean(raw)
        except ValidationFailed as error:
            problems.extend(row_problems(error, row=record.row, header=header))
        if problems:
            return Rejected(rows=(record.row,), problems=tuple(problems))
        return Prepared(
            rows=(record.row,),
            value=ProductRow(sku=sku, fields=fields),
            unique_keys=(UniqueKey(column=header.column("sku"), value=sku),),
        )

    def _category_id(self, path: Sequence[str]) -> int | None:
        key = tuple(path)
        if key not in self._categories:
            category = category_ensure(path)
            self._categories[key] = category.pk if category is not None else None
        return self._categories[key]

    def write(self, items: Sequence[ProductRow], header: Header) -> WriteResult:
        now = clock.now()
        stored = {
            values[0]: values[1:]
            for values in Product.objects.filter(sku__in=[item.sku for item in items]).values_list(
                "sku", "pk", *_COLUMNS
            )
        }
        new_rows: list[tuple[Any, ...]] = []
        updates: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for item in items:
            values = {
                ("category_id" if name == "category" else name): (
                    self._category_id(value) if name == "category" else value
                )
                for name, value in item.fields.items()
            }
            if item.sku not in stored:
                values.setdefault("name", item.sku)
                new_rows.append(
                    (item.sku, *(values.get(name, _DEFAULTS[name]) for name in _COLUMNS))
                )
                continue
            product_id, *before = stored[item.sku]
            current = dict(zip(_COLUMNS, before, strict=True))
            changed = {name: value for name, value in values.items() if current[name] != value}
            if changed:
                updates.setdefault(tuple(changed), []).append((*changed.values(), now, product_id))
        rows_insert(
            Product, ("sku", *_COLUMNS), new_rows, constants={"created_at": now, "updated_at": now}
        )
        for fields, rows in updates.items():
            rows_update(Product, (*fields, "updated_at"), rows)
        updated = sum(len(rows) for rows in updates.values())
        return WriteResult(
            WriteCounts(
                created=len(new_rows),
                updated=updated,
                unchanged=len(items) - len(new_rows) - updated,
            )
        )


def products_ensure(names_by_sku: Mapping[str, str]) -> dict[str, int]:
    """The product id of each SKU, creating unknown ones in bulk, named by the line or the SKU.

    Known products are left as they are: the catalog import owns product data, an order line
    only says that the product exists. Call it inside a transaction (an import's write pass):
    new ids are reserved in it.
    """
    known = dict(Product.objects.filter(sku__in=list(names_by_sku)).values_list("sku", "pk"))
    unknown = [sku for sku in names_by_sku if sku not in known]
    new_ids = ids_reserve(Product, len(unknown))
    now = clock.now()
    rows_insert(
        Product,
        ("id", "sku", "name"),
        [
            (product_id, sku, names_by_sku[sku] or sku)
            for product_id, sku in zip(new_ids, unknown, strict=True)
        ],
        constants={"created_at": now, "updated_at": now},
    )
    known.update(zip(unknown, new_ids, strict=True))
    return known
