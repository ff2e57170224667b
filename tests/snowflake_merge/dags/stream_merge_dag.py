"""Example DAG (run by tests/snowflake_merge/test_merge_in_airflow.py): a VARIANT landing table merged
into a typed staging table through its stream."""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_dataeng.operators.snowflake_stream_merge import SnowflakeStreamMergeOperator

RAW = os.environ.get("DATAENG_MERGE_TEST_RAW", "RAW")
STAGING = os.environ.get("DATAENG_MERGE_TEST_STAGING", "STAGING")

with DAG("dataeng_stream_merge", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    # [START howto_operator_stream_merge]
    merge_users = SnowflakeStreamMergeOperator(
        task_id="merge_users",
        snowflake_conn_id="snowflake_default",
        source_table=f"{RAW}.USERS",  # its stream RAW.USERS_STREAM is created if missing
        target_table=f"{STAGING}.USERS",
        key_columns=["ID"],
        append_only=True,  # a landing table: COPY only inserts
        columns={  # typed columns out of the raw VARIANT
            "ID": "RECORD:id::int",
            "EMAIL": "RECORD:email::string",
            "UPDATED_AT": "RECORD:updated_at::timestamp_ntz",
        },
        dedupe_order_by="RECORD:updated_at::timestamp_ntz",  # the newest record of a key wins
        delete_condition="RECORD:deleted::boolean",  # tombstones delete
        delete_mode="soft",  # ...by stamping STAGING.USERS._DELETED_AT
        schema_evolution="add_columns",  # adds _DELETED_AT on the first run
    )
    # [END howto_operator_stream_merge]
