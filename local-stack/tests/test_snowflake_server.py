"""The local Snowflake server: contract (CLI, health check), persistence, concurrency, no-op statements."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result:UserWarning"),
]


def test_health_check(local_snowflake: Any) -> None:
    with urllib.request.urlopen(f"{local_snowflake.server.url}/healthz", timeout=5) as response:
        assert (response.status, json.load(response)) == (200, {"status": "ok"})


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER SESSION SET QUERY_TAG = 'dag=x'",
        '/* {"app": "dbt"} */ alter session set query_tag = \'dbt\'',
        "ALTER SESSION UNSET QUERY_TAG",
        "ALTER SESSION SET TIMEZONE = 'UTC'",
        "ALTER SESSION SET STATEMENT_TIMEOUT_IN_SECONDS = 60",
        "ALTER WAREHOUSE compute_wh RESUME IF SUSPENDED",
        "USE SECONDARY ROLES ALL",
    ],
)
def test_harmless_session_statements_are_no_ops(sf: Any, statement: str) -> None:
    assert sf(statement) == [("Statement executed successfully.",)]


def test_four_concurrent_sessions(local_snowflake: Any) -> None:
    setup = local_snowflake.connect()
    setup.cursor().execute("CREATE OR REPLACE TABLE conc (worker INT, i INT)")
    setup.close()

    def work(worker: int) -> int:
        conn = local_snowflake.connect()
        cur = conn.cursor()
        for i in range(10):
            cur.execute("INSERT INTO conc VALUES (%s, %s)", (worker, i))
        cur.execute("SELECT count(*) FROM conc WHERE worker = %s", (worker,))
        count = cur.fetchone()[0]
        conn.close()
        return int(count)

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(work, range(4))) == [10, 10, 10, 10]


def test_data_stages_streams_and_load_metadata_survive_a_restart(local_snowflake: Any, local_s3: Any) -> None:
    local_s3.put_object(Bucket="landing", Key="restart/a.jsonl", Body=b'{"id": 1}\n{"id": 2}\n')
    conn = local_snowflake.connect()
    cur = conn.cursor()
    cur.execute("CREATE OR REPLACE STAGE restart_stage URL='s3://landing/restart/'")
    cur.execute("CREATE OR REPLACE FILE FORMAT restart_json TYPE = JSON")
    cur.execute("CREATE OR REPLACE TABLE restart_raw (record VARIANT)")
    cur.execute(
        "COPY INTO restart_raw FROM @restart_stage FILES=('a.jsonl') FILE_FORMAT=(FORMAT_NAME='restart_json')"
    )
    cur.execute("CREATE OR REPLACE TABLE restart_t (id INT)")
    cur.execute("INSERT INTO restart_t VALUES (1), (2)")
    cur.execute("CREATE OR REPLACE STREAM restart_s ON TABLE restart_t")
    cur.execute("INSERT INTO restart_t VALUES (3)")
    cur.execute("UPDATE restart_t SET id = 20 WHERE id = 2")
    cur.execute("CREATE OR REPLACE TABLE restart_ao (id INT)")
    cur.execute("CREATE OR REPLACE STREAM restart_a ON TABLE restart_ao APPEND_ONLY = TRUE")
    cur.execute("INSERT INTO restart_ao VALUES (1), (2)")
    cur.execute("DELETE FROM restart_ao WHERE id = 2")  # kept for the append-only stream
    conn.close()

    local_snowflake.restart()

    cur = local_snowflake.connect().cursor()
    cur.execute("SELECT count(*) FROM restart_raw")
    assert cur.fetchall() == [(2,)]
    cur.execute(
        "COPY INTO restart_raw FROM @restart_stage FILES=('a.jsonl') FILE_FORMAT=(FORMAT_NAME='restart_json')"
    )
    assert cur.fetchall() == [("Copy executed with 0 files processed.",)]
    cur.execute("SELECT id, METADATA$ACTION, METADATA$ISUPDATE FROM restart_s ORDER BY id, METADATA$ACTION")
    assert cur.fetchall() == [(2, "DELETE", True), (3, "INSERT", False), (20, "INSERT", True)]
    cur.execute("SHOW STREAMS LIKE 'RESTART_S'")
    assert [r[1] for r in cur.fetchall()] == ["RESTART_S"]
    cur.execute("INSERT INTO restart_ao VALUES (3)")
    cur.execute("DELETE FROM restart_ao WHERE id = 3")  # the restarted server keeps it too
    cur.execute("SELECT id, METADATA$ACTION FROM restart_a ORDER BY id")
    assert cur.fetchall() == [(1, "INSERT"), (2, "INSERT"), (3, "INSERT")]


def test_command_line_runs_until_sigterm(tmp_path: Path) -> None:
    from dataeng_local.snowflake.server import free_port

    port = free_port()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dataeng_local.snowflake", "--host", "127.0.0.1", "--port", str(port),
         "--data-dir", str(tmp_path / "sf"), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "server did not become healthy"
                time.sleep(0.1)
        import snowflake.connector

        conn = snowflake.connector.connect(
            host="127.0.0.1", port=port, protocol="http", account="fakesnow", user="local", password="local",
            database="DEMO", schema="PUBLIC", network_timeout=5,
        )  # fmt: skip
        conn.cursor().execute("CREATE TABLE cli_t AS SELECT 1 AS x")
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    assert (tmp_path / "sf" / "databases" / "DEMO.db").exists()
