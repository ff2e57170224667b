"""Test DAG: the example dbt project as a DbtTaskGroup (one dbt build, one task per node)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from airflow.sdk import dag

from airflow_provider_dataeng import DbtTaskGroup

MANIFEST = Path(__file__).resolve().parents[1] / "fixtures" / "manifest.json"


@dag(
    dag_id="dbt_task_group_in_airflow",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["test"],
)
def dbt_task_group_in_airflow():
    DbtTaskGroup(
        group_id="dbt",
        project_dir=os.environ.get("DATAENG_TEST_DBT_PROJECT", "/nonexistent"),
        manifest_path=str(MANIFEST),
        snowflake_conn_id="snowflake_default",
        target="local",
        vars="{{ var.value.get('dbt_group_vars', '{}') }}",
        results_url=os.environ.get("DATAENG_TEST_DBT_RESULTS"),
        poll_interval=0.5,
        check_manifest=False,  # the test breaks a model on purpose; the fixture manifest is the unbroken one
        operator_args={"artifacts_destination": os.environ.get("DATAENG_TEST_DBT_ARTIFACTS"), "retries": 0},
    )


dbt_task_group_in_airflow()


@dag(
    dag_id="dbt_task_group_after_all",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["test"],
)
def dbt_task_group_after_all():
    """The same project with tests="after_all": one tests task after the models (no var: nothing breaks)."""
    DbtTaskGroup(
        group_id="dbt",
        project_dir=os.environ.get("DATAENG_TEST_DBT_PROJECT", "/nonexistent"),
        manifest_path=str(MANIFEST),
        snowflake_conn_id="snowflake_default",
        target="local",
        tests="after_all",
        results_url=os.environ.get("DATAENG_TEST_DBT_RESULTS"),
        poll_interval=0.5,
        check_manifest=False,
        operator_args={"artifacts_destination": os.environ.get("DATAENG_TEST_DBT_ARTIFACTS"), "retries": 0},
    )


dbt_task_group_after_all()
