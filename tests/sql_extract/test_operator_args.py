"""SqlExtractOperator refuses bad arguments when the DAG is parsed, naming the parameter and the fix."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from airflow_provider_dataeng.operators.sql_extract import SqlExtractOperator

OK = {"table": "public.orders", "destination": "s3://bucket/orders/", "watermark_column": "updated_at"}


def make(**kwargs: Any) -> SqlExtractOperator:
    return SqlExtractOperator(task_id="extract", **{**OK, **kwargs})


def test_defaults() -> None:
    op = make()
    assert (op.sql_conn_id, op.mode, op.table, op.watermark_column, op.lookback) == (
        "postgres_default", "incremental", ("public", "orders"), ("updated_at",), 0.0)
    assert make(lookback=timedelta(hours=1)).lookback == 3600.0
    assert make(mode="full", watermark_column=None).mode == "full"
    full = make(mode="full", watermark_column=None, key_columns=["Region", "id"], delete_detection=True)
    assert (full.key_columns, full.delete_detection) == (("region", "id"), True)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"sql": "SELECT 1"}, "give either table= .* or sql= .*, not both or neither"),
    ({"table": None}, "give either table="),
    ({"table": "orders; DROP TABLE x"}, r"^table='orders; DROP TABLE x' is not a PostgreSQL name"),
    ({"watermark_column": None}, "mode='incremental' reads the rows changed in the run's window: give watermark_column="),
    ({"watermark_column": "updated at"}, "^watermark_column='updated at' is not a PostgreSQL name"),
    ({"mode": "snapshot"}, "mode must be one of incremental, full, got 'snapshot'"),
    ({"mode": "full"}, "watermark_column, lookback, window_start and window_end select the rows of mode='incremental'"),
    ({"lookback": -1}, "lookback must be a non-negative timedelta or seconds, got -1"),
    ({"lookback": "1h"}, "lookback must be a non-negative timedelta or seconds"),
    ({"columns": "id"}, "columns must be a non-empty list of column names"),
    ({"columns": ["id", "x-y"]}, "^columns='x-y'"),
    ({"table": None, "sql": "SELECT 1 AS id", "columns": ["id"]}, "columns= picks columns of table=; with sql= select"),
    ({"sql": "  ", "table": None}, "sql must be a non-empty SELECT statement"),
    ({"partitions": 4}, "partitions= and partition= split the rows by partition_by=: give partition_by too"),
    ({"partition_by": "id", "partitions": 0, "partition": 0}, "partitions must be a positive integer, got 0"),
    ({"partition_by": "id", "partitions": 4}, r"partition_by= needs partition= \(this instance's part"),
    ({"partition_by": "id", "partitions": 4, "partition": 4}, r"partition must be an integer from 0 to 3 \(partitions=4\), got 4"),
    ({"partition_by": "id", "partitions": 4, "partition": "x"}, "partition must be an integer from 0 to 3"),
    ({"max_concurrency": 0}, "max_concurrency must be a positive integer, got 0"),
    ({"delete_detection": True}, "delete_detection=True compares full snapshots by key: use it with mode='full' and key_columns="),
    ({"mode": "full", "watermark_column": None, "delete_detection": True}, "delete_detection=True compares full snapshots"),
    ({"mode": "full", "watermark_column": None, "key_columns": "id"}, "key_columns= names the keys delete_detection=True compares"),
    ({"mode": "full", "watermark_column": None, "key_columns": ["id", "a b"], "delete_detection": True}, "^key_columns='a b'"),
    ({"delete_detection": "yes"}, "delete_detection must be True or False"),
    ({"destination": "bucket/orders"}, "destination must be an object-storage URL"),
    ({"part_format": "csv"}, "part_format"),
    ({"if_empty": "ignore"}, "if_empty must be one of succeed, skip, fail, got 'ignore'"),
    ({"emit_assets": "yes"}, "emit_assets must be True or False"),
    ({"progress_interval": 0}, "progress_interval must be positive seconds"),
])
def test_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(**kwargs)


def test_templated_values_wait_for_rendering() -> None:
    op = make(destination="s3://bucket/orders/{{ ds }}/", partition_by="id", partitions=4,
              partition="{{ ti.map_index }}", window_start="{{ data_interval_start }}")
    assert op.partition == "{{ ti.map_index }}"
    assert set(op.template_fields) == {"sql", "destination", "window_start", "window_end", "partition"}
