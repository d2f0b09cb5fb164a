"""Bulk import of CSV files: decoding, header mapping, row numbers, batches, checks and writes.

Mechanism only. An importer (one per kind of record, in its own app) says which columns it
knows, how to clean a batch's cells, how to check a batch against the database and how to
write one; this module streams the file, numbers rows as a spreadsheet shows them (the header
is row 1; a record with quoted newlines is numbered by its first line), refuses a later record
that repeats an earlier one's key, writes all-or-nothing in one transaction that is committed
only when every row was good (or bad rows are skipped), and writes the error report and the
rejected rows beside the input. The last part holds the prepared INSERT, UPDATE and SELECT
statements importers work with.
"""

from __future__ import annotations

import codecs
import csv
import gc
import multiprocessing
import os
import pickle
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from queue import Empty, Full
from typing import IO, Any, Generic, NamedTuple, Protocol, TypeVar

import numpy as np
import orjson
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from patron.core.errors import PatronError, ValidationFailed
from patron.core.progress import ProgressCallback, ignore_progress

# Records checked and written together. Each batch costs one lookup query per kind of key
# and one statement per table, so larger batches mean fewer round trips; 5,000 rows hold a
# few MB of Python objects (flat memory at any file size), and three keys per row stay far
# below SQLite's 32,766 and PostgreSQL's 65,535 bound parameters per statement.
BATCH_SIZE = 5000
# Problems kept in memory for the screen; the full list is streamed to the report file.
SCREEN_PROBLEM_LIMIT = 100
# Columns this module adds to a rejected-rows file; reading such a file back ignores them, so
# a user can fix the rejected rows and import that file as it is.
ROW_COLUMN = "_row"
ERROR_COLUMN = "_error"
_OWN_COLUMNS = frozenset({ROW_COLUMN, ERROR_COLUMN})
# A cell starting with one of these is a formula to a spreadsheet; our own report files prefix
# it with an apostrophe so opening a report never runs what someone typed into a name.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_TRUE_WORDS = frozenset({"true", "yes", "y", "1"})
_FALSE_WORDS = frozenset({"false", "no", "n", "0"})

ValueT = TypeVar("ValueT")


class TableError(PatronError):
    """The file as a whole cannot be imported: its encoding, its header or its CSV structure."""

    code = "invalid_file"
    status = 400


@dataclass(frozen=True)
class TableFormat:
    """The columns of one kind of file, such as the generic format or a shop's export."""

    name: str
    columns: Mapping[str, str]  # header as written in the file -> field the importer reads
    is_strict: bool = True  # an unknown column is an error (True) or ignored and listed (False)
    prefixes: tuple[str, ...] = ()  # headers starting with one of these pass through as fields
    required: tuple[tuple[str, ...], ...] = ()  # each: at least one of these fields needs a column

    def field_for(self, header: str) -> str | None:
        folded = header.casefold()
        for column, name in self.columns.items():
            if column.casefold() == folded:
                return name
        for prefix in self.prefixes:
            if folded.startswith(prefix.casefold()) and len(header) > len(prefix):
                return prefix + header[len(prefix) :]
        return None


@dataclass(frozen=True)
class Header:
    """The file's first row, resolved against the chosen format."""

    format: TableFormat
    names: tuple[str, ...]
    fields: tuple[str | None, ...]  # the field each column gives; None for an ignored column
    ignored: tuple[str, ...]

    def column(self, field_name: str) -> str:
        """The header the user wrote for a field, so messages name what they see."""
        return self._columns.get(field_name, field_name)

    @cached_property
    def _columns(self) -> dict[str, str]:
        columns: dict[str, str] = {}
        for name, given in zip(self.names, self.fields, strict=True):
            if given is not None:
                columns.setdefault(given, name)
        return columns

    @cached_property
    def _positions(self) -> tuple[tuple[int, str], ...]:
        """(index, field) of each column the importer reads, so a row maps without lookups."""
        return tuple((index, given) for index, given in enumerate(self.fields) if given is not None)


# Records, problems, keys and results are named tuples rather than dataclasses: an import makes
# several per row, and a large file's results cross from the cleaning process in a pipe, where
# a named tuple unpickles about three times faster (measured) than a dataclass.


class Record(NamedTuple):
    row: int  # spreadsheet row number of the record's first line
    values: tuple[str, ...]  # as read, for the rejected-rows file
    fields: Mapping[str, str]  # field -> trimmed text; empty cells are left out
    problem: str = ""  # why the record could not be mapped onto the header at all


class RowProblem(NamedTuple):
    row: int
    column: str  # the header as written in the file; empty when it concerns the whole row
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}, {self.column}" if self.column else f"row {self.row}"
        return f"{where}: {self.reason}"


class UniqueKey(NamedTuple):
    """A value that may occur once per file: a second occurrence makes its row bad.

    So re-running a file gives the same result, and no row silently overrides another.
    """

    column: str
    value: str  # compared across columns too: prefix it ("email:…") to keep kinds apart
    reason: str = "the same value is already on row {row}; each record may appear once per file"


class Prepared(NamedTuple, Generic[ValueT]):
    """A cleaned (and then checked) item, one record or a group such as an order's lines."""

    rows: tuple[int, ...]
    value: ValueT
    unique_keys: tuple[UniqueKey, ...] = ()


class Rejected(NamedTuple):
    rows: tuple[int, ...]
    problems: tuple[RowProblem, ...]


@dataclass(frozen=True)
class WriteCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: WriteCounts) -> WriteCounts:
        return WriteCounts(
            created=self.created + other.created,
            updated=self.updated + other.updated,
            unchanged=self.unchanged + other.unchanged,
        )


@dataclass(frozen=True)
class WriteResult:
    counts: WriteCounts
    # Items the database no longer allows as they were checked (another writer changed it
    # between the check and the write); they were left out, the others were written.
    rejected: tuple[Rejected, ...] = ()


class Importer(Protocol[ValueT]):
    """What an app provides to import one kind of record.

    For each batch the import calls clean, then check with the groups clean prepared, then
    (in a real run) write with the values that passed, all inside one transaction.
    """

    @property
    def formats(self) -> Sequence[TableFormat]:
        """The known formats; the first is the generic one that wins a tie in detection."""
        ...

    @property
    def group_field(self) -> str | None:
        """Consecutive records with the same value of this field form one item (an order)."""
        ...

    @property
    def tables(self) -> Sequence[type[models.Model]]:
        """The models whose tables the import fills: a file with twice the rows a table holds
        may have its plain indexes built once, at the end, instead of row by row."""
        ...

    def begin(self, header: Header) -> None:
        """Read, once, what cleaning needs from the database and what checking compares with."""
        ...

    def clean(
        self, groups: Sequence[Sequence[Record]], header: Header
    ) -> Sequence[Prepared[ValueT] | Rejected]:
        """Clean each group's cells by the API's rules; one result per group, in order.

        No database access: a large file is cleaned in a worker process, so values and
        problems must pickle.
        """
        ...

    def check(
        self, items: Sequence[Prepared[ValueT]], header: Header
    ) -> Sequence[Prepared[ValueT] | Rejected]:
        """Check cleaned items against the database as the import found it (its own writes
        unseen, so a dry run and a real run judge every row alike); one result per item.

        An item may gain unique keys found there, such as the customer a row updates.
        """
        ...

    def write(self, items: Sequence[ValueT], header: Header) -> WriteResult:
        """Write checked values with set-based queries, inside the import's transaction.

        Called right after check, with the values of that batch that passed. It reads the
        database as it is now; an item it no longer allows is rejected, not written.
        """
        ...


@dataclass(frozen=True)
class ImportOutcome:
    path: Path
    format_name: str
    ignored_columns: tuple[str, ...]
    row_count: int
    bad_row_count: int
    problem_count: int
    problems: tuple[RowProblem, ...]  # the first SCREEN_PROBLEM_LIMIT, by row
    report_path: Path | None  # every problem, when there are more than the screen shows
    rejected_path: Path | None
    counts: WriteCounts | None  # None when nothing was written
    is_dry_run: bool

    @property
    def is_written(self) -> bool:
        return self.counts is not None


PhaseProgress = Callable[[str], AbstractContextManager[ProgressCallback]]


@contextmanager
def no_progress(description: str) -> Iterator[ProgressCallback]:
    yield ignore_progress


def parse_boolean(text: str, *, field: str) -> bool:
    """A yes/no cell as spreadsheets write it."""
    folded = text.strip().casefold()
    if folded in _TRUE_WORDS:
        return True
    if folded in _FALSE_WORDS:
        return False
    raise ValidationFailed(f"{text[:40]!r} is not true or false (use true/false)", field=field)


def row_problems(
    error: PatronError,
    *,
    row: int,
    header: Header,
    renames: Mapping[str, str] | None = None,
) -> tuple[RowProblem, ...]:
    """One problem per field of a service's error, each naming its column as the file does."""
    renames = renames or {}
    return tuple(
        RowProblem(
            row=row,
            column=header.column(renames.get(problem.field, problem.field))
            if problem.field
            else "",
            reason=problem.message,
        )
        for problem in error.problems
    )


def column_letter(index: int) -> str:
    """The spreadsheet name of a zero-based column index: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _lines(path: Path) -> Iterator[str]:
    """The file's lines with their line endings, so the csv module sees quoted newlines.

    Decoded by the io module in large chunks; only a file that is not UTF-8 is read again,
    line by line, to name the row of its first bad byte. Lines end at "\\n" alone, as in a
    byte-wise split, so a carriage return inside quotes does not shift row numbers.
    """
    with path.open("rb") as file:
        if file.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            raise TableError(
                "the file is UTF-16 text; save it as 'CSV UTF-8' and import that", field="file"
            )
    try:
        with path.open(encoding="utf-8-sig", newline="\n") as file:
            yield from file
    except UnicodeDecodeError as error:
        raise _not_utf8(path) from error


def _not_utf8(path: Path) -> TableError:
    with path.open("rb") as file:
        for number, raw in enumerate(file, start=1):
            if number == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as error:
                return TableError(
                    f"the file is not UTF-8 text: row {number} holds the byte "
                    f"0x{raw[error.start]:02X} (character {error.start + 1} of that line), which "
                    "UTF-8 does not allow; save the file as 'CSV UTF-8' and import it again",
                    field="file",
                )
    # Unreachable for a file read twice unchanged: a byte UTF-8 refuses is refused in its line.
    return TableError(
        "the file is not UTF-8 text; save it as 'CSV UTF-8' and import it again", field="file"
    )


def _raw_records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(first line number, values) of each non-blank record."""
    reader = csv.reader(_lines(path), strict=True)
    last_line = 0
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise TableError(
                f"row {last_line + 1} is not valid CSV ({error}); check its quotes", field="file"
            ) from error
        first_line, last_line = last_line + 1, reader.line_num
        if "".join(values).strip():
            yield first_line, values


def _record_count(path: Path) -> int:
    """The records after the header; reading them all first refuses a broken file early."""
    return max(sum(1 for _ in _raw_records(path)) - 1, 0)


def _header(path: Path, formats: Sequence[TableFormat], format_name: str) -> Header:
    first = next(_raw_records(path), None)
    if first is None:
        raise TableError("the file is empty: its first row must name the columns", field="file")
    names = tuple(name.strip() for name in first[1])
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if not name:
            continue
        if name.casefold() in seen:
            raise TableError(
                f"the column {name!r} appears twice (columns {column_letter(seen[name.casefold()])}"
                f" and {column_letter(index)}); keep one",
                field="header",
            )
        seen[name.casefold()] = index
    chosen = _choose_format(names, formats, format_name)
    fields: list[str | None] = []
    unknown: list[str] = []
    ignored: list[str] = []
    given_by: dict[str, str] = {}
    for name in names:
        field_name = chosen.field_for(name) if name and name not in _OWN_COLUMNS else None
        if field_name is not None and field_name in given_by:
            raise TableError(
                f"the columns {given_by[field_name]!r} and {name!r} both give {field_name}; "
                "keep one",
                field="header",
            )
        if field_name is not None:
            given_by[field_name] = name
        elif name and name not in _OWN_COLUMNS:
            (unknown if chosen.is_strict else ignored).append(name)
        fields.append(field_name)
    if unknown:
        known = ", ".join(chosen.columns)
        prefixes = "".join(f"; or {prefix}<key>" for prefix in chosen.prefixes)
        raise TableError(
            f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            f"for the {chosen.name} format; the columns it knows are {known}{prefixes}",
            field="header",
        )
    for alternatives in chosen.required:
        if not any(name in given_by for name in alternatives):
            wanted = " or ".join(
                next((column for column, name in chosen.columns.items() if name == field_name))
                for field_name in alternatives
            )
            raise TableError(f"the file needs a column {wanted}", field="header")
    return Header(format=chosen, names=names, fields=tuple(fields), ignored=tuple(ignored))


def _choose_format(
    names: Sequence[str], formats: Sequence[TableFormat], format_name: str
) -> TableFormat:
    if format_name != "auto":
        for candidate in formats:
            if candidate.name == format_name:
                return candidate
        raise TableError(
            f"unknown format {format_name!r}; use auto, "
            + ", ".join(candidate.name for candidate in formats),
            field="format",
        )

    def recognised(candidate: TableFormat) -> int:
        return sum(1 for name in names if name and candidate.field_for(name) is not None)

    # The format recognising most columns; max() keeps the first (generic) on a tie.
    return max(formats, key=recognised)


def _record(row: int, values: list[str], header: Header) -> Record:
    if len(values) != len(header.names):
        return Record(
            row=row,
            values=tuple(values),
            fields={},
            problem=f"has {len(values)} fields but the header has {len(header.names)}; "
            "a separator or quote is out of place",
        )
    fields: dict[str, str] = {}
    for index, field_name in header._positions:
        value = values[index].strip()
        if value:
            fields[field_name] = value
    return Record(row=row, values=tuple(values), fields=fields)


def _records(path: Path, header: Header) -> Iterator[Record]:
    raw_records = _raw_records(path)
    next(raw_records, None)  # the header
    for row, values in raw_records:
        yield _record(row, values, header)


def _groups(records: Iterable[Record], group_field: str | None) -> Iterator[tuple[Record, ...]]:
    """Consecutive records sharing the group field's value; every other record stands alone."""
    current: list[Record] = []
    current_key: str | None = None
    for record in records:
        key = record.fields.get(group_field) if group_field and not record.problem else None
        if current and key is not None and key == current_key:
            current.append(record)
            continue
        if current:
            yield tuple(current)
        current, current_key = [record], key
    if current:
        yield tuple(current)


def _batches(groups: Iterable[tuple[Record, ...]]) -> Iterator[list[tuple[Record, ...]]]:
    batch: list[tuple[Record, ...]] = []
    size = 0
    for group in groups:
        batch.append(group)
        size += len(group)
        if size >= BATCH_SIZE:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def neutralised(cell: str) -> str:
    """The cell as a spreadsheet shows it as text: a leading formula character is escaped.

    For every CSV Patron writes for people to open (import reports, list exports).
    """
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


class _ProblemLog:
    """Every problem streamed to a temporary CSV; the first few kept for the screen."""

    def __init__(self) -> None:
        self.count = 0
        self.bad_rows = 0
        self.first: list[RowProblem] = []
        self._file: IO[str] = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in finish()
            "w", encoding="utf-8", newline="", suffix=".csv", delete=False
        )
        self._writer = csv.writer(self._file)
        self._writer.writerow(["row", "column", "reason"])

    def add(self, rejected: Rejected) -> None:
        self.bad_rows += len(rejected.rows)
        for problem in rejected.problems:
            self.count += 1
            if len(self.first) < SCREEN_PROBLEM_LIMIT:
                self.first.append(problem)
            self._writer.writerow(
                [problem.row, neutralised(problem.column), neutralised(problem.reason)]
            )

    def finish(self, report_path: Path) -> Path | None:
        """Keep the full report beside the input only when the screen cannot show it all."""
        self._file.close()
        if self.count <= SCREEN_PROBLEM_LIMIT:
            os.unlink(self._file.name)
            return None
        shutil.move(self._file.name, report_path)
        return report_path

    def discard(self) -> None:
        self._file.close()
        if os.path.exists(self._file.name):
            os.unlink(self._file.name)


class _SeenKeys:
    """The unique keys of the records checked so far, each with the first row that had it.

    Keys are kept as 64-bit hashes in sorted numpy runs (16 bytes a key, so a million rows
    stay within memory), merged as they grow; a batch is looked up with a few vectorised
    searches. Two different keys share a hash with a chance of about one in ten million at a
    million rows, and the message names both rows for a person to see.
    """

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted hashes, first rows)

    def first_rows(self, hashes: Sequence[int], rows: Sequence[int]) -> np.ndarray:
        """For each (hash, row) of a batch, in file order, the first row with that hash so far
        (the row itself when it is the first); the batch's keys are remembered."""
        batch_hashes = np.array(hashes, dtype=np.int64)
        batch_rows = np.array(rows, dtype=np.int64)
        if not len(batch_hashes):
            return batch_rows
        earlier = np.zeros(len(batch_hashes), dtype=np.int64)
        for run_hashes, run_rows in self._runs:
            positions = np.minimum(np.searchsorted(run_hashes, batch_hashes), len(run_hashes) - 1)
            found = run_hashes[positions] == batch_hashes
            earlier[found] = run_rows[positions[found]]
        # Within the batch, the first row of each hash (rows ascend in file order).
        order = np.lexsort((batch_rows, batch_hashes))
        sorted_hashes = batch_hashes[order]
        starts = np.flatnonzero(np.r_[True, sorted_hashes[1:] != sorted_hashes[:-1]])
        group = np.searchsorted(starts, np.arange(len(order)), side="right") - 1
        within = np.empty_like(batch_rows)
        within[order] = batch_rows[order][starts][group]
        first = np.where(earlier > 0, earlier, within)
        is_new = earlier[order][starts] == 0
        self._add(sorted_hashes[starts][is_new], batch_rows[order][starts][is_new])
        return first

    def _add(self, hashes: np.ndarray, rows: np.ndarray) -> None:
        if not len(hashes):
            return
        self._runs.append((hashes, rows))
        # Merge while a run is not at least twice the next: O(log n) runs to search.
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            (older_hashes, older_rows), (newer_hashes, newer_rows) = self._runs[-2:]
            merged_hashes = np.concatenate((older_hashes, newer_hashes))
            merged_rows = np.concatenate((older_rows, newer_rows))
            order = np.argsort(merged_hashes, kind="stable")
            self._runs[-2:] = [(merged_hashes[order], merged_rows[order])]


class _RejectedWriter:
    """The rejected rows with their original columns plus the row number and the reasons.

    Cells are written as the user gave them (formulas included), so the fixed file imports
    the same way; it is the user's own data coming back, not an export of stored data. The
    file is created with the first rejected row.
    """

    def __init__(self, path: Path, header: Header) -> None:
        self.path = path
        self._header = header
        self._kept = [index for index, name in enumerate(header.names) if name not in _OWN_COLUMNS]
        self._width = len(header.names)
        self._file: IO[str] | None = None
        self._writer: Any = None

    def add(
        self,
        rows: Sequence[int],
        cells: Sequence[Sequence[str]],
        problems: Sequence[RowProblem],
    ) -> None:
        """One item's records (an order's rows), each with the reasons that concern it."""
        if self._file is None:
            self._file = self.path.open("w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._file)
            self._writer.writerow(
                [*(self._header.names[index] for index in self._kept), ROW_COLUMN, ERROR_COLUMN]
            )
        for row, values in zip(rows, cells, strict=True):
            reasons = (
                "; ".join(
                    f"{problem.column}: {problem.reason}" if problem.column else problem.reason
                    for problem in problems
                    if problem.row == row
                )
                or f"another row of the same record is bad (row {problems[0].row})"
            )
            kept = (
                [values[index] for index in self._kept]
                if len(values) == self._width
                else list(values)
            )
            self._writer.writerow([*kept, row, reasons])

    def close(self, *, is_kept: bool) -> Path | None:
        """The file's path if it holds rows and is kept, else None (and no file)."""
        if self._file is None:
            return None
        self._file.close()
        if not is_kept:
            self.path.unlink(missing_ok=True)
            return None
        return self.path


_Cells = tuple[tuple[str, ...], ...]
# One group as cleaning leaves it: its rows, its cells as read (kept only when bad rows go to
# a rejected-rows file) and what the importer's clean made of it.
_Cleaned = tuple[tuple[int, ...], _Cells, Prepared[Any] | Rejected]
_Batches = Generator[list[_Cleaned], None, None]


def _clean(
    importer: Importer[ValueT], batch: Sequence[tuple[Record, ...]], header: Header
) -> list[Prepared[ValueT] | Rejected]:
    """Each group's result; structurally broken records never reach the importer."""
    sound = [group for group in batch if not any(record.problem for record in group)]
    cleaned = iter(importer.clean(sound, header) if sound else ())
    results: list[Prepared[ValueT] | Rejected] = []
    for group in batch:
        broken = [record for record in group if record.problem]
        if broken:
            results.append(
                Rejected(
                    rows=tuple(record.row for record in group),
                    problems=tuple(
                        RowProblem(row=record.row, column="", reason=record.problem)
                        for record in broken
                    ),
                )
            )
        else:
            results.append(next(cleaned))
    return results


def _cleaned_batches(
    path: Path, header: Header, importer: Importer[Any], *, is_keeping_cells: bool
) -> _Batches:
    for batch in _batches(_groups(_records(path, header), importer.group_field)):
        yield [
            (
                tuple(record.row for record in group),
                tuple(record.values for record in group) if is_keeping_cells else (),
                result,
            )
            for group, result in zip(batch, _clean(importer, batch, header), strict=True)
        ]


def _in_worker(batches: _Batches) -> _Batches:
    """The same batches, cleaned in a forked process while this one checks and writes.

    Cleaning is pure Python and writing mostly database work, so on two cores they overlap.
    The worker may run a few batches ahead (so neither waits on the other's every pause) and
    no further, so memory stays flat. It never touches the database connection it inherits,
    and leaves with os._exit. It starts here, before any progress bar starts a thread that a
    fork would copy mid-step.
    """
    context = multiprocessing.get_context("fork")
    queue = context.Queue(maxsize=_BATCHES_AHEAD)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # else the worker's copy of a buffer could be written twice
    worker = context.Process(target=_clean_into, args=(batches, queue, os.getpid()), daemon=True)
    worker.start()
    return _received(queue, worker)


# How many cleaned batches the worker may hold ready (a few MB each).
_BATCHES_AHEAD = 3
# How long to wait for the next batch before checking that the worker still runs.
_WORKER_CHECK_SECONDS = 1.0


def _received(queue: Any, worker: Any) -> _Batches:
    is_finished = False
    try:
        while True:
            try:
                kind, payload = queue.get(timeout=_WORKER_CHECK_SECONDS)
            except Empty:
                if not worker.is_alive():
                    raise RuntimeError(
                        "the process cleaning rows stopped unexpectedly "
                        f"(exit code {worker.exitcode})"
                    ) from None
                continue
            if kind == "batch":
                yield payload
            elif kind == "error":
                raise payload
            else:
                is_finished = True
                return
    finally:
        if not is_finished:
            worker.terminate()  # its batches are no longer wanted
        worker.join()
        queue.close()


def _clean_into(batches: _Batches, queue: Any, parent: int) -> None:
    # Ctrl-C reaches the whole process group: the importing process handles it and ends this
    # one; here it would only print a second traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for number, batch in enumerate(batches, start=1):
            _put(queue, ("batch", batch), parent)
            if number % _BATCHES_PER_COLLECTION == 0:
                gc.collect(1)  # the collector is paused here too, as in the importing process
        _put(queue, ("done", None), parent)
    except Exception as error:  # sent back so the importing process raises it
        try:
            pickle.dumps(error)
        except Exception:
            error = RuntimeError(f"cleaning rows failed: {error!r}")
        _put(queue, ("error", error), parent)
    finally:
        queue.close()
        queue.join_thread()  # everything put is in the pipe before the process leaves


def _put(queue: Any, item: tuple[str, Any], parent: int) -> None:
    """Wait for room in the queue, but not for an importing process that is gone."""
    while True:
        try:
            queue.put(item, timeout=_WORKER_CHECK_SECONDS)
            return
        except Full:
            if os.getppid() != parent:
                raise SystemExit(0) from None  # orphaned: nobody will read what is left


# Below this many rows a worker process costs more than it saves.
WORKER_MINIMUM_ROWS = 2 * BATCH_SIZE


def _is_worth_a_worker(row_count: int) -> bool:
    return (
        row_count >= WORKER_MINIMUM_ROWS
        and (os.cpu_count() or 1) > 1
        and "fork" in multiprocessing.get_all_start_methods()
    )


# Building an index once over a loaded table is faster than updating it row by row (measured
# on SQLite, inserting a million customers, identities and audit entries: a third less time),
# but only when the file brings at least twice the rows the table holds (so a re-run of the
# same file, which writes nothing, keeps the indexes), and never worth it for a small file.
DEFERRED_INDEX_MINIMUM_ROWS = 50_000


class _DeferredIndexes:
    """The plain (not unique) indexes of tables a large import fills, dropped at its start and
    built again before it commits, all inside its transaction.

    SQLite only: there the import holds the write lock anyway and readers keep reading the
    last committed state, indexes included; a rollback (a bad row, a crash) restores them. On
    PostgreSQL dropping an index would lock the table against readers, so nothing is deferred.
    Unique indexes stay: they check every row as it comes.
    """

    def __init__(self, tables: Sequence[type[models.Model]], *, row_count: int) -> None:
        self._dropped: list[str] = []  # the CREATE INDEX statements to run again
        if connection.vendor != "sqlite" or row_count < DEFERRED_INDEX_MINIMUM_ROWS:
            return
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            for model in tables:
                meta = model._meta
                # The highest rowid: at once, and never below the number of rows.
                cursor.execute(f"SELECT max(rowid) FROM {quote(meta.db_table)}")  # noqa: S608 - names come from the model
                if 2 * (cursor.fetchone()[0] or 0) > row_count:
                    continue  # rebuilding the table's indexes would cost more than it saves
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                    "AND sql IS NOT NULL",
                    [meta.db_table],
                )
                for name, statement in cursor.fetchall():
                    if statement.lstrip().upper().startswith("CREATE UNIQUE"):
                        continue
                    cursor.execute(f"DROP INDEX {quote(name)}")
                    self._dropped.append(statement)

    def rebuild(self) -> None:
        with connection.cursor() as cursor:
            for statement in self._dropped:
                cursor.execute(statement)
        self._dropped = []


# Batches between two collections of cyclic garbage. An import makes none that anyone has
# measured (every batch of customers, orders and bad rows: zero), and a collection walks the
# live batch, so it runs rarely, as a safety net: at most this many batches of garbage wait.
_BATCHES_PER_COLLECTION = 20


@contextmanager
def _collection_per_batch() -> Iterator[Callable[[], object]]:
    """Collect cyclic garbage every few batches rather than every few hundred allocations.

    A batch allocates hundreds of thousands of short-lived objects, and Python's automatic
    collections then keep walking every long-lived object too (measured: a third of an
    import's time). Objects alive at the start are frozen, so no collection walks them again;
    the automatic collector is paused and the caller calls back once per batch.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    gc.freeze()
    batches = 0

    def collect() -> None:
        nonlocal batches
        batches += 1
        if batches % _BATCHES_PER_COLLECTION == 0:
            gc.collect(1)

    try:
        yield collect
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def _beside(path: Path, suffix: str) -> Path:
    return path.with_name(f"{path.stem}{suffix}")


def table_import(
    path: Path,
    importer: Importer[ValueT],
    *,
    format_name: str = "auto",
    is_dry_run: bool = False,
    is_skipping_bad_rows: bool = False,
    progress: PhaseProgress = no_progress,
) -> ImportOutcome:
    """Check every row and write the good ones in one transaction, committed only when every
    row was good; with is_skipping_bad_rows the good rows are committed and the bad ones go to
    <stem>.rejected.csv. A dry run checks every row and writes nothing.
    """
    header = _header(path, importer.formats, format_name)
    with progress(f"Reading {path.name}") as report:
        row_count = _record_count(path)
        report(row_count, row_count)
    if not row_count:
        return ImportOutcome(
            path=path,
            format_name=header.format.name,
            ignored_columns=header.ignored,
            row_count=0,
            bad_row_count=0,
            problem_count=0,
            problems=(),
            report_path=None,
            rejected_path=None,
            counts=None,
            is_dry_run=is_dry_run,
        )
    importer.begin(header)
    with _collection_per_batch() as collect:
        batches = _cleaned_batches(
            path,
            header,
            importer,
            is_keeping_cells=is_skipping_bad_rows and not is_dry_run,
        )
        if _is_worth_a_worker(row_count):
            batches = _in_worker(batches)
        return _import_batches(
            path,
            header,
            importer,
            batches,
            row_count=row_count,
            is_dry_run=is_dry_run,
            is_skipping_bad_rows=is_skipping_bad_rows,
            progress=progress,
            collect=collect,
        )


def _import_batches(
    path: Path,
    header: Header,
    importer: Importer[ValueT],
    batches: _Batches,
    *,
    row_count: int,
    is_dry_run: bool,
    is_skipping_bad_rows: bool,
    progress: PhaseProgress,
    collect: Callable[[], object],
) -> ImportOutcome:
    log = _ProblemLog()
    rejected = (
        _RejectedWriter(_beside(path, ".rejected.csv"), header)
        if is_skipping_bad_rows and not is_dry_run
        else None
    )
    seen = _SeenKeys()
    counts = WriteCounts()
    is_writing = not is_dry_run
    is_complete = False
    try:
        with (
            closing(batches),
            progress("Checking rows" if is_dry_run else "Importing rows") as report,
            nullcontext() if is_dry_run else transaction.atomic(),
        ):
            deferred = (
                None if is_dry_run else _DeferredIndexes(importer.tables, row_count=row_count)
            )
            done = 0
            for batch in batches:
                good = _check_batch(batch, importer, header, seen, log, rejected)
                if log.count and not is_skipping_bad_rows:
                    # Nothing will be committed: keep checking, to report every bad row.
                    is_writing = False
                if is_writing and good:
                    counts += _write_batch(good, batch, importer, header, log, rejected)
                collect()
                done += sum(len(entry[0]) for entry in batch)
                report(done, row_count)
            if is_writing and deferred is not None:
                deferred.rebuild()
            elif not is_dry_run:
                transaction.set_rollback(True)  # the rollback restores any dropped index
        is_complete = True
    except BaseException:
        log.discard()
        raise
    finally:
        rejected_path = (
            rejected.close(is_kept=is_complete and is_writing) if rejected is not None else None
        )
    return ImportOutcome(
        path=path,
        format_name=header.format.name,
        ignored_columns=header.ignored,
        row_count=row_count,
        bad_row_count=log.bad_rows,
        problem_count=log.count,
        problems=tuple(sorted(log.first, key=lambda problem: problem.row)),
        report_path=log.finish(_beside(path, ".errors.csv")),
        rejected_path=rejected_path,
        counts=counts if is_writing else None,
        is_dry_run=is_dry_run,
    )


def _check_batch(
    batch: Sequence[_Cleaned],
    importer: Importer[ValueT],
    header: Header,
    seen: _SeenKeys,
    log: _ProblemLog,
    rejected: _RejectedWriter | None,
) -> list[tuple[tuple[int, ...], ValueT]]:
    """The batch's good items, in order; the bad ones are logged (and kept for the file).

    A record whose key an earlier record of the file had is bad, naming that row: letting the
    later one win would make the result depend on row order, and a re-run could undo and redo
    changes. Every checked record's keys count as seen, bad duplicates included.
    """
    results: list[Prepared[ValueT] | Rejected] = [entry[2] for entry in batch]
    cleaned = [
        (index, result) for index, result in enumerate(results) if isinstance(result, Prepared)
    ]
    if cleaned:
        checked = importer.check([result for _, result in cleaned], header)
        for (index, _), result in zip(cleaned, checked, strict=True):
            results[index] = result
    keyed = [
        (index, key)
        for index, result in enumerate(results)
        if isinstance(result, Prepared)
        for key in result.unique_keys
    ]
    first_rows = seen.first_rows(
        [hash(key.value) for _, key in keyed],
        [batch[index][0][0] for index, _ in keyed],
    )
    repeated: dict[int, list[RowProblem]] = {}
    for (index, key), first in zip(keyed, first_rows.tolist(), strict=True):
        row = batch[index][0][0]
        if first != row:
            repeated.setdefault(index, []).append(
                RowProblem(row=row, column=key.column, reason=key.reason.format(row=first))
            )
    good: list[tuple[tuple[int, ...], ValueT]] = []
    for index, (rows, cells, _) in enumerate(batch):
        result = results[index]
        if index in repeated:
            result = Rejected(rows=rows, problems=tuple(repeated[index]))
        if isinstance(result, Rejected):
            log.add(result)
            if rejected is not None:
                rejected.add(rows, cells, result.problems)
        else:
            good.append((rows, result.value))
    return good


def _write_batch(
    good: Sequence[tuple[tuple[int, ...], ValueT]],
    batch: Sequence[_Cleaned],
    importer: Importer[ValueT],
    header: Header,
    log: _ProblemLog,
    rejected: _RejectedWriter | None,
) -> WriteCounts:
    try:
        result = importer.write([value for _, value in good], header)
    except IntegrityError as error:
        # Another writer took a key this batch was checked without.
        raise TableError(
            f"rows {batch[0][0][0]} to {batch[-1][0][-1]} clash with data written during the "
            f"import ({error}); nothing was written, run it again",
            field="file",
        ) from error
    if result.rejected:
        cells_by_row = {entry[0][0]: entry for entry in batch}
        for late in result.rejected:
            if rejected is None:
                # Another writer changed the data since this batch was checked: stop and
                # roll back rather than commit a file that is no longer all good.
                raise TableError(
                    f"{late.problems[0]} (the data changed during the import); nothing was written",
                    field="file",
                )
            log.add(late)
            rows, cells, _ = cells_by_row[late.rows[0]]
            rejected.add(rows, cells, late.problems)
    return result.counts


# Set-based writes for importers. Django's bulk_create builds one large SQL string per batch
# and prepares every value through each field in Python; for a million rows that costs more
# than the database's own work. These send one prepared statement with plain tuples
# (executemany on SQLite, COPY on PostgreSQL), adapting only the values the driver would
# store differently from the ORM.


class JsonText(str):
    """A JSON field's value already encoded as JSON text, which rows_insert and rows_update
    store as it is (a writer that can encode in one step saves encoding twice)."""


def _adapter(model_field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
    """How a value of this field reaches the driver when that differs from the driver's own way."""
    if isinstance(model_field, models.JSONField):
        encoder = model_field.encoder
        adapt_json_value = connection.ops.adapt_json_value

        def adapt_json(value: Any) -> Any:
            if value is None or isinstance(value, JsonText):
                # Text reaches a PostgreSQL jsonb column untyped (COPY and psycopg's default),
                # and the server parses it; SQLite stores JSON as text anyway.
                return value
            return adapt_json_value(value, encoder)

        return adapt_json
    if isinstance(model_field, models.DateTimeField) and connection.vendor != "postgresql":
        # SQLite stores naive UTC text; its driver would keep the +00:00 of an aware value.
        # Rows of one batch mostly share one moment, so the last one is remembered.
        adapt = connection.ops.adapt_datetimefield_value
        last: list[Any] = [None, None]

        def adapt_moment(value: Any) -> Any:
            if value is not last[0]:
                last[0], last[1] = value, adapt(value)
            return last[1]

        return adapt_moment
    return None


def _column(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    found = model._meta.get_field(name)
    if not isinstance(found, models.Field) or found.column is None:
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return found


def column_defaults(model: type[models.Model], names: Iterable[str]) -> dict[str, Any]:
    """What the ORM gives each of these fields when a new row leaves it out."""
    return {name: _column(model, name).get_default() for name in names}


def _adapted_rows(
    rows: Iterable[Sequence[Any]],
    adapters: Sequence[Callable[[Any], Any] | None],
    constants: tuple[Any, ...],
) -> Iterator[tuple[Any, ...]]:
    positions = [(index, adapt) for index, adapt in enumerate(adapters) if adapt is not None]
    if not positions:
        for row in rows:
            yield (*row, *constants)
        return
    for row in rows:
        values = list(row)
        for index, adapt in positions:
            values[index] = adapt(values[index])
        yield (*values, *constants)


def _json_ready(value: Any) -> Any:
    """A row's value for orjson: JSON text already encoded goes in as it is, not as a string."""
    return orjson.Fragment(str(value)) if isinstance(value, JsonText) else value


def rows_insert(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    constants: Mapping[str, Any] | None = None,
    conflicts_skipped: bool = False,
) -> None:
    """Insert rows of a model: each row gives the values of `fields` (attnames such as
    customer_id), in that order, as clean as the ORM would be given them.

    Every other concrete field takes its value from `constants`, else its default (the current
    time for auto_now fields); a primary key left out is assigned by the database.
    conflicts_skipped leaves out, silently, a row that would break a unique constraint.
    """
    if not rows:
        return
    constants = dict(constants or {})
    meta = model._meta
    given = [_column(model, name) for name in fields]
    named = {model_field.attname for model_field in given}
    now = timezone.now()
    constant_fields: list[models.Field[Any, Any]] = []
    constant_values: list[Any] = []
    for model_field in meta.concrete_fields:
        if model_field.attname in named or (
            model_field.primary_key and model_field.attname not in constants
        ):
            continue
        if model_field.attname in constants:
            value = constants[model_field.attname]
        elif getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
            value = now
        else:
            value = model_field.get_default()
        constant_fields.append(model_field)
        # Once per call, so exactly as the ORM prepares it (choices, time zones, JSON).
        constant_values.append(model_field.get_db_prep_save(value, connection))
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model_field.column) for model_field in [*given, *constant_fields])
    values = _adapted_rows(
        rows, [_adapter(model_field) for model_field in given], tuple(constant_values)
    )
    table = quote(meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and conflicts_skipped:
            # COPY cannot skip a row, and executemany sends a statement per row (200 rows
            # cost the server 5 ms): one INSERT reads all the rows from one JSON parameter.
            definitions = ", ".join(
                f"{quote(model_field.column)} {model_field.db_type(connection)}"
                for model_field in given
            )
            read = ", ".join(quote(model_field.column) for model_field in given)
            keys = [model_field.column for model_field in given]
            document = orjson.dumps(
                [dict(zip(keys, map(_json_ready, row), strict=True)) for row in rows],
                default=str,  # Decimal: PostgreSQL reads the text into its numeric column
            ).decode()
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {read}"  # noqa: S608 - names come from the model
                + ", %s" * len(constant_values)
                + f" FROM jsonb_to_recordset(%s::jsonb) AS given ({definitions})"
                " ON CONFLICT DO NOTHING",
                [*constant_values, document],
            )
            return
        if connection.vendor == "postgresql":
            # COPY streams rows without a statement per row or a parameter limit.
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
            return
        placeholders = ", ".join(["%s"] * (len(given) + len(constant_fields)))
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608 - names come from the model
            + (" ON CONFLICT DO NOTHING" if conflicts_skipped else ""),
            list(values),
        )


def rows_update(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Set `fields` on rows given as (value, …, primary key), one prepared statement for all."""
    if not rows:
        return
    meta = model._meta
    given = [_column(model, name) for name in fields]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(model_field.column)} = %s" for model_field in given)
    adapters = [*(_adapter(model_field) for model_field in given), None]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {quote(meta.db_table)} SET {assignments} "  # noqa: S608 - names come from the model
            f"WHERE {quote(meta.pk.column)} = %s",
            list(_adapted_rows(rows, adapters, ())),
        )


# Values per lookup statement: far below SQLite's 32,766 and PostgreSQL's 65,535 parameters.
_LOOKUP_CHUNK = 10_000


def rows_find(
    model: type[models.Model],
    key: str,
    keys: Iterable[Any],
    fields: Sequence[str],
    *,
    where: Mapping[str, Any] | None = None,
) -> list[tuple[Any, ...]]:
    """(key, *fields) of the rows whose `key` is one of `keys` and whose `where` fields equal
    the given values, as the driver returns them: for keys and ids, not dates or JSON.

    The ORM spends more building an IN list of thousands of values than the database spends
    answering it; this sends the same query as plain parameters.
    """
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return []
    quote = connection.ops.quote_name
    filters = dict(where or {})
    columns = ", ".join(quote(_column(model, name).column) for name in (key, *fields))
    conditions = "".join(f"{quote(_column(model, name).column)} = %s AND " for name in filters)
    table = quote(model._meta.db_table)
    found: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(wanted), _LOOKUP_CHUNK):
            chunk = wanted[start : start + _LOOKUP_CHUNK]
            cursor.execute(
                f"SELECT {columns} FROM {table} WHERE {conditions}"  # noqa: S608 - names come from the model
                f"{quote(_column(model, key).column)} IN ({', '.join(['%s'] * len(chunk))})",
                [*filters.values(), *chunk],
            )
            found.extend(cursor.fetchall())
    return found


def ids_reserve(model: type[models.Model], count: int) -> Sequence[int]:
    """Primary keys for `count` new rows, so rows that refer to them go in the same batch.

    Call it inside the write transaction and insert rows with these ids (rows_insert with the
    primary key among the fields) before anything else inserts into the same table.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("ids_reserve needs the write transaction")
    if count <= 0:
        return ()
    meta = model._meta
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, count],
            )
            return [identifier for (identifier,) in cursor.fetchall()]
        # SQLite: the write transaction holds the database's write lock, so nobody else can
        # take the next ids. AUTOINCREMENT never reuses the id of a deleted row (audit entries
        # and erasure records may still name it), so start above sqlite_sequence too.
        quote = connection.ops.quote_name
        cursor.execute(f"SELECT max({quote(meta.pk.column)}) FROM {quote(meta.db_table)}")  # noqa: S608 - names come from the model
        highest = cursor.fetchone()[0] or 0
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [meta.db_table])
        sequence = cursor.fetchone()
        if sequence is not None:
            highest = max(highest, sequence[0])
    return range(highest + 1, highest + 1 + count)
