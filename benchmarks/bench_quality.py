"""Quality gate: 10 checks on a 1M-row table on the local Snowflake stand-in, against the alternatives.

Subjects (all on the same table, same checks: unique x2, not_null x4, accepted_values, a range,
not-in-future, one relationship):

* this gate's ``QualityGateOperator.execute`` as a worker runs it (libraries imported, new connection);
* the gate's compiled queries (one scan + one anti-join) over a warm connection;
* the same checks as ten individual queries over the same warm connection;
* ``dbt test`` as a process (source tests + two singular tests), after a warm-up run (partial parse);
* the ten statements dbt sent, run in-process over the warm connection (dbt's SQL without dbt);
* common-sql's ``SQLColumnCheckOperator`` + ``SQLTableCheckOperator`` (they cannot express the
  relationship, so they run 9 of the 10 checks).

``QUALITY_BENCH_ROWS`` (default 1,000,000) sets the table size, ``QUALITY_BENCH_REPEATS`` the
timed rounds (default 5; the median is reported), ``QUALITY_BENCH_DBT=0`` skips dbt.
Run: ``python benchmarks/run.py bench_quality`` or ``python benchmarks/bench_quality.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROWS = int(os.environ.get("QUALITY_BENCH_ROWS", "1000000"))
REPEATS = int(os.environ.get("QUALITY_BENCH_REPEATS", "5"))
RUN_DBT = os.environ.get("QUALITY_BENCH_DBT", "1") != "0"
CONN_ID = "quality_bench"
SCHEMA = "QUALITY_BENCH"
TABLE = "ORDERS"
STATUSES = ["placed", "shipped", "returned"]

DATA_SQL = [
    f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE",
    f"CREATE SCHEMA {SCHEMA}",
    f"USE SCHEMA {SCHEMA}",
    "CREATE OR REPLACE TABLE CUSTOMERS AS SELECT seq4() + 1 AS ID FROM TABLE(GENERATOR(ROWCOUNT => 10000))",
    f"""CREATE OR REPLACE TABLE {TABLE} AS
SELECT seq4() + 1 AS ID, 'ORD-' || TO_VARCHAR(seq4() + 1) AS ORDER_NUMBER, MOD(seq4(), 10000) + 1 AS CUSTOMER_ID,
  CASE MOD(seq4(), 3) WHEN 0 THEN 'placed' WHEN 1 THEN 'shipped' ELSE 'returned' END AS STATUS,
  MOD(seq4(), 1000) * 1.5 AS AMOUNT,
  DATEADD('second', -seq4(), '2025-12-01 00:00:00'::TIMESTAMP_NTZ) AS CREATED_AT
FROM TABLE(GENERATOR(ROWCOUNT => {ROWS}))""",
]


def checks() -> list[Any]:
    from airflow_provider_dataeng.quality import accepted_values, expression, not_null, relationships, unique

    return [
        unique("ID"),
        unique("ORDER_NUMBER"),
        not_null("ID"),
        not_null("CUSTOMER_ID"),
        not_null("STATUS"),
        not_null("CREATED_AT"),
        accepted_values("STATUS", STATUSES),
        expression("AMOUNT BETWEEN 0 AND 10000", name="amount_range"),
        expression("CREATED_AT <= CURRENT_TIMESTAMP()", name="not_in_future"),
        relationships("CUSTOMER_ID", "CUSTOMERS", "ID"),
    ]


class _Ti:
    dag_id, task_id, run_id = "bench", "gate", "bench__1"

    def xcom_push(self, key: str, value: Any) -> None:
        pass


@contextmanager
def counted_queries() -> Any:
    """Record every statement the Snowflake connector sends in this process (session set-up excluded)."""
    from snowflake.connector.cursor import SnowflakeCursor

    sent: list[str] = []
    real = SnowflakeCursor.execute

    def execute(self: Any, command: str, *args: Any, **kwargs: Any) -> Any:
        if not command.lstrip().upper().startswith(("ALTER SESSION", "USE ")):
            sent.append(command)
        return real(self, command, *args, **kwargs)

    SnowflakeCursor.execute = execute  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        SnowflakeCursor.execute = real  # type: ignore[method-assign]


def timed(subjects: dict[str, Callable[[], Any]]) -> dict[str, tuple[float, int]]:
    """Median seconds over REPEATS rounds (after one warm-up) and the statements one run sends.

    Subjects run interleaved, in a rotating order, so load from other processes on a shared machine
    falls on all of them alike.
    """
    names = list(subjects)
    samples: dict[str, list[float]] = {name: [] for name in names}
    counts: dict[str, int] = {}
    for name in names:
        subjects[name]()
    for round_no in range(REPEATS):
        for name in names[round_no % len(names):] + names[: round_no % len(names)]:
            with counted_queries() as sent:
                started = time.perf_counter()
                subjects[name]()
                samples[name].append(time.perf_counter() - started)
            counts[name] = len(sent)
            if os.environ.get("QUALITY_BENCH_SHOW_SQL") and round_no == 0:
                print(f"--- {name}:\n" + "\n---\n".join(sent), file=sys.stderr)
    return {name: (statistics.median(samples[name]), counts[name]) for name in names}


def dbt_project(root: Path, conn: dict[str, Any]) -> Path:
    extra = conn["extra"]
    (root / "models").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "dbt_project.yml").write_text("name: quality_bench\nversion: '1.0'\nprofile: quality_bench\n"
                                          "config-version: 2\n")
    (root / "profiles.yml").write_text(textwrap.dedent(f"""\
        quality_bench:
          target: local
          outputs:
            local:
              type: snowflake
              account: fakesnow
              user: local
              password: local
              database: {extra['database']}
              schema: {SCHEMA}
              warehouse: LOCAL_WH
              host: {extra['host']}
              port: {extra['port']}
              protocol: http
              threads: 4
              connect_retries: 0
        """))
    (root / "models" / "sources.yml").write_text(textwrap.dedent(f"""\
        version: 2
        sources:
          - name: bench
            database: {extra['database']}
            schema: {SCHEMA}
            tables:
              - name: CUSTOMERS
              - name: {TABLE}
                columns:
                  - name: ID
                    data_tests: [unique, not_null]
                  - name: ORDER_NUMBER
                    data_tests: [unique]
                  - name: CUSTOMER_ID
                    data_tests:
                      - not_null
                      - relationships: {{to: "source('bench', 'CUSTOMERS')", field: ID}}
                  - name: STATUS
                    data_tests:
                      - not_null
                      - accepted_values: {{values: {json.dumps(STATUSES)}}}
                  - name: CREATED_AT
                    data_tests: [not_null]
        """))
    (root / "tests" / "amount_range.sql").write_text(
        f"select * from {{{{ source('bench', '{TABLE}') }}}} where not (AMOUNT between 0 and 10000)\n")
    (root / "tests" / "not_in_future.sql").write_text(
        f"select * from {{{{ source('bench', '{TABLE}') }}}} where CREATED_AT > current_timestamp()\n")
    return root


def run_dbt(project: Path) -> tuple[float, int]:
    dbt = str(Path(sys.executable).with_name("dbt"))
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    command = [dbt, "test", "--project-dir", str(project), "--profiles-dir", str(project)]
    subprocess.run(command, check=True, capture_output=True, env=env, cwd=project)  # warm-up: partial parse
    samples = []
    for _ in range(2):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=project)
        samples.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise RuntimeError(f"dbt test failed:\n{done.stdout[-3000:]}")
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    return statistics.median(samples), len(results)


def run() -> list[dict]:
    import logging

    import snowflake.connector  # noqa: F401 - imported up front, as in a running worker
    from airflow.providers.common.sql.operators.sql import SQLColumnCheckOperator, SQLTableCheckOperator

    from airflow_provider_dataeng.hooks.snowflake import SnowflakeHook
    from airflow_provider_dataeng.operators.quality_gate import QualityGateOperator
    from airflow_provider_dataeng.quality.compiler import compile_plan, compile_relationship, compile_scan
    from airflow_provider_dataeng.quality.dialects import SNOWFLAKE
    from dataeng_local.stack import LocalStack

    for name in ("airflow.task", "snowflake.connector"):  # per-query logging is not what is measured
        logging.getLogger(name).setLevel(logging.WARNING)
    rows: list[dict] = []
    with LocalStack(services=["snowflake"]) as stack:
        conn = json.loads(stack.env["AIRFLOW_CONN_SNOWFLAKE_DEFAULT"])
        conn["schema"] = SCHEMA
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(conn)
        hook = SnowflakeHook(snowflake_conn_id=CONN_ID)
        warm = hook.get_conn()
        cursor = warm.cursor()
        started = time.perf_counter()
        for statement in DATA_SQL:
            cursor.execute(statement)
        print(f"  {ROWS:,} rows created in {time.perf_counter() - started:.1f}s", file=sys.stderr)

        all_checks = checks()
        gate = QualityGateOperator(task_id="gate", snowflake_conn_id=CONN_ID, table=TABLE, checks=all_checks)
        context = {"ti": _Ti(), "logical_date": None}

        def run_gate() -> None:
            out = gate.execute(context)  # type: ignore[arg-type]
            assert out["summary"]["passed"] == 10, out["summary"]

        plan = compile_plan(TABLE, all_checks, SNOWFLAKE)

        def run_plan() -> None:
            for query in plan.queries:
                cursor.execute(query.sql, query.params)
                cursor.fetchall()

        singles = [compile_scan(TABLE, [c], SNOWFLAKE) for c in all_checks if c.in_scan]
        singles += [compile_relationship(TABLE, c, SNOWFLAKE) for c in all_checks if not c.in_scan]

        def run_individual() -> None:
            for query in singles:
                cursor.execute(query.sql, query.params)
                assert cursor.fetchall()[0][0] == 0

        column_check = SQLColumnCheckOperator(
            task_id="columns", snowflake_conn_id=CONN_ID, table=TABLE,
            column_mapping={
                "ID": {"unique_check": {"equal_to": 0}, "null_check": {"equal_to": 0}},
                "ORDER_NUMBER": {"unique_check": {"equal_to": 0}},
                "CUSTOMER_ID": {"null_check": {"equal_to": 0}},
                "STATUS": {"null_check": {"equal_to": 0}},
                "CREATED_AT": {"null_check": {"equal_to": 0}},
            },
        )
        table_check = SQLTableCheckOperator(
            task_id="table", snowflake_conn_id=CONN_ID, table=TABLE,
            checks={
                "accepted_status": {"check_statement": "STATUS IN ('placed', 'shipped', 'returned')"},
                "amount_range": {"check_statement": "AMOUNT BETWEEN 0 AND 10000"},
                "not_in_future": {"check_statement": "CREATED_AT <= CURRENT_TIMESTAMP()"},
            },
        )

        def run_common_sql() -> None:
            for op in (column_check, table_check):
                # the stock SnowflakeHook drops `protocol`, so the operators get ours (same queries)
                op.__dict__["_hook"] = SnowflakeHook(snowflake_conn_id=CONN_ID)
                op.execute({})  # type: ignore[arg-type]

        dbt_s = dbt_q = None
        dbt_sql: list[str] = []
        if RUN_DBT:
            project = dbt_project(Path(tempfile.mkdtemp(prefix="quality-bench-dbt-")), conn)
            try:
                dbt_s, dbt_q = run_dbt(project)
                # the exact statements dbt sent for its tests, to run in-process as well
                dbt_sql = [f.read_text() for f in sorted((project / "target" / "run").rglob("*.sql"))]
            finally:
                shutil.rmtree(project, ignore_errors=True)

        def run_dbt_sql() -> None:
            for sql in dbt_sql:
                cursor.execute(sql)
                assert cursor.fetchall()[0][0] == 0

        subjects = {"gate": run_gate, "plan": run_plan, "individual": run_individual, "common_sql": run_common_sql}
        if dbt_sql:
            subjects["dbt_sql"] = run_dbt_sql
        measured = timed(subjects)
        (gate_s, gate_q), (plan_s, plan_q) = measured["gate"], measured["plan"]
        (single_s, single_q), (common_s, common_q) = measured["individual"], measured["common_sql"]
        warm.close()

    def row(subject: str, seconds: float, queries: int | str, ratio: str = "", note: str = "") -> dict:
        return {"benchmark": f"quality gate, 10 checks, {ROWS:,} rows", "subject": subject,
                "metric": "seconds / queries", "value": f"{seconds:.3f} s / {queries}", "ratio": ratio, "note": note}

    rows.append(row("QualityGateOperator.execute (new connection)", gate_s, gate_q,
                    f"speed-up vs dbt test: {dbt_s / gate_s:.1f}x" if dbt_s else "",
                    "one scan + one anti-join, results evaluated, no results_table"))
    rows.append(row("gate queries over a warm connection", plan_s, plan_q,
                    f"speed-up vs individual queries: {single_s / plan_s:.2f}x"))
    rows.append(row("ten individual queries, warm connection (peer)", single_s, single_q))
    rows.append(row("common-sql Column+TableCheck (peer)", common_s, common_q,
                    f"speed-up of the gate: {common_s / gate_s:.2f}x", "9 of 10 checks: no relationship check; "
                    "UNION ALL of one subquery per check"))
    if dbt_s is not None:
        rows.append(row("dbt test as a process (peer)", dbt_s, f"{dbt_q} tests", "",
                        "threads 4, after a warm-up run; + dbt's own metadata statements"))
    if "dbt_sql" in measured:
        dbt_sql_s, dbt_sql_q = measured["dbt_sql"]
        rows.append(row("dbt's test SQL in-process, warm connection (peer)", dbt_sql_s, dbt_sql_q,
                        f"speed-up of the gate queries: {dbt_sql_s / plan_s:.2f}x", "the statements dbt sent, minus dbt"))
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from run import print_table  # type: ignore[import-not-found]

    print_table(run())
