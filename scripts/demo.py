"""`make demo`: the example pipeline end to end on the local stack, over two consecutive data intervals.

1. starts the local stack (Snowflake stand-in, S3 stand-in, demo API) on free ports, in a fresh directory;
2. runs `airflow dags test customer_data_pipeline` for 2024-01-08 00:00-04:00 (initial load: all history) and
   04:00-08:00 (incremental: updates, soft deletes, the dbt incremental model);
3. runs `airflow dags test customer_marts`: the same dbt project as one task per model (DbtTaskGroup, one
   dbt build), and prints each task's state;
4. runs `airflow dags test shop_database_pipeline` for the first interval: the same shop read from its
   PostgreSQL database (SqlExtractOperator) into STAGING.SHOP_*;
5. prints rows per table and the quality gate's results, writes the data-health pages as a static report
   (`dataeng-report`: the same pages as the Airflow UI's "Data health"); stops the stack.
Everything lives under .dataeng-local/demo (wiped at start), so running it twice in a row works.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from airflow_env import airflow_env

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = Path(os.environ.get("DATAENG_DEMO_DIR", ROOT / ".dataeng-local" / "demo"))
DAG_ID = "customer_data_pipeline"
MARTS_DAG_ID = "customer_marts"
DATABASE_DAG_ID = "shop_database_pipeline"
# `dags test` takes the run-after time: these run the intervals 00:00-04:00 and 04:00-08:00
INTERVALS = ("2024-01-08T04:00:00+00:00", "2024-01-08T08:00:00+00:00")
TABLES = (
    "RAW.CUSTOMERS",
    "RAW.ORDERS",
    "STAGING.CUSTOMERS",
    "STAGING.ORDERS",
    "ANALYTICS.DIM_CUSTOMER",
    "ANALYTICS.FCT_SALES",
    "STAGING.SHOP_CUSTOMERS",
    "STAGING.SHOP_ORDERS",
    "AUDIT.QUALITY_RESULTS",
)


def airflow(*args: str, env: dict[str, str], quiet: bool = False) -> None:
    print(f"$ airflow {' '.join(args)}", flush=True)
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE if quiet else None,
        stderr=subprocess.STDOUT if quiet else None,
    )
    if result.returncode != 0:
        if quiet:
            print(result.stdout[-5000:])
        raise SystemExit(f"airflow {' '.join(args)} failed with exit code {result.returncode}")


def summary(stack) -> None:
    import snowflake.connector

    extra = stack.connections["snowflake_default"]["extra"]
    with snowflake.connector.connect(
        host=extra["host"],
        port=extra["port"],
        protocol="http",
        account=extra["account"],
        user="local",
        password="local",
        database=extra["database"],
    ) as conn:
        cur = conn.cursor()
        print("\nRows per table")
        for table in TABLES:
            count = cur.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            print(f"  {table:<26} {count:>7}")
        deleted = cur.execute("SELECT COUNT(*) FROM STAGING.ORDERS WHERE _DELETED_AT IS NOT NULL").fetchone()[
            0
        ]
        print(f"  (STAGING.ORDERS soft-deleted: {deleted})")
        rows = cur.execute(
            "SELECT TABLE_NAME, CHECK_NAME, STATUS, OBSERVED FROM AUDIT.QUALITY_RESULTS "
            "WHERE LOGICAL_DATE = (SELECT MAX(LOGICAL_DATE) FROM AUDIT.QUALITY_RESULTS) ORDER BY 1, 2"
        ).fetchall()
        print("\nQuality gate (last interval)")
        for table, check, status, observed in rows:
            print(f"  {status:<5} {table:<24} {check:<45} observed={observed}")


def asset_summary(home: Path) -> None:
    """The asset events of the last pipeline run (with the counts the operators attached) and the queue."""
    import json
    import sqlite3

    with sqlite3.connect(home / "airflow.db") as db:
        last = db.execute(
            "SELECT source_run_id FROM asset_event WHERE source_dag_id = ? ORDER BY id DESC LIMIT 1", (DAG_ID,)
        ).fetchone()
        events = db.execute(
            "SELECT a.name, e.source_task_id, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
            "WHERE e.source_dag_id = ? AND e.source_run_id = ? ORDER BY e.id",
            (DAG_ID, last[0] if last else ""),
        ).fetchall()
        queued = db.execute(
            "SELECT q.target_dag_id, a.name FROM asset_dag_run_queue q JOIN asset a ON a.id = q.asset_id"
        ).fetchall()
    print("\nAsset events (last interval), with the counts the operators attached")
    for name, task, extra in events:
        counts = json.loads(extra) if extra else {}
        shown = {k: v for k, v in counts.items() if k != "unique_id"}
        print(f"  {name:<30} {task:<20} {json.dumps(shown)}")
    for dag_id, name in queued:
        print(f"  -> {dag_id} queued by {name} (scheduled on that asset)")


def task_states(home: Path, dag_id: str) -> None:
    """Each task of the DAG's last run with its state and duration: the per-model view of the dbt build."""
    import sqlite3

    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            "SELECT task_id, state, duration FROM task_instance WHERE run_id = "
            "(SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1) AND dag_id = ? "
            "ORDER BY start_date",
            (dag_id, dag_id),
        ).fetchall()
    print(f"\n{dag_id}: one dbt build, one task per model")
    for task_id, state, duration in rows:
        print(f"  {task_id:<30} {state:<10} {duration or 0:>6.1f}s")


def main() -> int:
    from dataeng_local.stack import LocalStack, free_port

    started = time.monotonic()
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    home = DEMO_DIR / "airflow"
    home.mkdir(parents=True)
    ports = {"snowflake": free_port(), "s3": free_port(), "demo_api": free_port()}
    print(f"Starting the local stack under {DEMO_DIR / 'stack'} ...", flush=True)
    with LocalStack(dir=DEMO_DIR / "stack", ports=ports) as stack:
        print(
            f"  Snowflake stand-in :{stack.snowflake_port}  S3 stand-in :{stack.s3_port}  "
            f"demo API :{stack.api_port}  PostgreSQL :{stack.postgres_port}",
            flush=True,
        )
        env = airflow_env(home, stack.env)
        airflow("db", "migrate", env=env, quiet=True)
        # All example DAGs known (as a scheduler would have them), the asset-scheduled one unpaused.
        airflow("dags", "reserialize", env=env, quiet=True)
        airflow("dags", "unpause", "customer_reporting", env=env, quiet=True)
        pipeline_started = time.monotonic()
        for logical_date in INTERVALS:
            airflow("dags", "test", DAG_ID, logical_date, env=env)
        pipeline_seconds = time.monotonic() - pipeline_started
        airflow("dags", "test", MARTS_DAG_ID, INTERVALS[-1], env=env, quiet=True)
        task_states(home, MARTS_DAG_ID)
        airflow("dags", "test", DATABASE_DAG_ID, INTERVALS[0], env=env, quiet=True)
        summary(stack)
        asset_summary(home)
        report = DEMO_DIR / "health"
        subprocess.run(
            [sys.executable, "-m", "airflow_provider_dataeng.report_cli", "--out", str(report), "--days", "365"],
            env=env, check=True, capture_output=True,
        )
        print(f"\nData health (the quality gates' results as pages): {(report / 'index.html').as_uri()}")
    print(f"\nPipeline: 2 intervals in {pipeline_seconds:.0f}s; demo total {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
