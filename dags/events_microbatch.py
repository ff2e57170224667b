"""
### Events micro-batch: near-real-time ingestion without a message broker

Every 5 minutes: the source API's append-only `events` for the window are streamed to S3, loaded into
`RAW.EVENTS` (verified per file), and an append-only stream on it is merged into `STAGING.EVENTS`,
deduplicated on `EVENT_ID` (an event delivered twice, e.g. by a retried extract, lands once). A quality
gate then checks keys, types and freshness. Each step is idempotent, so a retried or re-run interval leaves
the same final state; `max_active_runs=1` keeps stream consumption in order.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG, task
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_dataeng import (
    CursorPaginator,
    QualityGateOperator,
    RestApiExtractOperator,
    S3StageLoadOperator,
    SnowflakeStreamMergeOperator,
)
from airflow_provider_dataeng.assets import snowflake_table_asset
from airflow_provider_dataeng.quality import accepted_values, freshness, not_null, row_count, unique
from airflow_provider_dataeng.windows import WINDOW_MACROS

BUCKET = os.environ.get("DATAENG_BUCKET", "dataeng-local")
STORAGE_INTEGRATION = os.environ.get("DATAENG_STORAGE_INTEGRATION")
SNOWFLAKE_ACCOUNT = os.environ.get("DATAENG_SNOWFLAKE_ACCOUNT", "fakesnow")
DATABASE = os.environ.get("DATAENG_DATABASE", "DEMO")
DAGS_DIR = Path(__file__).resolve().parent
LANDING_URL = f"s3://{BUCKET}/landing/"

# [START howto_dag_events_microbatch]
with DAG(
    dag_id="events_microbatch",
    schedule=CronDataIntervalTimetable("*/5 * * * *", timezone="UTC"),
    start_date=datetime(2024, 1, 8),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "data-platform", "retries": 3, "retry_delay": timedelta(seconds=20)},
    tags=["dataeng", "example", "streaming"],
    user_defined_macros=WINDOW_MACROS,  # window_start(), window_end(), window_key() for every run type
    doc_md=__doc__,
) as dag:
    # [END howto_dag_events_microbatch]

    @task
    def create_tables() -> int:
        """RAW/STAGING schemas and STAGING.EVENTS (dags/sql/create_events_tables.sql): idempotent DDL."""
        from airflow.sdk import get_current_context

        from airflow_provider_dataeng.hooks.snowflake import split_statements, task_hook

        sql = (DAGS_DIR / "sql" / "create_events_tables.sql").read_text()
        with task_hook("snowflake_default", get_current_context()).session() as session:
            for statement in split_statements(sql):
                session.run(statement)
            return session.count

    # [START howto_events_rest_api_extract]
    extract = RestApiExtractOperator(
        task_id="extract_events",
        http_conn_id="demo_api",
        endpoint="/v1/events",
        query_params={
            # The data interval; a run without a logical date: since the last successful run's interval, up to
            # the trigger time. Events: the window applies to occurred_at.
            "updated_since": "{{ window_start() | ts }}",
            "updated_before": "{{ window_end() | ts }}",
            "as_of": "{{ window_end() | ts }}",
            "limit": 1000,
        },
        records_path="data",
        paginator=CursorPaginator(cursor_path="next_cursor", has_more_path="has_more"),
        destination=LANDING_URL + "events/{{ window_key() }}/",
    )
    # [END howto_events_rest_api_extract]

    # [START howto_events_s3_stage_load]
    load = S3StageLoadOperator(
        task_id="load_events",
        table="RAW.EVENTS",
        stage="RAW.LANDING",
        ensure_stage=(
            {"url": LANDING_URL, "storage_integration": STORAGE_INTEGRATION}
            if STORAGE_INTEGRATION
            else {"url": LANDING_URL, "aws_conn_id": "aws_default"}
        ),
        files=extract.output,
        file_format={"type": "JSON", "compression": "ZSTD"},
        create_table=True,
        if_empty="succeed",
        outlets=[snowflake_table_asset("RAW.EVENTS", account=SNOWFLAKE_ACCOUNT, database=DATABASE)],
    )
    # [END howto_events_s3_stage_load]

    # [START howto_events_stream_merge]
    merge = SnowflakeStreamMergeOperator(
        task_id="merge_events",
        source_table="RAW.EVENTS",
        target_table="STAGING.EVENTS",
        key_columns=["EVENT_ID"],
        append_only=True,
        columns={
            "EVENT_ID": "RECORD:event_id::number",
            "CUSTOMER_ID": "RECORD:customer_id::number",
            "TYPE": "RECORD:type::string",
            "OCCURRED_AT": "RECORD:occurred_at::timestamp_ntz",
            "PAYLOAD": "RECORD:payload",
        },
        dedupe_order_by="RECORD:occurred_at::timestamp_ntz",
        delete_mode="ignore",  # events are never deleted
        if_empty="succeed",
        outlets=[snowflake_table_asset("STAGING.EVENTS", account=SNOWFLAKE_ACCOUNT, database=DATABASE)],
    )
    # [END howto_events_stream_merge]

    # [START howto_events_quality_gate]
    gate = QualityGateOperator(
        task_id="quality_events",
        snowflake_conn_id="snowflake_default",
        table="STAGING.EVENTS",
        checks=[
            unique("EVENT_ID"),
            not_null(["EVENT_ID", "CUSTOMER_ID", "TYPE", "OCCURRED_AT"]),
            accepted_values("TYPE", ["page_view", "login", "add_to_cart", "checkout", "logout"]),
            row_count(min=1),
            freshness("OCCURRED_AT", error_after="15 minutes"),
        ],
        results_table="AUDIT.QUALITY_RESULTS",
        freshness_as_of="{{ window_end() }}",
    )
    # [END howto_events_quality_gate]

    create_tables() >> extract >> load >> merge >> gate
