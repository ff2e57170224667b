"""A merge task whose connection names a real-looking account (run by tests/lineage/test_links.py): the
Snowsight extra link is pushed at execute time and evaluated by Airflow when the task finishes."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_dataeng.operators.snowflake_stream_merge import SnowflakeStreamMergeOperator

with DAG("dataeng_lineage_link", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    SnowflakeStreamMergeOperator(
        task_id="merge_accounts",
        snowflake_conn_id="snowflake_lineage",
        source_table="LINEAGE.ACCOUNTS_RAW",
        target_table="LINEAGE.ACCOUNTS",
        key_columns="ID",
        if_empty="succeed",
    )
