"""DAGs for tests/assets: a producer whose loads and merge emit their tables' assets, and a consumer
scheduled on the merged table's asset. Table names and the staged file come from env variables set by the
test (read when the file is parsed, by ``airflow dags reserialize`` and by the test alike)."""

from __future__ import annotations

import json
import os
from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider_dataeng.assets import snowflake_table_asset
from airflow_provider_dataeng.operators.s3_stage_load import S3StageLoadOperator
from airflow_provider_dataeng.operators.snowflake_stream_merge import SnowflakeStreamMergeOperator

SCHEMA = os.environ.get("DATAENG_ASSETS_TEST_SCHEMA", "ASSETS")
MANIFEST = json.loads(
    os.environ.get("DATAENG_ASSETS_TEST_MANIFEST", '{"destination": "s3://unset/", "files": []}')
)
STAGE_URL = os.environ.get("DATAENG_ASSETS_TEST_STAGE_URL", "s3://unset/")
DEFAULTS = {"owner": "tests", "retries": 0}


def asset(table: str):
    return snowflake_table_asset(f"{SCHEMA}.{table}", account="fakesnow", database="DEMO")


def load(task_id: str, table: str, **kwargs):
    return S3StageLoadOperator(
        task_id=task_id,
        table=f"{SCHEMA}.{table}",
        stage="DEMO.PUBLIC.ASSETS_TEST_STAGE",
        files=MANIFEST,
        file_format={"type": "JSON", "compression": "ZSTD"},
        create_table=True,
        ensure_stage={"url": STAGE_URL, "aws_conn_id": "aws_default"},
        **kwargs,
    )


with DAG(
    "dataeng_assets_producer",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    default_args=DEFAULTS,
    tags=["tests"],
):
    # RAW_EVENTS is no task's outlet: the load adds it at run time. It exists as an asset because the merge
    # declares it as an inlet (what it reads), as the example pipeline does.
    load_raw = load("load_raw", "RAW_EVENTS")
    merge = SnowflakeStreamMergeOperator(
        task_id="merge",
        source_table=f"{SCHEMA}.RAW_EVENTS",
        target_table=f"{SCHEMA}.EVENTS",
        key_columns=["ID"],
        append_only=True,
        columns={"ID": "RECORD:id::int", "NAME": "RECORD:name::string"},
        inlets=[asset("RAW_EVENTS")],
    )
    load_raw >> merge
    load("load_declared", "DECLARED", outlets=[asset("DECLARED")])  # the same asset declared: one event
    load("load_opted_out", "OPTED_OUT", emit_assets=False)
    load(
        "load_undeclared", "UNDECLARED"
    )  # no DAG declares its asset: Airflow records no event, the task succeeds


with DAG(
    "dataeng_assets_consumer",
    schedule=[asset("EVENTS")],
    start_date=datetime(2026, 1, 1),
    default_args=DEFAULTS,
    tags=["tests"],
    is_paused_upon_creation=False,
):

    @task(inlets=[asset("OPTED_OUT")])  # makes OPTED_OUT an asset, so an event for it could be recorded
    def report(triggering_asset_events=None) -> dict:
        return {
            asset.uri: [event.extra for event in events]
            for asset, events in (triggering_asset_events or {}).items()
        }

    report()
