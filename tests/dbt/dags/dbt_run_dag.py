"""Test DAG: DbtRunOperator in a real Airflow task run, then a task that receives its XCom result."""

from __future__ import annotations

import json
import os
from datetime import datetime

from airflow.sdk import dag, task

from airflow_provider_dataeng.operators.dbt_run import DbtRunOperator


@dag(
    dag_id="dbt_run_in_airflow", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["test"]
)
def dbt_run_in_airflow():
    build = DbtRunOperator(
        task_id="dbt_build",
        project_dir=os.environ.get("DATAENG_TEST_DBT_PROJECT", "/nonexistent"),
        snowflake_conn_id="snowflake_default",
        select="{{ dag_run.conf.get('select', 'stg_customers') }}",
        target="local",
        retries=0,
    )

    @task
    def record(result: dict) -> None:
        with open(os.environ["DATAENG_TEST_DBT_RESULT"], "w") as out:
            json.dump(result, out)

    record(build.output)


dbt_run_in_airflow()
