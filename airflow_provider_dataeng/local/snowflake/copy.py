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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb
import orjson
import pyarrow as pa
from fakesnow.cursor import FakeSnowflakeCursor
from fakesnow.transforms import stage as fs_stage
from fakesnow.transforms.file_format import lookup_file_format
from fakesnow.transforms.options import parse_options
from sqlglot import exp

from airflow_provider_dataeng.local.snowflake._sql import programming_error, set_result
from airflow_provider_dataeng.local.snowflake.formats import FileFormat, ParsedFile, parse
from airflow_provider_dataeng.local.snowflake.storage import StagedFile, content_key
from airflow_provider_dataeng.local.snowflake.transactions import statement_transaction

if TYPE_CHECKING:
    from airflow_provider_dataeng.local.snowflake.cursor import LocalCursor

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
SOURCE_VIEW = "_fs_copy_src"
METADATA_COLUMNS = {
    "METADATA$FILENAME": "_FS_FILENAME",
    "METADATA$FILE_ROW_NUMBER": "_FS_ROWNUM",
    "METADATA$FILE_CONTENT_KEY": "_FS_CONTENT_KEY",
    "METADATA$FILE_LAST_MODIFIED": "_FS_LAST_MODIFIED",
    "METADATA$START_SCAN_TIME": "_FS_SCAN_TIME",
}


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
    database = plan.target.catalog or conn.database
    schema = plan.target.db or conn.schema
    if not database or not schema:
        raise programming_error(
            "Cannot perform COPY. This session does not have a current database or schema.", 90105, "22000"
        )
    table_name = plan.target.name
    table_columns = _describe(cursor, database, schema, table_name)
    files, credentials = _resolve_files(cursor, plan)
    history = f"{database}._fs_information_schema._fs_load_history"

    results: list[tuple[Any, ...]] = []
    with statement_transaction(cursor):
        for staged in files:
            loaded_before = cursor._duck_conn.execute(  # noqa: SLF001
                f"SELECT 1 FROM {history} WHERE file_name = ? AND table_name = ? AND schema_name = ? LIMIT 1",
                [staged.url, table_name, schema],
            ).fetchall()
            if loaded_before and not plan.force:
                continue
            data = cursor.extensions.storage.read(staged.url, credentials)
            keep_records = plan.file_format.type == "JSON" and plan.match_by_column_name != "NONE"
            parsed = parse(data, plan.file_format, staged.result_name, keep_records=keep_records)
            rows = _insert_file(cursor, plan, table_columns, staged, parsed, content_key(data))
            results.append(
                (staged.result_name, "LOADED", parsed.num_rows, rows, 1, 0, None, None, None, None)
            )
            now = datetime.datetime.now(datetime.timezone.utc).isoformat()
            cursor._duck_conn.execute(  # noqa: SLF001
                f"INSERT INTO {history} VALUES (?, ?, ?, ?, 'LOADED', ?, ?, NULL, NULL, NULL, NULL, 0, 1)",
                [schema, staged.url, table_name, now, rows, parsed.num_rows],
            )
        if plan.purge:
            for staged in files:
                cursor.extensions.storage.remove(staged.url, credentials)
    if results:
        set_result(cursor, RESULT_COLUMNS, results)
    else:
        set_result(cursor, ["status"], [(NOTHING_TO_LOAD,)])


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
            on_error = value.name.upper()
            if on_error != "ABORT_STATEMENT":
                raise programming_error(
                    f"ON_ERROR = {on_error} is not supported by the local Snowflake (only ABORT_STATEMENT).",
                    1008,
                    "22023",
                )
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
    conn = cursor._conn  # noqa: SLF001
    storage = cursor.extensions.storage
    if plan.source.startswith("@"):
        stage_var, _, path = plan.source[1:].partition("/")
        database, schema, name = fs_stage.parts_from_var(stage_var, conn.database, conn.schema)
        row = cursor._duck_conn.execute(  # noqa: SLF001
            "SELECT url FROM _fs_global._fs_information_schema._fs_stages "
            "WHERE database_name = ? AND schema_name = ? AND name = ?",
            [database, schema, name],
        ).fetchone()
        if not row:
            raise fs_stage.not_found_error(f"{database}.{schema}.{name}")
        credentials = cursor.extensions.catalog.credentials(f"{database}.{schema}.{name}")
        root = row[0] or fs_stage.internal_dir(f"{database}.{schema}.{name}")
    else:
        root, path, credentials = plan.source, "", None
    root = root if root.endswith("/") else root + "/"
    location = root + path
    external = root.lower().startswith("s3://")

    def staged(url: str, modified: datetime.datetime | None = None) -> StagedFile:
        if external:
            name = url[len("s3://") :].split("/", 1)[1] if "/" in url[len("s3://") :] else ""
            return StagedFile(url=url, name=name, result_name=url, last_modified=modified)
        return StagedFile(
            url=url,
            name=url[len(root) :],
            result_name=fs_stage.internal_file_name(url),
            last_modified=modified,
        )

    if plan.files is not None:
        prefix = location if location.endswith("/") or not path else location + "/"
        files = []
        for f in plan.files:
            url = prefix + f
            if not storage.exists(url, credentials):
                raise programming_error(f"Remote file '{url}' was not found.", 2003, "58030")
            files.append(staged(url))
        return files, credentials
    listed = [staged(url, modified) for url, modified in storage.list(location, credentials)]
    if plan.pattern:
        regex = re.compile(plan.pattern)
        listed = [f for f in listed if regex.fullmatch(f.name) or regex.fullmatch(f.url[len(root) :])]
    return listed, credentials


def _insert_file(
    cursor: LocalCursor,
    plan: CopyPlan,
    table_columns: list[tuple[str, str]],
    staged: StagedFile,
    parsed: ParsedFile,
    checksum: str,
) -> int:
    source, select_exprs, insert_columns = _source_and_projection(plan, table_columns, parsed)
    n = parsed.num_rows
    source["_FS_FILENAME"] = pa.array([staged.name] * n, pa.string())
    source["_FS_ROWNUM"] = pa.array(range(1, n + 1), pa.int64())
    source["_FS_CONTENT_KEY"] = pa.array([checksum] * n, pa.string())
    source["_FS_LAST_MODIFIED"] = pa.array(
        [staged.last_modified.replace(tzinfo=None) if staged.last_modified else None] * n, pa.timestamp("us")
    )
    source["_FS_SCAN_TIME"] = pa.array(
        [datetime.datetime.now(datetime.timezone.utc)] * n, pa.timestamp("us", tz="UTC")
    )
    table = pa.table(source) if source else pa.table({"_FS_DUMMY": pa.nulls(n)})

    target: exp.Expr = plan.target.copy()
    if insert_columns is not None:
        target = exp.Schema(
            this=target, expressions=[exp.to_identifier(c, quoted=True) for c in insert_columns]
        )
    insert = exp.Insert(this=target, expression=exp.select(*select_exprs).from_(SOURCE_VIEW))
    duck = cursor._duck_conn  # noqa: SLF001
    duck.register(SOURCE_VIEW, table)
    try:
        helper = FakeSnowflakeCursor(conn=cursor._conn, duck_conn=duck)  # noqa: SLF001
        FakeSnowflakeCursor.execute(helper, insert.sql(dialect="snowflake"))
        return int(helper.fetchone()[0])  # type: ignore[index]
    finally:
        duck.unregister(SOURCE_VIEW)


def _source_and_projection(
    plan: CopyPlan, table_columns: list[tuple[str, str]], parsed: ParsedFile
) -> tuple[dict[str, pa.Array], list[exp.Expr], list[str] | None]:
    """The Arrow columns of the source, the SELECT list over them and the INSERT column list."""
    ff = plan.file_format
    source: dict[str, pa.Array] = {}
    if ff.type == "PARQUET":
        assert parsed.table is not None
        for i in range(parsed.table.num_columns):
            source[f"P{i}"] = parsed.table.column(i)
        source["C1"] = pa.array(_parquet_rows_as_json(parsed.table), pa.string())
    else:
        for i, values in enumerate(parsed.columns, start=1):
            source[f"C{i}"] = pa.array(values, pa.string())

    if plan.transform is not None:
        return source, _rewrite_transform(plan.transform.copy(), ff), plan.target_columns

    variant_types = {"JSON"}
    if plan.match_by_column_name == "NONE":
        if ff.type in {"JSON", "PARQUET"}:
            columns = plan.target_columns or [c for c, _ in table_columns]
            if len(columns) != 1:
                raise programming_error(
                    f"SQL compilation error:\n{ff.type} file format can produce one and only one column of type variant, "
                    "object, or array. Load data into separate columns using the MATCH_BY_COLUMN_NAME copy option or "
                    "copy with transformation.",
                    2019,
                    "0A000",
                )
            return source, [exp.func("PARSE_JSON", exp.column("C1"))], plan.target_columns
        width = len(parsed.columns)
        columns = plan.target_columns or [c for c, _ in table_columns]
        if width != len(columns) and ff.error_on_column_count_mismatch and parsed.num_rows:
            raise programming_error(
                f"Number of columns in file ({width}) does not match that of the corresponding table ({len(columns)}), "
                "use file format option error_on_column_count_mismatch=false to ignore this error",
                100080,
                "22000",
            )
        exprs: list[exp.Expr] = [
            exp.column(f"C{i + 1}") if i < width else exp.Null() for i in range(len(columns))
        ]
        return source, exprs, plan.target_columns

    # MATCH_BY_COLUMN_NAME
    insensitive = plan.match_by_column_name == "CASE_INSENSITIVE"

    def key(name: str) -> str:
        return name.upper() if insensitive else name

    exprs, insert_columns = [], []
    types = dict(table_columns)
    wanted = [c for c, _ in table_columns if c.upper() not in plan.include_metadata]
    if ff.type == "JSON":
        assert parsed.records is not None
        lookups = [{key(k): v for k, v in r.items()} if isinstance(r, dict) else {} for r in parsed.records]
        for i, col in enumerate(wanted):
            values = [row.get(key(col)) for row in lookups]
            if all(v is None for v in values) and not any(key(col) in row for row in lookups):
                continue
            variant = types[col] in variant_types
            source[f"M{i}"] = pa.array([_json_cell(v, variant) for v in values], pa.string())
            exprs.append(exp.func("PARSE_JSON", exp.column(f"M{i}")) if variant else exp.column(f"M{i}"))
            insert_columns.append(col)
    else:
        names = parsed.header or []
        if ff.type == "CSV" and not ff.parse_header:
            raise programming_error(
                "SQL compilation error:\nMATCH_BY_COLUMN_NAME for CSV requires the file format option PARSE_HEADER = TRUE.",
                1008,
                "22023",
            )
        by_name = {key(n): i for i, n in enumerate(names)}
        for col in wanted:
            if (pos := by_name.get(key(col))) is None:
                continue
            exprs.append(exp.column(f"P{pos}" if ff.type == "PARQUET" else f"C{pos + 1}"))
            insert_columns.append(col)
    for col, meta in plan.include_metadata.items():
        if meta not in METADATA_COLUMNS:
            raise programming_error(
                f"SQL compilation error:\nInvalid metadata column {meta} in INCLUDE_METADATA.", 1008, "22023"
            )
        match = next((c for c, _ in table_columns if c.upper() == col), None)
        if match is None:
            raise programming_error(
                f"SQL compilation error:\ninvalid identifier '{col}' in INCLUDE_METADATA.", 904, "42000"
            )
        exprs.append(exp.column(METADATA_COLUMNS[meta]))
        insert_columns.append(match)
    if not exprs:
        exprs, insert_columns = [exp.Null()], [wanted[0]] if wanted else []
    return source, exprs, insert_columns


def _rewrite_transform(select: exp.Select, ff: FileFormat) -> list[exp.Expr]:
    """The SELECT list of a COPY transform with $n and METADATA$ columns pointing at the source view."""

    def replace(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Parameter) and isinstance(node.this, exp.Literal) and not node.this.is_string:
            n = int(node.this.this)
            if ff.type == "CSV":
                return exp.column(f"C{n}")
            if n != 1:
                raise programming_error(
                    f"SQL compilation error:\n{ff.type} file format can only produce one column (${n}).",
                    2019,
                    "0A000",
                )
            return exp.func("PARSE_JSON", exp.column("C1"))
        if isinstance(node, exp.Column) and not node.table and node.name.upper() in METADATA_COLUMNS:
            return exp.column(METADATA_COLUMNS[node.name.upper()])
        return node

    return [e.transform(replace) for e in select.expressions]


def _json_cell(value: Any, variant: bool) -> str | None:
    if value is None:
        return None
    if variant or isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parquet_rows_as_json(table: pa.Table) -> list[str]:
    """$1 of a Parquet file: each row as a JSON object (what Snowflake gives as an OBJECT)."""
    con = duckdb.connect()
    try:
        con.register("p", table)
        return [r[0] for r in con.execute("SELECT to_json(p)::VARCHAR FROM p").fetchall()]
    finally:
        con.close()
