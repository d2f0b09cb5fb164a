"""Importing CSV files: encodings, row numbers, headers, batches, checks, all-or-nothing writes."""

from __future__ import annotations

import csv
import gc
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.db.models import Model
from django.utils import timezone

from patron.core import tabular
from patron.core.errors import ProblemList, ValidationFailed
from patron.core.tabular import (
    Header,
    Prepared,
    Record,
    Rejected,
    RowProblem,
    TableError,
    TableFormat,
    UniqueKey,
    WriteCounts,
    WriteResult,
    column_letter,
    parse_boolean,
    table_import,
)

# The write pass runs in a transaction, so every test may touch the database.
pytestmark = pytest.mark.django_db

PLAIN = TableFormat(
    name="generic",
    columns={"key": "key", "name": "name"},
    prefixes=("extra.",),
    required=(("key",),),
)
SHOP = TableFormat(
    name="shop",
    columns={"Handle": "key", "Title": "name"},
    is_strict=False,
    required=(("key",),),
)


@dataclass
class ListImporter:
    """Checks that a name is not 'bad' and keeps what it is asked to write, in memory."""

    formats: tuple[TableFormat, ...] = (PLAIN, SHOP)
    group_field: str | None = None
    tables: tuple[type[Model], ...] = ()
    written: list[list[tuple[int, str, str]]] = field(default_factory=list)
    prepared_batches: list[int] = field(default_factory=list)

    def begin(self, header: Header) -> None:
        pass

    def check(
        self, items: Sequence[Prepared[tuple[int, str, str]]], header: Header
    ) -> Sequence[Prepared[tuple[int, str, str]] | Rejected]:
        return items

    def clean(
        self, groups: Sequence[Sequence[Record]], header: Header
    ) -> list[Prepared[tuple[int, str, str]] | Rejected]:
        self.prepared_batches.append(sum(len(group) for group in groups))
        results: list[Prepared[tuple[int, str, str]] | Rejected] = []
        for group in groups:
            record = group[0]
            name = record.fields.get("name", "")
            if name == "bad":
                results.append(
                    Rejected(
                        rows=(record.row,),
                        problems=(RowProblem(record.row, header.column("name"), "is bad"),),
                    )
                )
                continue
            results.append(
                Prepared(
                    rows=tuple(item.row for item in group),
                    value=(record.row, record.fields.get("key", ""), name),
                    unique_keys=(
                        UniqueKey(column=header.column("key"), value=record.fields["key"]),
                    ),
                )
            )
        return results

    def write(self, items: Sequence[tuple[int, str, str]], header: Header) -> WriteResult:
        self.written.append(list(items))
        return WriteResult(WriteCounts(created=len(items)))

    @property
    def rows_written(self) -> list[tuple[int, str, str]]:
        return [item for batch in self.written for item in batch]


def write_bytes(tmp_path: Path, content: bytes, name: str = "input.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_utf8_with_bom_reads_the_first_header_cleanly(tmp_path):
    path = write_bytes(tmp_path, "\ufeffkey,name\r\n1,Zoë\r\n".encode())
    importer = ListImporter()

    outcome = table_import(path, importer)

    assert outcome.format_name == "generic"
    assert importer.rows_written == [(2, "1", "Zoë")]


def test_quoted_newlines_keep_the_next_records_row_number(tmp_path):
    path = write_bytes(tmp_path, b'key,name\n1,"two\nline name"\n2,bad\n3,"x\r\ny\r\nz"\n4,bad\n')
    importer = ListImporter()

    outcome = table_import(path, importer, is_dry_run=True)

    assert [(problem.row, problem.column) for problem in outcome.problems] == [
        (4, "name"),
        (8, "name"),
    ]
    assert outcome.row_count == 4
    assert importer.written == []


def test_a_latin1_file_is_refused_naming_the_row_of_the_first_bad_byte(tmp_path):
    path = write_bytes(tmp_path, "key,name\n1,Ana\n2,Zoë\n".encode("latin-1"))
    importer = ListImporter()

    with pytest.raises(TableError) as raised:
        table_import(path, importer)

    assert raised.value.code == "invalid_file"
    assert "not UTF-8" in raised.value.message
    assert "row 3" in raised.value.message
    assert "0xEB" in raised.value.message
    assert importer.prepared_batches == []


def test_a_utf16_file_is_refused_with_what_to_do(tmp_path):
    path = write_bytes(tmp_path, "key,name\n1,Ana\n".encode("utf-16"))

    with pytest.raises(TableError) as raised:
        table_import(path, ListImporter())

    assert "UTF-16" in raised.value.message


def test_a_row_with_too_many_fields_is_a_bad_row_and_the_rest_are_checked(tmp_path):
    path = write_bytes(tmp_path, b"key,name\n1,Ana\n2,Ben,extra\n3,Cleo\n")
    importer = ListImporter()

    outcome = table_import(path, importer)

    assert outcome.bad_row_count == 1
    assert outcome.problems == (
        RowProblem(
            3,
            "",
            "has 3 fields but the header has 2; a separator or quote is out of place",
        ),
    )
    assert outcome.counts is None
    assert importer.written == []


def test_a_broken_quote_is_refused_naming_its_row(tmp_path):
    path = write_bytes(tmp_path, b'key,name\n1,Ana\n2,"Ben"x\n')

    with pytest.raises(TableError) as raised:
        table_import(path, ListImporter())

    assert raised.value.message.startswith("row 3 is not valid CSV")


def test_duplicate_headers_are_refused_naming_both_columns(tmp_path):
    path = write_bytes(tmp_path, b"key,name,Name\n1,a,b\n")

    with pytest.raises(TableError) as raised:
        table_import(path, ListImporter())

    assert raised.value.message == "the column 'Name' appears twice (columns B and C); keep one"


def test_an_empty_file_is_refused(tmp_path):
    path = write_bytes(tmp_path, b"")

    with pytest.raises(TableError) as raised:
        table_import(path, ListImporter())

    assert raised.value.message.startswith("the file is empty")


def test_a_header_without_rows_imports_nothing_and_is_not_an_error(tmp_path):
    path = write_bytes(tmp_path, b"key,name\n\n,\n")
    importer = ListImporter()

    outcome = table_import(path, importer)

    assert outcome.row_count == 0
    assert outcome.counts is None
    assert importer.prepared_batches == []


def test_unknown_columns_of_the_generic_format_are_refused_but_prefixed_ones_pass(tmp_path):
    path = write_bytes(tmp_path, b"key,name,extra.colour,colour\n1,a,red,red\n")

    with pytest.raises(TableError) as raised:
        table_import(path, ListImporter(), format_name="generic")

    assert raised.value.message.startswith("unknown column 'colour' for the generic format")
    assert "extra.<key>" in raised.value.message


def test_a_shop_export_is_detected_and_its_unknown_columns_listed_as_ignored(tmp_path):
    path = write_bytes(tmp_path, b"Handle,Title,Vendor,Published\nh-1,Serum,Lumen,true\n")
    importer = ListImporter()

    outcome = table_import(path, importer)

    assert outcome.format_name == "shop"
    assert outcome.ignored_columns == ("Vendor", "Published")
    assert importer.rows_written == [(2, "h-1", "Serum")]


def test_a_file_without_a_required_column_is_refused(tmp_path):
    path = write_bytes(tmp_path, b"name\nAna\n")

    with pytest.raises(TableError) as raised:
        table_import(path, ListImporter())

    assert raised.value.message == "the file needs a column key"


def test_the_same_key_twice_rejects_the_later_row_naming_the_earlier(tmp_path):
    path = write_bytes(tmp_path, b"key,name\n1,Ana\n2,Ben\n1,Anna\n")
    importer = ListImporter()

    outcome = table_import(path, importer, is_skipping_bad_rows=True)

    assert outcome.problems == (
        RowProblem(
            4, "key", "the same value is already on row 2; each record may appear once per file"
        ),
    )
    assert importer.rows_written == [(2, "1", "Ana"), (3, "2", "Ben")]


def test_skipping_bad_rows_writes_them_beside_the_input_with_row_and_reason(tmp_path):
    path = write_bytes(tmp_path, b'key,name\n1,bad\n2,Ben\n3,"=HYPERLINK(""x"")",z\n4,bad\n')
    importer = ListImporter()

    outcome = table_import(path, importer, is_skipping_bad_rows=True)

    assert outcome.rejected_path == tmp_path / "input.rejected.csv"
    with outcome.rejected_path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows == [
        ["key", "name", "_row", "_error"],
        ["1", "bad", "2", "name: is bad"],
        [
            "3",
            '=HYPERLINK("x")',
            "z",
            "4",
            "has 3 fields but the header has 2; a separator or quote is out of place",
        ],
        ["4", "bad", "5", "name: is bad"],
    ]
    assert importer.rows_written == [(3, "2", "Ben")]
    assert outcome.counts == WriteCounts(created=1)


def test_a_rejected_file_imports_again_as_it_is(tmp_path):
    path = write_bytes(tmp_path, b"key,name,_row,_error\n1,Ana,2,name: is bad\n")
    importer = ListImporter()

    table_import(path, importer)

    assert importer.rows_written == [(2, "1", "Ana")]


def test_a_dry_run_never_writes(tmp_path):
    path = write_bytes(tmp_path, b"key,name\n1,Ana\n")
    importer = ListImporter()

    outcome = table_import(path, importer, is_dry_run=True)

    assert outcome.problem_count == 0
    assert outcome.counts is None
    assert importer.written == []


def test_many_problems_go_to_a_report_file_and_the_screen_keeps_the_first(tmp_path):
    lines = ["key,name", *(f"{number},bad" for number in range(1, 251))]
    path = write_bytes(tmp_path, ("\n".join(lines) + "\n").encode())

    outcome = table_import(path, ListImporter(), is_dry_run=True)

    assert outcome.problem_count == 250
    assert len(outcome.problems) == tabular.SCREEN_PROBLEM_LIMIT
    assert outcome.report_path == tmp_path / "input.errors.csv"
    with outcome.report_path.open(newline="", encoding="utf-8") as file:
        report = list(csv.reader(file))
    assert len(report) == 251
    assert report[1] == ["2", "name", "is bad"]


def test_groups_follow_consecutive_rows_and_batches_hold_them_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "BATCH_SIZE", 3)
    path = write_bytes(tmp_path, b"key,name\n1,a\n1,b\n2,c\n2,d\n2,e\n3,f\n")
    importer = ListImporter(group_field="key")

    table_import(path, importer)

    assert importer.written == [[(2, "1", "a"), (4, "2", "c")], [(7, "3", "f")]]
    assert importer.prepared_batches[-2:] == [5, 1]


class FailingImporter(ListImporter):
    """Writes real rows (sessions: a table outside the apps) and fails on its second batch."""

    def write(self, items: Sequence[tuple[int, str, str]], header: Header) -> WriteResult:
        if self.written:
            raise RuntimeError("disk full")
        self.written.append(list(items))
        Session.objects.bulk_create(
            Session(session_key=f"row-{row}", session_data="", expire_date=timezone.now())
            for row, _, _ in items
        )
        return WriteResult(WriteCounts(created=len(items)))


@pytest.mark.django_db(transaction=True)
def test_a_crash_midway_leaves_nothing_written(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "BATCH_SIZE", 2)
    path = write_bytes(tmp_path, b"key,name\n1,a\n2,b\n3,c\n4,d\n")
    importer = FailingImporter()

    with pytest.raises(RuntimeError):
        table_import(path, importer)

    assert len(importer.written) == 1
    assert Session.objects.count() == 0


class ClashingImporter(ListImporter):
    """Its second batch inserts a key the first already holds, as a concurrent writer would."""

    def write(self, items: Sequence[tuple[int, str, str]], header: Header) -> WriteResult:
        self.written.append(list(items))
        Session.objects.bulk_create(
            [Session(session_key="taken", session_data="", expire_date=timezone.now())]
        )
        return WriteResult(WriteCounts(created=len(items)))


@pytest.mark.django_db(transaction=True)
def test_a_database_clash_while_writing_is_a_clear_error_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "BATCH_SIZE", 2)
    path = write_bytes(tmp_path, b"key,name\n1,a\n2,b\n3,c\n")

    with pytest.raises(TableError) as raised:
        table_import(path, ClashingImporter())

    assert raised.value.message.startswith("rows 4 to 4 clash with data written during the import")
    assert Session.objects.count() == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("Yes", True), ("1", True), ("FALSE", False), ("no", False)],
)
def test_parse_boolean_reads_what_spreadsheets_write(text, expected):
    assert parse_boolean(text, field="flag") is expected


def test_parse_boolean_names_the_field():
    with pytest.raises(ValidationFailed) as raised:
        parse_boolean("maybe", field="flag")

    assert raised.value.field == "flag"


def test_column_letters_are_the_spreadsheets():
    assert [column_letter(index) for index in (0, 25, 26, 27, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AB",
        "ZZ",
        "AAA",
    ]


def test_a_problem_list_keeps_each_fields_problem_apart():
    problems = ProblemList()
    problems.add("email", "is not valid; check it")
    problems.add("phone", "is not a number")

    with pytest.raises(ValidationFailed) as raised:
        problems.raise_if_any()

    assert [(problem.field, problem.message) for problem in raised.value.problems] == [
        ("email", "is not valid; check it"),
        ("phone", "is not a number"),
    ]
    assert ValidationFailed("alone", field="name").problems[0].field == "name"


class SessionImporter(ListImporter):
    """Writes real rows (sessions: a table outside the apps), one per item."""

    def write(self, items: Sequence[tuple[int, str, str]], header: Header) -> WriteResult:
        self.written.append(list(items))
        Session.objects.bulk_create(
            Session(session_key=f"row-{key}", session_data=name, expire_date=timezone.now())
            for _, key, name in items
        )
        return WriteResult(WriteCounts(created=len(items)))


def numbered_rows(
    count: int, *, bad_at: frozenset[int] = frozenset(), repeat: dict[int, int] | None = None
) -> bytes:
    """Rows key=n, name=item-n for n from 1 (file row n + 1); a 'bad' name at the numbers in
    bad_at; repeat maps a number to the earlier key it repeats."""
    lines = ["key,name"]
    for number in range(1, count + 1):
        key = (repeat or {}).get(number, number)
        lines.append(f"{key},{'bad' if number in bad_at else f'item-{number}'}")
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.django_db(transaction=True)
def test_a_bad_row_after_written_batches_rolls_everything_back(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "BATCH_SIZE", 2)
    path = write_bytes(tmp_path, numbered_rows(7, bad_at=frozenset({7})))
    importer = SessionImporter()

    outcome = table_import(path, importer)

    assert len(importer.written) == 3  # the three batches before the bad row were written…
    assert Session.objects.count() == 0  # …and rolled back
    assert outcome.counts is None
    assert outcome.problems == (RowProblem(8, "name", "is bad"),)
    assert not (tmp_path / "input.rejected.csv").exists()


@pytest.mark.django_db(transaction=True)
def test_after_the_first_bad_row_the_rest_is_checked_but_not_written(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "BATCH_SIZE", 2)
    path = write_bytes(tmp_path, numbered_rows(8, bad_at=frozenset({3, 8})))
    importer = SessionImporter()

    outcome = table_import(path, importer)

    assert importer.written == [[(2, "1", "item-1"), (3, "2", "item-2")]]
    assert [problem.row for problem in outcome.problems] == [4, 9]
    assert Session.objects.count() == 0


def test_a_key_repeated_across_batches_names_its_first_row_each_time(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "BATCH_SIZE", 2)
    path = write_bytes(tmp_path, b"key,name\n1,a\n2,b\n1,c\n3,d\n1,e\n")
    importer = ListImporter()

    outcome = table_import(path, importer, is_skipping_bad_rows=True)

    assert [(problem.row, problem.reason) for problem in outcome.problems] == [
        (4, "the same value is already on row 2; each record may appear once per file"),
        (6, "the same value is already on row 2; each record may appear once per file"),
    ]
    assert importer.rows_written == [(2, "1", "a"), (3, "2", "b"), (5, "3", "d")]


def test_seen_keys_name_the_first_row_across_batches_and_within_one():
    seen = tabular._SeenKeys()

    first = seen.first_rows([hash("a"), hash("b"), hash("a")], [2, 3, 4]).tolist()
    later = seen.first_rows([hash("c"), hash("b"), hash("c"), hash("a")], [5, 6, 7, 8]).tolist()

    assert first == [2, 3, 2]
    assert later == [5, 3, 5, 2]
    assert seen.first_rows([], []).tolist() == []


def test_seen_keys_stay_correct_while_runs_merge():
    seen = tabular._SeenKeys()
    for batch in range(40):
        keys = [f"key-{batch * 10 + offset}" for offset in range(10)]
        seen.first_rows([hash(key) for key in keys], range(batch * 10 + 2, batch * 10 + 12))

    again = seen.first_rows([hash("key-0"), hash("key-399"), hash("new")], [500, 501, 502])

    assert again.tolist() == [2, 401, 502]
    assert len(seen._runs) <= 6


def import_twice(tmp_path: Path, content: bytes, monkeypatch, **options):
    """The same file imported in this process and with a cleaning worker process."""
    results = []
    for minimum in (10**9, 1):
        monkeypatch.setattr(tabular, "WORKER_MINIMUM_ROWS", minimum)
        folder = tmp_path / f"run-{minimum}"
        folder.mkdir()
        importer = ListImporter()
        outcome = table_import(write_bytes(folder, content), importer, **options)
        rejected = (
            outcome.rejected_path.read_text(encoding="utf-8") if outcome.rejected_path else None
        )
        results.append((outcome, importer.rows_written, rejected))
    return results


def test_a_worker_process_cleans_to_the_same_outcome(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "BATCH_SIZE", 3)
    content = numbered_rows(20, bad_at=frozenset({4, 11}), repeat={9: 2, 15: 7})

    (alone, alone_rows, alone_file), (worker, worker_rows, worker_file) = import_twice(
        tmp_path, content, monkeypatch, is_skipping_bad_rows=True
    )

    assert worker.problems == alone.problems
    assert [problem.row for problem in worker.problems] == [5, 10, 12, 16]
    assert worker.counts == alone.counts == WriteCounts(created=16)
    assert worker_rows == alone_rows
    assert worker_file == alone_file
    assert worker_file is not None and worker_file.count("\n") == 5


class ExplodingImporter(ListImporter):
    """Fails to clean a batch holding a row named 'boom'."""

    def clean(
        self, groups: Sequence[Sequence[Record]], header: Header
    ) -> list[Prepared[tuple[int, str, str]] | Rejected]:
        if any(group[0].fields.get("name") == "boom" for group in groups):
            raise RuntimeError("cleaning failed")
        return super().clean(groups, header)


class ExplodingSessionImporter(ExplodingImporter, SessionImporter):
    """Cleans like ExplodingImporter, writes sessions like SessionImporter."""


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("worker_minimum", [10**9, 1])
def test_a_failure_while_cleaning_is_raised_and_nothing_is_written(
    tmp_path, monkeypatch, worker_minimum
):
    monkeypatch.setattr(tabular, "BATCH_SIZE", 2)
    monkeypatch.setattr(tabular, "WORKER_MINIMUM_ROWS", worker_minimum)
    path = write_bytes(tmp_path, b"key,name\n1,a\n2,b\n3,c\n4,boom\n")
    importer = ExplodingSessionImporter()

    with pytest.raises(RuntimeError, match="cleaning failed"):
        table_import(path, importer)

    assert Session.objects.count() == 0


@pytest.mark.parametrize("is_failing", [False, True])
def test_the_garbage_collector_is_left_as_it_was(tmp_path, is_failing):
    path = write_bytes(tmp_path, b"key,name\n1,a\n" if not is_failing else b"key,name\n1,boom\n")

    if is_failing:
        with pytest.raises(RuntimeError):
            table_import(path, ExplodingImporter())
    else:
        table_import(path, ListImporter())

    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def session_indexes() -> dict[str, str]:
    """The plain indexes of the sessions table, by name, as the database defines them."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name = 'django_session' AND sql IS NOT NULL"
            )
        else:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'django_session' "
                "AND indexdef NOT LIKE 'CREATE UNIQUE%%'"
            )
        return dict(cursor.fetchall())


class IndexWatchingImporter(SessionImporter):
    """Fills the sessions table, noting its indexes while it writes."""

    def write(self, items: Sequence[tuple[int, str, str]], header: Header) -> WriteResult:
        self.indexes_while_writing = session_indexes()
        return super().write(items, header)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("bad_at", [frozenset(), frozenset({5})])
def test_a_large_load_builds_plain_indexes_at_the_end_on_sqlite_and_restores_them(
    tmp_path, monkeypatch, bad_at
):
    monkeypatch.setattr(tabular, "DEFERRED_INDEX_MINIMUM_ROWS", 3)
    monkeypatch.setattr(tabular, "BATCH_SIZE", 3)
    before = session_indexes()
    path = write_bytes(tmp_path, numbered_rows(5, bad_at=bad_at))
    importer = IndexWatchingImporter(tables=(Session,))

    outcome = table_import(path, importer)

    assert before  # django_session has an index on expire_date
    assert session_indexes() == before
    if connection.vendor == "sqlite":
        assert importer.indexes_while_writing == {}
    else:
        assert importer.indexes_while_writing == before
    assert Session.objects.count() == (0 if bad_at else 5)
    assert outcome.counts == (None if bad_at else WriteCounts(created=5))


@pytest.mark.django_db(transaction=True)
def test_a_small_load_next_to_a_large_table_keeps_its_indexes(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "DEFERRED_INDEX_MINIMUM_ROWS", 1)
    Session.objects.bulk_create(
        Session(session_key=f"old-{number}", session_data="", expire_date=timezone.now())
        for number in range(5)
    )
    before = session_indexes()
    importer = IndexWatchingImporter(tables=(Session,))

    table_import(write_bytes(tmp_path, numbered_rows(2)), importer)

    assert importer.indexes_while_writing == before


class LateRejectingImporter(SessionImporter):
    """Writes sessions, but finds at write time that the item named 'late' no longer fits,
    as when another writer changed the database since the batch was checked."""

    def write(self, items: Sequence[tuple[int, str, str]], header: Header) -> WriteResult:
        late = [item for item in items if item[2] == "late"]
        result = super().write([item for item in items if item[2] != "late"], header)
        return WriteResult(
            result.counts,
            rejected=tuple(
                Rejected(rows=(row,), problems=(RowProblem(row, "name", "is taken now"),))
                for row, _, _ in late
            ),
        )


@pytest.mark.django_db(transaction=True)
def test_an_item_refused_while_writing_stops_an_import_that_keeps_no_bad_rows(tmp_path):
    path = write_bytes(tmp_path, b"key,name\n1,a\n2,late\n3,c\n")

    with pytest.raises(TableError) as raised:
        table_import(path, LateRejectingImporter())

    assert raised.value.message == (
        "row 3, name: is taken now (the data changed during the import); nothing was written"
    )
    assert Session.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_an_item_refused_while_writing_joins_the_skipped_rows(tmp_path):
    path = write_bytes(tmp_path, b"key,name\n1,a\n2,late\n3,c\n")

    outcome = table_import(path, LateRejectingImporter(), is_skipping_bad_rows=True)

    assert outcome.counts == WriteCounts(created=2)
    assert outcome.problems == (RowProblem(3, "name", "is taken now"),)
    assert outcome.bad_row_count == 1
    assert outcome.rejected_path is not None
    with outcome.rejected_path.open(newline="", encoding="utf-8") as file:
        assert list(csv.reader(file)) == [
            ["key", "name", "_row", "_error"],
            ["2", "late", "3", "name: is taken now"],
        ]
    assert sorted(Session.objects.values_list("session_key", flat=True)) == ["row-1", "row-3"]


def test_skipping_bad_rows_in_a_good_file_leaves_no_rejected_file(tmp_path):
    path = write_bytes(tmp_path, b"key,name\n1,a\n")

    outcome = table_import(path, ListImporter(), is_skipping_bad_rows=True)

    assert outcome.rejected_path is None
    assert not (tmp_path / "input.rejected.csv").exists()
