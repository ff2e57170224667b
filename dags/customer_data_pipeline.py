"""
### Customer data pipeline: REST API -> S3 -> Snowflake RAW -> STAGING (CDC) -> dbt marts -> quality gate

Every 4 hours, for the data interval:

1. **extract** (one mapped task per endpoint): customers and orders changed in the window are pulled from the
   source API (cursor pagination) and streamed to `s3://<bucket>/landing/<entity>/<interval>/` as
   `part-*.jsonl.zst` plus `_manifest.json`. The first run loads everything since the start of the data.
2. **load**: exactly the manifest's files are copied into `RAW.<ENTITY>` (one VARIANT column + file/row
   metadata) and every file's row count is verified against the manifest.
3. **merge**: each RAW table's stream is merged into `STAGING.<ENTITY>` with one atomic MERGE: latest record
   per key, tombstones (`is_deleted`) become soft deletes.
4. **dbt_build**: the dbt project in `dags/dbt` builds `ANALYTICS.DIM_CUSTOMER` and `ANALYTICS.FCT_SALES`
   (incremental orders) and runs its tests.
5. **quality**: keys unique and not null, foreign keys, accepted statuses, freshness (as of the interval's
   end) and a row-count anomaly check over the results history in `AUDIT.QUALITY_RESULTS`; a failure
   fails the run.

Connections: `demo_api` (source), `aws_default` (S3), `snowflake_default`. Re-running an interval gives the
same final tables: files are replaced, loads skip what Snowflake already loaded, the stream only holds
unmerged changes.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_dataeng import (
    CursorPaginator,
    DbtRunOperator,
    QualityGateOperator,
    RestApiExtractOperator,
    S3StageLoadOperator,
    SnowflakeStreamMergeOperator,
)
from airflow_provider_dataeng.assets import snowflake_table_asset
from airflow_provider_dataeng.quality import (
    accepted_values,
    freshness,
    not_null,
    relationships,
    row_count_anomaly,
    unique,
)
from airflow_provider_dataeng.windows import WINDOW_MACROS

# Deployment settings: everything that differs between the local stack and a real account comes from the
# Airflow connections (demo_api, aws_default, snowflake_default) or these environment variables.
BUCKET = os.environ.get("DATAENG_BUCKET", "dataeng-local")
LANDING_URL = f"s3://{BUCKET}/landing/"
STORAGE_INTEGRATION = os.environ.get("DATAENG_STORAGE_INTEGRATION")  # real accounts: the stage's integration
SNOWFLAKE_ACCOUNT = os.environ.get("DATAENG_SNOWFLAKE_ACCOUNT", "fakesnow")  # names the assets only
DATABASE = os.environ.get("DATAENG_DATABASE", "DEMO")
DBT_TARGET = os.environ.get("DATAENG_DBT_TARGET", "local")  # "local" enables the stand-in's dbt adaptations
# Loads and merges move data with little compute: a small warehouse. dbt and the quality scans need more.
ELT_WAREHOUSE = os.environ.get("DATAENG_ELT_WAREHOUSE", "DATAENG_ELT_WH")
TRANSFORM_WAREHOUSE = os.environ.get("DATAENG_TRANSFORM_WAREHOUSE", "DATAENG_TRANSFORM_WH")
DAGS_DIR = Path(__file__).resolve().parent
STAGE = "RAW.LANDING"

ENTITIES = ("customers", "orders")
# [START howto_run_window]
# The window macros (airflow_provider_dataeng.windows) give every run type a window, runs without a logical date
# included (the Trigger button's default, asset triggers): see docs/how-to/run-types.md.
WINDOW = {
    # Since the end of the last successful run's interval (the whole history for the first run), never later
    # than this run's own interval; up to the interval's end, or to the trigger time for a run without one.
    "updated_since": "{{ changes_since(params.initial_updated_since) | ts }}",
    "updated_before": "{{ window_end() | ts }}",
    "as_of": "{{ window_end() | ts }}",  # the demo API serves data as of a time: runs are repeatable
    "limit": 1000,
}
# [END howto_run_window]
MERGES: dict[str, dict[str, Any]] = {
    "customers": {
        "key_columns": ["CUSTOMER_ID"],
        "columns": {
            "CUSTOMER_ID": "RECORD:id::number",
            "EMAIL": "RECORD:email::string",
            "NAME": "RECORD:name::string",
            "COUNTRY": "RECORD:country::string",
            "STATUS": "RECORD:status::string",
            "CREATED_AT": "RECORD:created_at::timestamp_ntz",
            "UPDATED_AT": "RECORD:updated_at::timestamp_ntz",
        },
    },
    "orders": {
        "key_columns": ["ORDER_ID"],
        "columns": {
            "ORDER_ID": "RECORD:id::number",
            "CUSTOMER_ID": "RECORD:customer_id::number",
            "STATUS": "RECORD:status::string",
            "AMOUNT": "RECORD:amount::number(12, 2)",
            "CURRENCY": "RECORD:currency::string",
            "ORDERED_AT": "RECORD:ordered_at::timestamp_ntz",
            "UPDATED_AT": "RECORD:updated_at::timestamp_ntz",
        },
    },
}


def table_asset(table: str):
    return snowflake_table_asset(table, account=SNOWFLAKE_ACCOUNT, database=DATABASE)


def ensure_stage() -> dict[str, str]:
    """The landing stage, created if missing: with the storage integration, or the AWS connection's keys."""
    if STORAGE_INTEGRATION:
        return {"url": LANDING_URL, "storage_integration": STORAGE_INTEGRATION}
    return {"url": LANDING_URL, "aws_conn_id": "aws_default"}


def load_kwargs(manifest: dict[str, Any]) -> dict[str, Any]:
    """Extract manifest -> arguments of the load task for that entity (its table from the destination)."""
    entity = manifest["destination"].rstrip("/").split("/")[-2]
    return {"table": f"RAW.{entity.upper()}", "files": manifest}


# [START howto_dag_customer_data_pipeline]
with DAG(
    dag_id="customer_data_pipeline",
    schedule=CronDataIntervalTimetable("0 */4 * * *", timezone="UTC"),
    start_date=datetime(2024, 1, 8),
    catchup=False,
    max_active_runs=1,  # runs consume the same streams: one at a time, in order
    default_args={
        "owner": "data-platform",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
    },
    tags=["dataeng", "example", "snowflake", "cdc"],
    params={"initial_updated_since": "1970-01-01T00:00:00+00:00"},  # first run: the whole history
    user_defined_macros=WINDOW_MACROS,  # changes_since(), window_end(), window_key() in templates
    doc_md=__doc__,
) as dag:
    # [END howto_dag_customer_data_pipeline]

    @task
    def create_tables() -> int:
        """Schemas and STAGING tables (dags/sql/create_tables.sql): idempotent DDL, on the operators' session."""
        from airflow.sdk import get_current_context

        from airflow_provider_dataeng.hooks.snowflake import split_statements, task_hook

        sql = (DAGS_DIR / "sql" / "create_tables.sql").read_text()
        hook = task_hook("snowflake_default", get_current_context(), warehouse=ELT_WAREHOUSE)
        with hook.session() as session:
            for statement in split_statements(sql):
                session.run(statement)
            return session.count

    # [START howto_operator_rest_api_extract]
    extract = RestApiExtractOperator.partial(
        task_id="extract",
        http_conn_id="demo_api",
        records_path="data",
        paginator=CursorPaginator(cursor_path="next_cursor", has_more_path="has_more"),
        aws_conn_id="aws_default",
        part_format="jsonl",
        compression="zstd",
    ).expand_kwargs(
        [
            {
                "endpoint": f"/v1/{entity}",
                "query_params": WINDOW,
                "destination": f"s3://{BUCKET}/landing/{entity}/{{{{ window_key() }}}}/",
            }
            for entity in ENTITIES
        ]
    )
    # [END howto_operator_rest_api_extract]

    # [START howto_operator_s3_stage_load]
    load = S3StageLoadOperator.partial(
        task_id="load",
        stage=STAGE,
        ensure_stage=ensure_stage(),
        file_format={"type": "JSON", "compression": "ZSTD"},
        load_as="variant",
        create_table=True,
        if_empty="succeed",  # a quiet window is not an error
        warehouse=ELT_WAREHOUSE,
    ).expand_kwargs(extract.output.map(load_kwargs))
    # [END howto_operator_s3_stage_load]

    # [START howto_operator_stream_merge]
    merge = SnowflakeStreamMergeOperator.partial(
        task_id="merge",
        append_only=True,  # RAW only ever receives COPY inserts
        dedupe_order_by="RECORD:updated_at::timestamp_ntz",
        delete_condition="RECORD:is_deleted::boolean",
        delete_mode="soft",
        only_newer_by="UPDATED_AT",  # an interval backfilled out of order never overwrites newer rows
        if_empty="succeed",
        warehouse=ELT_WAREHOUSE,
        # Each mapped load/merge emits the asset of the one table it wrote, with its counts (emit_assets). Airflow
        # records events only for assets some DAG declares: RAW.* here (what the merge reads), STAGING.* as
        # dbt_build's inlets (and STAGING.CUSTOMERS in customer_reporting's schedule).
        inlets=[table_asset(f"RAW.{entity}") for entity in ENTITIES],
    ).expand_kwargs(
        [
            {"source_table": f"RAW.{entity.upper()}", "target_table": f"STAGING.{entity.upper()}", **spec}
            for entity, spec in MERGES.items()
        ]
    )
    # [END howto_operator_stream_merge]

    # [START howto_operator_dbt_run]
    dbt_build = DbtRunOperator(
        task_id="dbt_build",
        project_dir=str(DAGS_DIR / "dbt"),
        command="build",
        snowflake_conn_id="snowflake_default",
        target=DBT_TARGET,
        warehouse=TRANSFORM_WAREHOUSE,
        outlets=[table_asset("ANALYTICS.DIM_CUSTOMER"), table_asset("ANALYTICS.FCT_SALES")],  # get dbt's rows
        inlets=[table_asset(f"STAGING.{entity}") for entity in ENTITIES],
    )
    # [END howto_operator_dbt_run]

    # [START howto_operator_quality_gate]
    # [START howto_operator_quality_gate_dim_customer]
    quality_customers = QualityGateOperator(
        task_id="quality_dim_customer",
        snowflake_conn_id="snowflake_default",
        table="ANALYTICS.DIM_CUSTOMER",
        checks=[
            unique("CUSTOMER_ID"),
            not_null(["CUSTOMER_ID", "EMAIL"]),
            accepted_values("STATUS", ["active", "inactive", "churned"]),
            freshness("UPDATED_AT", warn_after="6h", error_after="1 day"),
            row_count_anomaly(lookback=14, max_zscore=3.0),
        ],
        results_table="AUDIT.QUALITY_RESULTS",
        freshness_as_of="{{ window_end() }}",
        warehouse=TRANSFORM_WAREHOUSE,
        outlets=[table_asset("AUDIT.QUALITY_RESULTS")],
    )
    # [END howto_operator_quality_gate_dim_customer]
    # [START howto_operator_quality_gate_fct_sales]
    quality_sales = QualityGateOperator(
        task_id="quality_fct_sales",
        snowflake_conn_id="snowflake_default",
        table="ANALYTICS.FCT_SALES",
        checks=[
            unique("ORDER_ID"),
            not_null(["ORDER_ID", "CUSTOMER_ID", "AMOUNT"]),
            relationships("CUSTOMER_ID", to_table="ANALYTICS.DIM_CUSTOMER", to_column="CUSTOMER_ID"),
            accepted_values("STATUS", ["placed", "shipped", "delivered", "cancelled"]),
            row_count_anomaly(lookback=14, max_zscore=3.0),
        ],
        results_table="AUDIT.QUALITY_RESULTS",
        warehouse=TRANSFORM_WAREHOUSE,
        outlets=[table_asset("AUDIT.QUALITY_RESULTS")],
    )
    # [END howto_operator_quality_gate_fct_sales]
    # [END howto_operator_quality_gate]

    create_tables() >> extract
    load >> merge >> dbt_build >> [quality_customers, quality_sales]
