"""The one MERGE that applies a stream's changes to a modelled table (SCD type 1 or 2), and its helpers.

Pure functions (no I/O). The MERGE is the only statement that reads the stream's changes, so Snowflake
advances the stream's offset exactly when it commits: a failed MERGE leaves the stream as it was.

How the changes become one row per key (the ``USING`` subquery):
- every change row is projected to the target's columns; ``METADATA$ACTION``/``ISUPDATE``/``ROW_ID`` ride
  along, and ``delete_condition`` (SQL over the stream's columns) turns records into deletes;
- ``QUALIFY ROW_NUMBER() OVER (PARTITION BY <keys> ORDER BY ...) = 1`` keeps one row per key, so a
  target row never matches two source rows (Snowflake's nondeterministic-merge error). The order is:
  the DELETE half of an update pair last (so it only acts when the update changed the key and nothing
  else in the batch has the old key), then ``dedupe_order_by`` newest first, then INSERT before DELETE,
  then ``METADATA$ROW_ID`` (a stable tie-break: the same batch always gives the same result).

SCD type 2 in one statement: the deduplicated changes are used twice (``UNION ALL``). The first copy
joins on the key: it closes the current version of a changed or deleted key, and inserts new keys. The
second copy, only for changed keys that have a current version, carries a NULL merge key, so it never
matches and inserts the new version.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_dataeng.sql.identifiers import ObjectName, parse_column_name, quote_identifier
from airflow_provider_dataeng.sql.stream import ColumnInfo

DELETE_MODES = ("hard", "soft", "ignore")
SCD_TYPES = (1, 2)
VALID_FROM, VALID_TO, IS_CURRENT = "_VALID_FROM", "_VALID_TO", "_IS_CURRENT"
SCD2_COLUMNS = (VALID_FROM, VALID_TO, IS_CURRENT)
INTERNAL_PREFIX = "__DATAENG_"
NOW = "CURRENT_TIMESTAMP()"

_DELETE = quote_identifier(INTERNAL_PREFIX + "DELETE")
_ACTION = quote_identifier(INTERNAL_PREFIX + "ACTION")
_ISUPDATE = quote_identifier(INTERNAL_PREFIX + "ISUPDATE")
_ROW_ID = quote_identifier(INTERNAL_PREFIX + "ROW_ID")
_TYPE = re.compile(r"[A-Z][A-Z0-9_ ]*(\(\s*\d+\s*(,\s*\d+\s*)?\))?")

# MERGE result columns -> our summary keys.
_COUNT_COLUMNS = {
    "number of rows inserted": "inserted",
    "number of rows updated": "updated",
    "number of rows deleted": "deleted",
}


class MergeConfigError(ValueError):
    """The merge's options, or the tables they name, do not fit together; the message says how to fix it."""


@dataclass(frozen=True)
class MergeSpec:
    """Everything the MERGE needs, already validated: names normalized, expressions checked.

    ``columns`` maps each target column (keys included, in target order) to a SQL expression over the
    stream's columns: a quoted column name, or a user expression in parentheses.
    """

    target: ObjectName
    stream: ObjectName
    key_columns: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]
    dedupe_order_by: tuple[str, ...] = ()
    delete_mode: str = "hard"
    delete_condition: str | None = None
    soft_delete_column: str = "_DELETED_AT"
    scd_type: int = 1
    only_newer_by: str | None = None
    _names: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = tuple(name for name, _ in self.columns)
        object.__setattr__(self, "_names", names)
        if self.delete_mode not in DELETE_MODES:
            raise MergeConfigError(f"delete_mode={self.delete_mode!r}: use one of {', '.join(DELETE_MODES)}")
        if self.scd_type not in SCD_TYPES:
            raise MergeConfigError(f"scd_type={self.scd_type!r}: use 1 (overwrite) or 2 (keep history)")
        if not self.key_columns:
            raise MergeConfigError("key_columns is empty: name the column(s) that identify a row")
        missing = [key for key in self.key_columns if key not in names]
        if missing:
            raise MergeConfigError(f"key_columns {missing} are not among the merged columns {list(names)}")
        if len(set(names)) != len(names):
            raise MergeConfigError(f"columns name a target column twice: {list(names)}")
        reserved = set(
            bookkeeping_columns(
                scd_type=self.scd_type,
                delete_mode=self.delete_mode,
                soft_delete_column=self.soft_delete_column,
            )
        )
        if self.only_newer_by is not None:
            if self.scd_type != 1:
                raise MergeConfigError("only_newer_by applies to scd_type=1 (scd_type=2 keeps every version)")
            if self.only_newer_by not in names or self.only_newer_by in self.key_columns:
                raise MergeConfigError(
                    f"only_newer_by={self.only_newer_by!r} must be one of the merged non-key columns "
                    f"{[n for n in names if n not in self.key_columns]} (e.g. UPDATED_AT)"
                )
        clash = [n for n in names if n in reserved or n.startswith(INTERNAL_PREFIX)]
        if clash:
            raise MergeConfigError(
                f"columns {clash} are bookkeeping columns the merge writes itself "
                f"({', '.join(sorted(reserved))}, {INTERNAL_PREFIX}*): leave them out of columns"
            )

    @property
    def column_names(self) -> tuple[str, ...]:
        return self._names

    @property
    def value_columns(self) -> tuple[str, ...]:
        """The non-key columns (what an update changes)."""
        return tuple(name for name in self._names if name not in self.key_columns)


@dataclass(frozen=True)
class ColumnPlan:
    """Which columns the merge writes, and the target columns it must add first (schema evolution)."""

    columns: tuple[tuple[str, str], ...]
    missing: tuple[ColumnInfo, ...]


def normalize_columns_arg(
    columns: Any, *, parse_expressions: bool = True
) -> None | tuple[str, ...] | dict[str, str]:
    """Check the ``columns`` argument: None, a list of column names, or {target_column: sql_expression}.

    ``parse_expressions=False`` only checks that each expression is a non-empty string (no sqlglot import:
    cheap enough for DAG parsing); the full check runs before any SQL is sent.
    """
    if columns is None:
        return None
    if isinstance(columns, Mapping):
        if not columns:
            raise MergeConfigError(
                "columns is an empty mapping: give {target_column: sql_expression} pairs or None"
            )
        mapping: dict[str, str] = {}
        for name, expression in columns.items():
            column = parse_column_name(name, param="columns")
            mapping[column] = check_expression(
                expression, param=f"columns[{name!r}]", parse=parse_expressions
            )
        return mapping
    if isinstance(columns, str) or not isinstance(columns, Sequence) or not columns:
        raise MergeConfigError(
            "columns must be None (the target's columns that the stream also has), a non-empty list of "
            "column names, or a mapping {target_column: sql_expression}"
        )
    return tuple(parse_column_name(name, param="columns") for name in columns)


def check_expression(text: Any, *, param: str, parse: bool = True) -> str:
    """A user SQL expression, stripped: fully parsed with sqlglot, or (``parse=False``) a cheap shape check."""
    from airflow_provider_dataeng.sql.identifiers import check_sql_expression_shape, validate_sql_expression

    if parse:
        return validate_sql_expression(text, param=param)
    return check_sql_expression_shape(text, param=param)


def source_key_expressions(
    key_columns: Sequence[str], columns: None | tuple[str, ...] | Mapping[str, str]
) -> tuple[str, ...]:
    """The keys' expressions over the stream, as ``plan_columns`` will write them (for the NULL-key count).

    Known before the tables' columns are: a mapped key is its expression, any other key the stream column
    of the same name.
    """
    if isinstance(columns, Mapping):
        missing = [key for key in key_columns if key not in columns]
        if missing:
            raise MergeConfigError(f"key_columns {missing} must be in the columns mapping too")
        return tuple(f"({columns[key]})" for key in key_columns)
    return tuple(quote_identifier(key) for key in key_columns)


def bookkeeping_columns(*, scd_type: int, delete_mode: str, soft_delete_column: str) -> tuple[str, ...]:
    """Target columns the merge maintains itself (never copied from the stream)."""
    names: list[str] = list(SCD2_COLUMNS) if scd_type == 2 else []
    if delete_mode == "soft":
        names.append(soft_delete_column)
    return tuple(names)


def plan_columns(
    *,
    target: ObjectName,
    target_columns: Sequence[ColumnInfo],
    source_columns: Sequence[ColumnInfo],
    key_columns: Sequence[str],
    columns: None | tuple[str, ...] | Mapping[str, str],
    scd_type: int = 1,
    delete_mode: str = "hard",
    soft_delete_column: str = "_DELETED_AT",
) -> ColumnPlan:
    """Decide the merged columns from the two tables' columns and the ``columns`` argument.

    ``None`` takes the target's columns that the stream also has; every other stream column is reported
    missing from the target. A list or mapping names the target columns; those the target lacks are
    reported missing (typed from the stream column, or from a trailing ``::type`` cast in a mapping).
    """
    if not source_columns:
        raise MergeConfigError(
            "the stream's source table has no columns visible to this role (does it exist?)"
        )
    if not target_columns:
        raise MergeConfigError(
            f"target_table {target.sql} does not exist (or this role cannot see it): create it first, e.g. "
            f"CREATE TABLE {target.sql} ({_column_ddl([c for c in source_columns if c.name])})"
        )
    target_types = {c.name: c for c in target_columns}
    source_types = {c.name: c for c in source_columns}
    keep = set(
        bookkeeping_columns(scd_type=scd_type, delete_mode=delete_mode, soft_delete_column=soft_delete_column)
    )

    missing_keys = [key for key in key_columns if key not in target_types]
    if missing_keys:
        raise MergeConfigError(
            f"key_columns {missing_keys} are not columns of target_table {target.sql} "
            f"(it has {sorted(target_types)}); key columns are never added automatically"
        )
    missing: list[ColumnInfo] = []
    if columns is None:
        selected = [
            (c.name, quote_identifier(c.name))
            for c in target_columns
            if c.name in source_types and c.name not in keep
        ]
        missing = [c for c in source_columns if c.name not in target_types and c.name not in keep]
        selected += [(c.name, quote_identifier(c.name)) for c in missing]
        absent_keys = [key for key in key_columns if key not in source_types]
        if absent_keys:
            raise MergeConfigError(
                f"key_columns {absent_keys} are not columns of the stream's source table: map them with "
                f"columns={{target_column: sql_expression}}"
            )
    elif isinstance(columns, Mapping):
        selected = [(name, f"({expression})") for name, expression in columns.items()]
        for name, expression in columns.items():
            if name not in target_types:
                missing.append(ColumnInfo(name, _expression_type(name, expression, source_types)))
        absent_keys = [key for key in key_columns if key not in columns]
        if absent_keys:
            raise MergeConfigError(f"key_columns {absent_keys} must be in the columns mapping too")
    else:
        unknown = [name for name in columns if name not in source_types]
        if unknown:
            raise MergeConfigError(
                f"columns {unknown} are not columns of the stream's source table (it has {sorted(source_types)}): "
                f"use a mapping {{target_column: sql_expression}} to compute them"
            )
        names = list(columns) + [key for key in key_columns if key not in columns]
        selected = [(name, quote_identifier(name)) for name in names]
        missing = [source_types[name] for name in names if name not in target_types]
    return ColumnPlan(columns=tuple(selected), missing=tuple(missing))


def missing_bookkeeping_columns(
    target_columns: Sequence[ColumnInfo], *, scd_type: int, delete_mode: str, soft_delete_column: str
) -> tuple[ColumnInfo, ...]:
    """Bookkeeping columns the target lacks, typed for ALTER TABLE ADD COLUMN."""
    have = {c.name for c in target_columns}
    wanted = [
        ColumnInfo(VALID_FROM, "TIMESTAMP_LTZ"),
        ColumnInfo(VALID_TO, "TIMESTAMP_LTZ"),
        ColumnInfo(IS_CURRENT, "BOOLEAN"),
    ]
    wanted = wanted if scd_type == 2 else []
    if delete_mode == "soft":
        wanted.append(ColumnInfo(soft_delete_column, "TIMESTAMP_LTZ"))
    return tuple(c for c in wanted if c.name not in have)


def build_add_columns_sql(target: ObjectName, columns: Sequence[ColumnInfo]) -> str:
    """``ALTER TABLE ... ADD COLUMN IF NOT EXISTS a T, b U``: idempotent, so a retried run is harmless."""
    if not columns:
        raise ValueError("columns must not be empty")
    return f"ALTER TABLE {target.sql} ADD COLUMN IF NOT EXISTS {_column_ddl(columns)}"


def build_merge_sql(spec: MergeSpec) -> str:
    """The single MERGE statement for ``spec`` (SCD type 1 or 2)."""
    return _build_scd2(spec) if spec.scd_type == 2 else _build_scd1(spec)


def build_probe_column_sql(stream: ObjectName, expression: str) -> str:
    """Evaluate one merged column's expression over the whole stream (run only after a MERGE failed).

    ``COUNT`` of the expression forces it to be computed for every change row, so the query fails exactly
    when the expression fails on some row: it tells which column a cast error comes from.
    """
    return f'SELECT COUNT({expression}) AS "N" FROM {stream.sql}'


def parse_merge_counts(row: Mapping[str, Any] | None) -> dict[str, int]:
    """``{"inserted", "updated", "deleted"}`` from the MERGE's result row (absent clauses count 0)."""
    counts = {"inserted": 0, "updated": 0, "deleted": 0}
    for column, value in (row or {}).items():
        key = _COUNT_COLUMNS.get(str(column).lower())
        if key is not None and value is not None:
            counts[key] = int(value)
    return counts


def _changes_sql(spec: MergeSpec) -> str:
    """One row per key: the stream's changes projected, flagged (delete or not) and deduplicated."""
    projections = [f"{expression} AS {quote_identifier(name)}" for name, expression in spec.columns]
    projections += [
        f"METADATA$ACTION AS {_ACTION}",
        f"METADATA$ISUPDATE AS {_ISUPDATE}",
        f"METADATA$ROW_ID AS {_ROW_ID}",
    ]
    orders = [
        quote_identifier(f"{INTERNAL_PREFIX}ORDER_{i}") for i in range(1, len(spec.dedupe_order_by) + 1)
    ]
    projections += [f"({expression}) AS {alias}" for expression, alias in zip(spec.dedupe_order_by, orders)]
    is_delete = "METADATA$ACTION = 'DELETE'"
    if spec.delete_condition:
        is_delete += f" OR COALESCE(({spec.delete_condition}), FALSE)"
    outer = [quote_identifier(name) for name in spec.column_names]
    where = ""
    if spec.delete_mode == "ignore":
        where = f" WHERE NOT ({is_delete})"
    else:
        projections.append(f"({is_delete}) AS {_DELETE}")
        outer.append(_DELETE)
    order_by = [f"IFF({_ACTION} = 'DELETE' AND {_ISUPDATE}, 1, 0)"] if spec.delete_mode != "ignore" else []
    order_by += [f"{alias} DESC NULLS LAST" for alias in orders]
    order_by += [f"{_ACTION} DESC", f"{_ROW_ID} DESC"]
    partition = ", ".join(quote_identifier(key) for key in spec.key_columns)
    return (
        f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(projections)} FROM {spec.stream.sql}{where}) "
        f"QUALIFY ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY {', '.join(order_by)}) = 1"
    )


def _build_scd1(spec: MergeSpec) -> str:
    on = " AND ".join(f'"T".{quote_identifier(k)} = "S".{quote_identifier(k)}' for k in spec.key_columns)
    deletes = spec.delete_mode != "ignore"
    upsert_only = f' AND NOT "S".{_DELETE}' if deletes else ""
    soft = quote_identifier(spec.soft_delete_column)
    # only_newer_by: a change older than the row it matches (an out-of-order backfill, a late replay) is
    # not applied, so intervals may run in any order and end in the newest state.
    newer = ""
    if spec.only_newer_by is not None:
        column = quote_identifier(spec.only_newer_by)
        newer = f' AND ("S".{column} IS NULL OR "T".{column} IS NULL OR "S".{column} >= "T".{column})'
    clauses = []
    sets = [f'{quote_identifier(c)} = "S".{quote_identifier(c)}' for c in spec.value_columns]
    if spec.delete_mode == "hard":
        clauses.append(f'WHEN MATCHED AND "S".{_DELETE}{newer} THEN DELETE')
    elif spec.delete_mode == "soft":
        # A tombstone's values are the entity's last state (its updated_at, say): take them, so downstream
        # incremental models that filter on such a column see the deletion; a tombstone that carries only
        # the key keeps the row's last known values (COALESCE).
        kept = [
            f'{quote_identifier(c)} = COALESCE("S".{quote_identifier(c)}, "T".{quote_identifier(c)})'
            for c in spec.value_columns
        ]
        stamp = ", ".join([*kept, f"{soft} = {NOW}"])
        clauses.append(
            f'WHEN MATCHED AND "S".{_DELETE} AND "T".{soft} IS NULL{newer} THEN UPDATE SET {stamp}'
        )
    if spec.delete_mode == "soft":
        sets.append(f"{soft} = NULL")  # a key deleted earlier and sent again is live again
    if sets:
        clauses.append(f"WHEN MATCHED{upsert_only}{newer} THEN UPDATE SET {', '.join(sets)}")
    clauses.append(f"WHEN NOT MATCHED{upsert_only} THEN {_insert(spec.column_names)}")
    if spec.only_newer_by is not None and spec.delete_mode == "soft":
        # A tombstone of a key not seen yet is kept as a soft-deleted row: an older version of that key
        # arriving later (an out-of-order interval) then meets the guard instead of coming back to life.
        names = (*spec.column_names, spec.soft_delete_column)
        values = ", ".join([*(f'"S".{quote_identifier(c)}' for c in spec.column_names), NOW])
        clauses.append(
            f'WHEN NOT MATCHED AND "S".{_DELETE} THEN INSERT ({", ".join(quote_identifier(c) for c in names)}) '
            f"VALUES ({values})"
        )
    return f'MERGE INTO {spec.target.sql} AS "T"\nUSING ({_changes_sql(spec)}) AS "S"\nON {on}\n' + "\n".join(
        clauses
    )


def _build_scd2(spec: MergeSpec) -> str:
    keys = [quote_identifier(k) for k in spec.key_columns]
    merge_keys = [quote_identifier(f"{INTERNAL_PREFIX}MERGE_KEY_{i}") for i in range(1, len(keys) + 1)]
    deletes = spec.delete_mode != "ignore"
    current = quote_identifier(IS_CURRENT)
    closed = f"{quote_identifier(VALID_TO)} = {NOW}, {current} = FALSE"
    join_current = " AND ".join(f'"C".{k} = "CHANGES".{k}' for k in keys)
    second_copy_filter = f'NOT "CHANGES".{_DELETE} AND ' if deletes else ""
    first_keys = ", ".join(f'"CHANGES".{k} AS {m}' for k, m in zip(keys, merge_keys))
    null_keys = ", ".join(f"NULL AS {m}" for m in merge_keys)
    using = (
        f'WITH "CHANGES" AS ({_changes_sql(spec)})\n'
        f'SELECT "CHANGES".*, {first_keys} FROM "CHANGES"\n'
        f'UNION ALL SELECT "CHANGES".*, {null_keys} '
        f'FROM "CHANGES" JOIN {spec.target.sql} AS "C" ON {join_current} AND "C".{current} '
        f"WHERE {second_copy_filter}{_changed(spec, 'C', 'CHANGES')}"
    )
    on = " AND ".join(f'"T".{k} = "S".{m}' for k, m in zip(keys, merge_keys)) + f' AND "T".{current}'
    clauses = []
    if spec.delete_mode == "hard":
        clauses.append(f'WHEN MATCHED AND "S".{_DELETE} THEN UPDATE SET {closed}')
    elif spec.delete_mode == "soft":
        soft = quote_identifier(spec.soft_delete_column)
        clauses.append(f'WHEN MATCHED AND "S".{_DELETE} THEN UPDATE SET {closed}, {soft} = {NOW}')
    clauses.append(f"WHEN MATCHED AND {_changed(spec, 'T', 'S')} THEN UPDATE SET {closed}")
    insert_columns = (*spec.column_names, *SCD2_COLUMNS)
    values = [f'"S".{quote_identifier(c)}' for c in spec.column_names] + [NOW, "NULL", "TRUE"]
    upsert_only = f' AND NOT "S".{_DELETE}' if deletes else ""
    clauses.append(
        f"WHEN NOT MATCHED{upsert_only} THEN INSERT ({', '.join(quote_identifier(c) for c in insert_columns)}) "
        f"VALUES ({', '.join(values)})"
    )
    return f'MERGE INTO {spec.target.sql} AS "T"\nUSING ({using}) AS "S"\nON {on}\n' + "\n".join(clauses)


def _changed(spec: MergeSpec, old: str, new: str) -> str:
    """True when any non-key column differs between the ``old`` and ``new`` aliases (NULL-safe)."""
    if not spec.value_columns:
        return "FALSE"
    tests = [
        f'"{old}".{quote_identifier(c)} IS DISTINCT FROM "{new}".{quote_identifier(c)}'
        for c in spec.value_columns
    ]
    return "(" + " OR ".join(tests) + ")"


def _insert(names: Sequence[str]) -> str:
    quoted = [quote_identifier(n) for n in names]
    values = ", ".join(f'"S".{q}' for q in quoted)
    return f"INSERT ({', '.join(quoted)}) VALUES ({values})"


def _column_ddl(columns: Sequence[ColumnInfo]) -> str:
    parts = []
    for column in columns:
        if not _TYPE.fullmatch(column.data_type):
            raise MergeConfigError(
                f"column {column.name!r} has a type this operator cannot write: {column.data_type!r}"
            )
        parts.append(f"{quote_identifier(column.name)} {column.data_type}")
    return ", ".join(parts)


def _expression_type(name: str, expression: str, source_types: Mapping[str, ColumnInfo]) -> str:
    """The type to add a mapped target column with: a plain stream column's type, or a trailing cast's."""
    import sqlglot
    from sqlglot import exp

    node = sqlglot.parse_one(expression, read="snowflake")
    if isinstance(node, exp.Column) and not node.table:
        column = node.name if node.this.quoted else node.name.upper()
        if column in source_types:
            return source_types[column].data_type
    if isinstance(node, (exp.Cast, exp.TryCast)):
        return node.to.sql(dialect="snowflake").upper()
    raise MergeConfigError(
        f"cannot add column {name!r} to the target: its type is unknown from {expression!r}; end the "
        f"expression with a cast (e.g. {expression}::VARCHAR) or add the column yourself"
    )
