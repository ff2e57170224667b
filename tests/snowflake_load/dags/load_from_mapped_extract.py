"""A DAG for the loader's Airflow test: mapped "extract" tasks return manifests (from an env variable set
by the test), and the loader takes all of them through ``files=extract.output``."""

from __future__ import annotations

import json
import os

from airflow.sdk import dag, task

from airflow_provider_dataeng.operators.s3_stage_load import S3StageLoadOperator

MANIFESTS_ENV = "DATAENG_LOAD_TEST_MANIFESTS"
STAGE_URL_ENV = "DATAENG_LOAD_TEST_STAGE_URL"


@dag(dag_id="dataeng_load_from_mapped_extract", schedule=None, tags=["tests"],
     default_args={"owner": "tests", "retries": 0})
def load_from_mapped_extract() -> None:
    @task
    def extract(part: int) -> dict:
        return json.loads(os.environ[MANIFESTS_ENV])[part]

    manifests = extract.expand(part=[0, 1, 2])
    S3StageLoadOperator(
        task_id="load",
        table="PUBLIC.EVENTS_FROM_DAG",
        stage="DEMO.PUBLIC.LOAD_TEST_STAGE",
        files=manifests,
        file_format={"type": "JSON", "compression": "ZSTD"},
        create_table=True,
        ensure_stage={"url": os.environ.get(STAGE_URL_ENV, "s3://unset/"), "aws_conn_id": "aws_default"},
    )


load_from_mapped_extract()
