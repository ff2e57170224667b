"""Smoke DAG: proves the provider is installed and importable inside a task.

Placeholder for `make demo` until the example pipeline (customer_data_pipeline) lands.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task


@dag(
    dag_id="provider_smoke",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["dataeng", "smoke"],
    default_args={"owner": "data-platform", "retries": 1, "retry_delay": timedelta(seconds=5)},
    doc_md=__doc__,
)
def provider_smoke():
    @task
    def provider_version() -> dict[str, str]:
        import airflow_provider_dataeng

        info = airflow_provider_dataeng.get_provider_info()
        return {"package": info["package-name"], "version": airflow_provider_dataeng.__version__}

    provider_version()


provider_smoke()
