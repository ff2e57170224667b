"""
### Customer marts, one task per dbt model: the pipeline's dbt project as a `DbtTaskGroup`

The same dbt project `customer_data_pipeline` builds in its `dbt_build` task (`dags/dbt`), shown in Airflow as
one task per model, each model's tests inside its task:

- **marts.dbt_build** runs ONE `dbt build` of the project and publishes each node's result as dbt finishes it;
- **marts.stg_customers**, **marts.stg_orders**, **marts.dim_customer**, **marts.fct_sales** (and a task per
  source with tests) wait for their own results without holding a worker slot (the triggerer) and end as dbt
  ended them: a failed model fails its task with dbt's error, its descendants become `upstream_failed`, and
  clearing the failed task rebuilds only that model and its tests.

The tasks come from `dags/dbt/target/manifest.json`, written at deploy time by
`dataeng-dbt manifest dags/dbt` (`make dbt-manifest`; `make demo`, `make airflow` and `make test` run it).
Without it the group is one `dbt_build` task and the DAG file warns with that command.

Run it after `customer_data_pipeline` has filled `STAGING` (`make demo` does). Manual runs only: the pipeline
builds the same tables on its own schedule. Connection: `snowflake_default`.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG

from airflow_provider_dataeng import DbtTaskGroup

DBT_PROJECT = Path(__file__).resolve().parent / "dbt"
DBT_TARGET = os.environ.get("DATAENG_DBT_TARGET", "local")  # "local" enables the stand-in's dbt adaptations
TRANSFORM_WAREHOUSE = os.environ.get("DATAENG_TRANSFORM_WAREHOUSE", "DATAENG_TRANSFORM_WH")

# [START howto_task_group_dbt]
with DAG(
    dag_id="customer_marts",
    schedule=None,
    start_date=datetime(2024, 1, 8),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "data-platform", "retries": 1, "retry_delay": timedelta(seconds=30)},
    tags=["dataeng", "example", "dbt"],
    doc_md=__doc__,
):
    DbtTaskGroup(
        group_id="marts",
        project_dir=str(DBT_PROJECT),
        manifest_path=str(DBT_PROJECT / "target" / "manifest.json"),
        snowflake_conn_id="snowflake_default",
        target=DBT_TARGET,
        tests="after_each",  # a model's tests run in its task and fail it, as dbt build does
        poll_interval=2.0,
        operator_args={"warehouse": TRANSFORM_WAREHOUSE},
    )
# [END howto_task_group_dbt]
