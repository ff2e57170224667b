"""ON_ERROR for COPY INTO <table>: which records fail, and each file's status, counts and first error.

Snowflake's copy option (docs.snowflake.com, COPY INTO <table>, copy options):
- ``ABORT_STATEMENT`` (default): the first error fails the statement.
- ``CONTINUE``: load the good records; the file is PARTIALLY_LOADED when some records failed.
- ``SKIP_FILE``: a file with any error is not loaded (LOAD_FAILED).
- ``SKIP_FILE_<n>``: skip the file when its error records reach ``n``; fewer errors load it partially.
- ``'SKIP_FILE_<n>%'``: skip the file when the share of error records exceeds ``n`` percent.

The result's ``error_limit`` is the error count at which the file fails: 1 for ABORT_STATEMENT and SKIP_FILE,
``n`` for SKIP_FILE_<n>, the records parsed for CONTINUE (all records failed: nothing loaded), and the
smallest count above ``n`` percent for 'SKIP_FILE_<n>%'. A file whose every record failed is LOAD_FAILED.

Records that fail to parse (invalid JSON, wrong CSV field count) are found while parsing. Values the target
columns cannot take (``'abc'`` into NUMBER, NULL into NOT NULL) are found by probing the file's rows with
the INSERT's own SELECT and casts on a separate DuckDB connection (a failed statement would abort the
session's transaction), bisecting to the failing rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
from fakesnow.cursor import FakeSnowflakeCursor
from fakesnow.dialect import parse_one
from sqlglot import exp

from dataeng_local.snowflake._sql import programming_error, quote
from dataeng_local.snowflake.formats import RowError

if TYPE_CHECKING:
    from dataeng_local.snowflake.cursor import LocalCursor

LOADED, PARTIALLY_LOADED, LOAD_FAILED = "LOADED", "PARTIALLY_LOADED", "LOAD_FAILED"
# LOAD_HISTORY's STATUS values as documented ("LOADED, LOAD FAILED, or PARTIALLY LOADED")
HISTORY_STATUS = {LOADED: "LOADED", PARTIALLY_LOADED: "PARTIALLY LOADED", LOAD_FAILED: "LOAD FAILED"}
# Files Snowflake's load metadata records as loaded (a later COPY skips them without FORCE)
HISTORY_LOADED = ("LOADED", "PARTIALLY LOADED")
DATA_ERRORS = (duckdb.ConversionException, duckdb.InvalidInputException, duckdb.OutOfRangeException)
_ON_ERROR = re.compile(r"(ABORT_STATEMENT|CONTINUE|SKIP_FILE)(?:_([0-9]+)(%)?)?", re.IGNORECASE)
_NOT_NULL = "NULL result in a non-nullable column"


@dataclass(frozen=True)
class OnError:
    mode: str = "ABORT_STATEMENT"
    number: int | None = None  # SKIP_FILE_<n>
    percent: bool = False  # 'SKIP_FILE_<n>%'

    @classmethod
    def parse(cls, text: str) -> OnError:
        match = _ON_ERROR.fullmatch(text.strip())
        if not match or (match[2] is not None and match[1].upper() != "SKIP_FILE"):
            raise programming_error(
                f"SQL compilation error:\ninvalid value [{text}] for parameter 'ON_ERROR'", 1008, "22023"
            )
        number = int(match[2]) if match[2] is not None else None
        if number is not None and (number < 1 or (match[3] and number > 100)):
            raise programming_error(
                f"SQL compilation error:\ninvalid value [{text}] for parameter 'ON_ERROR'", 1008, "22023"
            )
        return cls(match[1].upper(), number, bool(match[3]))

    @property
    def aborts(self) -> bool:
        return self.mode == "ABORT_STATEMENT"

    def error_limit(self, rows_parsed: int) -> int:
        if self.mode == "CONTINUE":
            return rows_parsed
        if self.number is None:
            return 1
        if self.percent:
            return rows_parsed * self.number // 100 + 1  # "exceeds the specified percentage"
        return self.number


@dataclass
class FileOutcome:
    """One file's COPY result row (and its LOAD_HISTORY record)."""

    status: str
    rows_parsed: int
    rows_loaded: int
    error_limit: int
    errors: list[RowError] = field(default_factory=list)

    @property
    def first(self) -> RowError | None:
        return min(self.errors, key=lambda e: e.row) if self.errors else None

    @property
    def loaded(self) -> bool:
        return self.status in (LOADED, PARTIALLY_LOADED)

    def result_row(self, file: str) -> tuple[Any, ...]:
        first = self.first
        return (
            file,
            self.status,
            self.rows_parsed,
            self.rows_loaded,
            self.error_limit,
            len(self.errors),
            first.message if first else None,
            first.line if first else None,
            first.character if first else None,
            first.column if first else None,
        )

    def history_row(self, schema: str, url: str, table: str, when: str) -> list[Any]:
        """The 13 columns of fakesnow's ``_fs_load_history`` (INFORMATION_SCHEMA.LOAD_HISTORY)."""
        first = self.first
        return [
            schema,
            url,
            table,
            when,
            HISTORY_STATUS[self.status],
            self.rows_loaded,
            self.rows_parsed,
            first.message if first else None,
            first.line if first else None,
            first.character if first else None,
            first.column if first else None,
            len(self.errors),
            self.error_limit,
        ]


def judge(on_error: OnError, rows_parsed: int, errors: list[RowError]) -> tuple[str, int]:
    """The file's status and error_limit from its error records."""
    limit = on_error.error_limit(rows_parsed)
    if not errors:
        return LOADED, limit
    if len(errors) >= limit or len(errors) >= rows_parsed:
        return LOAD_FAILED, limit
    return PARTIALLY_LOADED, limit


def file_error(on_error: OnError, message: str) -> FileOutcome:
    """A file that could not be read at all (not decompressible, corrupt Parquet): nothing parsed."""
    return FileOutcome(LOAD_FAILED, 0, 0, on_error.error_limit(0) or 1, [RowError(1, 1, 1, message)])


@dataclass(frozen=True)
class TargetColumn:
    name: str
    type: str  # DuckDB type from DESCRIBE
    nullable: bool
    position: int  # 1-based, in the table


@dataclass(frozen=True)
class BadValue:
    index: int  # row index in the source table
    message: str
    column: TargetColumn | None


def describe_columns(cursor: LocalCursor, database: str, schema: str, table: str) -> list[TargetColumn]:
    rows = cursor._duck_conn.execute(f"DESCRIBE {quote(database)}.{quote(schema)}.{quote(table)}").fetchall()  # noqa: SLF001
    return [TargetColumn(r[0], str(r[1]), str(r[2]).upper() != "NO", i) for i, r in enumerate(rows, start=1)]


def find_bad_values(
    cursor: LocalCursor, source: pa.Table, source_view: str, insert_sql: str, columns: list[TargetColumn]
) -> list[BadValue]:
    """Rows of ``source`` the INSERT would fail on, with Snowflake's message; the first one with its column."""
    probe = cursor._duck_conn.cursor()  # noqa: SLF001 - its own connection and transaction
    try:
        helper = FakeSnowflakeCursor(conn=cursor._conn, duck_conn=probe)  # noqa: SLF001
        insert = helper._transform(parse_one(insert_sql), None)  # noqa: SLF001 - fakesnow's translation only
        by_name = {c.name: c for c in columns}
        into = insert.this
        targets = (
            [by_name[i.name] for i in into.expressions] if isinstance(into, exp.Schema) else list(columns)
        )
        select_sql = insert.expression.sql(dialect="duckdb")
        aliases = ", ".join(f"_c{i}" for i in range(len(targets)))
        casts = [_checked_cast(f"_c{i}", c) for i, c in enumerate(targets)]

        def run(exprs: list[str], lo: int, hi: int) -> None:
            probe.register(source_view, source.slice(lo, hi - lo))
            try:
                probe.sql(
                    f"SELECT {', '.join(exprs)} FROM ({select_sql}) AS _fs_probe({aliases})"
                ).to_arrow_table()
            finally:
                probe.unregister(source_view)

        bad: list[tuple[int, Exception]] = []
        _bisect(lambda lo, hi: run(casts, lo, hi), 0, source.num_rows, bad)
        found = []
        for n, (index, error) in enumerate(bad):
            column = _failing_column(run, casts, targets, index) if n == 0 else None
            found.append(BadValue(index, snowflake_message(error), column))
        return found
    finally:
        probe.close()


def _checked_cast(name: str, column: TargetColumn) -> str:
    cast = f"CAST({name} AS {column.type})"
    if column.nullable:
        return cast
    return f"CASE WHEN {cast} IS NULL THEN error('{_NOT_NULL}') ELSE {cast} END"


def _bisect(run: Callable[[int, int], None], lo: int, hi: int, bad: list[tuple[int, Exception]]) -> None:
    if hi <= lo:
        return
    try:
        run(lo, hi)
        return
    except DATA_ERRORS as e:
        if hi - lo == 1:
            bad.append((lo, e))
            return
    except duckdb.Error as e:  # not about the data (a binder error...): the statement fails as a whole
        raise programming_error(str(e).split("\n")[0], 100038, "22018") from e
    mid = (lo + hi) // 2
    _bisect(run, lo, mid, bad)
    _bisect(run, mid, hi, bad)


def _failing_column(
    run: Callable[[list[str], int, int], None], casts: list[str], targets: list[TargetColumn], index: int
) -> TargetColumn | None:
    for cast, column in zip(casts, targets):
        try:
            run([cast], index, index + 1)
        except DATA_ERRORS:
            return column
    return None


_NUMERIC = re.compile(r"Could not convert string ['\"](.*)['\"] to (U?INT\d*|DECIMAL.*|DOUBLE|FLOAT|HUGEINT)")
_BOOLEAN = re.compile(r"Could not convert string ['\"](.*)['\"] to BOOL")
_DATE = re.compile(r"date field value out of range: \"(.*)\"|invalid date field format: \"(.*?)\"")
_TIMESTAMP = re.compile(
    r"invalid timestamp field format: \"(.*?)\"|timestamp field value out of range: \"(.*?)\""
)


def snowflake_message(error: Exception) -> str:
    """Snowflake's wording for the common conversion errors; DuckDB's first line otherwise."""
    text = str(error).split("\n")[0]
    if _NOT_NULL in text:
        return _NOT_NULL
    if m := _NUMERIC.search(text):
        return f"Numeric value '{m[1]}' is not recognized"
    if m := _BOOLEAN.search(text):
        return f"Boolean value '{m[1]}' is not recognized"
    if m := _DATE.search(text):
        return f"Date '{m[1] or m[2]}' is not recognized"
    if m := _TIMESTAMP.search(text):
        return f"Timestamp '{m[1] or m[2]}' is not recognized"
    if "Malformed JSON" in text:
        return "Error parsing JSON: " + text.split("Malformed JSON", 1)[1].strip(" :")
    return re.sub(r"^[A-Za-z ]+Error: ", "", text)
