"""Test DAGs: the example dbt project as a DbtTaskGroup (one dbt build, one task per node).

``dbt_task_group_in_airflow`` breaks a model while the variable ``dbt_group_vars`` says so (tests after each
model); ``dbt_task_group_after_all`` runs the tests in one task after the models (no vars: nothing breaks).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG

from airflow_provider_dataeng import DbtTaskGroup

MANIFEST = Path(__file__).resolve().parents[1] / "fixtures" / "manifest.json"


def group_dag(dag_id: str, **group_args: Any) -> DAG:
    with DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["test"]) as the_dag:
        DbtTaskGroup(
            group_id="dbt",
            project_dir=os.environ.get("DATAENG_TEST_DBT_PROJECT", "/nonexistent"),
            manifest_path=str(MANIFEST),
            snowflake_conn_id="snowflake_default",
            target="local",
            results_url=os.environ.get("DATAENG_TEST_DBT_RESULTS"),
            poll_interval=0.5,
            check_manifest=False,  # the test breaks a model on purpose; the fixture manifest is the unbroken one
            operator_args={"artifacts_destination": os.environ.get("DATAENG_TEST_DBT_ARTIFACTS"), "retries": 0},
            **group_args,
        )
    return the_dag


group_dag("dbt_task_group_in_airflow", vars="{{ var.value.get('dbt_group_vars', '{}') }}")
group_dag("dbt_task_group_after_all", tests="after_all")
