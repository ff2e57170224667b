"""Asset events in a real Airflow run: the loads and the merge add their tables' assets with their counts,
Airflow records the events and queues the DAG scheduled on the merged table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_xcom

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAGS = Path(__file__).parent / "dags"
PRODUCER, CONSUMER = "dataeng_assets_producer", "dataeng_assets_consumer"
SCHEMA = f"ASSETS_{os.getpid()}"
RECORDS = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}]


def uri(table: str) -> str:
    return f"snowflake://fakesnow/DEMO/{SCHEMA}/{table}"


@pytest.fixture(scope="module")
def producer_run(local_stack: Any, airflow_db: Path) -> Iterator[Any]:
    """One producer run after ``airflow dags reserialize`` made both DAGs (and their assets) known."""
    import boto3
    import zstandard
    from airflow.dag_processing.dagbag import DagBag

    from airflow_provider_dataeng.hooks.snowflake import SnowflakeHook
    from dataeng_local.s3 import ACCESS_KEY, REGION, SECRET_KEY

    key = f"assets-tests/{SCHEMA}/part-00000.jsonl.zst"
    body = zstandard.ZstdCompressor().compress(b"".join(json.dumps(r).encode() + b"\n" for r in RECORDS))
    boto3.client(
        "s3",
        endpoint_url=local_stack.s3_endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    ).put_object(Bucket=local_stack.bucket, Key=key, Body=body)
    manifest = {
        "destination": f"s3://{local_stack.bucket}/assets-tests/{SCHEMA}/",
        "files": [{"uri": f"s3://{local_stack.bucket}/{key}", "records": 3, "bytes": len(body)}],
        "records": 3,
        "format": "jsonl",
        "compression": "zstd",
    }
    SnowflakeHook(snowflake_conn_id="snowflake_default").run(
        [
            f"CREATE SCHEMA IF NOT EXISTS DEMO.{SCHEMA}",
            f"CREATE TABLE DEMO.{SCHEMA}.EVENTS (ID INT, NAME VARCHAR)",
        ]
    )
    bundles = [
        {
            "name": "dags-folder",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {},
        },
        {
            "name": "dataeng-asset-tests",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(DAGS)},
        },
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))
        mp.setenv("DATAENG_ASSETS_TEST_SCHEMA", SCHEMA)
        mp.setenv("DATAENG_ASSETS_TEST_MANIFEST", json.dumps(manifest))
        mp.setenv("DATAENG_ASSETS_TEST_STAGE_URL", f"s3://{local_stack.bucket}/assets-tests/")
        subprocess.run(
            [sys.executable, "-m", "airflow", "dags", "reserialize", "-B", "dataeng-asset-tests"],
            check=True,
            capture_output=True,
            env=os.environ.copy(),
        )
        run = DagBag(dag_folder=str(DAGS)).get_dag(PRODUCER).test()
        yield run


def events(run: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """``(asset uri, source task, extra)`` of every asset event the run recorded."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.execute(
            AssetEvent.__table__.select()
            .with_only_columns(AssetModel.uri, AssetEvent.source_task_id, AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetEvent.source_dag_id == PRODUCER, AssetEvent.source_run_id == run.run_id)
            .order_by(AssetModel.uri)
        ).all()
    return [(u, t, e if isinstance(e, dict) else json.loads(e)) for u, t, e in rows]


LOAD_EXTRA = {"files_loaded": 1, "files_skipped": 0, "rows_loaded": 3, "rows_parsed": 3}


def test_every_written_table_has_one_event_with_the_operator_counts(producer_run: Any) -> None:
    assert producer_run.state == "success"
    assert run_xcom(producer_run, "merge") == {
        "inserted": 3,
        "updated": 0,
        "deleted": 0,
        "empty": False,
        "statements": 6,  # the first run creates and inspects the stream
    }
    assert {k: run_xcom(producer_run, "load_raw")[k] for k in LOAD_EXTRA} == LOAD_EXTRA
    assert events(producer_run) == [
        (uri("DECLARED"), "load_declared", LOAD_EXTRA),  # declared outlet: one event, with the counts
        (uri("EVENTS"), "merge", {"inserted": 3, "updated": 0, "deleted": 0}),
        (uri("RAW_EVENTS"), "load_raw", LOAD_EXTRA),
        # OPTED_OUT (emit_assets=False) is a known asset, yet has no event; UNDECLARED is no known asset
    ]
    assert {k: run_xcom(producer_run, "load_undeclared")[k] for k in LOAD_EXTRA} == LOAD_EXTRA


def test_the_dag_scheduled_on_the_merged_table_is_queued(producer_run: Any) -> None:
    from airflow.models.asset import AssetDagRunQueue, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        queued = session.execute(
            AssetDagRunQueue.__table__.select()
            .with_only_columns(AssetDagRunQueue.target_dag_id, AssetModel.uri)
            .join(AssetModel, AssetModel.id == AssetDagRunQueue.asset_id)
            .where(AssetModel.uri.like(f"%/{SCHEMA}/%"))
        ).all()
    assert [tuple(row) for row in queued] == [(CONSUMER, uri("EVENTS"))]


def test_a_rerun_that_writes_nothing_adds_no_asset(producer_run: Any) -> None:
    """Same files again: the loads skip them (the declared outlet, which Airflow emits anyway, says so), and
    the merge finds its stream empty and is skipped."""
    from airflow.dag_processing.dagbag import DagBag

    again = DagBag(dag_folder=str(DAGS)).get_dag(PRODUCER).test(logical_date=producer_run.logical_date)
    assert again.state == "success"
    assert events(again) == [
        (
            uri("DECLARED"),
            "load_declared",
            {"files_loaded": 0, "files_skipped": 1, "rows_loaded": 0, "rows_parsed": 0},
        )
    ]
