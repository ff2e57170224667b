"""The example DAGs end to end with `airflow dags test` on the local stack, checked value by value.

Expected tables are computed independently from the demo API's own responses (the source of truth), so
these tests prove that extract >> load >> merge >> dbt >> quality lands exactly the source's state: every
update applied, every delete soft-deleted, no duplicates, after each of two intervals and after a re-run.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "PIPELINE_E2E"
T0 = "1970-01-01T00:00:00+00:00"
T1 = "2024-01-08T04:00:00+00:00"  # run-after of the interval 00:00-04:00
T2 = "2024-01-08T08:00:00+00:00"  # run-after of the interval 04:00-08:00


@pytest.fixture(scope="module")
def env(local_stack: Any, airflow_db: Any) -> dict[str, str]:
    """Airflow's environment: the stack's connections, Snowflake pointed at a database of our own."""
    snowflake = copy.deepcopy(local_stack.connections["snowflake_default"])
    snowflake["extra"]["database"] = DATABASE
    return {
        **os.environ,
        **local_stack.env,
        "AIRFLOW_CONN_SNOWFLAKE_DEFAULT": json.dumps(snowflake),
        "DATAENG_DATABASE": DATABASE,
        "DATAENG_BUCKET": local_stack.bucket,
    }


@pytest.fixture(scope="module")
def sf(local_stack: Any):
    import snowflake.connector

    with snowflake.connector.connect(
        host="127.0.0.1", port=local_stack.snowflake_port, protocol="http", account="fakesnow",
        user="local", password="local", database=DATABASE,
    ) as conn:
        cur = conn.cursor()
        yield lambda sql: cur.execute(sql).fetchall()


def airflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airflow", *args], env=env, capture_output=True, text=True, timeout=600
    )


def dags_test(env: dict[str, str], dag_id: str, run_after: str) -> None:
    result = airflow(env, "dags", "test", dag_id, run_after)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]


def api_records(stack: Any, resource: str, since: str, before: str) -> list[dict[str, Any]]:
    """Every record the demo API serves for the window, as of its end (what the DAG asks for)."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {stack.api_token}"
    params: dict[str, Any] = {"updated_since": since, "updated_before": before, "as_of": before, "limit": 1000}
    records: list[dict[str, Any]] = []
    while True:
        body = session.get(f"{stack.api_url}/v1/{resource}", params=params, timeout=30).json()
        records += body["data"]
        if not body["has_more"]:
            return records
        params["cursor"] = body["next_cursor"]


def ts(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def apply_window(state: dict[int, tuple], records: list[dict[str, Any]], row) -> None:
    """What the merge must do with a window: upsert live records, soft-delete tombstones (a tombstone of a
    key not seen yet is kept as a soft-deleted row: the DAG's merge uses only_newer_by)."""
    for record in records:
        state[record["id"]] = (*row(record), bool(record["is_deleted"]))


def customer_row(r: dict[str, Any]) -> tuple:
    return (r["id"], r["email"], r["name"], r["country"], r["status"], ts(r["created_at"]), ts(r["updated_at"]))


def order_row(r: dict[str, Any]) -> tuple:
    return (r["id"], r["customer_id"], r["status"], Decimal(r["amount"]), r["currency"], ts(r["ordered_at"]),
            ts(r["updated_at"]))


CUSTOMERS_SQL = (
    "SELECT CUSTOMER_ID, EMAIL, NAME, COUNTRY, STATUS, CREATED_AT, UPDATED_AT, _DELETED_AT IS NOT NULL "
    "FROM STAGING.CUSTOMERS"
)
ORDERS_SQL = (
    "SELECT ORDER_ID, CUSTOMER_ID, STATUS, AMOUNT, CURRENCY, ORDERED_AT, UPDATED_AT, _DELETED_AT IS NOT NULL "
    "FROM STAGING.ORDERS"
)


def check_tables(sf, customers: dict[int, tuple], orders: dict[int, tuple]) -> None:
    assert sorted(sf(CUSTOMERS_SQL)) == sorted(customers.values())
    assert sorted(sf(ORDERS_SQL)) == sorted(orders.values())
    live_customers = {k for k, v in customers.items() if not v[-1]}
    live_orders = {k for k, v in orders.items() if not v[-1] and v[1] in live_customers}
    assert sorted(r[0] for r in sf("SELECT CUSTOMER_ID FROM ANALYTICS.DIM_CUSTOMER")) == sorted(live_customers)
    assert sorted(r[0] for r in sf("SELECT ORDER_ID FROM ANALYTICS.FCT_SALES")) == sorted(live_orders)
    # dim_customer's lifetime figures agree with the staged orders (cancelled and deleted excluded)
    expected_amount = sum(
        (v[3] for v in orders.values() if not v[-1] and v[2] != "cancelled" and v[1] in live_customers),
        Decimal("0"),
    )
    # (the stand-in returns a NUMBER(38, 2) sum as a float: the cast keeps the comparison exact)
    assert sf("SELECT SUM(LIFETIME_AMOUNT)::NUMBER(38, 2) FROM ANALYTICS.DIM_CUSTOMER")[0][0] == expected_amount


def asset_events(dag_id: str) -> list[tuple[int, str, str, dict[str, Any]]]:
    """``(event id, asset uri, source task, extra)`` of every asset event a DAG's runs recorded."""
    import sqlite3

    from tests.conftest import AIRFLOW_HOME

    with sqlite3.connect(AIRFLOW_HOME / "airflow.db") as db:
        rows = db.execute(
            "SELECT e.id, a.uri, e.source_task_id, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
            "WHERE e.source_dag_id = ? ORDER BY e.id", (dag_id,)
        ).fetchall()
    return [(i, uri, task, json.loads(extra) if extra else {}) for i, uri, task, extra in rows]


def queued_runs() -> list[tuple[str, str]]:
    """``(dag id, asset uri)`` waiting in the asset-triggered run queue."""
    import sqlite3

    from tests.conftest import AIRFLOW_HOME

    with sqlite3.connect(AIRFLOW_HOME / "airflow.db") as db:
        return db.execute(
            "SELECT q.target_dag_id, a.uri FROM asset_dag_run_queue q JOIN asset a ON a.id = q.asset_id "
            "ORDER BY 1, 2"
        ).fetchall()


def task_states(dag_id: str) -> dict[str, str]:
    """``task id -> state`` of the DAG's latest run."""
    import sqlite3

    from tests.conftest import AIRFLOW_HOME

    with sqlite3.connect(AIRFLOW_HOME / "airflow.db") as db:
        return dict(db.execute(
            "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = "
            "(SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1)", (dag_id, dag_id)
        ).fetchall())


def table_uri(name: str) -> str:
    return f"snowflake://fakesnow/{DATABASE}/{name.replace('.', '/')}"


def test_customer_pipeline_two_intervals_rerun_and_a_failing_gate(env, sf, local_stack) -> None:
    customers: dict[int, tuple] = {}
    orders: dict[int, tuple] = {}
    # Every example DAG known to Airflow (unpaused), as a scheduler would have them: assets exist, and the
    # reporting DAG is scheduled on STAGING.CUSTOMERS.
    reserialized = airflow(env, "dags", "reserialize")
    assert reserialized.returncode == 0, reserialized.stderr[-3000:]
    unpaused = airflow(env, "dags", "unpause", "customer_reporting")  # a paused DAG is never queued
    assert unpaused.returncode == 0, unpaused.stderr[-3000:]

    dags_test(env, "customer_data_pipeline", T1)
    first_customers = api_records(local_stack, "customers", T0, T1)
    apply_window(customers, first_customers, customer_row)
    apply_window(orders, api_records(local_stack, "orders", T0, T1), order_row)
    check_tables(sf, customers, orders)
    assert len(customers) > 1000 and len(orders) > 5000
    # Each mapped load/merge emitted its own table's asset with its counts; the reporting DAG is queued.
    first = {(uri, task): extra for _, uri, task, extra in asset_events("customer_data_pipeline")}
    assert first[(table_uri("RAW.CUSTOMERS"), "load")] == {
        "files_loaded": 1, "files_skipped": 0, "rows_loaded": len(first_customers), "rows_parsed": len(first_customers)}
    assert first[(table_uri("STAGING.CUSTOMERS"), "merge")] == {"inserted": len(customers), "updated": 0, "deleted": 0}
    assert first[(table_uri("STAGING.ORDERS"), "merge")] == {"inserted": len(orders), "updated": 0, "deleted": 0}
    assert first[(table_uri("ANALYTICS.DIM_CUSTOMER"), "dbt_build")]["status"] == "success"
    assert ("customer_reporting", table_uri("STAGING.CUSTOMERS")) in queued_runs()

    seen = {i for i, *_ in asset_events("customer_data_pipeline")}
    dags_test(env, "customer_data_pipeline", T2)
    window_customers = api_records(local_stack, "customers", T1, T2)
    window_orders = api_records(local_stack, "orders", T1, T2)
    live_after_first = {key for key, row in orders.items() if not row[-1]}
    window_ids = {r["id"] for r in window_customers}
    second = {(uri, task): extra for i, uri, task, extra in asset_events("customer_data_pipeline") if i not in seen}
    assert second[(table_uri("STAGING.CUSTOMERS"), "merge")] == {  # soft deletes count as updates
        "inserted": len(window_ids - customers.keys()), "updated": len(window_ids & customers.keys()), "deleted": 0}
    apply_window(customers, window_customers, customer_row)
    apply_window(orders, window_orders, order_row)
    check_tables(sf, customers, orders)
    # the second interval really exercised updates and deletes of rows loaded by the first
    assert any(r["is_deleted"] and r["id"] in live_after_first for r in window_orders)
    assert any(not r["is_deleted"] and r["id"] in live_after_first for r in window_orders)  # updates
    assert sum(1 for v in orders.values() if v[-1]) >= 1
    assert len(window_orders) > 0 and len(window_customers) > 0

    # re-running the same interval leaves exactly the same tables (files replaced, loads skipped)
    seen = {i for i, *_ in asset_events("customer_data_pipeline")}
    dags_test(env, "customer_data_pipeline", T2)
    check_tables(sf, customers, orders)
    rerun = {uri for i, uri, _, _ in asset_events("customer_data_pipeline") if i not in seen}
    assert not {u for u in rerun if "/RAW/" in u or "/STAGING/" in u}  # nothing loaded or merged: no event

    # the same dbt project as one task per model (customer_marts, a DbtTaskGroup): one dbt build, each node
    # task waited for its result through its trigger (run in line by `airflow dags test`); same marts after
    assert (ROOT / "dags/dbt/target/manifest.json").is_file(), "the group renders from it: run make dbt-manifest"
    marts = airflow(env, "dags", "test", "customer_marts", T2)
    output = marts.stdout + marts.stderr
    assert marts.returncode == 0, output[-6000:]
    node_tasks = ["staging_customers_test", "staging_orders_test", "stg_customers", "stg_orders", "dim_customer",
                  "fct_sales"]
    assert task_states("customer_marts") == {f"marts.{t}": "success" for t in ["dbt_build", *node_tasks]}
    assert output.count("[DAG TEST] running trigger in line") == len(node_tasks)
    assert output.count("dbt build (producer marts.dbt_build)") == len(node_tasks)  # nobody built alone
    # each model's task emitted its own table's asset (the views stg_* are no declared assets)
    assert sorted((uri, task) for _, uri, task, _ in asset_events("customer_marts")) == [
        (table_uri("ANALYTICS.DIM_CUSTOMER"), "marts.dim_customer"),
        (table_uri("ANALYTICS.FCT_SALES"), "marts.fct_sales"),
    ]
    check_tables(sf, customers, orders)

    # the DAG scheduled on the merged table runs its gate on it
    reporting = airflow(env, "dags", "test", "customer_reporting", T2)
    assert reporting.returncode == 0, (reporting.stdout + reporting.stderr)[-5000:]
    output = reporting.stdout + reporting.stderr
    assert re.search(r"PASS\s+row_count\s+\S+\s+(\d+)", output)[1] == str(len(customers))
    assert re.search(r"PASS\s+unique\(CUSTOMER_ID\)", output) and re.search(r"PASS\s+not_null", output)
    assert not re.search(r"^FAIL\s", output, re.M)
    assert sf("SELECT COUNT(*) FROM RAW.ORDERS")[0][0] == sf(
        "SELECT COUNT(DISTINCT _SOURCE_FILE || ':' || _SOURCE_ROW) FROM RAW.ORDERS"
    )[0][0]

    # a corrupted row (a duplicated order) makes the quality gate fail, naming the check
    sf("INSERT INTO ANALYTICS.FCT_SALES SELECT * FROM ANALYTICS.FCT_SALES ORDER BY ORDER_ID LIMIT 1")
    result = airflow(env, "tasks", "test", "customer_data_pipeline", "quality_fct_sales", T2)
    output = result.stdout + result.stderr  # (`tasks test` exits 0 whatever the task's outcome)
    assert "Quality gate failed on ANALYTICS.FCT_SALES: 1 check(s) failed" in output
    assert "FAIL    unique(ORDER_ID)" in output
    assert "new_state=failed" in output


def test_events_microbatch_lands_each_event_once(env, sf, local_stack) -> None:
    start, end = "2024-01-08T00:00:00+00:00", "2024-01-08T00:05:00+00:00"
    dags_test(env, "events_microbatch", end)
    expected = sorted(
        (r["event_id"], r["customer_id"], r["type"], ts(r["occurred_at"]))
        for r in api_records(local_stack, "events", start, end)
    )
    sql = "SELECT EVENT_ID, CUSTOMER_ID, TYPE, OCCURRED_AT FROM STAGING.EVENTS ORDER BY EVENT_ID"
    assert sf(sql) == expected and len(expected) > 0
    dags_test(env, "events_microbatch", end)  # a re-run of the interval lands nothing twice
    assert sf(sql) == expected


def shop_database(sql: str) -> list[tuple]:
    """Rows of the local stack's PostgreSQL source (``postgres_default``), timestamps as naive UTC."""
    import psycopg

    conn = json.loads(os.environ["AIRFLOW_CONN_POSTGRES_DEFAULT"])
    with psycopg.connect(host=conn["host"], port=conn["port"], dbname=conn["schema"], user=conn["login"],
                         password=conn["password"], options="-c TimeZone=UTC") as db:
        return [tuple(v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row)
                for row in db.execute(sql).fetchall()]


def test_shop_database_pipeline_lands_the_application_database(env, sf, local_stack) -> None:
    """PostgreSQL -> S3 -> RAW -> STAGING: the staged tables equal the database's, value for value; the next
    (quiet) interval changes nothing; the gate passes. (Re-runs of the extract: tests/sql_extract.)"""
    customers = sorted(shop_database(
        "SELECT id, email, name, country, status, created_at, updated_at, is_deleted FROM customers"))
    orders = sorted(shop_database(
        "SELECT id, customer_id, status, amount, currency, ordered_at, updated_at, is_deleted FROM orders"))
    assert len(customers) > 1000 and len(orders) > 5000
    staged_customers = CUSTOMERS_SQL.replace("STAGING.CUSTOMERS", "STAGING.SHOP_CUSTOMERS")
    staged_orders = ORDERS_SQL.replace("STAGING.ORDERS", "STAGING.SHOP_ORDERS")
    for run_after in (T1, T2):  # the first interval (whole history), the next interval
        dags_test(env, "shop_database_pipeline", run_after)
        assert sorted(sf(staged_customers)) == customers
        assert sorted(sf(staged_orders)) == orders
        assert set(task_states("shop_database_pipeline").values()) == {"success"}
    gate = sf("SELECT CHECK_NAME, STATUS FROM AUDIT.QUALITY_RESULTS WHERE TABLE_NAME = 'STAGING.SHOP_ORDERS'")
    assert gate and {status for _, status in gate} == {"pass"}
