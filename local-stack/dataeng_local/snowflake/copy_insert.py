"""The INSERT ... SELECT that loads one parsed file: its rows as an Arrow table (with the METADATA$ columns)
and the SELECT list for plain loads, MATCH_BY_COLUMN_NAME (with INCLUDE_METADATA) and COPY transforms.

The INSERT runs through fakesnow's translation, so expressions in a transform query behave as they do in any
other statement.
"""

from __future__ import annotations

import datetime
import json
from typing import TYPE_CHECKING, Any

import duckdb
import orjson
import pyarrow as pa
from fakesnow.cursor import FakeSnowflakeCursor
from sqlglot import exp

from dataeng_local.snowflake._sql import programming_error
from dataeng_local.snowflake.formats import FileFormat, ParsedFile
from dataeng_local.snowflake.storage import StagedFile
from dataeng_local.snowflake.variant import variant_json

if TYPE_CHECKING:
    from dataeng_local.snowflake.copy import CopyPlan
    from dataeng_local.snowflake.cursor import LocalCursor

SOURCE_VIEW = "_fs_copy_src"
METADATA_COLUMNS = {
    "METADATA$FILENAME": "_FS_FILENAME",
    "METADATA$FILE_ROW_NUMBER": "_FS_ROWNUM",
    "METADATA$FILE_CONTENT_KEY": "_FS_CONTENT_KEY",
    "METADATA$FILE_LAST_MODIFIED": "_FS_LAST_MODIFIED",
    "METADATA$START_SCAN_TIME": "_FS_SCAN_TIME",
}


def build_insert(
    plan: CopyPlan,
    table_columns: list[tuple[str, str]],
    staged: StagedFile,
    parsed: ParsedFile,
    checksum: str,
) -> tuple[pa.Table, str]:
    """The file's rows as an Arrow table (with the METADATA$ columns) and the INSERT ... SELECT over it."""
    source, select_exprs, insert_columns = _source_and_projection(plan, table_columns, parsed)
    n = parsed.num_rows
    source["_FS_FILENAME"] = pa.array([staged.name] * n, pa.string())
    source["_FS_ROWNUM"] = pa.array(parsed.row_numbers or range(1, n + 1), pa.int64())
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
    return table, insert.sql(dialect="snowflake")


def run_insert(cursor: LocalCursor, table: pa.Table, insert_sql: str) -> int:
    duck = cursor._duck_conn  # noqa: SLF001
    duck.register(SOURCE_VIEW, table)
    try:
        helper = FakeSnowflakeCursor(conn=cursor._conn, duck_conn=duck)  # noqa: SLF001
        FakeSnowflakeCursor.execute(helper, insert_sql)
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
            if ff.type == "JSON":
                values = [variant_json(v) for v in values]
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
            return source, [_document("C1")], plan.target_columns
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
            return _document("C1")
        if isinstance(node, exp.Column) and not node.table and node.name.upper() in METADATA_COLUMNS:
            return exp.column(METADATA_COLUMNS[node.name.upper()])
        return node

    return [e.transform(replace) for e in select.expressions]


def _document(column: str) -> exp.Expr:
    """$1 of a JSON or Parquet file as a VARIANT: the document text (numbers already typed by ``variant_json``
    or rendered by DuckDB from Parquet's own types) stored as it is. ``PARSE_JSON`` would become DuckDB's
    ``json()``, which re-reads every fraction as a double and loses digits."""
    return exp.cast(exp.column(column), exp.DataType.build("VARIANT", dialect="snowflake"))


def _json_cell(value: Any, variant: bool) -> str | None:
    if value is None:
        return None
    if variant or isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parquet_rows_as_json(table: pa.Table) -> list[str]:
    """$1 of a Parquet file: each row as a JSON object (what Snowflake gives as an OBJECT), keyed by the file's
    column and field names exactly.

    DuckDB renders each column's values; the object is assembled here, because a DuckDB relation renames
    columns it cannot tell apart (``a`` beside ``A`` became ``a_1``, an empty name ``v2``). Columns whose
    nested field names DuckDB cannot keep (an empty name turns the struct into an array, a NUL cuts the name)
    are rendered from Python values instead.
    """
    names = table.column_names
    columns: list[list[str | None]] = []
    by_duckdb = [i for i, field in enumerate(table.schema) if not _odd_field_names(field.type)]
    if by_duckdb:
        con = duckdb.connect()
        try:
            con.register("p", table.select(by_duckdb).rename_columns([f"c{i}" for i in by_duckdb]))
            select = ", ".join(f"to_json(c{i})::VARCHAR" for i in by_duckdb)
            rendered = dict(zip(by_duckdb, zip(*con.execute(f"SELECT {select} FROM p").fetchall())))
        finally:
            con.close()
    for i in range(len(names)):
        if i in by_duckdb:
            columns.append(list(rendered.get(i, ())))
        else:
            columns.append([None if v is None else _python_json(v) for v in table.column(i).to_pylist()])
    keys = [orjson.dumps(name).decode() for name in names]
    return [
        "{" + ",".join(f"{k}:{'null' if v is None else v}" for k, v in zip(keys, row)) + "}"
        for row in (zip(*columns) if columns else [()] * table.num_rows)
    ]


def _odd_field_names(kind: pa.DataType) -> bool:
    """A nested type with a field name DuckDB's to_json cannot reproduce (empty, or with a NUL)."""
    if pa.types.is_struct(kind):
        return any(not f.name or "\x00" in f.name or _odd_field_names(f.type) for f in kind)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return _odd_field_names(kind.value_type)
    if pa.types.is_map(kind):
        return _odd_field_names(kind.key_type) or _odd_field_names(kind.item_type)
    return False


def _python_json(value: object) -> str:
    """A Parquet value as JSON: floats in their shortest exact form, other non-JSON types as strings."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
