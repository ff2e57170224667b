"""Snowflake stream SQL: create a stream, check it is usable, read the pre-flight answers.

Pure functions (no I/O). The stream merge runs at most three small statements before its MERGE:

1. ``SHOW STREAMS LIKE ... IN SCHEMA ...``: the stream exists, is not stale, and which table it reads;
2. ``SELECT SYSTEM$STREAM_HAS_DATA(...)``: both run in Snowflake's cloud services, so an empty stream ends
   the run without resuming a warehouse;
3. (only when there is data) one query counting the stream's changes and NULL keys, joined to the
   target's and the source's columns from INFORMATION_SCHEMA.

None of them consumes the stream: Snowflake advances a stream's offset only when a DML statement that
read it commits, and the MERGE is the only such statement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_dataeng.sql.identifiers import ObjectName, quote_identifier, quote_string

DEFAULT_STREAM_SUFFIX = "_STREAM"


class StreamError(ValueError):
    """The stream cannot be used as it is (missing, stale, invalid); the message says how to recover."""


@dataclass(frozen=True)
class StreamInfo:
    """What SHOW STREAMS says about one stream."""

    name: str
    database: str
    schema: str
    table_name: str  # fully qualified source object, as SHOW STREAMS prints it (DB.SCHEMA.TABLE)
    mode: str  # DEFAULT, APPEND_ONLY, INSERT_ONLY
    stale: bool
    stale_after: Any = None
    invalid_reason: str | None = None

    @property
    def source_table(self) -> ObjectName:
        """The stream's source table. SHOW STREAMS prints it unquoted, each part with its exact case."""
        parts = self.table_name.split(".")
        if len(parts) != 3 or not all(parts):
            raise StreamError(
                f"cannot tell the source table of stream {self.database}.{self.schema}.{self.name} from "
                f"SHOW STREAMS table_name={self.table_name!r}: pass source_table explicitly"
            )
        return ObjectName(tuple(parts))


@dataclass(frozen=True)
class ColumnInfo:
    """One column from information_schema, with the DDL type to re-create it elsewhere."""

    name: str
    data_type: str  # DDL type, e.g. NUMBER(38, 0), VARCHAR, TIMESTAMP_NTZ


def default_stream_name(source_table: ObjectName) -> ObjectName:
    """``<source_table>_STREAM`` in the source table's database and schema."""
    return source_table.with_name(source_table.name + DEFAULT_STREAM_SUFFIX)


def build_create_stream_sql(
    stream: ObjectName, source_table: ObjectName, *, append_only: bool, show_initial_rows: bool
) -> str:
    """``CREATE STREAM IF NOT EXISTS``: an existing stream keeps its offset (re-runs consume nothing twice)."""
    return (
        f"CREATE STREAM IF NOT EXISTS {stream.sql} ON TABLE {source_table.sql} "
        f"APPEND_ONLY = {_bool(append_only)} SHOW_INITIAL_ROWS = {_bool(show_initial_rows)}"
    )


def build_show_streams_sql(stream: ObjectName) -> str:
    """``SHOW STREAMS LIKE '<name>' IN SCHEMA <schema>``.

    LIKE is case-insensitive and treats ``_``/``%`` as wildcards, so it may list more than the stream:
    ``parse_show_streams`` keeps the exact match only. A one-part name looks in the current schema.
    """
    scope = " IN SCHEMA" + ("" if len(stream.parts) == 1 else " " + ObjectName(stream.parts[:-1]).sql)
    return f"SHOW STREAMS LIKE {quote_string(stream.name)}{scope}"


def parse_show_streams(rows: Iterable[Mapping[str, Any]], stream: ObjectName) -> StreamInfo:
    """The SHOW STREAMS row that is exactly ``stream``; raises StreamError if missing, stale or invalid."""
    matches = []
    for raw in rows:
        row = {str(k).lower(): v for k, v in raw.items()}
        if row.get("name") != stream.name:
            continue
        if len(stream.parts) >= 2 and row.get("schema_name") != stream.parts[-2]:
            continue
        if len(stream.parts) == 3 and row.get("database_name") != stream.parts[0]:
            continue
        matches.append(row)
    if not matches:
        raise StreamError(
            f"stream {stream.sql} does not exist (or this role cannot see it): pass source_table to have "
            f"the operator create it, or create it with CREATE STREAM ... ON TABLE ..."
        )
    row = matches[0]
    info = StreamInfo(
        name=row["name"],
        database=str(row.get("database_name") or ""),
        schema=str(row.get("schema_name") or ""),
        table_name=str(row.get("table_name") or ""),
        mode=str(row.get("mode") or "DEFAULT").upper(),
        stale=_truthy(row.get("stale")),
        stale_after=row.get("stale_after"),
        invalid_reason=(
            str(row["invalid_reason"]) if row.get("invalid_reason") not in (None, "", "N/A") else None
        ),
    )
    if info.stale:
        raise StreamError(
            f"stream {stream.sql} is stale (stale_after={info.stale_after}): the changes since its offset are "
            f"no longer retained, so a merge would silently miss some. Recover with either "
            f"(a) CREATE OR REPLACE STREAM {stream.sql} ON TABLE <source> SHOW_INITIAL_ROWS = TRUE and a run "
            f"that re-merges every source row (idempotent for scd_type=1), or (b) a full refresh of the target "
            f"from the source, then CREATE OR REPLACE STREAM {stream.sql} ON TABLE <source>. "
            f"Keep it fresh by merging more often than the source's DATA_RETENTION_TIME_IN_DAYS."
        )
    if info.invalid_reason:
        raise StreamError(f"stream {stream.sql} is invalid: {info.invalid_reason}; recreate it")
    return info


def build_has_data_sql(stream: ObjectName) -> str:
    """``SELECT SYSTEM$STREAM_HAS_DATA('<stream>')``: a metadata check that needs no running warehouse.

    Kept as its own statement on purpose: an empty stream then ends the run before anything resumes a
    warehouse (INFORMATION_SCHEMA queries and stream scans do). Calling it also keeps an empty stream
    from going stale.
    """
    return f'SELECT SYSTEM$STREAM_HAS_DATA({quote_string(stream.sql)}) AS "HAS_DATA"'


def parse_has_data(rows: Sequence[Mapping[str, Any]]) -> bool:
    """The flag from ``build_has_data_sql``'s single row."""
    return bool(rows) and _truthy(next(iter(rows[0].values())))


def build_columns_sql(tables: Mapping[str, ObjectName]) -> str:
    """The columns of each table in ``tables`` (role -> table) from INFORMATION_SCHEMA, in one query."""
    if not tables:
        raise ValueError("tables must name at least one table")
    selects = []
    for role, table in tables.items():
        info_schema = "INFORMATION_SCHEMA.COLUMNS"
        if len(table.parts) == 3:
            info_schema = f"{quote_identifier(table.parts[0])}.{info_schema}"
        schema = quote_string(table.parts[-2]) if len(table.parts) >= 2 else "CURRENT_SCHEMA()"
        selects.append(
            f'SELECT {quote_string(role)} AS "TABLE_ROLE", COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, '
            f"NUMERIC_PRECISION, NUMERIC_SCALE, ORDINAL_POSITION FROM {info_schema} "
            f"WHERE TABLE_SCHEMA = {schema} AND TABLE_NAME = {quote_string(table.name)}"
        )
    return " UNION ALL ".join(selects)


def build_preflight_sql(
    stream: ObjectName, tables: Mapping[str, ObjectName], key_expressions: Sequence[str]
) -> str:
    """One query: the stream's change count and NULL-key count, joined to both tables' columns.

    The counts come on every row (and on a single row with NULL columns when no table exists). A plain
    query: it reads the stream without consuming it.
    """
    if not key_expressions:
        raise ValueError("key_expressions must not be empty")
    null_key = " OR ".join(f"({expression}) IS NULL" for expression in key_expressions)
    return (
        f'SELECT "N"."CHANGES", "N"."NULL_KEYS", "C"."TABLE_ROLE", "C"."COLUMN_NAME", "C"."DATA_TYPE", '
        f'"C"."CHARACTER_MAXIMUM_LENGTH", "C"."NUMERIC_PRECISION", "C"."NUMERIC_SCALE" '
        f'FROM (SELECT COUNT(*) AS "CHANGES", COUNT_IF({null_key}) AS "NULL_KEYS" FROM {stream.sql}) AS "N" '
        f'LEFT JOIN ({build_columns_sql(tables)}) AS "C" ON TRUE '
        f'ORDER BY "C"."TABLE_ROLE", "C"."ORDINAL_POSITION"'
    )


@dataclass(frozen=True)
class Preflight:
    """The answers of ``build_preflight_sql`` (or of ``build_columns_sql`` alone: counts are then 0)."""

    changes: int
    null_keys: int
    columns: dict[str, list[ColumnInfo]]


def parse_preflight(rows: Sequence[Mapping[str, Any]], roles: Iterable[str]) -> Preflight:
    """Counts and ``{role: [ColumnInfo, ...]}`` (every role present, empty when its table is missing)."""
    columns: dict[str, list[ColumnInfo]] = {role: [] for role in roles}
    changes = null_keys = 0
    for raw in rows:
        row = {str(k).upper(): v for k, v in raw.items()}
        changes, null_keys = int(row.get("CHANGES") or 0), int(row.get("NULL_KEYS") or 0)
        role = row.get("TABLE_ROLE")
        if role is None:
            continue
        columns.setdefault(role, []).append(
            ColumnInfo(
                name=row["COLUMN_NAME"],
                data_type=ddl_type(
                    row["DATA_TYPE"],
                    length=row.get("CHARACTER_MAXIMUM_LENGTH"),
                    precision=row.get("NUMERIC_PRECISION"),
                    scale=row.get("NUMERIC_SCALE"),
                ),
            )
        )
    return Preflight(changes=changes, null_keys=null_keys, columns=columns)


def ddl_type(data_type: str, *, length: Any = None, precision: Any = None, scale: Any = None) -> str:
    """An information_schema DATA_TYPE (plus length/precision/scale) as a type for ALTER TABLE ADD COLUMN."""
    kind = str(data_type).upper().strip()
    if kind == "NUMBER" and precision is not None:
        return f"NUMBER({int(precision)}, {int(scale or 0)})"
    if kind == "TEXT":
        # VARCHAR's default is the maximum length, which Snowflake stores at no extra cost.
        return "VARCHAR" if length in (None, 16777216, 134217728) else f"VARCHAR({int(length)})"
    return kind


def _bool(value: bool) -> str:
    return "TRUE" if value else "FALSE"


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "y")
    return bool(value)
