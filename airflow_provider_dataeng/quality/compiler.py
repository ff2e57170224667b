"""Compile checks into as few queries as possible (pure: no I/O).

* Every single-table check of a table becomes one or more output columns of ONE aggregate query, so the
  table is scanned once however many checks there are.
* Each ``relationships`` check is one anti-join count (``NOT EXISTS``).
* ``custom_sql`` runs as given.
* Failing-row samples are separate small queries, built only for the checks that failed.

Values (accepted_values lists) are bound as parameters; identifiers go through :class:`.dialects.Dialect`
(validated by ``sql.identifiers``); filters and expressions were validated by the check constructors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_dataeng.quality.checks import (
    AcceptedValues,
    Check,
    CustomSql,
    Expression,
    Freshness,
    NotNull,
    Relationships,
    RowCount,
    RowCountAnomaly,
    Unique,
)
from airflow_provider_dataeng.quality.dialects import Dialect


@dataclass(frozen=True)
class Query:
    """One statement to run, its bound parameters (None when it has none) and what it is for."""

    sql: str
    params: dict[str, Any] | None
    purpose: str


@dataclass(frozen=True)
class ScanQuery(Query):
    """The table's aggregate query; ``positions`` maps each check name to its output column."""

    positions: dict[str, int] = field(default_factory=dict)


class _Params:
    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.values: dict[str, Any] = {}

    def bind(self, value: Any) -> str:
        key = f"p{len(self.values)}"
        self.values[key] = value
        return self.dialect.placeholder(key)


def _and(*conditions: str | None) -> str:
    present = [c for c in conditions if c]
    if not present:
        raise ValueError("no condition to combine")
    return " AND ".join(present)


def _paren(text: str | None) -> str | None:
    return f"({text})" if text else None


def _needs_params(checks: Sequence[Check]) -> bool:
    return any(isinstance(c, AcceptedValues) for c in checks)


def _scan_expression(check: Check, dialect: Dialect, params: _Params, user: Any) -> str:
    """The aggregate expression whose value is the check's observed value."""
    where = _paren(user(check.where)) if check.where else None
    if isinstance(check, (RowCount, RowCountAnomaly)):
        return dialect.count_if(where) if where else "COUNT(*)"
    if isinstance(check, NotNull):
        cols = [dialect.column(c, param=f"{check.name}.columns") for c in check.columns]
        any_null = " OR ".join(f"{c} IS NULL" for c in cols)
        return dialect.count_if(_and(where, f"({any_null})" if len(cols) > 1 else any_null))
    if isinstance(check, AcceptedValues):
        col = dialect.column(check.column, param=f"{check.name}.column")
        placeholders = ", ".join(params.bind(v) for v in check.values)
        return dialect.count_if(_and(where, f"{col} IS NOT NULL", f"{col} NOT IN ({placeholders})"))
    if isinstance(check, Expression):
        return dialect.count_if(_and(where, f"NOT ({user(check.sql)})"))
    if isinstance(check, Freshness):
        col = dialect.column(check.column, param=f"{check.name}.column")
        return f"MAX(CASE WHEN {where} THEN {col} END)" if where else f"MAX({col})"
    if isinstance(check, Unique):
        return _unique_expression(check, dialect, where)
    raise TypeError(f"{type(check).__name__} does not compile into the table scan")


def _unique_expression(check: Unique, dialect: Dialect, where: str | None) -> str:
    """Duplicate rows: rows with a complete key minus distinct keys (0 when every key is unique)."""
    cols = [dialect.column(c, param=f"{check.name}.columns") for c in check.columns]
    if len(cols) == 1:
        key = f"CASE WHEN {where} THEN {cols[0]} END" if where else cols[0]
        return f"COUNT({key}) - COUNT(DISTINCT {key})"
    complete = _and(where, " AND ".join(f"{c} IS NOT NULL" for c in cols))
    rows = dialect.count_if(complete)
    if dialect.name == "snowflake":  # COUNT(DISTINCT a, b) skips rows where any argument is NULL
        first = f"CASE WHEN {where} THEN {cols[0]} END" if where else cols[0]
        distinct = f"COUNT(DISTINCT {', '.join([first, *cols[1:]])})"
    elif dialect.name == "postgres":
        distinct = f"COUNT(DISTINCT CASE WHEN {complete} THEN ROW({', '.join(cols)}) END)"
    else:  # SQLite: quote() renders each value as an unambiguous literal, so the concatenation is injective
        joined = " || ',' || ".join(f"quote({c})" for c in cols)
        distinct = f"COUNT(DISTINCT CASE WHEN {complete} THEN {joined} END)"
    return f"{rows} - {distinct}"


def compile_scan(
    table: str, checks: Sequence[Check], dialect: Dialect, where: str | None = None
) -> ScanQuery:
    """ONE statement computing the observed value of every single-table check (one round trip)."""
    scan_checks = [c for c in checks if c.in_scan]
    if not scan_checks:
        raise ValueError("compile_scan needs at least one single-table check")
    has_params = _needs_params(scan_checks)

    def user(text: str) -> str:
        return dialect.user_sql(text, has_params=has_params)

    params = _Params(dialect)
    expressions: list[str] = []
    positions: dict[str, int] = {}
    table_sql = dialect.table(table, param="table")
    filtered = f" WHERE ({user(where)})" if where else ""
    # Two or more DISTINCT counts in one SELECT make engines expand the aggregate into one branch per distinct
    # input over a materialized copy of the rows (DuckDB does; Snowflake expands rows per distinct too): each
    # uniqueness count then runs as its own scalar subquery of the same statement, still one round trip.
    # Measured on the stand-in, 1M rows, two unique checks among ten: 357 ms instead of 473 ms.
    separate_unique = sum(isinstance(c, Unique) for c in scan_checks) > 1
    for check in scan_checks:
        expr = _scan_expression(check, dialect, params, user)
        if separate_unique and isinstance(check, Unique):
            expr = f"(SELECT {expr} FROM {table_sql}{filtered})"
        if expr not in expressions:  # e.g. row_count and row_count_anomaly share COUNT(*)
            expressions.append(expr)
        positions[check.name] = expressions.index(expr)
    select = ",\n".join(f"  {expr} AS c{i}" for i, expr in enumerate(expressions))
    sql = f"SELECT\n{select}"
    if not separate_unique or any(not isinstance(c, Unique) for c in scan_checks):
        # (Only scalar subqueries: no outer FROM, or the statement would return a row per table row.)
        sql += f"\nFROM {table_sql}"
        if where:
            sql += f"\nWHERE ({user(where)})"
    return ScanQuery(sql, params.values or None, "scan", positions=positions)


def compile_relationship(
    table: str, check: Relationships, dialect: Dialect, where: str | None = None
) -> Query:
    """Count rows whose non-NULL key has no match in the referenced table (an anti-join)."""
    return Query(
        _relationship_sql(table, check, dialect, where, "COUNT(*)", ""), None, f"relationships:{check.name}"
    )


def _relationship_sql(
    table: str, check: Relationships, dialect: Dialect, where: str | None, projection: str, tail: str
) -> str:
    col = dialect.column(check.column, param=f"{check.name}.column")
    ref_col = dialect.column(check.to_column, param=f"{check.name}.to_column")
    ref_table = dialect.table(check.to_table, param=f"{check.name}.to_table")
    condition = _and(f"src.{col} IS NOT NULL", _paren(where), _paren(check.where))
    return (
        f"SELECT {projection}\nFROM {dialect.table(table, param='table')} AS src\n"
        f"WHERE {condition}\n"
        f"  AND NOT EXISTS (SELECT 1 FROM {ref_table} AS ref WHERE ref.{ref_col} = src.{col}){tail}"
    )


def compile_custom(table: str, check: CustomSql, dialect: Dialect) -> Query:
    """The user's query as given, with ``{table}`` replaced by the quoted table name."""
    sql = check.query.replace("{table}", dialect.table(table, param="table"))
    return Query(sql, None, f"custom_sql:{check.name}")


def compile_sample(table: str, check: Check, dialect: Dialect, where: str | None, limit: int) -> Query | None:
    """Up to ``limit`` failing rows (or failing keys with their counts) for a failed check; None if n/a."""
    if limit <= 0 or isinstance(check, (RowCount, RowCountAnomaly, Freshness, CustomSql)):
        return None
    limit = int(limit)
    has_params = isinstance(check, AcceptedValues)

    def user(text: str | None) -> str | None:
        return _paren(dialect.user_sql(text, has_params=has_params)) if text else None

    params = _Params(dialect)
    target = dialect.table(table, param="table")
    filters = (user(where), user(check.where))
    purpose = f"sample:{check.name}"
    if isinstance(check, Relationships):
        col = dialect.column(check.column, param=f"{check.name}.column")
        sql = _relationship_sql(
            table,
            check,
            dialect,
            where,
            f"src.{col}, COUNT(*) AS n_rows",
            f"\nGROUP BY src.{col}\nORDER BY n_rows DESC, src.{col}\nLIMIT {limit}",
        )
        return Query(sql, None, purpose)
    if isinstance(check, Unique):
        cols = [dialect.column(c, param=f"{check.name}.columns") for c in check.columns]
        condition = _and(*filters, *(f"{c} IS NOT NULL" for c in cols))
        keys = ", ".join(cols)
        sql = (
            f"SELECT {keys}, COUNT(*) AS n_rows\nFROM {target}\nWHERE {condition}\nGROUP BY {keys}\n"
            f"HAVING COUNT(*) > 1\nORDER BY n_rows DESC, {keys}\nLIMIT {limit}"
        )
        return Query(sql, None, purpose)
    if isinstance(check, AcceptedValues):
        col = dialect.column(check.column, param=f"{check.name}.column")
        placeholders = ", ".join(params.bind(v) for v in check.values)
        condition = _and(*filters, f"{col} IS NOT NULL", f"{col} NOT IN ({placeholders})")
        sql = (
            f"SELECT {col}, COUNT(*) AS n_rows\nFROM {target}\nWHERE {condition}\nGROUP BY {col}\n"
            f"ORDER BY n_rows DESC, {col}\nLIMIT {limit}"
        )
        return Query(sql, params.values, purpose)
    if isinstance(check, NotNull):
        cols = [dialect.column(c, param=f"{check.name}.columns") for c in check.columns]
        failing = " OR ".join(f"{c} IS NULL" for c in cols)
        condition = _and(*filters, f"({failing})" if len(cols) > 1 else failing)
    elif isinstance(check, Expression):
        condition = _and(*filters, f"NOT {user(check.sql)}")
    else:
        return None
    return Query(f"SELECT *\nFROM {target}\nWHERE {condition}\nLIMIT {limit}", None, purpose)


@dataclass(frozen=True)
class Plan:
    """Every query one gate run needs for its checks (samples come later, for failures only)."""

    scan: ScanQuery | None
    relationships: tuple[tuple[Relationships, Query], ...]
    custom: tuple[tuple[CustomSql, Query], ...]

    @property
    def queries(self) -> list[Query]:
        out: list[Query] = [self.scan] if self.scan else []
        return out + [q for _, q in self.relationships] + [q for _, q in self.custom]


def compile_plan(table: str, checks: Sequence[Check], dialect: Dialect, where: str | None = None) -> Plan:
    """All check queries for ``table``: one scan + one per relationship + one per custom query."""
    names = [c.name for c in checks]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"checks: several checks are named {duplicates}; give each a distinct name=")
    dialect.table(table, param="table")
    scan = compile_scan(table, checks, dialect, where) if any(c.in_scan for c in checks) else None
    rels = tuple(
        (c, compile_relationship(table, c, dialect, where)) for c in checks if isinstance(c, Relationships)
    )
    custom = tuple((c, compile_custom(table, c, dialect)) for c in checks if isinstance(c, CustomSql))
    return Plan(scan, rels, custom)
