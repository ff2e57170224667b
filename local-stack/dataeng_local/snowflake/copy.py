"""COPY INTO <table> from named stages (S3 through s3fs, or internal) with Snowflake's semantics.

Handles what fakesnow's COPY lacks: S3 stages served by the local S3 stand-in, JSON with ZSTD/GZIP,
transform queries (``$1``, ``$1:path``, ``METADATA$FILENAME``, ``METADATA$FILE_ROW_NUMBER``, ...),
``MATCH_BY_COLUMN_NAME`` for JSON, Parquet and CSV (``PARSE_HEADER``), ``INCLUDE_METADATA``,
``PATTERN`` and load metadata (already-loaded files are skipped; ``FORCE = TRUE`` reloads).

Each file is read and parsed in Python, handed to DuckDB as an Arrow table, and inserted with an
``INSERT ... SELECT`` that runs through fakesnow's translation, so expressions in a transform query
behave as they do in any other statement.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import snowflake.connector.errors
from fakesnow.transforms.file_format import lookup_file_format
from fakesnow.transforms.options import parse_options
from sqlglot import exp

from dataeng_local.snowflake import copy_errors, copy_insert, stage_files
from dataeng_local.snowflake._sql import programming_error, set_result
from dataeng_local.snowflake.copy_errors import FileOutcome, OnError
from dataeng_local.snowflake.formats import (
    CsvTarget,
    FileFormat,
    ParsedFile,
    RowError,
    parse,
)
from dataeng_local.snowflake.storage import StagedFile, content_key
from dataeng_local.snowflake.transactions import statement_transaction

if TYPE_CHECKING:
    from dataeng_local.snowflake.cursor import LocalCursor

RESULT_COLUMNS = (
    "file",
    "status",
    "rows_parsed",
    "rows_loaded",
    "error_limit",
    "errors_seen",
    "first_error",
    "first_error_line",
    "first_error_character",
    "first_error_column_name",
)
NOTHING_TO_LOAD = "Copy executed with 0 files processed."


@dataclass
class CopyPlan:
    target: exp.Table
    target_columns: list[str] | None
    source: str
    transform: exp.Select | None
    file_format: FileFormat
    files: list[str] | None = None
    pattern: str | None = None
    force: bool = False
    purge: bool = False
    match_by_column_name: str = "NONE"
    include_metadata: dict[str, str] = field(default_factory=dict)
    on_error: OnError = field(default_factory=OnError)


def handles(expression: exp.Expr) -> bool:
    """Whether we run this COPY (loads from named stages or s3:// URLs); fakesnow runs the rest."""
    if not isinstance(expression, exp.Copy) or not isinstance(expression.this, (exp.Table, exp.Schema)):
        return False
    source = _source_text(expression)
    if source is None:
        return False
    if source.startswith("@"):
        return not source.startswith(("@%", "@~"))
    return source.lower().startswith("s3://")


def execute_copy(cursor: LocalCursor, expression: exp.Copy, params: Any) -> None:
    conn = cursor._conn  # noqa: SLF001
    plan = _plan(cursor, expression)
    database = _resolved(plan.target.args.get("catalog")) or conn.database
    schema = _resolved(plan.target.args.get("db")) or conn.schema
    if not database or not schema:
        raise programming_error(
            "Cannot perform COPY. This session does not have a current database or schema.", 90105, "22000"
        )
    table_name = _resolved(plan.target.this) or plan.target.name  # as Snowflake stores it: "T" for t
    table_columns = _describe(cursor, database, schema, table_name)
    files, credentials = _resolve_files(cursor, plan)
    history = f"{database}._fs_information_schema._fs_load_history"
    loaded_statuses = ", ".join(f"'{s}'" for s in copy_errors.HISTORY_LOADED)

    results: list[tuple[Any, ...]] = []
    loaded: list[StagedFile] = []
    with statement_transaction(cursor):
        for staged in files:
            loaded_before = cursor._duck_conn.execute(  # noqa: SLF001
                f"SELECT 1 FROM {history} WHERE file_name = ? AND table_name = ? AND schema_name = ? "
                f"AND status IN ({loaded_statuses}) LIMIT 1",
                [staged.url, table_name, schema],
            ).fetchall()
            if loaded_before and not plan.force:
                continue
            outcome = _load_file(
                cursor, plan, (database, schema, table_name), table_columns, staged, credentials
            )
            results.append(outcome.result_row(staged.result_name))
            if outcome.loaded:
                loaded.append(staged)
            now = datetime.datetime.now(datetime.timezone.utc).isoformat()
            cursor._duck_conn.execute(  # noqa: SLF001
                f"INSERT INTO {history} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                outcome.history_row(schema, staged.url, table_name, now),
            )
        if plan.purge:  # PURGE removes the files loaded by this statement (not failed or skipped ones)
            for staged in loaded:
                cursor.extensions.storage.remove(staged.url, credentials)
    if results:
        set_result(cursor, RESULT_COLUMNS, results)
    else:
        set_result(cursor, ["status"], [(NOTHING_TO_LOAD,)])


def _load_file(
    cursor: LocalCursor,
    plan: CopyPlan,
    target: tuple[str, str, str],
    table_columns: list[tuple[str, str]],
    staged: StagedFile,
    credentials: dict[str, str] | None,
) -> FileOutcome:
    """Parse and insert one file under the statement's ON_ERROR; ABORT_STATEMENT raises on any error."""
    on_error = plan.on_error
    data = cursor.extensions.storage.read(staged.url, credentials)
    keep_records = plan.file_format.type == "JSON" and plan.match_by_column_name != "NONE"
    by_position = plan.transform is None and plan.match_by_column_name == "NONE"
    csv_target = CsvTarget(
        table=target[2],
        columns=(plan.target_columns or [c for c, _ in table_columns]) if by_position else None,
    )
    try:
        parsed = parse(
            data,
            plan.file_format,
            staged.result_name,
            keep_records=keep_records,
            strict=on_error.aborts,
            target=csv_target,
        )
    except snowflake.connector.errors.ProgrammingError as e:
        if on_error.aborts:
            raise
        return copy_errors.file_error(on_error, str(getattr(e, "raw_msg", None) or e.msg))
    source, insert_sql = copy_insert.build_insert(plan, table_columns, staged, parsed, content_key(data))
    first_column = _first_insert_column(plan, table_columns)
    errors = (
        [
            e if e.column else replace(e, column=f'"{target[2]}"["{first_column[0]}":{first_column[1]}]')
            for e in parsed.errors
        ]
        if plan.file_format.type == "JSON" and first_column
        else list(parsed.errors)
    )
    if not on_error.aborts and source.num_rows:
        columns = copy_errors.describe_columns(cursor, *target)
        bad = copy_errors.find_bad_values(cursor, source, copy_insert.SOURCE_VIEW, insert_sql, columns)
        if bad:
            errors += [_value_error(plan, parsed, source, b, target[2]) for b in bad]
            rejected = {b.index for b in bad}
            source = source.filter(pa.array([i not in rejected for i in range(source.num_rows)]))
    status, limit = copy_errors.judge(on_error, parsed.rows_parsed, errors)
    rows = 0
    if status != copy_errors.LOAD_FAILED and source.num_rows:
        rows = copy_insert.run_insert(cursor, source, insert_sql)
    return FileOutcome(status, parsed.rows_parsed, rows, limit, errors)


def _first_insert_column(plan: CopyPlan, table_columns: list[tuple[str, str]]) -> tuple[str, int] | None:
    """The column a JSON parse error is reported on: the first one the COPY fills ($1 of a variant load)."""
    if plan.match_by_column_name != "NONE":
        return None
    names = [c for c, _ in table_columns]
    upper = [c.upper() for c in names]
    wanted = plan.target_columns[0] if plan.target_columns else names[0] if names else None
    if wanted is None:
        return None
    position = upper.index(wanted.upper()) if wanted.upper() in upper else 0
    return names[position], position + 1


def _value_error(
    plan: CopyPlan, parsed: ParsedFile, source: pa.Table, bad: copy_errors.BadValue, table: str
) -> RowError:
    """A value the table cannot take, at its record's line; the column as Snowflake names it."""
    row = source.column("_FS_ROWNUM")[bad.index].as_py()
    line = parsed.lines[parsed.row_numbers.index(row)] if parsed.lines and parsed.row_numbers else row
    column = f'"{table}"["{bad.column.name}":{bad.column.position}]' if bad.column else None
    character = 1
    if (
        bad.column
        and plan.file_format.type == "CSV"
        and plan.transform is None
        and plan.match_by_column_name == "NONE"
    ):
        names = [n.upper() for n in plan.target_columns or []]
        upper = bad.column.name.upper()
        field = names.index(upper) if upper in names else bad.column.position - 1
        before = [source.column(f"C{i + 1}")[bad.index].as_py() or "" for i in range(field)]
        character = 1 + sum(len(v) + 1 for v in before)
    return RowError(row, line, character, bad.message, column)


def _resolved(identifier: exp.Expr | None) -> str | None:
    """An identifier's stored name: unquoted names are upper case, quoted ones keep their case."""
    if not isinstance(identifier, exp.Identifier):
        return None
    return identifier.name if identifier.quoted else identifier.name.upper()


def _source_text(expression: exp.Copy) -> str | None:
    files = expression.args.get("files") or []
    if not files:
        return None
    source = files[0]
    if isinstance(source, exp.Subquery):
        from_ = source.this.args.get("from_") if isinstance(source.this, exp.Select) else None
        source = from_.this if from_ else None
    if isinstance(source, exp.Table):
        source = source.this
    if isinstance(source, exp.Var):
        return str(source.this)
    if isinstance(source, exp.Literal):
        return str(source.this)
    return None


def _plan(cursor: LocalCursor, expression: exp.Copy) -> CopyPlan:
    conn = cursor._conn  # noqa: SLF001
    into = expression.this
    target = into.this if isinstance(into, exp.Schema) else into
    target_columns = [c.name for c in into.expressions] if isinstance(into, exp.Schema) else None
    first = expression.args["files"][0]
    transform = first.this if isinstance(first, exp.Subquery) else None
    plan = CopyPlan(
        target=target,
        target_columns=target_columns,
        source=_source_text(expression) or "",
        transform=transform,
        file_format=FileFormat(),
    )
    for param in expression.args.get("params", []):
        name = param.this.name.upper()
        value = param.expression
        if name == "FILE_FORMAT":
            options = parse_options(param.expressions)
            if format_name := options.pop("FORMAT_NAME", None):
                options = {
                    **lookup_file_format(cursor._duck_conn, str(format_name), conn.database, conn.schema),
                    **options,
                }  # noqa: SLF001
            plan.file_format = FileFormat.from_options(options)
        elif name == "FILES":
            plan.files = [lit.name for lit in param.find_all(exp.Literal)]
        elif name == "PATTERN":
            plan.pattern = value.name
        elif name == "FORCE":
            plan.force = _truthy(value)
        elif name == "PURGE":
            plan.purge = _truthy(value)
        elif name == "MATCH_BY_COLUMN_NAME":
            plan.match_by_column_name = value.name.upper()
            if plan.match_by_column_name not in {"NONE", "CASE_SENSITIVE", "CASE_INSENSITIVE"}:
                raise programming_error(
                    f"SQL compilation error:\nInvalid value '{plan.match_by_column_name}' for parameter MATCH_BY_COLUMN_NAME",
                    1008,
                    "22023",
                )
        elif name == "INCLUDE_METADATA":
            pairs = (
                value.expressions
                if isinstance(value, exp.Tuple)
                else [value.this if isinstance(value, exp.Paren) else value]
            )
            for eq in pairs:
                plan.include_metadata[eq.this.name.upper()] = eq.expression.name.upper()
        elif name == "ON_ERROR":
            plan.on_error = OnError.parse(value.name)
        elif name in {"TRUNCATECOLUMNS", "ENFORCE_LENGTH", "LOAD_UNCERTAIN_FILES", "RETURN_FAILED_ONLY"}:
            continue
        else:
            raise programming_error(
                f"COPY option {name} is not supported by the local Snowflake.", 1008, "22023"
            )
    if plan.include_metadata and plan.match_by_column_name == "NONE":
        raise programming_error(
            "SQL compilation error:\nINCLUDE_METADATA can only be used with MATCH_BY_COLUMN_NAME.",
            1008,
            "22023",
        )
    return plan


def _truthy(value: exp.Expr | None) -> bool:
    if isinstance(value, exp.Boolean):
        return bool(value.this)
    return value is None or str(value.name).upper() in {"TRUE", "1"}


def _describe(cursor: LocalCursor, database: str, schema: str, table: str) -> list[tuple[str, str]]:
    try:
        rows = cursor._duck_conn.execute(f'DESCRIBE "{database}"."{schema}"."{table}"').fetchall()  # noqa: SLF001
    except duckdb.CatalogException as e:
        raise programming_error(
            f"SQL compilation error:\nTable '{database}.{schema}.{table}' does not exist or not authorized.",
            2003,
            "42S02",
        ) from e
    return [(r[0], str(r[1]).upper()) for r in rows]


def _resolve_files(cursor: LocalCursor, plan: CopyPlan) -> tuple[list[StagedFile], dict[str, str] | None]:
    storage = cursor.extensions.storage
    loc = stage_files.resolve(cursor, plan.source)
    if plan.files is not None:
        location = loc.location
        prefix = location if location.endswith("/") or not loc.path else location + "/"
        files = []
        for f in plan.files:
            url = prefix + f
            if not storage.exists(url, loc.credentials):
                raise programming_error(f"Remote file '{url}' was not found.", 2003, "58030")
            files.append(loc.staged(url))
        return files, loc.credentials
    listed = [loc.staged(url, modified) for url, modified in storage.list(loc.location, loc.credentials)]
    if plan.pattern:
        regex = re.compile(plan.pattern)
        listed = [f for f in listed if loc.matches(regex, f)]
    return listed, loc.credentials
