"""The results table: DDL, idempotent append, and the count history ``row_count_anomaly`` reads.

``DETAILS`` holds a JSON object per row: the result's ``details`` (an anomaly's band, a freshness check's
limits) and its ``failing_rows`` sample, for the data-health page. Tables created before it existed get the
column on the gate's next run (:func:`add_details_sql`).

One row per check per run. Re-running a task for the same run replaces that run's rows (DELETE then
INSERT), so the table's final state does not depend on how many times a run was retried.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_provider_dataeng.quality.compiler import Query
from airflow_provider_dataeng.quality.dialects import Dialect
from airflow_provider_dataeng.quality.evaluate import CheckResult, as_number, jsonable
from airflow_provider_dataeng.sql.identifiers import parse_object_name

#: (column, kind) of the results table; kinds map to the dialect's types.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("DAG_ID", "text"),
    ("TASK_ID", "text"),
    ("RUN_ID", "text"),
    ("LOGICAL_DATE", "timestamp"),
    ("CHECKED_AT", "timestamp"),
    ("TABLE_NAME", "text"),
    ("CHECK_NAME", "text"),
    ("CHECK_TYPE", "text"),
    ("COLUMN_NAMES", "text"),
    ("OBSERVED", "text"),
    ("OBSERVED_NUMBER", "float"),
    ("THRESHOLD", "text"),
    ("STATUS", "text"),
    ("SEVERITY", "text"),
    ("NOTE", "text"),
    ("DETAILS", "text"),
)


@dataclass(frozen=True)
class RunIds:
    """Which task run wrote a row."""

    dag_id: str
    task_id: str
    run_id: str
    logical_date: datetime | None


def _c(dialect: Dialect, name: str) -> str:
    return dialect.column(name, param="results_table column")


def create_table_sql(results_table: str, dialect: Dialect) -> str:
    types = {"text": dialect.text_type, "timestamp": dialect.timestamp_type, "float": dialect.float_type}
    columns = ",\n".join(f"  {_c(dialect, name)} {types[kind]}" for name, kind in COLUMNS)
    return f"CREATE TABLE IF NOT EXISTS {dialect.table(results_table, param='results_table')} (\n{columns}\n)"


def add_details_sql(results_table: str, dialect: Dialect) -> str | None:
    """Add ``DETAILS`` to a results table made before it existed (a no-op where it is there). SQLite has no
    ``ADD COLUMN IF NOT EXISTS``: its tables are upgraded by :func:`missing_details_sql`'s answer."""
    if dialect.name == "sqlite":
        return None
    table = dialect.table(results_table, param="results_table")
    return f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {_c(dialect, 'DETAILS')} {dialect.text_type}"


def add_details_plain_sql(results_table: str, dialect: Dialect) -> str:
    """``ADD COLUMN`` without ``IF NOT EXISTS`` (SQLite, after :func:`missing_details_sql` found it missing)."""
    table = dialect.table(results_table, param="results_table")
    return f"ALTER TABLE {table} ADD COLUMN {_c(dialect, 'DETAILS')} {dialect.text_type}"


def missing_details_sql(results_table: str, dialect: Dialect) -> Query:
    """SQLite only: how many ``DETAILS`` columns the results table has (0 or 1)."""
    params = {"table_name": parse_object_name(results_table, param="results_table").name}
    sql = (
        f"SELECT COUNT(*) FROM pragma_table_info({dialect.placeholder('table_name')}) WHERE name = 'DETAILS'"
    )
    return Query(sql, params, "history:upgrade")


def _run_filter(dialect: Dialect, ids: RunIds, params: dict[str, Any]) -> str:
    params.update(dag_id=ids.dag_id, task_id=ids.task_id, run_id=ids.run_id)
    return " AND ".join(
        f"{_c(dialect, col)} = {dialect.placeholder(key)}"
        for col, key in (("DAG_ID", "dag_id"), ("TASK_ID", "task_id"), ("RUN_ID", "run_id"))
    )


def delete_run_sql(results_table: str, table: str, ids: RunIds, dialect: Dialect) -> Query:
    """Remove this run's earlier rows for ``table`` (a retry or a cleared task re-run)."""
    params: dict[str, Any] = {"table_name": table}
    run = _run_filter(dialect, ids, params)
    sql = (
        f"DELETE FROM {dialect.table(results_table, param='results_table')}\n"
        f"WHERE {run} AND {_c(dialect, 'TABLE_NAME')} = {dialect.placeholder('table_name')}"
    )
    return Query(sql, params, "history:delete")


def _details(result: CheckResult) -> str | None:
    details = dict(result.details)
    if result.failing_rows:
        details["failing_rows"] = result.failing_rows
    return json.dumps(details, default=str) if details else None  # the sample keeps its columns in order


def insert_results_sql(
    results_table: str, results: Sequence[CheckResult], ids: RunIds, checked_at: datetime, dialect: Dialect
) -> Query:
    """One multi-row INSERT of every result, all values bound."""
    if not results:
        raise ValueError("insert_results_sql needs at least one result")
    params: dict[str, Any] = {}
    rows = []
    for i, r in enumerate(results):
        observed = jsonable(r.observed)
        values = {
            "DAG_ID": ids.dag_id,
            "TASK_ID": ids.task_id,
            "RUN_ID": ids.run_id,
            "LOGICAL_DATE": dialect.bind_timestamp(ids.logical_date),
            "CHECKED_AT": dialect.bind_timestamp(checked_at),
            "TABLE_NAME": r.table,
            "CHECK_NAME": r.name,
            "CHECK_TYPE": r.check_type,
            "COLUMN_NAMES": ",".join(r.columns) or None,
            "OBSERVED": None if observed is None else json.dumps(observed),
            "OBSERVED_NUMBER": as_number(observed),
            "THRESHOLD": r.threshold,
            "STATUS": r.status,
            "SEVERITY": r.severity,
            "NOTE": r.note or None,
            "DETAILS": _details(r),
        }
        placeholders = []
        for j, (name, _) in enumerate(COLUMNS):
            key = f"v{i}_{j}"
            params[key] = values[name]
            placeholders.append(dialect.placeholder(key))
        rows.append(f"({', '.join(placeholders)})")
    column_list = ", ".join(_c(dialect, name) for name, _ in COLUMNS)
    sql = (
        f"INSERT INTO {dialect.table(results_table, param='results_table')} ({column_list})\n"
        f"VALUES\n" + ",\n".join(f"  {row}" for row in rows)
    )
    return Query(sql, params, "history:insert")


def count_history_sql(
    results_table: str, table: str, check_name: str, lookback: int, ids: RunIds, dialect: Dialect
) -> Query:
    """The last ``lookback`` observed counts of a check, newest first, excluding this run's own rows."""
    params: dict[str, Any] = {"table_name": table, "check_name": check_name}
    run = _run_filter(dialect, ids, params)
    conditions = [
        f"{_c(dialect, 'TABLE_NAME')} = {dialect.placeholder('table_name')}",
        f"{_c(dialect, 'CHECK_NAME')} = {dialect.placeholder('check_name')}",
        f"{_c(dialect, 'OBSERVED_NUMBER')} IS NOT NULL",
        f"NOT ({run})",
    ]
    if ids.logical_date is not None:
        params["logical_date"] = dialect.bind_timestamp(ids.logical_date)
        conditions.append(f"{_c(dialect, 'LOGICAL_DATE')} <= {dialect.placeholder('logical_date')}")
    sql = (
        f"SELECT {_c(dialect, 'OBSERVED_NUMBER')}\n"
        f"FROM {dialect.table(results_table, param='results_table')}\n"
        f"WHERE " + "\n  AND ".join(conditions) + "\n"
        f"ORDER BY {_c(dialect, 'LOGICAL_DATE')} DESC, {_c(dialect, 'CHECKED_AT')} DESC\n"
        f"LIMIT {int(lookback)}"
    )
    return Query(sql, params, f"history:{check_name}")


def recent_results_sql(
    results_table: str, dialect: Dialect, *, since: datetime, limit: int, table: str | None = None
) -> Query:
    """Every column of the rows checked since ``since`` (of one gated ``table``, or all), newest first, at
    most ``limit`` rows: what the data-health pages read, bounded in time and size."""
    params: dict[str, Any] = {"since": dialect.bind_timestamp(since)}
    conditions = [f"{_c(dialect, 'CHECKED_AT')} >= {dialect.placeholder('since')}"]
    if table is not None:
        params["table_name"] = table
        conditions.append(f"{_c(dialect, 'TABLE_NAME')} = {dialect.placeholder('table_name')}")
    columns = ", ".join(_c(dialect, name) for name, _ in COLUMNS)
    sql = (
        f"SELECT {columns}\n"
        f"FROM {dialect.table(results_table, param='results_table')}\n"
        f"WHERE " + "\n  AND ".join(conditions) + "\n"
        f"ORDER BY {_c(dialect, 'CHECKED_AT')} DESC\n"
        f"LIMIT {int(limit)}"
    )
    return Query(sql, params, "health:results")
