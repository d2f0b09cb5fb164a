"""Exporting every customer's insights as CSV or Parquet, one row per customer, in id ranges.

CSV cells that a spreadsheet would run as a formula are neutralised (a customer's email or
external id comes from outside); Parquet keeps typed columns and nulls for "not enough data".
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from patron.core.errors import ValidationFailed
from patron.core.progress import ProgressCallback, ignore_progress
from patron.core.tabular import neutralised
from patron.customers.selectors import customer_contacts
from patron.insights.models import CustomerInsight
from patron.insights.services.refresh import customer_id_ranges


class ExportFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


# (column, pyarrow type): the list, in order.
COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("customer_id", pa.int64()),
    ("external_id", pa.string()),
    ("email", pa.string()),
    ("recency_score", pa.int8()),
    ("frequency_score", pa.int8()),
    ("monetary_score", pa.int8()),
    ("rfm_group", pa.string()),
    ("horizon_days", pa.int32()),
    ("predicted_orders", pa.float64()),
    ("predicted_value", pa.decimal128(14, 2)),
    ("currency", pa.string()),
    ("probability_alive", pa.float64()),
    ("churn_probability", pa.float64()),
    ("churn_band", pa.string()),
    ("next_order_date", pa.date32()),
    ("engagement_tier", pa.string()),
    ("best_hour", pa.int8()),
    ("lifecycle_stage", pa.string()),
)
_STORED = (
    "customer_id",
    "recency_score",
    "frequency_score",
    "monetary_score",
    "rfm_group",
    "horizon_days",
    "predicted_orders",
    "predicted_value",
    "currency",
    "probability_alive",
    "churn_probability",
    "churn_band",
    "next_order_at",
    "engagement_tier",
    "best_hour",
)


def export_rows(*, progress: ProgressCallback = ignore_progress) -> Iterator[list[dict[str, Any]]]:
    """Rows of the export, one list per id range (memory stays flat at any size)."""
    ranges = customer_id_ranges()
    for done, (low, high) in enumerate(ranges, start=1):
        contacts = customer_contacts(customer_low=low, customer_high=high)
        stored = (
            CustomerInsight.objects.filter(customer_id__gte=low, customer_id__lt=high)
            .order_by("customer_id")
            .values_list(*_STORED)
        )
        rows = []
        for values in stored:
            row = dict(zip(_STORED, values, strict=True))
            external_id, email, stage = contacts.get(row["customer_id"], ("", "", ""))
            next_order: datetime | None = row.pop("next_order_at")
            rows.append(
                {
                    **row,
                    "external_id": external_id,
                    "email": email,
                    "next_order_date": None if next_order is None else next_order.date(),
                    "lifecycle_stage": stage,
                }
            )
        yield rows
        progress(done, len(ranges))


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return neutralised(str(value))


def insights_export(
    output: IO[bytes], *, format_name: str, progress: ProgressCallback = ignore_progress
) -> int:
    """Write the export to a binary stream; returns the number of customers written."""
    try:
        chosen = ExportFormat(format_name)
    except ValueError as error:
        raise ValidationFailed(
            f"must be one of {', '.join(ExportFormat)}", field="format", code="invalid"
        ) from error
    names = [name for name, _ in COLUMNS]
    written = 0
    if chosen == ExportFormat.CSV:
        import io

        text = io.TextIOWrapper(output, encoding="utf-8", newline="", write_through=True)
        writer = csv.writer(text)
        writer.writerow(names)
        for rows in export_rows(progress=progress):
            writer.writerows([[_text(row[name]) for name in names] for row in rows])
            written += len(rows)
        text.detach()
        return written
    schema = pa.schema(list(COLUMNS))
    with pq.ParquetWriter(output, schema) as parquet:
        for rows in export_rows(progress=progress):
            if not rows:
                continue
            parquet.write_table(pa.Table.from_pylist(rows, schema=schema))
            written += len(rows)
    return written
