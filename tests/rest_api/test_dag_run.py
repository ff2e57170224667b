"""The operator inside a real Airflow task run (``airflow dags test``): templated window, files, XCom, logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard

from tests.rest_api.server import FixtureServer, Request

pytestmark = pytest.mark.slow

TOKEN = "dag-run-secret-token-42"
RECORDS = [{"id": i, "v": "x" * i} for i in range(30)]

DAG_FILE = '''
from __future__ import annotations

import json
import pendulum
from airflow.sdk import DAG, task
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator
from airflow_provider_dataeng.pagination import CursorPaginator

# A data-interval timetable: the run for 2024-01-05 covers [2024-01-04, 2024-01-05).
with DAG("rest_extract_window", schedule=CronDataIntervalTimetable("@daily", timezone="UTC"), start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
         catchup=False) as dag:
    extract = RestApiExtractOperator(
        task_id="extract",
        http_conn_id="demo_api_test",
        endpoint="/v1/orders",
        query_params={{"updated_since": "{{{{ data_interval_start | ts }}}}",
                       "updated_before": "{{{{ data_interval_end | ts }}}}", "limit": 10}},
        records_path="data",
        paginator=CursorPaginator(cursor_path="next_cursor", has_more_path="has_more"),
        destination="file://{out}/orders/{{{{ ds }}}}/",
        aws_conn_id=None,
    )

    @task
    def keep_manifest(manifest: dict) -> None:
        with open("{out}/xcom.json", "w") as f:
            json.dump(manifest, f)

    keep_manifest(extract.output)
'''


def test_dag_run_renders_the_window_and_lands_files(airflow_db: Path, server: FixtureServer, tmp_path: Path) -> None:
    def handler(request: Request):
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        start = int(request.query.get("cursor") or 0)
        more = start + 10 < len(RECORDS)
        return 200, {}, {"data": RECORDS[start : start + 10], "has_more": more,
                         "next_cursor": str(start + 10) if more else None}

    server.route("GET", "/v1/orders", handler)
    dags, out = tmp_path / "dags", tmp_path / "out"
    dags.mkdir()
    out.mkdir()
    (dags / "rest_extract_window.py").write_text(DAG_FILE.format(out=out))
    conn = {"conn_type": "http", "host": "127.0.0.1", "port": server.port, "schema": "http", "password": TOKEN,
            "extra": {"auth_type": "bearer"}}
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(dags), "AIRFLOW_CONN_DEMO_API_TEST": json.dumps(conn)}
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "test", "rest_extract_window", "2024-01-05"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    logs = result.stdout + result.stderr
    assert result.returncode == 0, logs[-5000:]

    assert [r.query for r in server.requests] == [
        {"updated_since": "2024-01-04T00:00:00+00:00", "updated_before": "2024-01-05T00:00:00+00:00", "limit": "10",
         **({"cursor": c} if c else {})}
        for c in (None, "10", "20")
    ]
    part = out / "orders/2024-01-05/part-00000.jsonl.zst"
    data = zstandard.ZstdDecompressor().stream_reader(part.open("rb")).read()
    assert [json.loads(line) for line in data.splitlines()] == RECORDS
    manifest = json.loads((out / "xcom.json").read_text())
    assert manifest == {
        "destination": f"file://{out}/orders/2024-01-05/",
        "files": [{"uri": f"file://{part}", "records": 30, "bytes": part.stat().st_size}],
        "records": 30, "pages": 3, "format": "jsonl", "compression": "zstd",
    }
    assert json.loads((out / "orders/2024-01-05/_manifest.json").read_text()) == manifest
    assert TOKEN not in logs
    assert TOKEN not in json.dumps(manifest)


TRUNCATING_DAG = '''
from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator
from airflow_provider_dataeng.pagination import CursorPaginator

with DAG("rest_extract_no_cursor", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")) as dag:
    RestApiExtractOperator(
        task_id="extract",
        http_conn_id="stripe_test",
        endpoint="/v1/charges",
        query_params={{"limit": 100}},
        records_path="data",
        paginator=CursorPaginator(cursor_path="next_cursor", cursor_param="starting_after", has_more_path="has_more"),
        destination="file://{out}/charges/",
        aws_conn_id=None,
        retries=0,
    )
'''


def test_has_more_without_a_cursor_fails_the_task_with_the_message(airflow_db: Path, server: FixtureServer,
                                                                    tmp_path: Path) -> None:
    """The reported defect inside a real task run: the task fails (the run too) saying why, and the
    destination holds no manifest for a loader to pick up."""
    from tests.rest_api.server import stripe_list

    charges = [{"id": f"ch_{i:04d}", "amount": i} for i in range(2500)]
    server.route("GET", "/v1/charges", stripe_list(charges))
    dags, out = tmp_path / "dags", tmp_path / "out"
    dags.mkdir()
    out.mkdir()
    (dags / "rest_extract_no_cursor.py").write_text(TRUNCATING_DAG.format(out=out))
    conn = {"conn_type": "rest_api", "host": "127.0.0.1", "port": server.port, "schema": "http"}
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(dags), "AIRFLOW_CONN_STRIPE_TEST": json.dumps(conn)}
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "test", "rest_extract_no_cursor", "2024-01-05"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    logs = result.stdout + result.stderr
    assert result.returncode == 1, logs[-5000:]
    assert "IncompletePaginationError" in logs
    assert (
        f"page 1 (GET {server.url}/v1/charges?limit=100): the API says there is more (has_more_path='has_more' is "
        "true) but cursor_path='next_cursor' is not in the body, so the next page cannot be requested; stopping "
        "here would silently drop the rest."
    ) in logs
    assert "Found: the body has no key 'next_cursor' (its keys: ['data', 'has_more', 'object', 'url'])." in logs
    assert [r.query for r in server.requests] == [{"limit": "100"}]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) in ([], ["charges"])
