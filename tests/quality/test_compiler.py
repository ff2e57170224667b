"""Golden SQL for every query the gate sends, each also parsed with sqlglot."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
import sqlglot

from airflow_provider_dataeng.quality import (
    accepted_values,
    custom_sql,
    expression,
    freshness,
    not_null,
    relationships,
    row_count,
    row_count_anomaly,
    unique,
)
from airflow_provider_dataeng.quality.compiler import compile_plan, compile_sample
from airflow_provider_dataeng.quality.dialects import POSTGRES, SNOWFLAKE, SQLITE, Dialect, dialect_for
from airflow_provider_dataeng.quality.evaluate import CheckResult
from airflow_provider_dataeng.quality.history import (
    RunIds,
    add_details_plain_sql,
    add_details_sql,
    count_history_sql,
    create_table_sql,
    delete_run_sql,
    insert_results_sql,
    missing_details_sql,
)

CHECKS = [
    unique("id"),
    unique(["customer_id", "status"], where="amount > 0"),
    not_null(["id", "email"]),
    accepted_values("status", ["placed", "shipped"]),
    relationships("customer_id", "analytics.customers", "id"),
    freshness("created_at", error_after="1d", where="status <> 'x'"),
    row_count(min=1),
    row_count_anomaly(),
    expression("amount >= 0", where="note LIKE '%a'"),
    custom_sql("SELECT COUNT(*) FROM {table} WHERE amount < 0"),
]
WHERE = "ds = '2026-01-01'"
READ = {"snowflake": "snowflake", "postgres": "postgres", "sqlite": "sqlite"}


def parses(sql: str, params: dict | None, dialect: Dialect) -> None:
    """Substitute bound values the way the driver would, then parse with the database's sqlglot dialect."""
    if params:
        literal = {k: f"'{v}'" if isinstance(v, str) else repr(v) for k, v in params.items()}
        if dialect.paramstyle == "pyformat":
            sql = sql % literal
        else:
            sql = re.sub(r":(\w+)", lambda m: literal[m.group(1)], sql)
    sqlglot.parse_one(sql, read=READ[dialect.name])
    if dialect.name == "snowflake":
        sqlglot.parse_one(sql, read="snowflake")


SNOWFLAKE_SCAN = """SELECT
  (SELECT COUNT("ID") - COUNT(DISTINCT "ID") FROM "RAW"."ORDERS" WHERE (ds = '2026-01-01')) AS c0,
  (SELECT COUNT(CASE WHEN (amount > 0) AND "CUSTOMER_ID" IS NOT NULL AND "STATUS" IS NOT NULL THEN 1 END) - COUNT(DISTINCT CASE WHEN (amount > 0) THEN "CUSTOMER_ID" END, "STATUS") FROM "RAW"."ORDERS" WHERE (ds = '2026-01-01')) AS c1,
  COUNT(CASE WHEN ("ID" IS NULL OR "EMAIL" IS NULL) THEN 1 END) AS c2,
  COUNT(CASE WHEN "STATUS" IS NOT NULL AND "STATUS" NOT IN (%(p0)s, %(p1)s) THEN 1 END) AS c3,
  MAX(CASE WHEN (status <> 'x') THEN "CREATED_AT" END) AS c4,
  COUNT(*) AS c5,
  COUNT(CASE WHEN (note LIKE '%%a') AND NOT (amount >= 0) THEN 1 END) AS c6
FROM "RAW"."ORDERS"
WHERE (ds = '2026-01-01')"""

SNOWFLAKE_RELATIONSHIP = """SELECT COUNT(*)
FROM "RAW"."ORDERS" AS src
WHERE src."CUSTOMER_ID" IS NOT NULL AND (ds = '2026-01-01')
  AND NOT EXISTS (SELECT 1 FROM "ANALYTICS"."CUSTOMERS" AS ref WHERE ref."ID" = src."CUSTOMER_ID")"""


def test_snowflake_plan_is_one_scan_one_anti_join_and_the_custom_query() -> None:
    plan = compile_plan("raw.orders", CHECKS, SNOWFLAKE, where=WHERE)
    assert [q.purpose for q in plan.queries] == [
        "scan", "relationships:relationships(customer_id->analytics.customers.id)", "custom_sql:custom_sql",
    ]
    assert plan.scan.sql == SNOWFLAKE_SCAN
    assert plan.scan.params == {"p0": "placed", "p1": "shipped"}
    # row_count and row_count_anomaly share COUNT(*)
    assert plan.scan.positions == {
        "unique(id)": 0, "unique(customer_id,status)": 1, "not_null(id,email)": 2, "accepted_values(status)": 3,
        "freshness(created_at)": 4, "row_count": 5, "row_count_anomaly": 5, "expression(amount >= 0)": 6,
    }
    assert plan.relationships[0][1].sql == SNOWFLAKE_RELATIONSHIP
    assert plan.custom[0][1].sql == 'SELECT COUNT(*) FROM "RAW"."ORDERS" WHERE amount < 0'
    for query in plan.queries:
        parses(query.sql, query.params, SNOWFLAKE)


def test_percent_is_not_doubled_without_bound_values() -> None:
    plan = compile_plan("orders", [expression("note LIKE '%a'")], SNOWFLAKE)
    assert plan.scan.sql == 'SELECT\n  COUNT(CASE WHEN NOT (note LIKE \'%a\') THEN 1 END) AS c0\nFROM "ORDERS"'
    assert plan.scan.params is None


def test_postgres_scan_folds_unquoted_names_to_lower_case() -> None:
    plan = compile_plan("raw.orders", CHECKS, POSTGRES, where=WHERE)
    assert plan.scan.sql.splitlines()[2] == (
        '  (SELECT COUNT(CASE WHEN (amount > 0) AND "customer_id" IS NOT NULL AND "status" IS NOT NULL THEN 1 END) - '
        'COUNT(DISTINCT CASE WHEN (amount > 0) AND "customer_id" IS NOT NULL AND "status" IS NOT NULL '
        'THEN ROW("customer_id", "status") END) FROM "raw"."orders" WHERE (ds = \'2026-01-01\')) AS c1,'
    )
    assert plan.scan.sql.splitlines()[-2:] == ['FROM "raw"."orders"', "WHERE (ds = '2026-01-01')"]
    assert compile_plan('"Raw"."Orders"', [row_count(min=1)], POSTGRES).scan.sql.endswith('FROM "Raw"."Orders"')
    for query in plan.queries:
        parses(query.sql, query.params, POSTGRES)


def test_sqlite_scan_uses_named_parameters_and_quote_for_composite_keys() -> None:
    plan = compile_plan("orders", CHECKS, SQLITE)
    lines = plan.scan.sql.splitlines()
    assert lines[2] == (
        '  (SELECT COUNT(CASE WHEN (amount > 0) AND "CUSTOMER_ID" IS NOT NULL AND "STATUS" IS NOT NULL THEN 1 END) - '
        'COUNT(DISTINCT CASE WHEN (amount > 0) AND "CUSTOMER_ID" IS NOT NULL AND "STATUS" IS NOT NULL '
        'THEN quote("CUSTOMER_ID") || \',\' || quote("STATUS") END) FROM "ORDERS") AS c1,'
    )
    assert lines[4] == '  COUNT(CASE WHEN "STATUS" IS NOT NULL AND "STATUS" NOT IN (:p0, :p1) THEN 1 END) AS c3,'
    assert lines[7] == "  COUNT(CASE WHEN (note LIKE '%a') AND NOT (amount >= 0) THEN 1 END) AS c6"
    for query in plan.queries:
        parses(query.sql, query.params, SQLITE)


SAMPLES = {
    "unique(id)": 'SELECT "ID", COUNT(*) AS n_rows\nFROM "RAW"."ORDERS"\nWHERE (ds = \'2026-01-01\') AND "ID" IS NOT NULL'
                  '\nGROUP BY "ID"\nHAVING COUNT(*) > 1\nORDER BY n_rows DESC, "ID"\nLIMIT 5',
    "unique(customer_id,status)": 'SELECT "CUSTOMER_ID", "STATUS", COUNT(*) AS n_rows\nFROM "RAW"."ORDERS"\n'
                                  "WHERE (ds = '2026-01-01') AND (amount > 0) AND \"CUSTOMER_ID\" IS NOT NULL AND "
                                  '"STATUS" IS NOT NULL\nGROUP BY "CUSTOMER_ID", "STATUS"\nHAVING COUNT(*) > 1\n'
                                  'ORDER BY n_rows DESC, "CUSTOMER_ID", "STATUS"\nLIMIT 5',
    "not_null(id,email)": 'SELECT *\nFROM "RAW"."ORDERS"\nWHERE (ds = \'2026-01-01\') AND ("ID" IS NULL OR "EMAIL" IS NULL)'
                          "\nLIMIT 5",
    "accepted_values(status)": 'SELECT "STATUS", COUNT(*) AS n_rows\nFROM "RAW"."ORDERS"\nWHERE (ds = \'2026-01-01\') AND '
                               '"STATUS" IS NOT NULL AND "STATUS" NOT IN (%(p0)s, %(p1)s)\nGROUP BY "STATUS"\n'
                               'ORDER BY n_rows DESC, "STATUS"\nLIMIT 5',
    "relationships(customer_id->analytics.customers.id)": (
        'SELECT src."CUSTOMER_ID", COUNT(*) AS n_rows\nFROM "RAW"."ORDERS" AS src\n'
        "WHERE src.\"CUSTOMER_ID\" IS NOT NULL AND (ds = '2026-01-01')\n"
        '  AND NOT EXISTS (SELECT 1 FROM "ANALYTICS"."CUSTOMERS" AS ref WHERE ref."ID" = src."CUSTOMER_ID")\n'
        'GROUP BY src."CUSTOMER_ID"\nORDER BY n_rows DESC, src."CUSTOMER_ID"\nLIMIT 5'
    ),
    "expression(amount >= 0)": "SELECT *\nFROM \"RAW\".\"ORDERS\"\nWHERE (ds = '2026-01-01') AND (note LIKE '%a') AND "
                               "NOT (amount >= 0)\nLIMIT 5",
}


def test_sample_queries_are_golden_and_only_for_checks_with_rows_to_show() -> None:
    built = {c.name: compile_sample("raw.orders", c, SNOWFLAKE, WHERE, 5) for c in CHECKS}
    assert {name: q.sql for name, q in built.items() if q} == SAMPLES
    assert [name for name, q in built.items() if q is None] == [
        "freshness(created_at)", "row_count", "row_count_anomaly", "custom_sql",
    ]
    assert built["accepted_values(status)"].params == {"p0": "placed", "p1": "shipped"}
    for q in built.values():
        if q:
            parses(q.sql, q.params, SNOWFLAKE)
    assert compile_sample("raw.orders", CHECKS[0], SNOWFLAKE, None, 0) is None


IDS = RunIds("dag", "gate", "scheduled__2026-01-01", datetime(2026, 1, 1, tzinfo=timezone.utc))


def test_history_statements_snowflake() -> None:
    ddl = create_table_sql("audit.quality_results", SNOWFLAKE)
    assert ddl == (
        'CREATE TABLE IF NOT EXISTS "AUDIT"."QUALITY_RESULTS" (\n  "DAG_ID" VARCHAR,\n  "TASK_ID" VARCHAR,\n'
        '  "RUN_ID" VARCHAR,\n  "LOGICAL_DATE" TIMESTAMP_NTZ,\n  "CHECKED_AT" TIMESTAMP_NTZ,\n'
        '  "TABLE_NAME" VARCHAR,\n  "CHECK_NAME" VARCHAR,\n  "CHECK_TYPE" VARCHAR,\n  "COLUMN_NAMES" VARCHAR,\n'
        '  "OBSERVED" VARCHAR,\n  "OBSERVED_NUMBER" FLOAT,\n  "THRESHOLD" VARCHAR,\n  "STATUS" VARCHAR,\n'
        '  "SEVERITY" VARCHAR,\n  "NOTE" VARCHAR,\n  "DETAILS" VARCHAR\n)'
    )
    upgrade = add_details_sql("audit.quality_results", SNOWFLAKE)
    assert upgrade == 'ALTER TABLE "AUDIT"."QUALITY_RESULTS" ADD COLUMN IF NOT EXISTS "DETAILS" VARCHAR'
    sqlglot.parse_one(upgrade, read="snowflake")
    delete = delete_run_sql("audit.quality_results", "raw.orders", IDS, SNOWFLAKE)
    assert delete.sql == (
        'DELETE FROM "AUDIT"."QUALITY_RESULTS"\nWHERE "DAG_ID" = %(dag_id)s AND "TASK_ID" = %(task_id)s AND '
        '"RUN_ID" = %(run_id)s AND "TABLE_NAME" = %(table_name)s'
    )
    assert delete.params == {"table_name": "raw.orders", "dag_id": "dag", "task_id": "gate",
                             "run_id": "scheduled__2026-01-01"}
    history = count_history_sql("audit.quality_results", "raw.orders", "row_count_anomaly", 14, IDS, SNOWFLAKE)
    assert history.sql == (
        'SELECT "OBSERVED_NUMBER"\nFROM "AUDIT"."QUALITY_RESULTS"\nWHERE "TABLE_NAME" = %(table_name)s\n'
        '  AND "CHECK_NAME" = %(check_name)s\n  AND "OBSERVED_NUMBER" IS NOT NULL\n'
        '  AND NOT ("DAG_ID" = %(dag_id)s AND "TASK_ID" = %(task_id)s AND "RUN_ID" = %(run_id)s)\n'
        '  AND "LOGICAL_DATE" <= %(logical_date)s\nORDER BY "LOGICAL_DATE" DESC, "CHECKED_AT" DESC\nLIMIT 14'
    )
    result = CheckResult("row_count", "row_count", "raw.orders", [], "error", "pass", 4, ">= 1")
    insert = insert_results_sql("audit.quality_results", [result, result], IDS, IDS.logical_date, SNOWFLAKE)
    assert insert.sql.splitlines()[0] == (
        'INSERT INTO "AUDIT"."QUALITY_RESULTS" ("DAG_ID", "TASK_ID", "RUN_ID", "LOGICAL_DATE", "CHECKED_AT", '
        '"TABLE_NAME", "CHECK_NAME", "CHECK_TYPE", "COLUMN_NAMES", "OBSERVED", "OBSERVED_NUMBER", "THRESHOLD", '
        '"STATUS", "SEVERITY", "NOTE", "DETAILS")'
    )
    assert insert.sql.splitlines()[2] == "  (" + ", ".join(f"%(v0_{j})s" for j in range(16)) + "),"
    assert [insert.params[f"v0_{j}"] for j in range(16)] == [
        "dag", "gate", "scheduled__2026-01-01", datetime(2026, 1, 1), datetime(2026, 1, 1), "raw.orders",
        "row_count", "row_count", None, "4", 4.0, ">= 1", "pass", "error", None, None,
    ]
    failed = CheckResult("unique_id", "unique", "raw.orders", ["id"], "error", "fail", 1, "= 0",
                         failing_rows=[{"id": 7, "n": 2}])
    insert = insert_results_sql("audit.quality_results", [failed], IDS, IDS.logical_date, SNOWFLAKE)
    assert insert.params["v0_15"] == '{"failing_rows": [{"id": 7, "n": 2}]}'
    for q in (delete, history, insert):
        parses(q.sql, {k: str(v) for k, v in q.params.items()}, SNOWFLAKE)
    sqlglot.parse_one(ddl, read="snowflake")


def test_history_statements_sqlite_bind_text_timestamps() -> None:
    result = CheckResult("row_count", "row_count", "orders", [], "error", "pass", 4, ">= 1")
    insert = insert_results_sql("quality_results", [result], IDS, IDS.logical_date, SQLITE)
    assert insert.params["v0_3"] == "2026-01-01 00:00:00"
    assert ":v0_0" in insert.sql
    sqlglot.parse_one(create_table_sql("quality_results", SQLITE), read="sqlite")
    assert add_details_sql("quality_results", SQLITE) is None  # no ADD COLUMN IF NOT EXISTS: asked first
    assert missing_details_sql("quality_results", SQLITE).sql == (
        "SELECT COUNT(*) FROM pragma_table_info(:table_name) WHERE name = 'DETAILS'"
    )
    assert add_details_plain_sql("quality_results", SQLITE) == 'ALTER TABLE "QUALITY_RESULTS" ADD COLUMN "DETAILS" TEXT'


def test_unknown_connection_type_is_refused() -> None:
    assert dialect_for("Snowflake") is SNOWFLAKE
    with pytest.raises(ValueError, match="conn_type 'mysql'; the quality gate supports postgres, postgresql, redshift"):
        dialect_for("mysql")


def test_a_single_unique_check_stays_inline_in_the_scan() -> None:
    plan = compile_plan("orders", [unique("id"), not_null("id")], SNOWFLAKE)
    assert plan.scan.sql == (
        'SELECT\n  COUNT("ID") - COUNT(DISTINCT "ID") AS c0,\n'
        '  COUNT(CASE WHEN "ID" IS NULL THEN 1 END) AS c1\nFROM "ORDERS"'
    )


def test_only_unique_checks_make_a_statement_of_subqueries_with_one_row() -> None:
    """Several unique checks alone: scalar subqueries and no outer FROM, so exactly one result row; run for
    real on SQLite (a table with a duplicate id, a duplicate (a, b) pair and a filtered-out duplicate)."""
    import sqlite3

    plan = compile_plan("t", [unique("id"), unique(["a", "b"])], SQLITE, where="keep = 1")
    assert plan.scan.sql == (
        'SELECT\n'
        '  (SELECT COUNT("ID") - COUNT(DISTINCT "ID") FROM "T" WHERE (keep = 1)) AS c0,\n'
        '  (SELECT COUNT(CASE WHEN "A" IS NOT NULL AND "B" IS NOT NULL THEN 1 END) - COUNT(DISTINCT CASE WHEN '
        '"A" IS NOT NULL AND "B" IS NOT NULL THEN quote("A") || \',\' || quote("B") END) FROM "T" WHERE (keep = 1)) AS c1'
    )
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE T (ID INT, A INT, B TEXT, keep INT)")
    db.executemany("INSERT INTO T VALUES (?, ?, ?, ?)", [
        (1, 1, "x", 1), (1, 2, "x", 1), (2, 1, "x", 1), (3, 3, None, 1), (4, 4, "y", 0), (4, 4, "y", 0),
    ])
    assert db.execute(plan.scan.sql).fetchall() == [(1, 1)]
    parses(plan.scan.sql, None, SQLITE)
