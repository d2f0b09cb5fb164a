"""CSV imports: which importer reads each kind of file, and the workspace's import runs, from
upload and column mapping to a check or an import in the worker, with its progress and files.

The mapping is applied by rewriting only the file's first row with the chosen format's own
column names (an ignored column gets an empty name, which every format skips), so the import
itself is exactly the one `patron import` runs, row numbers included.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from patron.accounts.models import User
from patron.accounts.services.audit import audit_record
from patron.accounts.services.keys import actor_for_user
from patron.catalog.importers import ProductImporter
from patron.core import clock
from patron.core.actors import Actor
from patron.core.errors import Conflict, NotFound, PatronError, ProblemList, ValidationFailed
from patron.core.progress import ProgressCallback
from patron.core.tabular import (
    ERROR_COLUMN,
    ROW_COLUMN,
    Importer,
    ImportOutcome,
    PhaseProgress,
    TableFormat,
    column_letter,
    table_import,
)
from patron.customers.importers import CustomerImporter
from patron.events.models import ImportKind, ImportMode, ImportProblem, ImportRun, ImportStatus
from patron.orders.importers import OrderImporter

# Uploads larger than this are refused: a million customers with a dozen columns is about
# 150 MB, and the whole file passes through the web process before it is checked.
MAXIMUM_UPLOAD_BYTES = 200 * 1024 * 1024
# A header wider than this is not a table people map by hand (Shopify's order export has 73).
MAXIMUM_COLUMNS = 300
# Problems kept for the page: enough to page through and fix by hand; a file with more bad
# rows than this needs its export fixed, not its rows.
PROBLEMS_KEPT = 10_000
# How often the worker rewrites the progress file: the page polls once a second.
PROGRESS_INTERVAL_SECONDS = 0.5
DEFAULT_ORDER_SOURCE = "import"
OWN_COLUMNS = frozenset({ROW_COLUMN, ERROR_COLUMN})
IMPORT_DIRECTORY = "imports"

_FORMATS: dict[str, Sequence[TableFormat]] = {
    ImportKind.CUSTOMERS: CustomerImporter.formats,
    ImportKind.PRODUCTS: ProductImporter.formats,
    ImportKind.ORDERS: OrderImporter.formats,
}
# A run may be checked or imported again from these states; the others are busy or final.
STARTABLE_STATUSES = (
    ImportStatus.MAPPED,
    ImportStatus.CHECKED,
    ImportStatus.NOT_IMPORTED,
    ImportStatus.FAILED,
)
_MAPPABLE = (ImportStatus.UPLOADED, *STARTABLE_STATUSES)
_UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")


def importer_for(kind: str, *, source_name: str, actor: Actor) -> Importer[Any]:
    """The importer of one kind of file, shared by `patron import` and the workspace."""
    if kind == ImportKind.CUSTOMERS:
        return CustomerImporter(actor=actor)
    if kind == ImportKind.PRODUCTS:
        return ProductImporter()
    if kind == ImportKind.ORDERS:
        return OrderImporter(source_name=source_name, actor=actor)
    raise ValidationFailed(f"must be one of {', '.join(ImportKind.values)}", field="kind")


def import_formats(kind: str) -> Sequence[TableFormat]:
    if kind not in _FORMATS:
        raise ValidationFailed(f"must be one of {', '.join(ImportKind.values)}", field="kind")
    return _FORMATS[kind]


def import_format(kind: str, format_name: str) -> TableFormat:
    for candidate in import_formats(kind):
        if candidate.name == format_name:
            return candidate
    names = ", ".join(candidate.name for candidate in import_formats(kind))
    raise ValidationFailed(f"must be one of {names}", field="format")


def _recognised(candidate: TableFormat, header: Sequence[str]) -> int:
    return sum(1 for name in header if name and candidate.field_for(name) is not None)


def import_format_detect(kind: str, header: Sequence[str]) -> str:
    """The format recognising most columns; the first (generic) wins a tie, as in the CLI."""
    return max(import_formats(kind), key=lambda candidate: _recognised(candidate, header)).name


def import_targets(kind: str, format_name: str, header: Sequence[str]) -> list[tuple[str, str]]:
    """(field, the format's column name for it) a column may be mapped to, in the format's
    order; prefixed fields (attributes.<key>) are offered as the file names them."""
    chosen = import_format(kind, format_name)
    targets: dict[str, str] = {}
    for column, field_name in chosen.columns.items():
        targets.setdefault(field_name, column)
    for name in header:
        prefixed = chosen.field_for(name) if name else None
        if prefixed is not None:
            targets.setdefault(prefixed, prefixed)
    return list(targets.items())


def import_mapping_suggest(kind: str, format_name: str, header: Sequence[str]) -> list[str]:
    """The field each column gives by the format's own names; "" for a column it ignores."""
    chosen = import_format(kind, format_name)
    used: set[str] = set()
    mapping = []
    for name in header:
        field_name = chosen.field_for(name) if name and name not in OWN_COLUMNS else None
        if field_name is None or field_name in used:
            mapping.append("")
            continue
        used.add(field_name)
        mapping.append(field_name)
    return mapping


def import_path(run: ImportRun, suffix: str = ".csv") -> Path:
    return Path(settings.MEDIA_ROOT) / IMPORT_DIRECTORY / f"{run.token}{suffix}"


def import_mapped_path(run: ImportRun) -> Path:
    return import_path(run, ".mapped.csv")


def import_rejected_path(run: ImportRun) -> Path:
    """Where table_import writes the rejected rows: beside the mapped file it read."""
    return import_path(run, ".mapped.rejected.csv")


def import_errors_path(run: ImportRun) -> Path:
    return import_path(run, ".mapped.errors.csv")


def import_progress_path(run: ImportRun) -> Path:
    return import_path(run, ".progress.json")


def _header_read(path: Path) -> list[str]:
    """The first row's names; refuses a file that is empty, UTF-16, not UTF-8 at its start,
    or has a header but no rows, before anyone maps its columns."""
    with path.open("rb") as file:
        if file.read(2) in _UTF16_MARKS:
            raise ValidationFailed(
                "the file is UTF-16 text; save it as 'CSV UTF-8' and upload that", field="file"
            )
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            records = (
                values for values in csv.reader(file, strict=True) if "".join(values).strip()
            )
            header = next(records, None)
            if header is None:
                raise ValidationFailed(
                    "the file is empty: its first row must name the columns", field="file"
                )
            if next(records, None) is None:
                raise ValidationFailed(
                    "the file has a header but no rows: there is nothing to import", field="file"
                )
    except UnicodeDecodeError as error:
        raise _not_utf8(path) from error
    except csv.Error as error:
        raise ValidationFailed(
            f"the first rows are not valid CSV ({error}); check their quotes", field="file"
        ) from error
    if len(header) > MAXIMUM_COLUMNS:
        raise ValidationFailed(
            f"the file has {len(header)} columns; at most {MAXIMUM_COLUMNS} can be mapped",
            field="file",
        )
    return [name.strip() for name in header]


def _not_utf8(path: Path) -> ValidationFailed:
    """Name the row of the first byte UTF-8 refuses (only the file's start was read, so the
    scan stops early)."""
    with path.open("rb") as file:
        for number, raw in enumerate(file, start=1):
            try:
                raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
            except UnicodeDecodeError as error:
                return ValidationFailed(
                    f"the file is not UTF-8 text: row {number} holds the byte "
                    f"0x{raw[error.start]:02X}; save it as 'CSV UTF-8' and upload it again",
                    field="file",
                )
    return ValidationFailed(
        "the file is not UTF-8 text; save it as 'CSV UTF-8' and upload it again", field="file"
    )


def _kind_check(kind: str, header: Sequence[str]) -> None:
    """Refuse a file whose columns are mostly another kind's, such as orders sent as products."""
    named = len([name for name in header if name])
    own = max(_recognised(candidate, header) for candidate in import_formats(kind))
    for other in ImportKind:
        if other == kind:
            continue
        best = max(_recognised(candidate, header) for candidate in import_formats(other))
        if best > 2 * own and 2 * best >= named:
            raise ValidationFailed(
                f"{own} of the {named} columns are {kind} columns but {best} are {other} "
                f"columns: choose {other.label}, or check the file",
                field="kind",
            )


def import_upload(
    *,
    kind: str,
    file_name: str,
    chunks: Iterable[bytes],
    source_name: str,
    actor: Actor,
    created_by: User | None,
) -> ImportRun:
    """Store an uploaded CSV under MEDIA_ROOT/imports/<uuid>.csv and read its header; the
    run then waits for its columns to be mapped (suggested from the format's own names)."""
    import_formats(kind)
    source_name = source_name.strip() or DEFAULT_ORDER_SOURCE
    if len(source_name) > 120:
        raise ValidationFailed("must be 1 to 120 characters", field="source_name")
    token = uuid.uuid4()
    directory = Path(settings.MEDIA_ROOT) / IMPORT_DIRECTORY
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{token}.csv"
    size = 0
    try:
        with path.open("wb") as stored:
            for chunk in chunks:
                size += len(chunk)
                if size > MAXIMUM_UPLOAD_BYTES:
                    raise ValidationFailed(
                        f"the file is larger than {MAXIMUM_UPLOAD_BYTES // 1024 // 1024} MB; "
                        "split it and import the parts one after the other",
                        field="file",
                    )
                stored.write(chunk)
        header = _header_read(path)
        _kind_check(kind, header)
        format_name = import_format_detect(kind, header)
        with transaction.atomic():
            run = ImportRun.objects.create(
                token=token,
                kind=kind,
                file_name=file_name[:255],
                file_size=size,
                source_name=source_name if kind == ImportKind.ORDERS else "",
                format_name=format_name,
                header=header,
                mapping=import_mapping_suggest(kind, format_name, header),
                created_by=created_by,
                created_at=clock.now(),
            )
            audit_record(
                actor=actor,
                action="import.uploaded",
                subject_type="import_run",
                subject_id=run.pk,
                changes={"kind": kind, "file": run.file_name, "size": size},
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return run


def import_run_get(run_id: int) -> ImportRun:
    run = ImportRun.objects.select_related("created_by", "run_by").filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"no import with id {run_id}", field="id")
    return run


def _mapping_clean(run: ImportRun, format_name: str, mapping: Sequence[str]) -> list[str]:
    header: list[str] = run.header
    if len(mapping) != len(header):
        raise ValidationFailed(
            f"give a field for each of the {len(header)} columns", field="mapping"
        )
    chosen = import_format(run.kind, format_name)
    targets = dict(import_targets(run.kind, format_name, header))
    problems = ProblemList()
    given_by: dict[str, int] = {}
    cleaned: list[str] = []
    for index, (name, field_name) in enumerate(zip(header, mapping, strict=True)):
        field_name = field_name.strip()
        if name in OWN_COLUMNS or not field_name:
            cleaned.append("")
            continue
        if field_name not in targets:
            problems.add(f"column_{index}", f"{field_name!r} is not a field of a {run.kind} file")
        elif field_name in given_by:
            first = given_by[field_name]
            problems.add(
                f"column_{index}",
                f"column {column_letter(first)} ({header[first]}) already gives "
                f"{targets[field_name]}; ignore one of them",
            )
        else:
            given_by[field_name] = index
        cleaned.append(field_name)
    for alternatives in chosen.required:
        if not any(field_name in given_by for field_name in alternatives):
            wanted = " or ".join(targets.get(field_name, field_name) for field_name in alternatives)
            problems.add(
                "mapping", f"map a column to {wanted}: every row of a {run.kind} file needs it"
            )
    problems.raise_if_any()
    return cleaned


def _written_header(run: ImportRun) -> list[str]:
    """The first row of the mapped file: the format's column name for each mapped field."""
    columns = dict(import_targets(run.kind, run.format_name, run.header))
    return [
        name if name in OWN_COLUMNS else (columns.get(field_name, field_name) if field_name else "")
        for name, field_name in zip(run.header, run.mapping, strict=True)
    ]


def _mapped_file_write(run: ImportRun) -> None:
    """Copy the upload with its first record replaced by the mapped header, keeping every
    later byte (and so every row number) as it was."""
    source, target = import_path(run), import_mapped_path(run)
    with source.open("rb") as file:
        # Line by line, as the import counts rows; the header decoded when it was uploaded,
        # and a bad byte further down is the import's to report, with its row.
        reader = csv.reader(raw.decode("utf-8", errors="replace") for raw in file)
        for values in reader:
            if "".join(values).strip():
                break
        header_lines = reader.line_num
    partial = target.with_suffix(".partial")
    with source.open("rb") as original, partial.open("w", encoding="utf-8", newline="") as mapped:
        for _ in range(header_lines):
            original.readline()
        csv.writer(mapped, lineterminator="\n").writerow(_written_header(run))
        mapped.write("\n" * (header_lines - 1))  # the header's own line breaks, kept as rows
        mapped.flush()
        shutil.copyfileobj(original, mapped.buffer)
    os.replace(partial, target)


def import_run_map(
    *, run_id: int, format_name: str, mapping: Sequence[str], actor: Actor
) -> ImportRun:
    """Save which field each column gives and write the mapped file the import reads."""
    run = import_run_get(run_id)
    if run.status not in _MAPPABLE:
        raise Conflict(f"this import is {run.get_status_display().lower()}", field="status")
    run.mapping = _mapping_clean(run, format_name, mapping)
    run.format_name = format_name
    _mapped_file_write(run)
    with transaction.atomic():
        # A new mapping makes the last check's findings stale: they go with it.
        updated = ImportRun.objects.filter(pk=run.pk, status__in=_MAPPABLE).update(
            format_name=format_name,
            mapping=run.mapping,
            status=ImportStatus.MAPPED,
            mode="",
            started_at=None,
            finished_at=None,
            row_count=None,
            bad_row_count=None,
            problem_count=None,
            error="",
        )
        if not updated:
            raise Conflict("this import started meanwhile", field="status")
        ImportProblem.objects.filter(run=run).delete()
        audit_record(
            actor=actor,
            action="import.mapped",
            subject_type="import_run",
            subject_id=run.pk,
            changes={
                "format": format_name,
                "mapping": dict(zip(run.header, run.mapping, strict=True)),
            },
        )
    _files_clear(run)
    return import_run_get(run.pk)


def import_run_start(*, run_id: int, mode: str, actor: Actor, user: User | None) -> ImportRun:
    """Queue a check (dry run) or an import of a mapped file; the worker runs it."""
    if mode not in ImportMode.values:
        raise ValidationFailed(f"must be one of {', '.join(ImportMode.values)}", field="mode")
    run = import_run_get(run_id)
    with transaction.atomic():
        updated = ImportRun.objects.filter(pk=run.pk, status__in=STARTABLE_STATUSES).update(
            status=ImportStatus.QUEUED,
            mode=mode,
            run_by=user,
            started_at=None,
            finished_at=None,
            error="",
        )
        if not updated:
            raise Conflict(
                f"this import is {run.get_status_display().lower()}; it cannot start now",
                field="status",
            )
        if mode != ImportMode.DRY_RUN:
            audit_record(
                actor=actor,
                action="import.started",
                subject_type="import_run",
                subject_id=run.pk,
                changes={"kind": run.kind, "file": run.file_name, "mode": mode},
            )
        # Imported here, not at the top: tasks.py imports this module to call the service.
        from patron.events.tasks import import_run_execute_task

        transaction.on_commit(lambda: import_run_execute_task(run.pk))
    return import_run_get(run.pk)


def _progress_write(path: Path, phase: str, done: int, total: int | None) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps({"phase": phase, "done": done, "total": total}))
    os.replace(partial, path)


def _progress_to(path: Path) -> PhaseProgress:
    """Progress written to a small file beside the import, not to its row: the import holds
    its write transaction (on SQLite, the database's write lock) until the end, so nothing it
    wrote to the database could be seen before then."""

    @contextmanager
    def phase(description: str) -> Iterator[ProgressCallback]:
        last = 0.0

        def report(done: int, total: int | None) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= PROGRESS_INTERVAL_SECONDS or done == total:
                last = now
                _progress_write(path, description, done, total)

        _progress_write(path, description, 0, None)
        yield report

    return phase


def _spreadsheet_text(cell: str) -> str:
    """A report cell as the import wrote it, without the apostrophe that guards formulas."""
    if cell.startswith("'") and cell[1:2] in ("=", "+", "-", "@", "\t", "\r"):
        return cell[1:]
    return cell


def _problems_store(run: ImportRun, outcome: ImportOutcome) -> None:
    originals = {
        written: name
        for written, name in zip(_written_header(run), run.header, strict=True)
        if written
    }

    def problem(row: int, column: str, reason: str) -> ImportProblem:
        return ImportProblem(
            run=run, row=row, column=originals.get(column, column)[:255], reason=reason
        )

    if outcome.report_path is None:
        found = [problem(item.row, item.column, item.reason) for item in outcome.problems]
        ImportProblem.objects.bulk_create(found)
        return
    with outcome.report_path.open(encoding="utf-8", newline="") as report:
        rows = csv.reader(report)
        next(rows, None)
        batch: list[ImportProblem] = []
        for number, (row, column, reason) in enumerate(rows):
            if number == PROBLEMS_KEPT:
                break
            batch.append(problem(int(row), _spreadsheet_text(column), _spreadsheet_text(reason)))
        ImportProblem.objects.bulk_create(batch, batch_size=1000)


def _files_clear(run: ImportRun) -> None:
    for path in (import_rejected_path(run), import_errors_path(run), import_progress_path(run)):
        path.unlink(missing_ok=True)


def import_run_execute(*, run_id: int) -> ImportRun | None:
    """The worker's part: check or import the mapped file, then record what happened.

    A run that is not queued (taken by another worker, or retried) is left alone.
    """
    claimed = ImportRun.objects.filter(pk=run_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=clock.now()
    )
    if not claimed:
        return None
    run = import_run_get(run_id)
    ImportProblem.objects.filter(run=run).delete()
    _files_clear(run)
    is_dry_run = run.mode == ImportMode.DRY_RUN
    actor = actor_for_user(run.run_by) if run.run_by else Actor.system("import")
    began = time.monotonic()
    try:
        outcome = table_import(
            import_mapped_path(run),
            importer_for(
                run.kind, source_name=run.source_name or DEFAULT_ORDER_SOURCE, actor=actor
            ),
            format_name=run.format_name,
            is_dry_run=is_dry_run,
            is_skipping_bad_rows=run.mode == ImportMode.SKIP_BAD_ROWS,
            progress=_progress_to(import_progress_path(run)),
        )
    except PatronError as error:
        return _finish_failed(run, actor, error.message)
    except Exception as error:
        _finish_failed(run, actor, f"the import stopped unexpectedly ({type(error).__name__})")
        raise
    _problems_store(run, outcome)
    counts = outcome.counts
    if is_dry_run:
        status = ImportStatus.CHECKED
    elif counts is not None:
        status = ImportStatus.IMPORTED
    else:
        status = ImportStatus.NOT_IMPORTED
    with transaction.atomic():
        ImportRun.objects.filter(pk=run.pk).update(
            status=status,
            finished_at=clock.now(),
            row_count=outcome.row_count,
            bad_row_count=outcome.bad_row_count,
            problem_count=outcome.problem_count,
            created_count=counts.created if counts else None,
            updated_count=counts.updated if counts else None,
            unchanged_count=counts.unchanged if counts else None,
            has_rejected_rows=outcome.rejected_path is not None,
        )
        if not is_dry_run:
            audit_record(
                actor=actor,
                action="import.finished",
                subject_type="import_run",
                subject_id=run.pk,
                changes={
                    "status": status,
                    "rows": outcome.row_count,
                    "bad_rows": outcome.bad_row_count,
                    "created": counts.created if counts else 0,
                    "updated": counts.updated if counts else 0,
                    "unchanged": counts.unchanged if counts else 0,
                    "seconds": round(time.monotonic() - began, 1),
                },
            )
    import_progress_path(run).unlink(missing_ok=True)
    return import_run_get(run.pk)


def _finish_failed(run: ImportRun, actor: Actor, message: str) -> ImportRun:
    with transaction.atomic():
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportStatus.FAILED, finished_at=clock.now(), error=message
        )
        if run.mode != ImportMode.DRY_RUN:
            audit_record(
                actor=actor,
                action="import.finished",
                subject_type="import_run",
                subject_id=run.pk,
                changes={"status": ImportStatus.FAILED, "error": message},
            )
    import_progress_path(run).unlink(missing_ok=True)
    return import_run_get(run.pk)
