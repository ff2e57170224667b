"""Data-health pages: how fast the overview and a table's page answer over a results table of 10,000 rows.

The results table lives in the local stack's Snowflake stand-in (``HEALTH_BENCH_ROWS`` rows, default 10,000:
20 gated tables x 100 runs x 5 checks over the last 30 days, anomaly bands and failing samples included).
The pages are served by Airflow's own API server app in process (plugin mounted from the package's entry
point, SimpleAuthManager, a signed-in user's token), each request timed from the client: cold (the pages'
cache off: one query to the results table and one to Airflow's database per page) and warm (the default
30-second cache). The goal: under 500 ms per page cold. ``HEALTH_BENCH_REPEATS`` (default 7; the median and
the slowest are reported).
Run: ``python benchmarks/run.py bench_health``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROWS = int(os.environ.get("HEALTH_BENCH_ROWS", "10000"))
REPEATS = int(os.environ.get("HEALTH_BENCH_REPEATS", "7"))
TABLES, CHECKS = 20, 5
RESULTS = "HEALTH_BENCH.QUALITY_RESULTS"
ONE_TABLE = "HEALTH_BENCH.ONE_TABLE_RESULTS"  # every result of one table: its page's worst case
USER, PASSWORD = "bench", "bench-password"


def seed_sql(rows: int, tables: int = TABLES, results: str = RESULTS) -> list[str]:
    """A results table of ``rows`` results: tables x runs x checks, each table's runs spread over 29 days."""
    from airflow_provider_dataeng.quality.dialects import SNOWFLAKE
    from airflow_provider_dataeng.quality.history import create_table_sql

    runs = max(1, rows // (tables * CHECKS))
    step = 29 * 24 * 60 // runs  # minutes between a table's runs: all inside the last 29 days
    return [
        "CREATE SCHEMA IF NOT EXISTS HEALTH_BENCH",
        f"DROP TABLE IF EXISTS {results}",
        create_table_sql(results, SNOWFLAKE),
        f"""INSERT INTO {results}
SELECT 'bench_dag_' || TO_VARCHAR(MOD(t, 4)), 'gate_' || TO_VARCHAR(t), 'scheduled__' || TO_VARCHAR(r),
  DATEADD('minute', -r * {step}, CURRENT_TIMESTAMP()::TIMESTAMP_NTZ),
  DATEADD('minute', -r * {step} + 5, CURRENT_TIMESTAMP()::TIMESTAMP_NTZ),
  'ANALYTICS.TABLE_' || TO_VARCHAR(t),
  CASE c WHEN 0 THEN 'row_count_anomaly' WHEN 1 THEN 'unique(ID)' WHEN 2 THEN 'not_null(ID)'
         WHEN 3 THEN 'freshness(UPDATED_AT)' ELSE 'accepted_values(STATUS)' END,
  CASE c WHEN 0 THEN 'row_count_anomaly' WHEN 1 THEN 'unique' WHEN 2 THEN 'not_null'
         WHEN 3 THEN 'freshness' ELSE 'accepted_values' END,
  NULL, TO_VARCHAR(CASE c WHEN 0 THEN 10000 + MOD(r * 37, 200) WHEN 3 THEN 600 ELSE IFF(MOD(r, 50) = 0, 1, 0) END),
  CASE c WHEN 0 THEN 10000 + MOD(r * 37, 200) WHEN 3 THEN 600 ELSE IFF(MOD(r, 50) = 0, 1, 0) END,
  '= 0', IFF(c IN (1, 2) AND MOD(r, 50) = 0, 'fail', 'pass'), 'error', NULL,
  CASE c WHEN 0 THEN '{{"history": 14, "mean": 10100.0, "stdev": 58.0, "lower": 9926.0, "upper": 10274.0}}'
         WHEN 3 THEN '{{"warn_after": 3600, "error_after": 86400}}'
         ELSE IFF(MOD(r, 50) = 0, '{{"failing_rows": [{{"ID": 7, "N_ROWS": 2}}]}}', NULL) END
FROM (SELECT MOD(seq4(), {tables}) AS t, FLOOR(seq4() / {tables * CHECKS}) AS r,
             MOD(FLOOR(seq4() / {tables}), {CHECKS}) AS c
      FROM TABLE(GENERATOR(ROWCOUNT => {runs * tables * CHECKS})))""",
    ]


def timed(client: Any, path: str, headers: dict[str, str]) -> tuple[float, float]:
    """Median and slowest of ``REPEATS`` requests, in milliseconds (every answer checked)."""
    samples = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and "banner error" not in response.text, response.text[:2000]
    return statistics.median(samples), max(samples)


def run() -> list[dict]:
    import logging

    from dataeng_local.stack import LocalStack

    for name in ("airflow_provider_dataeng", "http.access", "snowflake.connector"):  # not what is measured
        logging.getLogger(name).setLevel(logging.WARNING)
    rows: list[dict] = []
    home = Path(tempfile.mkdtemp(prefix="health-bench-"))
    (home / "passwords.json").write_text(json.dumps({USER: PASSWORD}))
    with LocalStack(services=["snowflake"]) as stack:
        os.environ.update(stack.env)
        os.environ.update({
            "AIRFLOW__DATAENG__HEALTH_CONN_ID": "snowflake_default",
            "AIRFLOW__DATAENG__HEALTH_RESULTS_TABLE": RESULTS,
            "AIRFLOW__DATAENG__HEALTH_ROW_LIMIT": str(max(ROWS, 20_000)),
            "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager."
            "SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:viewer",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__API_AUTH__JWT_SECRET": "health-bench-" + "0" * 64,
        })
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
        from airflow_provider_dataeng.hooks.snowflake import SnowflakeHook

        conn = SnowflakeHook(snowflake_conn_id="snowflake_default").get_conn()
        cursor = conn.cursor()
        for statement in [*seed_sql(ROWS), *seed_sql(ROWS, 1, ONE_TABLE)]:
            cursor.execute(statement)
        count = cursor.execute(f"SELECT COUNT(*) FROM {RESULTS}").fetchall()[0][0]
        one_count = cursor.execute(f"SELECT COUNT(*) FROM {ONE_TABLE}").fetchall()[0][0]
        conn.close()

        from airflow.api_fastapi.app import create_app
        from fastapi.testclient import TestClient

        client = TestClient(create_app())
        token = client.post("/auth/token", json={"username": USER, "password": PASSWORD}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        pages = {"overview": "/data-health/?days=30", "table page": "/data-health/table/ANALYTICS.TABLE_3?days=30"}
        os.environ["AIRFLOW__DATAENG__HEALTH_CACHE_SECONDS"] = "0"
        started = time.perf_counter()  # the API server's first page: the app is built, libraries imported
        assert client.get(pages["overview"], headers=headers).status_code == 200
        rows.append({"benchmark": "data health", "subject": "first page after start", "metric": "ms",
                     "value": f"{(time.perf_counter() - started) * 1000:.0f}",
                     "note": "builds the plugin's app, imports the Snowflake connector, first connection"})
        for cache in ("0", "30"):
            os.environ["AIRFLOW__DATAENG__HEALTH_CACHE_SECONDS"] = cache
            for page, path in pages.items():
                median, slowest = timed(client, path, headers)
                rows.append({
                    "benchmark": "data health", "subject": f"{page} ({'cold' if cache == '0' else 'cached'})",
                    "metric": "ms (median)", "value": f"{median:.0f}",
                    "note": f"slowest {slowest:.0f} ms of {REPEATS}; {count:,} result rows, {TABLES} tables; "
                    "goal under 500 ms cold",
                })
        # one table with every result (2,000 runs): the longest timeline and chart a page draws
        os.environ["AIRFLOW__DATAENG__HEALTH_RESULTS_TABLE"] = ONE_TABLE
        os.environ["AIRFLOW__DATAENG__HEALTH_CACHE_SECONDS"] = "0"
        median, slowest = timed(client, "/data-health/table/ANALYTICS.TABLE_0?days=30", headers)
        size = len(client.get("/data-health/table/ANALYTICS.TABLE_0?days=30", headers=headers).content)
        rows.append({
            "benchmark": "data health", "subject": "table page, one table's 10,000 results (cold)",
            "metric": "ms (median)", "value": f"{median:.0f}",
            "note": f"slowest {slowest:.0f} ms of {REPEATS}; {one_count:,} result rows of one table "
            f"({one_count // CHECKS:,} runs); page {size / 1024:.0f} KB",
        })
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
