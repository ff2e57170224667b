"""MERGE as DuckDB's native ``MERGE INTO`` (fakesnow rewrites it into a full outer join over the target).

The Snowflake statement goes through fakesnow's expression transforms (identifiers, JSON paths,
functions) and target qualifiers are dropped from ``UPDATE SET`` (DuckDB wants bare column names).
The per-action counts Snowflake reports (one column per kind of clause present: "number of rows
inserted", "number of rows updated", "number of rows deleted") come from a join of the source with
the target only, so the cost follows the changes, not the target's size. Like Snowflake
(ERROR_ON_NONDETERMINISTIC_MERGE), a target row matched by several source rows under a WHEN MATCHED
clause is an error.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import duckdb
from fakesnow.transforms.merge import operations
from sqlglot import exp

from dataeng_local.snowflake._sql import programming_error, set_result_sql
from dataeng_local.snowflake.transactions import statement_transaction

if TYPE_CHECKING:
    from dataeng_local.snowflake.cursor import LocalCursor


def supported(expression: exp.Expr) -> bool:
    """Whether the MERGE maps onto DuckDB's (Snowflake-only forms fall back to fakesnow)."""
    if not isinstance(expression, exp.Merge):
        return False
    for when in _whens(expression):
        then = when.args.get("then")
        if not isinstance(then, (exp.Update, exp.Insert, exp.Var)):
            return False
    return True


def execute_merge(cursor: LocalCursor, expression: exp.Merge, params: Any) -> None:
    ops = operations(expression)
    transformed = cursor._transform(expression.copy(), params)  # noqa: SLF001
    _unqualify_set_columns(transformed)
    sql = transformed.sql(dialect="duckdb")
    duck = cursor._duck_conn  # noqa: SLF001
    bound = params if transformed.find(exp.Placeholder) else None
    with statement_transaction(cursor):
        try:
            if bound is None:
                counts = _count_actions(duck, transformed)
                duck.execute(sql).fetchall()
            else:  # placeholders: count what DuckDB reports (a little slower)
                counts = Counter(
                    r[0] for r in duck.execute(f"{sql} RETURNING merge_action", bound).fetchall()
                )
        except duckdb.Error as e:
            raise programming_error(str(e).split("\n")[0], _errno(e), "42000") from e
    columns = [
        f'{counts.get(action, 0)} AS "number of rows {op}"'
        for op, action in (("inserted", "INSERT"), ("updated", "UPDATE"), ("deleted", "DELETE"))
        if ops[op]
    ]
    set_result_sql(cursor, "SELECT " + ", ".join(columns), merge_counts=True)


def _whens(merge: exp.Expr) -> list[exp.When]:
    whens = merge.args.get("whens")
    return list(whens.expressions if isinstance(whens, exp.Whens) else whens or [])


def _action(when: exp.When) -> str:
    then = when.args.get("then")
    if isinstance(then, exp.Insert):
        return "INSERT"
    return "UPDATE" if isinstance(then, exp.Update) else "DELETE"


def _count_actions(duck: duckdb.DuckDBPyConnection, merge: exp.Expr) -> Counter[str]:
    """Rows each action will touch (first matching WHEN wins), from a join of the changes only.

    Also enforces Snowflake's rule that a target row matched by several source rows cannot be
    updated or deleted ("Duplicate row detected during DML action").
    """
    target, using, on = merge.this, merge.args["using"], merge.args["on"]
    whens = _whens(merge)
    counts: Counter[str] = Counter()
    matched = [w for w in whens if w.args.get("matched")]
    not_matched = [w for w in whens if not w.args.get("matched")]

    def case(clauses: list[exp.When]) -> str:
        branches = " ".join(
            f"WHEN {(w.args.get('condition') or exp.true()).sql(dialect='duckdb')} THEN {i}"
            for i, w in enumerate(clauses)
        )
        return f"CASE {branches} END"

    rid = exp.column("rowid", table=target.alias_or_name).sql(dialect="duckdb")
    if matched:
        rows = duck.execute(
            f"SELECT k, count(*), max(n) FROM (SELECT {case(matched)} AS k, count(*) OVER (PARTITION BY {rid}) AS n "
            f"FROM {target.sql(dialect='duckdb')} JOIN {using.sql(dialect='duckdb')} ON {on.sql(dialect='duckdb')}) "
            "WHERE k IS NOT NULL GROUP BY k"
        ).fetchall()
        if any(n > 1 for _, _, n in rows):
            raise programming_error(
                "Duplicate row detected during DML action\nRow Values: (a target row is matched by several source rows)",
                100090,
                "42P18",
            )
        for k, c, _ in rows:
            counts[_action(matched[k])] += c
    if not_matched:
        rows = duck.execute(
            f"SELECT k, count(*) FROM (SELECT {case(not_matched)} AS k FROM {using.sql(dialect='duckdb')} "
            f"ANTI JOIN {target.sql(dialect='duckdb')} ON {on.sql(dialect='duckdb')}) WHERE k IS NOT NULL GROUP BY k"
        ).fetchall()
        for k, c in rows:
            counts[_action(not_matched[k])] += c
    return counts


def _unqualify_set_columns(merge: exp.Expr) -> None:
    for update in merge.find_all(exp.Update):
        for eq in update.expressions:
            if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column) and eq.this.table:
                eq.set("this", exp.column(eq.this.this))


def _errno(e: duckdb.Error) -> int:
    if isinstance(e, duckdb.CatalogException):
        return 2003
    if isinstance(e, duckdb.BinderException):
        return 904
    return 100038
