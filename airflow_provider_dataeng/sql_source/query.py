"""The statements of one extract, as text (golden-tested); values are placeholders the driver binds.

Every statement is sent with parameters (psycopg's ``%(name)s``), so a ``%`` of the SQL itself is written
``%%`` (also in a user's ``sql``, which is escaped here).

Every statement reads the source through one relation ``src``: the table (``SELECT * FROM "s"."t"``, or only
``columns``) or the user's ``sql`` as a subquery, so the window, partition and chunk predicates are written
once for both. PostgreSQL pushes them into the subquery, so an index on the watermark column is used.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from airflow_provider_dataeng.sql_source.copy_stream import COPY_OPTIONS
from airflow_provider_dataeng.sql_source.names import qualified, quote_ident
from airflow_provider_dataeng.sql_source.types import Column

_TRAILING = re.compile(r"[\s;]+$")
_TYPE_TEXT = re.compile(r"^[A-Za-z0-9_ (),.\[\]\"]+$")
# The session every extract reads in: the texts in the type table depend on the first four. The last lets
# PostgreSQL's parallel workers write the rows' JSON (most of an extract's server time): its default prices
# handing a row to the leader above computing it, so large reads otherwise run in one process. The server's
# own max_parallel_workers_per_gather still bounds it (0 turns it off).
SESSION_SETTINGS = {
    "TimeZone": "UTC",
    "IntervalStyle": "iso_8601",
    "DateStyle": "ISO, YMD",
    "extra_float_digits": "1",
    "parallel_tuple_cost": "0",
}


@dataclass(frozen=True)
class Source:
    """What is read: a table (with ``columns`` or all) or a query; ``tid_range`` restricts a table to a
    range of its pages (``(first, end)``, ``end`` ``None`` for the rest), for chunks read side by side."""

    table: tuple[str, ...] | None = None
    sql: str | None = None
    columns: tuple[str, ...] = ()
    tid_range: tuple[int, int | None] | None = None

    def relation(self) -> str:
        """The ``FROM`` item ``(...) AS src``."""
        if self.table is not None:
            items = ", ".join(quote_ident(c) for c in self.columns) if self.columns else "*"
            where = ""
            if self.tid_range is not None:
                first, end = self.tid_range
                where = f" WHERE ctid >= '({first},0)'::tid"
                if end is not None:
                    where += f" AND ctid < '({end},0)'::tid"
            return f"(SELECT {items} FROM {qualified(self.table)}{where}) AS src"
        assert self.sql is not None
        return f"({strip_sql(self.sql).replace('%', '%%')}) AS src"


def strip_sql(sql: str) -> str:
    """The query without trailing semicolons and whitespace (it becomes a subquery)."""
    return _TRAILING.sub("", sql)


def describe(source: Source) -> str:
    """No rows, only the result's columns and their types."""
    return f"SELECT * FROM {source.relation()} LIMIT 0"


def catalog_types() -> str:
    """Base type (a domain's), kind, category and display name of type oids (``%(oids)s``: a list)."""
    return (
        "SELECT t.oid, coalesce(b.typname, t.typname), coalesce(b.typtype, t.typtype), "
        "coalesce(b.typcategory, t.typcategory), format_type(t.oid, NULL) "
        "FROM pg_catalog.pg_type AS t LEFT JOIN pg_catalog.pg_type AS b ON t.typtype = 'd' AND b.oid = t.typbasetype "
        "WHERE t.oid = ANY(%(oids)s)"
    )


def watermark_expression(columns: Sequence[str]) -> str:
    """The watermark of a row: its column, or the first non-null of several (``COALESCE``)."""
    refs = [f"src.{quote_ident(c)}" for c in columns]
    return refs[0] if len(refs) == 1 else f"COALESCE({', '.join(refs)})"


def window_predicate(columns: Sequence[str], type_text: str) -> str:
    """Rows whose watermark is in ``[%(window_start)s, %(window_end)s)``; the bounds are cast to the
    watermark's own type (``type_text`` as ``format_type`` writes it), so an index on the column is used."""
    if not _TYPE_TEXT.match(type_text):
        raise ValueError(f"unexpected type name {type_text!r} for the watermark")
    expression = watermark_expression(columns)
    return f"{expression} >= CAST(%(window_start)s AS {type_text}) AND {expression} < CAST(%(window_end)s AS {type_text})"


def partition_predicate(column: str, integer: bool) -> str:
    """Rows of partition ``%(partition)s`` of ``%(partitions)s``: the key modulo the count for integer keys,
    else a hash of the key's text; every row is in exactly one partition (NULL keys in partition 0)."""
    ref = f"src.{quote_ident(column)}"
    bucket = (
        f"(({ref} %% %(partitions)s) + %(partitions)s) %% %(partitions)s"
        if integer
        else (f"(hashtext({ref}::text) & 2147483647) %% %(partitions)s")
    )
    return f"coalesce({bucket}, 0) = %(partition)s"


def where(predicates: Sequence[str]) -> str:
    return f" WHERE {' AND '.join(f'({p})' for p in predicates)}" if predicates else ""


def copy_rows(columns: Sequence[Column], source: Source, predicates: Sequence[str] = ()) -> str:
    """``COPY`` of each row as one JSON text (columns landed by the type table), one line each."""
    items = ", ".join(column.select_item() for column in columns)
    inner = f"SELECT {items} FROM {source.relation()}{where(predicates)}"
    return f"COPY (SELECT row_to_json(r.*) FROM ({inner}) AS r) TO STDOUT ({COPY_OPTIONS})"


def copy_keys(keys: Sequence[Column], source: Source, predicates: Sequence[str] = ()) -> str:
    """``COPY`` of the key columns as one JSON array per row (values as they land), in the order
    :mod:`.deletes` merge-joins on: integers by value, anything else by the bytes of its JSON text."""
    values, order = [], []
    for column in keys:
        ref = f"src.{quote_ident(column.name)}"
        expression = column.mapping.expression.format(c=ref)
        values.append(expression)
        order.append(ref if column.type.is_integer else f'to_json({expression})::text COLLATE "C"')
    return (
        f"COPY (SELECT json_build_array({', '.join(values)}) FROM {source.relation()}{where(predicates)} "
        f"ORDER BY {', '.join(order)}) TO STDOUT ({COPY_OPTIONS})"
    )


def max_watermark(columns: Sequence[str], source: Source, predicates: Sequence[str]) -> str:
    """The highest watermark among the rows read, as it lands (JSON text), and how many rows there are."""
    expression = watermark_expression(columns)
    return f"SELECT to_json(max({expression}))::text, count(*) FROM {source.relation()}{where(predicates)}"


def table_pages(table: tuple[str, ...]) -> str:
    """How many pages the table has now (for cutting it into chunks read side by side)."""
    name = qualified(table).replace("'", "''")
    return f"SELECT pg_relation_size('{name}'::regclass) / current_setting('block_size')::int"


def chunk_ranges(pages: int, chunks: int) -> list[tuple[int, int | None]]:
    """``chunks`` page ranges covering a table of ``pages`` pages; the last is open-ended (pages added while
    the size was read are in it)."""
    chunks = max(1, min(chunks, pages)) if pages else 1
    bounds = [pages * i // chunks for i in range(chunks + 1)]
    return [(bounds[i], bounds[i + 1] if i < chunks - 1 else None) for i in range(chunks)]
