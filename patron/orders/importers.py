"""Importing orders from CSV: one row per line, grouped by order, checked by order_clean.

The generic format and Shopify's order export both give one row per order line; the rows of
one order follow each other and share its id (Shopify's Name, such as #1001). Order fields
may be repeated on every row or given once (Shopify fills them on the first row only); rows
of one order that disagree are bad. An unknown buyer becomes a new customer, an unknown SKU
a new product; orders belong to the source the import names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import transaction

from patron.accounts.models import Source
from patron.accounts.services.audit import AuditFact, audit_record_bulk
from patron.accounts.services.keys import source_get_or_create
from patron.catalog.importers import products_ensure
from patron.core import clock
from patron.core.actors import Actor
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
    ids_reserve,
    rows_insert,
    rows_update,
)
from patron.customers import validation
from patron.customers.importers import CustomerReference, customers_ensure
from patron.orders.models import Order, OrderLine, OrderStatus
from patron.orders.services.figures import (
    customer_order_figures_refresh,
    is_order_customer_index_present,
)
from patron.orders.services.orders import OrderInput, lines_same, order_clean, order_values

# Fields that describe the whole order, as opposed to one of its lines.
ORDER_FIELDS = (
    "customer_email",
    "customer_external_id",
    "placed_at",
    "paid_at",
    "currency",
    "status",
    "financial_status",
    "cancelled_at",
    "subtotal",
    "shipping",
    "tax",
    "discount",
    "total",
    "coupon",
)
LINE_FIELDS = ("sku", "product_name", "quantity", "unit_price", "line_discount")
# CSV field -> order_clean's name for it; lines are named lines[N].<name> by order_clean.
_ORDER_INPUT_NAMES = {
    "placed_at": "placed_at",
    "currency": "currency",
    "status": "status",
    "subtotal": "subtotal",
    "shipping": "shipping_total",
    "tax": "tax_total",
    "discount": "discount_total",
    "total": "total",
    "coupon": "coupon",
}
_LINE_INPUT_NAMES = {
    "sku": "sku",
    "product_name": "name",
    "quantity": "quantity",
    "unit_price": "unit_price",
    "line_discount": "discount",
}
_CSV_NAMES = {
    **{value: key for key, value in _ORDER_INPUT_NAMES.items()},
    "external_id": "order_id",
}
_CSV_LINE_NAMES = {value: key for key, value in _LINE_INPUT_NAMES.items()}
# Shopify's payment states, as its export writes them, in Patron's order statuses.
SHOPIFY_STATUSES = {
    "paid": OrderStatus.COMPLETED,
    "pending": OrderStatus.PENDING,
    "authorized": OrderStatus.PENDING,
    "partially_paid": OrderStatus.PENDING,
    "partially_refunded": OrderStatus.PARTIALLY_REFUNDED,
    "refunded": OrderStatus.REFUNDED,
    "voided": OrderStatus.CANCELLED,
    "expired": OrderStatus.CANCELLED,
}

GENERIC = TableFormat(
    name="generic",
    columns={
        name: name
        for name in ("order_id", *ORDER_FIELDS, *LINE_FIELDS)
        if name not in ("paid_at", "financial_status", "cancelled_at")
    },
    required=(
        ("order_id",),
        ("customer_email", "customer_external_id"),
        ("sku",),
        ("unit_price",),
    ),
)
SHOPIFY = TableFormat(
    name="shopify",
    columns={
        "Name": "order_id",
        "Email": "customer_email",
        "Financial Status": "financial_status",
        "Created at": "placed_at",
        "Paid at": "paid_at",
        "Cancelled at": "cancelled_at",
        "Currency": "currency",
        "Subtotal": "subtotal",
        "Shipping": "shipping",
        "Taxes": "tax",
        "Total": "total",
        "Discount Code": "coupon",
        "Discount Amount": "discount",
        "Lineitem quantity": "quantity",
        "Lineitem name": "product_name",
        "Lineitem price": "unit_price",
        "Lineitem sku": "sku",
        "Lineitem discount": "line_discount",
    },
    is_strict=False,
    required=(("order_id",), ("sku",), ("unit_price",)),
)


# An order's own columns (order_values) and its lines' columns, as values_list names them.
_ORDER_COLUMNS = (
    "status",
    "currency",
    "placed_at",
    "subtotal",
    "discount_total",
    "shipping_total",
    "tax_total",
    "total",
    "coupon",
)
_LINE_COLUMNS = (
    "order_id",
    "position",
    "product_id",
    "sku",
    "name",
    "quantity",
    "unit_price",
    "discount",
    "line_total",
)


class OrderRow(NamedTuple):
    """One cleaned order; a named tuple, as it crosses the pipe from the cleaning process."""

    rows: tuple[int, ...]
    order: OrderInput
    customer: CustomerReference


class OrderImporter:
    """Orders in the generic format or from a Shopify order export."""

    formats = (GENERIC, SHOPIFY)
    group_field = "order_id"
    tables = (Order, OrderLine)

    def __init__(self, *, source_name: str, actor: Actor) -> None:
        self.source_name = source_name
        self.actor = actor
        self._source: Source | None = None
        self._pending_figures: set[int] = set()
        self._is_refresh_scheduled = False

    def begin(self, header: Header) -> None:
        pass

    def clean(
        self, groups: Sequence[Sequence[Record]], header: Header
    ) -> list[Prepared[OrderRow] | Rejected]:
        return [_prepare_one(group, header) for group in groups]

    def check(
        self, items: Sequence[Prepared[OrderRow]], header: Header
    ) -> list[Prepared[OrderRow] | Rejected]:
        """An order already refunded cannot come back with a total below the refunds. (The
        import's own orders are new, with nothing refunded: it never sees itself here.)"""
        refunded = dict(
            Order.objects.filter(
                source__name=self.source_name,
                external_id__in=[item.value.order.external_id for item in items],
                refunded_total__gt=0,
            ).values_list("external_id", "refunded_total")
        )
        return [
            _refunds_check(item.value, refunded.get(item.value.order.external_id), header) or item
            for item in items
        ]

    def write(self, items: Sequence[OrderRow], header: Header) -> WriteResult:
        if self._source is None:
            self._source = source_get_or_create(name=self.source_name, actor=self.actor)
        return _orders_write(
            items,
            source=self._source,
            actor=self.actor,
            header=header,
            figures_refresh=self._figures_refresh,
        )

    def _figures_refresh(self, customer_ids: set[int]) -> None:
        """Bring the buyers' order figures up to date: with the batch while orders can be
        read by customer; once, for every buyer of the file, right after the import commits
        while its indexes are dropped (measured on a fresh database, a million order lines:
        a refresh per batch made the import 27% slower, and it grows with the table)."""
        if is_order_customer_index_present():
            customer_order_figures_refresh(customer_ids)
            return
        if not self._is_refresh_scheduled:
            self._is_refresh_scheduled = True
            transaction.on_commit(self._figures_refresh_pending)
        self._pending_figures.update(customer_ids)

    def _figures_refresh_pending(self) -> None:
        with transaction.atomic():
            customer_order_figures_refresh(self._pending_figures)
        self._pending_figures, self._is_refresh_scheduled = set(), False


def _refunds_check(item: OrderRow, refunded: Decimal | None, header: Header) -> Rejected | None:
    """An order already refunded cannot come back with a total below the refunds."""
    if refunded is None or refunded <= item.order.total:
        return None
    return Rejected(
        rows=item.rows,
        problems=(
            RowProblem(
                row=item.rows[0],
                column=header.column("total"),
                reason=f"{item.order.total} is below the {refunded} already refunded on this order",
            ),
        ),
    )


def _prepare_one(group: Sequence[Record], header: Header) -> Prepared[OrderRow] | Rejected:
    problems: list[RowProblem] = []
    values: dict[str, str] = {}
    value_rows: dict[str, int] = {}
    for record in group:
        for name in ORDER_FIELDS:
            value = record.fields.get(name)
            if value is None:
                continue
            if name not in values:
                values[name], value_rows[name] = value, record.row
            elif value != values[name]:
                problems.append(
                    RowProblem(
                        row=record.row,
                        column=header.column(name),
                        reason=f"{value[:40]!r} differs from {values[name][:40]!r} on row "
                        f"{value_rows[name]}, an earlier row of the same order",
                    )
                )
    first_row = group[0].row
    raw: dict[str, Any] = {
        input_name: values[name]
        for name, input_name in _ORDER_INPUT_NAMES.items()
        if name in values
    }
    raw["external_id"] = group[0].fields.get("order_id", "")
    if "placed_at" not in values and "paid_at" in values:
        raw["placed_at"], value_rows["placed_at"] = values["paid_at"], value_rows["paid_at"]
    if header.format is SHOPIFY:
        status = _shopify_status(values, value_rows, header, problems)
        if status:
            raw["status"] = status
    raw["lines"] = [
        {
            input_name: record.fields[name]
            for name, input_name in _LINE_INPUT_NAMES.items()
            if name in record.fields
        }
        for record in group
    ]
    order: OrderInput | None = None
    try:
        order = order_clean(raw)
    except ValidationFailed as error:
        for problem in error.problems:
            problems.append(_problem_at(problem.field, problem.message, group, value_rows, header))
    customer = _customer(values, value_rows, header, problems, first_row)
    if problems or order is None or customer is None:
        return Rejected(rows=tuple(record.row for record in group), problems=tuple(problems))
    return Prepared(
        rows=tuple(record.row for record in group),
        value=OrderRow(rows=tuple(record.row for record in group), order=order, customer=customer),
        unique_keys=(
            UniqueKey(
                column=header.column("order_id"),
                value=order.external_id,
                reason="order already given from row {row}; the rows of one order must follow "
                "each other, and an order may appear once per file",
            ),
        ),
    )


def _shopify_status(
    values: Mapping[str, str],
    value_rows: Mapping[str, int],
    header: Header,
    problems: list[RowProblem],
) -> str:
    if "cancelled_at" in values:
        return OrderStatus.CANCELLED
    financial = values.get("financial_status", "").lower()
    if not financial:
        return ""
    if financial not in SHOPIFY_STATUSES:
        problems.append(
            RowProblem(
                row=value_rows["financial_status"],
                column=header.column("financial_status"),
                reason=f"{financial[:40]!r} is not a Shopify financial status "
                f"({', '.join(SHOPIFY_STATUSES)})",
            )
        )
        return ""
    return SHOPIFY_STATUSES[financial]


def _problem_at(
    field: str,
    message: str,
    group: Sequence[Record],
    value_rows: Mapping[str, int],
    header: Header,
) -> RowProblem:
    """Point one of order_clean's problems (lines[2].sku, total) at its row and column."""
    if field.startswith("lines[") and "]." in field:
        position, _, name = field.removeprefix("lines[").partition("].")
        record = group[int(position) - 1]
        return RowProblem(
            row=record.row,
            column=header.column(_CSV_LINE_NAMES.get(name, name)),
            reason=message,
        )
    name = _CSV_NAMES.get(field, field)
    if field == "lines":
        return RowProblem(row=group[0].row, column="", reason=message)
    return RowProblem(
        row=value_rows.get(name, group[0].row), column=header.column(name), reason=message
    )


def _customer(
    values: Mapping[str, str],
    value_rows: Mapping[str, int],
    header: Header,
    problems: list[RowProblem],
    first_row: int,
) -> CustomerReference | None:
    email: str | None = None
    external_id: str | None = None
    try:
        if "customer_email" in values:
            email = validation.normalise_email(values["customer_email"], field="customer_email")
        if "customer_external_id" in values:
            external_id = (
                validation.clean_text(
                    values["customer_external_id"], field="customer_external_id", maximum=255
                )
                or None
            )
    except ValidationFailed as error:
        name = error.field or "customer_email"
        problems.append(
            RowProblem(
                row=value_rows.get(name, first_row),
                column=header.column(name),
                reason=error.message,
            )
        )
        return None
    if email is None and external_id is None:
        columns = " or ".join(
            header.column(name)
            for name in ("customer_email", "customer_external_id")
            if name in header.fields
        )
        problems.append(
            RowProblem(
                row=first_row,
                column=header.column("customer_email"),
                reason=f"an order needs its buyer: {columns} is empty",
            )
        )
        return None
    return CustomerReference(email=email, external_id=external_id)


def _orders_write(
    items: Sequence[OrderRow],
    *,
    source: Source,
    actor: Actor,
    header: Header,
    figures_refresh: Callable[[set[int]], None],
) -> WriteResult:
    """Create new orders and bring changed ones up to date, a few statements per batch."""
    now = clock.now()
    stored = {
        values[1]: values
        for values in Order.objects.filter(
            source=source, external_id__in=[item.order.external_id for item in items]
        ).values_list("pk", "external_id", "customer_id", "refunded_total", *_ORDER_COLUMNS)
    }
    rejected: list[Rejected] = []
    accepted: list[OrderRow] = []
    for item in items:
        found = stored.get(item.order.external_id)
        # Read again inside the transaction: a refund may have been recorded since the check.
        problem = _refunds_check(item, found[3] if found else None, header)
        if problem is None:
            accepted.append(item)
        else:
            rejected.append(problem)
    customer_ids = customers_ensure([item.customer for item in accepted], actor=actor)
    names_by_sku: dict[str, str] = {}
    for item in accepted:
        for line_input in item.order.lines:
            names_by_sku.setdefault(line_input.sku, line_input.name)
    product_ids = products_ensure(names_by_sku)
    stored_lines: dict[int, list[OrderLine]] = {}
    for line in OrderLine.objects.filter(
        order_id__in=[values[0] for values in stored.values()]
    ).order_by("order_id", "position"):
        stored_lines.setdefault(line.order_id, []).append(line)
    new_items = [item for item in accepted if item.order.external_id not in stored]
    new_ids = iter(ids_reserve(Order, len(new_items)))
    order_rows: list[tuple[Any, ...]] = []
    line_rows: list[tuple[Any, ...]] = []
    updates: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    replaced_order_ids: list[int] = []
    facts: list[AuditFact] = []
    for item, customer_id in zip(accepted, customer_ids, strict=True):
        values = order_values(item.order)
        found = stored.get(item.order.external_id)
        if found is None:
            order_id = next(new_ids)
            order_rows.append(
                (
                    order_id,
                    item.order.external_id,
                    customer_id,
                    *(values[name] for name in _ORDER_COLUMNS),
                )
            )
            line_rows.extend(_line_rows(order_id, item.order, product_ids))
            facts.append(
                AuditFact(
                    action="order.created",
                    subject_type="order",
                    subject_id=order_id,
                    customer_id=customer_id,
                    changes={
                        "external_id": item.order.external_id,
                        "total": str(item.order.total),
                        "currency": item.order.currency,
                    },
                    at=item.order.placed_at,
                )
            )
            continue
        order_id, _, stored_customer_id, _, *before = found
        current = dict(zip(_ORDER_COLUMNS, before, strict=True))
        changes = {
            name: [current[name], value] for name, value in values.items() if current[name] != value
        }
        changed = {name: value for name, (_, value) in changes.items()}
        if stored_customer_id != customer_id:
            changes["customer_id"] = [stored_customer_id, customer_id]
            changed["customer_id"] = customer_id
        lines = _line_rows(order_id, item.order, product_ids)
        compared = [OrderLine(**dict(zip(_LINE_COLUMNS, line, strict=True))) for line in lines]
        if not lines_same(stored_lines.get(order_id, []), compared):
            replaced_order_ids.append(order_id)
            line_rows.extend(lines)
            changes["lines"] = ["replaced", len(lines)]
        if not changes:
            continue
        updates.setdefault(tuple(changed), []).append((*changed.values(), now, order_id))
        facts.append(
            AuditFact(
                action="order.updated",
                subject_type="order",
                subject_id=order_id,
                customer_id=customer_id,
                changes=changes,
                at=now,
            )
        )
    rows_insert(
        Order,
        ("id", "external_id", "customer_id", *_ORDER_COLUMNS),
        order_rows,
        constants={"source_id": source.pk, "created_at": now, "updated_at": now},
    )
    for fields, rows in updates.items():
        rows_update(Order, (*fields, "updated_at"), rows)
    OrderLine.objects.filter(order_id__in=replaced_order_ids).delete()
    rows_insert(OrderLine, _LINE_COLUMNS, line_rows)
    audit_record_bulk(actor=actor, facts=facts)
    # The buyers, and the customers a corrected order moved away from.
    figures_refresh({*customer_ids, *(values[2] for values in stored.values())})
    updated = sum(len(rows) for rows in updates.values())
    return WriteResult(
        counts=WriteCounts(
            created=len(order_rows),
            updated=updated,
            unchanged=len(accepted) - len(order_rows) - updated,
        ),
        rejected=tuple(rejected),
    )


def _line_rows(
    order_id: int, order_input: OrderInput, product_ids: Mapping[str, int]
) -> list[tuple[Any, ...]]:
    """The order's lines as rows of _LINE_COLUMNS."""
    return [
        (
            order_id,
            position,
            product_ids[line.sku],
            line.sku,
            line.name,
            line.quantity,
            line.unit_price,
            line.discount,
            line.line_total,
        )
        for position, line in enumerate(order_input.lines, start=1)
    ]
