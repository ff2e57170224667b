"""Small helpers shared by the extensions: comment stripping, result rows, error mapping."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import duckdb
import snowflake.connector.errors
import sqlglot
from sqlglot import exp

if TYPE_CHECKING:
    from fakesnow.cursor import FakeSnowflakeCursor

_LEADING_COMMENTS = re.compile(r"^\s*(?:(?:/\*.*?\*/|--[^\n]*(?:\n|$)|//[^\n]*(?:\n|$))\s*)*", re.DOTALL)


def strip_leading_comments(sql: str) -> str:
    """The statement without the comments clients put in front of it (dbt adds a JSON comment)."""
    return sql[_LEADING_COMMENTS.match(sql).end() :]  # type: ignore[union-attr]


def programming_error(
    msg: str, errno: int = 2003, sqlstate: str = "42000"
) -> snowflake.connector.errors.ProgrammingError:
    """A Snowflake error the server returns to the client as a failed query (never an HTTP 500)."""
    return snowflake.connector.errors.ProgrammingError(msg=msg, errno=errno, sqlstate=sqlstate)


@contextmanager
def duckdb_errors(errno: int = 100038, sqlstate: str = "22018") -> Iterator[None]:
    """Turn DuckDB errors raised by our own statements into Snowflake ``ProgrammingError``s."""
    try:
        yield
    except duckdb.Error as e:
        raise programming_error(str(e).split("\n")[0], errno, sqlstate) from e


def set_result(cursor: FakeSnowflakeCursor, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Make ``rows`` the cursor's result set, with Snowflake column names, through fakesnow's own path."""
    if rows:
        values = exp.values([tuple(r) for r in rows], alias="t", columns=list(columns))
        select = exp.select(*[exp.column(c, quoted=True) for c in columns]).from_(values)
    else:
        select = exp.select(*[exp.Null().as_(c, quoted=True) for c in columns]).where(exp.false())
    cursor._execute(select)  # noqa: SLF001


def set_result_sql(cursor: FakeSnowflakeCursor, duckdb_sql: str, merge_counts: bool = False) -> None:
    """Make the result of a DuckDB SELECT the cursor's result set."""
    select = sqlglot.parse_one(duckdb_sql, read="duckdb")
    if merge_counts:
        select.set("merge_counts", True)
    cursor._execute(select)  # noqa: SLF001


def quote(name: str) -> str:
    """A DuckDB/Snowflake quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def normalise(name: str) -> str:
    """Snowflake identifier resolution: unquoted names are upper case, quoted names keep their case."""
    if len(name) >= 2 and name.startswith('"') and name.endswith('"'):
        return name[1:-1].replace('""', '"')
    return name.upper()
