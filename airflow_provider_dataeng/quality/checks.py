"""Declarative data-quality checks: small frozen dataclasses and their constructors.

Constructors validate everything that does not depend on the database (identifiers, thresholds, the shape
of SQL expressions) so a bad check fails when the DAG is parsed, not when the task runs. SQL expressions
(``where``, ``expression``) are parsed with sqlglot by :func:`parse_check_sql` when the gate runs, before any
SQL is built: importing sqlglot on every DAG parse would cost more than the rest of the file. The compiler
(:mod:`.compiler`) turns checks into SQL; :mod:`.evaluate` turns observed values into results.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from airflow_provider_dataeng.sql.identifiers import (
    IdentifierError,
    check_sql_expression_shape,
    parse_column_name,
    parse_object_name,
    validate_sql_expression,
)

SEVERITIES = ("error", "warn")


@dataclass(frozen=True)
class Check:
    """Base of all checks: a name, a severity and an optional SQL filter on the rows checked."""

    kind: ClassVar[str] = "check"
    #: True when the check compiles into the table's single aggregate scan.
    in_scan: ClassVar[bool] = True

    name: str
    severity: str = "error"
    where: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return ()

    def describe(self) -> str:
        return self.kind


@dataclass(frozen=True)
class Unique(Check):
    kind: ClassVar[str] = "unique"
    column_names: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.column_names

    def describe(self) -> str:
        return f"no two rows share ({', '.join(self.column_names)}) (NULL keys ignored)"


@dataclass(frozen=True)
class NotNull(Check):
    kind: ClassVar[str] = "not_null"
    column_names: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.column_names

    def describe(self) -> str:
        return f"{', '.join(self.column_names)} never NULL"


@dataclass(frozen=True)
class AcceptedValues(Check):
    kind: ClassVar[str] = "accepted_values"
    column: str = ""
    values: tuple[Any, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def describe(self) -> str:
        return f"{self.column} in {list(self.values)!r} (NULL allowed)"


@dataclass(frozen=True)
class Relationships(Check):
    kind: ClassVar[str] = "relationships"
    in_scan: ClassVar[bool] = False
    column: str = ""
    to_table: str = ""
    to_column: str = ""

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def describe(self) -> str:
        return f"every non-NULL {self.column} exists in {self.to_table}.{self.to_column}"


@dataclass(frozen=True)
class Freshness(Check):
    kind: ClassVar[str] = "freshness"
    column: str = ""
    warn_after: float | None = None  # seconds
    error_after: float | None = None  # seconds

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def describe(self) -> str:
        return f"newest {self.column} is recent enough"


@dataclass(frozen=True)
class RowCount(Check):
    kind: ClassVar[str] = "row_count"
    min: int | None = None
    max: int | None = None

    def describe(self) -> str:
        return "row count within bounds"


@dataclass(frozen=True)
class RowCountAnomaly(Check):
    kind: ClassVar[str] = "row_count_anomaly"
    lookback: int = 14
    max_zscore: float | None = 3.0
    max_pct_change: float | None = None
    min_history: int = 5

    def describe(self) -> str:
        return f"row count in line with the last {self.lookback} runs"


@dataclass(frozen=True)
class Expression(Check):
    kind: ClassVar[str] = "expression"
    sql: str = ""

    def describe(self) -> str:
        return f"({self.sql}) is not false for any row"


@dataclass(frozen=True)
class CustomSql(Check):
    kind: ClassVar[str] = "custom_sql"
    in_scan: ClassVar[bool] = False
    query: str = ""
    expect: Any = 0

    def describe(self) -> str:
        return f"custom query returns {self.expect!r}"


def parse_check_sql(checks: Iterable[Check]) -> None:
    """Parse each check's SQL expressions with sqlglot (the constructors only check their shape); raises
    :class:`IdentifierError` naming the check's parameter. Run before the checks' SQL is built."""
    for check in checks:
        if check.where is not None:
            validate_sql_expression(check.where, param=f"{check.kind}.where")
        if isinstance(check, Expression):
            validate_sql_expression(check.sql, param="expression.sql")


# ---------------------------------------------------------------------------------------------- helpers


def _common(
    kind: str, name: str | None, severity: str, where: str | None, default_name: str
) -> dict[str, Any]:
    if severity not in SEVERITIES:
        raise ValueError(f"{kind}: severity must be 'error' or 'warn', got {severity!r}")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ValueError(f"{kind}: name must be a non-empty string, got {name!r}")
    if where is not None:
        where = check_sql_expression_shape(where, param=f"{kind}.where")
    return {"name": name.strip() if name else default_name, "severity": severity, "where": where}


def _column(text: Any, param: str) -> str:
    """Validate a column name (Snowflake identifier rules) and return it as the user wrote it, stripped."""
    parse_column_name(text, param=param)
    return text.strip()


def _columns(columns: Any, param: str) -> tuple[str, ...]:
    if isinstance(columns, str):
        columns = [columns]
    if not isinstance(columns, (list, tuple)) or not columns:
        raise ValueError(
            f"{param} must be a column name or a non-empty list of column names, got {columns!r}"
        )
    return tuple(_column(c, f"{param}[{i}]") for i, c in enumerate(columns))


def _count_bound(value: Any, param: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{param} must be a non-negative integer or None, got {value!r}")
    return value


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$", re.IGNORECASE)
_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}


def parse_duration(value: Any, *, param: str) -> float | None:
    """Seconds from a timedelta, a number of seconds, ``"36h"``/``"2 days"``, or dbt's ``{count, period}``."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)) and match.group(2).lower() in _UNITS:
        seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
    elif (
        isinstance(value, dict)
        and set(value) == {"count", "period"}
        and str(value["period"]).lower() in _UNITS
    ):
        seconds = float(value["count"]) * _UNITS[str(value["period"]).lower()]
    else:
        raise ValueError(
            f"{param} must be a timedelta, seconds, a string like '36h' or '2 days', or "
            f"{{count: 36, period: hour}}; got {value!r}"
        )
    if seconds <= 0:
        raise ValueError(f"{param} must be a positive duration, got {value!r}")
    return seconds


# ------------------------------------------------------------------------------------------ constructors


def unique(
    columns: str | list[str], *, name: str | None = None, severity: str = "error", where: str | None = None
) -> Unique:
    """No two rows share the same value of ``columns`` (one column or a combination; NULL keys ignored)."""
    cols = _columns(columns, "unique.columns")
    return Unique(**_common("unique", name, severity, where, f"unique({','.join(cols)})"), column_names=cols)


def not_null(
    columns: str | list[str], *, name: str | None = None, severity: str = "error", where: str | None = None
) -> NotNull:
    """No row has NULL in any of ``columns``."""
    cols = _columns(columns, "not_null.columns")
    return NotNull(
        **_common("not_null", name, severity, where, f"not_null({','.join(cols)})"), column_names=cols
    )


def accepted_values(
    column: str,
    values: list[Any],
    *,
    name: str | None = None,
    severity: str = "error",
    where: str | None = None,
) -> AcceptedValues:
    """Every non-NULL ``column`` value is one of ``values`` (bound as parameters, never formatted into SQL)."""
    col = _column(column, "accepted_values.column")
    if (
        isinstance(values, (str, bytes))
        or not isinstance(values, (list, tuple, set, frozenset))
        or not values
    ):
        raise ValueError(f"accepted_values.values must be a non-empty list, got {values!r}")
    for value in values:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ValueError(f"accepted_values.values may hold strings and numbers only, got {value!r}")
    return AcceptedValues(
        **_common("accepted_values", name, severity, where, f"accepted_values({col})"),
        column=col,
        values=tuple(values),
    )


def relationships(
    column: str,
    to_table: str,
    to_column: str,
    *,
    name: str | None = None,
    severity: str = "error",
    where: str | None = None,
) -> Relationships:
    """Every non-NULL ``column`` value exists in ``to_table.to_column`` (an anti-join count)."""
    col = _column(column, "relationships.column")
    parse_object_name(to_table, param="relationships.to_table")
    to_col = _column(to_column, "relationships.to_column")
    return Relationships(
        **_common(
            "relationships", name, severity, where, f"relationships({col}->{to_table.strip()}.{to_col})"
        ),
        column=col,
        to_table=to_table.strip(),
        to_column=to_col,
    )


def freshness(
    column: str,
    warn_after: Any = None,
    error_after: Any = None,
    *,
    name: str | None = None,
    severity: str = "error",
    where: str | None = None,
) -> Freshness:
    """The newest ``column`` timestamp is younger than ``error_after`` (fails) / ``warn_after`` (warns).

    Durations: ``timedelta``, seconds, ``"36h"``, ``"2 days"`` or dbt's ``{count: 36, period: hour}``.
    Timestamps without a time zone are read as UTC.
    """
    col = _column(column, "freshness.column")
    warn = parse_duration(warn_after, param="freshness.warn_after")
    error = parse_duration(error_after, param="freshness.error_after")
    if warn is None and error is None:
        raise ValueError("freshness needs error_after and/or warn_after (e.g. error_after='24h')")
    if warn is not None and error is not None and warn > error:
        raise ValueError(
            f"freshness.warn_after ({warn_after!r}) must not exceed error_after ({error_after!r})"
        )
    return Freshness(
        **_common("freshness", name, severity, where, f"freshness({col})"),
        column=col,
        warn_after=warn,
        error_after=error,
    )


def row_count(
    min: int | None = None,
    max: int | None = None,
    *,
    name: str | None = None,  # noqa: A002
    severity: str = "error",
    where: str | None = None,
) -> RowCount:
    """The number of rows (after ``where``) is within ``[min, max]``."""
    low, high = _count_bound(min, "row_count.min"), _count_bound(max, "row_count.max")
    if low is None and high is None:
        raise ValueError("row_count needs min and/or max (e.g. row_count(min=1))")
    if low is not None and high is not None and low > high:
        raise ValueError(f"row_count.min ({low}) must not exceed row_count.max ({high})")
    return RowCount(**_common("row_count", name, severity, where, "row_count"), min=low, max=high)


def row_count_anomaly(
    lookback: int = 14,
    max_zscore: float | None = 3.0,
    max_pct_change: float | None = None,
    *,
    min_history: int = 5,
    name: str | None = None,
    severity: str = "error",
    where: str | None = None,
) -> RowCountAnomaly:
    """Today's row count against the last ``lookback`` counts in the results table.

    Fails when the z-score exceeds ``max_zscore`` and/or the change from the previous count exceeds
    ``max_pct_change`` percent. Passes with a note while fewer than ``min_history`` counts exist.
    Needs the operator's ``results_table``.
    """
    if isinstance(lookback, bool) or not isinstance(lookback, int) or lookback < 2:
        raise ValueError(f"row_count_anomaly.lookback must be an integer >= 2, got {lookback!r}")
    if isinstance(min_history, bool) or not isinstance(min_history, int) or not 2 <= min_history <= lookback:
        raise ValueError(
            f"row_count_anomaly.min_history must be an integer in [2, lookback], got {min_history!r}"
        )
    for param, value in (("max_zscore", max_zscore), ("max_pct_change", max_pct_change)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0
        ):
            raise ValueError(f"row_count_anomaly.{param} must be a positive number or None, got {value!r}")
    if max_zscore is None and max_pct_change is None:
        raise ValueError("row_count_anomaly needs max_zscore and/or max_pct_change")
    return RowCountAnomaly(
        **_common("row_count_anomaly", name, severity, where, "row_count_anomaly"),
        lookback=lookback,
        max_zscore=max_zscore,
        max_pct_change=max_pct_change,
        min_history=min_history,
    )


def expression(
    sql: str, *, name: str | None = None, severity: str = "error", where: str | None = None
) -> Expression:
    """Rows where the boolean SQL expression is false fail (NULL counts as not false, as in CHECK constraints)."""
    text = check_sql_expression_shape(sql, param="expression.sql")
    return Expression(**_common("expression", name, severity, where, f"expression({text})"), sql=text)


_QUERY_START = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)


def custom_sql(query: str, expect: Any = 0, *, name: str | None = None, severity: str = "error") -> CustomSql:
    """Run ``query`` as given; it passes when its result equals ``expect``.

    The observed value is the single value when the query returns one row of one column (e.g.
    ``SELECT COUNT(*) ...``), otherwise the number of rows returned (dbt "singular test" style: the query
    lists the failing rows). ``{table}`` in the query is replaced by the operator's quoted table name.
    """
    if not isinstance(query, str) or not _QUERY_START.match(query):
        raise ValueError(f"custom_sql.query must be one SELECT (or WITH ... SELECT) query, got {query!r}")
    text = query.strip().rstrip(";").strip()
    stripped = re.sub(r"'(?:[^'\\]|\\.|'')*'", "''", text)
    if ";" in stripped:
        raise ValueError(f"custom_sql.query must be a single statement (found ';'): {query!r}")
    if "--" in stripped or "/*" in stripped:
        raise ValueError(f"custom_sql.query must not contain comments: {query!r}")
    if isinstance(expect, bool) or not isinstance(expect, (int, float, str)):
        raise ValueError(f"custom_sql.expect must be a number or a string, got {expect!r}")
    return CustomSql(**_common("custom_sql", name, severity, None, "custom_sql"), query=text, expect=expect)


#: Constructor per check name, as used in YAML files (dbt's names where dbt has the check).
CONSTRUCTORS: dict[str, Callable[..., Check]] = {
    "unique": unique,
    "not_null": not_null,
    "accepted_values": accepted_values,
    "relationships": relationships,
    "freshness": freshness,
    "row_count": row_count,
    "row_count_anomaly": row_count_anomaly,
    "expression": expression,
    "custom_sql": custom_sql,
}

__all__ = [
    "CONSTRUCTORS",
    "AcceptedValues",
    "Check",
    "CustomSql",
    "Expression",
    "Freshness",
    "IdentifierError",
    "NotNull",
    "Relationships",
    "RowCount",
    "RowCountAnomaly",
    "Unique",
    "accepted_values",
    "custom_sql",
    "expression",
    "freshness",
    "not_null",
    "parse_duration",
    "relationships",
    "row_count",
    "row_count_anomaly",
    "unique",
]
