"""
### Shop database pipeline: PostgreSQL -> S3 -> Snowflake RAW -> STAGING (CDC) -> quality gate

The same shop as `customer_data_pipeline`, read from its application database instead of its API. Every 4
hours, for the data interval:

1. **extract_orders**: the `orders` rows whose `updated_at` is in the window (from the end of the last
   successful run, 15 minutes back for transactions that commit late; the first run reads the whole
   history) and **extract_customers**: a snapshot of `customers` read by two connections in one snapshot,
   with a tombstone for every customer gone since the previous snapshot.
   Both stream to `s3://<bucket>/landing/shop/<table>/<interval>/` as `part-*.jsonl.zst` plus
   `_manifest.json`, PostgreSQL writing each row's JSON.
2. **load**: exactly the manifests' files into `RAW.SHOP_ORDERS` and `RAW.SHOP_CUSTOMERS` (VARIANT),
   verified per file.
3. **merge**: each RAW stream into `STAGING.SHOP_<TABLE>`: latest row per key, `is_deleted` rows and
   tombstones become soft deletes, numerics cast exactly from their decimal text.
4. **quality_shop_orders**: keys, every order's customer present, accepted statuses.

Connections: `postgres_default` (source), `aws_default` (S3), `snowflake_default`.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG, task
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_dataeng import (
    QualityGateOperator,
    S3StageLoadOperator,
    SnowflakeStreamMergeOperator,
    SqlExtractOperator,
)
from airflow_provider_dataeng.quality import accepted_values, not_null, relationships, unique
from airflow_provider_dataeng.windows import WINDOW_MACROS

BUCKET = os.environ.get("DATAENG_BUCKET", "dataeng-local")
STORAGE_INTEGRATION = os.environ.get("DATAENG_STORAGE_INTEGRATION")
DAGS_DIR = Path(__file__).resolve().parent
LANDING_URL = f"s3://{BUCKET}/landing/"
STAGE = (
    {"url": LANDING_URL, "storage_integration": STORAGE_INTEGRATION}
    if STORAGE_INTEGRATION
    else {
        "url": LANDING_URL,
        "aws_conn_id": "aws_default",
    }
)
COLUMNS = {
    "SHOP_CUSTOMERS": {
        "CUSTOMER_ID": "RECORD:id::number",
        "EMAIL": "RECORD:email::string",
        "NAME": "RECORD:name::string",
        "COUNTRY": "RECORD:country::string",
        "STATUS": "RECORD:status::string",
        "CREATED_AT": "RECORD:created_at::timestamp_ntz",
        "UPDATED_AT": "RECORD:updated_at::timestamp_ntz",
    },
    "SHOP_ORDERS": {
        "ORDER_ID": "RECORD:id::number",
        "CUSTOMER_ID": "RECORD:customer_id::number",
        "STATUS": "RECORD:status::string",
        "AMOUNT": "RECORD:amount::number(12, 2)",  # numeric lands as its exact decimal text
        "CURRENCY": "RECORD:currency::string",
        "ORDERED_AT": "RECORD:ordered_at::timestamp_ntz",
        "UPDATED_AT": "RECORD:updated_at::timestamp_ntz",
    },
}
KEYS = {"SHOP_CUSTOMERS": "CUSTOMER_ID", "SHOP_ORDERS": "ORDER_ID"}

# [START howto_dag_shop_database_pipeline]
with DAG(
    dag_id="shop_database_pipeline",
    schedule=CronDataIntervalTimetable("0 */4 * * *", timezone="UTC"),
    start_date=datetime(2024, 1, 8),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "data-platform", "retries": 2, "retry_delay": timedelta(seconds=30)},
    tags=["dataeng", "example", "postgres", "cdc"],
    params={"initial_since": "1970-01-01T00:00:00+00:00"},  # first run: the whole history
    user_defined_macros=WINDOW_MACROS,
    doc_md=__doc__,
) as dag:
    # [END howto_dag_shop_database_pipeline]

    @task
    def create_tables() -> int:
        """Schemas and STAGING tables (dags/sql/create_shop_tables.sql): idempotent DDL."""
        from airflow.sdk import get_current_context

        from airflow_provider_dataeng.hooks.snowflake import split_statements, task_hook

        sql = (DAGS_DIR / "sql" / "create_shop_tables.sql").read_text()
        with task_hook("snowflake_default", get_current_context()).session() as session:
            for statement in split_statements(sql):
                session.run(statement)
            return session.count

    # [START howto_operator_sql_extract]
    extract_orders = SqlExtractOperator(
        task_id="extract_orders",
        sql_conn_id="postgres_default",
        table="public.orders",
        watermark_column="updated_at",
        window_start="{{ changes_since(params.initial_since) | ts }}",
        lookback=timedelta(minutes=15),  # a transaction that commits late is read by the next run
        destination=LANDING_URL + "shop/orders/{{ window_key() }}/",
    )
    extract_customers = SqlExtractOperator(
        task_id="extract_customers",
        sql_conn_id="postgres_default",
        table="public.customers",
        mode="full",  # a snapshot: every row, as of one moment
        max_concurrency=2,  # two connections, each a range of the table's pages, in one snapshot
        key_columns="id",
        delete_detection=True,  # customers gone since the last snapshot land as tombstones
        destination=LANDING_URL + "shop/customers/{{ window_key() }}/",
    )
    # [END howto_operator_sql_extract]

    gate = QualityGateOperator(
        task_id="quality_shop_orders",
        snowflake_conn_id="snowflake_default",
        table="STAGING.SHOP_ORDERS",
        checks=[
            unique("ORDER_ID"),
            not_null(["ORDER_ID", "CUSTOMER_ID", "AMOUNT", "UPDATED_AT"]),
            relationships("CUSTOMER_ID", to_table="STAGING.SHOP_CUSTOMERS", to_column="CUSTOMER_ID"),
            accepted_values("STATUS", ["placed", "shipped", "delivered", "cancelled"]),
        ],
        results_table="AUDIT.QUALITY_RESULTS",
    )

    tables = create_tables()
    for entity, extract in (("SHOP_CUSTOMERS", extract_customers), ("SHOP_ORDERS", extract_orders)):
        load = S3StageLoadOperator(
            task_id=f"load_{entity.lower()}",
            table=f"RAW.{entity}",
            stage="RAW.LANDING",
            ensure_stage=STAGE,
            files=extract.output,
            file_format={"type": "JSON", "compression": "ZSTD"},
            create_table=True,
            if_empty="succeed",  # a quiet window is not an error
        )
        merge = SnowflakeStreamMergeOperator(
            task_id=f"merge_{entity.lower()}",
            source_table=f"RAW.{entity}",
            target_table=f"STAGING.{entity}",
            key_columns=[KEYS[entity]],
            columns=COLUMNS[entity],
            append_only=True,
            dedupe_order_by="RECORD:updated_at::timestamp_ntz",
            # soft-deleted rows (is_deleted), and for snapshots the tombstones of rows that vanished (_deleted)
            delete_condition="RECORD:is_deleted::boolean OR RECORD:_deleted::boolean",
            delete_mode="soft",
            only_newer_by="UPDATED_AT",
            if_empty="succeed",
        )
        tables >> extract >> load >> merge >> gate
