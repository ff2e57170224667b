"""
### Customer reporting: runs when the pipeline's merge changed `STAGING.CUSTOMERS` (data-aware schedule)

No cron: `customer_data_pipeline`'s merge task emits the asset of the table it merged into, with the MERGE's
counts as the event's extra, only when it applied changes. Each such event queues a run of this DAG.

1. **merge_counts**: reads the asset events that triggered the run (`triggering_asset_events`) and logs and
   returns their counts (`inserted`, `updated`, `deleted`) summed; several merges may have queued one run.
2. **quality_staging_customers**: the table is not empty and its live rows have a unique, non-null key and
   an email; a failure fails the run.

Connection: `snowflake_default`. `DATAENG_SNOWFLAKE_ACCOUNT` and `DATAENG_DATABASE` name the asset as in the
pipeline (the account and default database of `snowflake_default`).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_dataeng import QualityGateOperator
from airflow_provider_dataeng.assets import snowflake_table_asset
from airflow_provider_dataeng.quality import not_null, row_count, unique

SNOWFLAKE_ACCOUNT = os.environ.get("DATAENG_SNOWFLAKE_ACCOUNT", "fakesnow")  # names the assets only
DATABASE = os.environ.get("DATAENG_DATABASE", "DEMO")
COUNTS = ("inserted", "updated", "deleted")

# [START howto_dag_scheduled_on_merged_table]
with DAG(
    dag_id="customer_reporting",
    schedule=[snowflake_table_asset("STAGING.CUSTOMERS", account=SNOWFLAKE_ACCOUNT, database=DATABASE)],
    start_date=datetime(2024, 1, 8),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "data-platform", "retries": 1, "retry_delay": timedelta(seconds=30)},
    tags=["dataeng", "example", "assets"],
    doc_md=__doc__,
) as dag:

    @task
    def merge_counts(triggering_asset_events: Any = None) -> dict[str, int]:
        """The merge counts carried by the triggering asset events, summed (a manual run has none)."""
        import logging

        log = logging.getLogger("airflow.task")
        totals = dict.fromkeys(COUNTS, 0)
        events = 0
        for asset, asset_events in (triggering_asset_events or {}).items():
            for event in asset_events:
                events += 1
                log.info(
                    "%s changed by %s.%s (run %s): %s",
                    asset.name,
                    event.source_dag_id,
                    event.source_task_id,
                    event.source_run_id,
                    event.extra,
                )
                for key in COUNTS:
                    totals[key] += int(event.extra.get(key) or 0)
        log.info("%d triggering asset event(s); merged rows: %s", events, totals)
        return {"events": events, **totals}

    quality = QualityGateOperator(
        task_id="quality_staging_customers",
        snowflake_conn_id="snowflake_default",
        table="STAGING.CUSTOMERS",
        checks=[
            row_count(min=1),
            unique("CUSTOMER_ID", where="_DELETED_AT IS NULL"),
            not_null(["CUSTOMER_ID", "EMAIL"], where="_DELETED_AT IS NULL"),
        ],
    )
    # [END howto_dag_scheduled_on_merged_table]

    merge_counts() >> quality
