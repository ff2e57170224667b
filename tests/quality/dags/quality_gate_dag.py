"""A gate that blocks a downstream task: run by tests/quality/test_airflow_run.py with dag.test()."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider_dataeng.operators.quality_gate import QualityGateOperator
from airflow_provider_dataeng.quality import accepted_values, not_null, relationships, row_count, unique

with DAG(
    "quality_gate_blocks_downstream",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["test", "quality"],
    default_args={"owner": "data-eng", "retries": 2},
):
    gate = QualityGateOperator(
        task_id="gate",
        snowflake_conn_id="quality_sqlite",
        table="{{ dag_run.conf['table'] }}",
        checks=[
            unique("id"),
            not_null("email"),
            accepted_values("status", ["placed", "shipped", "returned"]),
            relationships("customer_id", "CUSTOMERS", "id"),
            row_count(min=1),
        ],
        results_table="QUALITY_RESULTS_AIRFLOW",
    )

    @task
    def publish() -> str:
        return "published"

    gate >> publish()
