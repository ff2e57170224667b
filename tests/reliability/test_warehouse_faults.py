"""Warehouse faults: a COPY failing on one bad file, a MERGE failing on a type error, dbt failing on one model.

Each fault must leave the pipeline recoverable: the error names what failed (the file, the value of the
row, the model), nothing partial is visible downstream (RAW, STAGING and the marts keep their previous
state), the stream keeps its changes, and once the input is fixed a retry applies everything exactly once.
The operators run in-process against the local stack, in a Snowflake database of this module's own.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.pipeline.test_example_pipelines import T0, api_records, apply_window, customer_row, order_row
from tests.reliability.test_kill_and_retry import (
    ORDER_COLUMNS,
    ORDERS_DDL,
    STAGING_SQL,
    s3_client,
    snowflake_runner,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DATABASE = "RELIABILITY_FAULTS"
CONN_ID = "reliability_faults"
T1 = "2024-01-08T04:00:00+00:00"
T2 = "2024-01-08T08:00:00+00:00"
PREFIX = "reliability-faults/"


@pytest.fixture(scope="module")
def stack(local_stack: Any, airflow_db: Any) -> Iterator[Any]:
    """The local stack, with connection ``reliability_faults`` = snowflake_default on this module's database."""
    snowflake = copy.deepcopy(local_stack.connections["snowflake_default"])
    snowflake["extra"]["database"] = DATABASE
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(snowflake))
        yield local_stack


@pytest.fixture(scope="module")
def sf(stack: Any):
    run, close = snowflake_runner(stack, DATABASE)
    for schema in ("RAW", "STAGING", "ANALYTICS"):
        run(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    yield run
    close()


@pytest.fixture(scope="module")
def orders(stack: Any) -> list[dict[str, Any]]:
    """The orders of the first interval, as the demo API serves them."""
    return api_records(stack, "orders", T0, T1)


def jsonl_zst(records: list[dict[str, Any]]) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor().compress(b"".join(json.dumps(r).encode() + b"\n" for r in records))


def loader(table: str, files: list[str], stack: Any):
    from airflow_provider_dataeng import S3StageLoadOperator

    return S3StageLoadOperator(
        task_id="load", snowflake_conn_id=CONN_ID, table=table, stage="RAW.FAULTS_LANDING",
        ensure_stage={"url": f"s3://{stack.bucket}/{PREFIX}", "aws_conn_id": "aws_default"},
        file_format={"type": "JSON", "compression": "ZSTD"}, files=files, create_table=True,
    )


def merger(source: str, target: str, *, append_only: bool = True):
    from airflow_provider_dataeng import SnowflakeStreamMergeOperator

    return SnowflakeStreamMergeOperator(
        task_id="merge", snowflake_conn_id=CONN_ID, source_table=source, target_table=target,
        key_columns=["ORDER_ID"], columns=ORDER_COLUMNS, append_only=append_only,
        dedupe_order_by="RECORD:updated_at::timestamp_ntz", delete_condition="RECORD:is_deleted::boolean",
        delete_mode="soft", only_newer_by="UPDATED_AT", if_empty="skip",
    )


def expected_orders(records: list[dict[str, Any]]) -> list[tuple]:
    state: dict[int, tuple] = {}
    apply_window(state, sorted(records, key=lambda r: (r["updated_at"], r["id"])), order_row)
    return [state[k] for k in sorted(state)]


def has_data(sf, stream: str) -> bool:
    return bool(sf(f"SELECT SYSTEM$STREAM_HAS_DATA('{stream}')")[0][0])


def test_copy_failing_on_one_bad_file_commits_nothing_then_the_fixed_retry_loads_each_file_once(
    stack, sf, orders
) -> None:
    from airflow.sdk.exceptions import AirflowException

    s3 = s3_client(stack)
    first, rest = orders[:500], orders[500:]
    thirds = [rest[i::3] for i in range(3)]
    folder = f"{PREFIX}copy"
    uri = f"s3://{stack.bucket}/{folder}"
    # an earlier, good load and merge: RAW, its stream and STAGING hold the first 500 orders
    s3.put_object(Bucket=stack.bucket, Key=f"{folder}/batch-0/part-00000.jsonl.zst", Body=jsonl_zst(first))
    loader("RAW.ORDERS", [f"{uri}/batch-0/part-00000.jsonl.zst"], stack).execute({})
    sf(ORDERS_DDL.format(table="STAGING.ORDERS"))
    merger("RAW.ORDERS", "STAGING.ORDERS").execute({})
    staging_before = sf(STAGING_SQL.format(table="STAGING.ORDERS"))
    assert staging_before == expected_orders(first)

    # the next batch: three good files and, among them, one corrupt .jsonl.zst (truncated mid-frame)
    good = [jsonl_zst(part) for part in thirds]
    names = ["part-00000", "part-00001", "part-00002"]
    bodies = [good[0], good[1][: len(good[1]) // 2], good[2]]
    for name, body in zip(names, bodies):
        s3.put_object(Bucket=stack.bucket, Key=f"{folder}/batch-1/{name}.jsonl.zst", Body=body)
    files = [f"{uri}/batch-1/{name}.jsonl.zst" for name in names]
    with pytest.raises(AirflowException) as err:
        loader("RAW.ORDERS", files, stack).execute({})
    message = str(err.value)
    assert "batch-1/part-00001.jsonl.zst" in message, message  # the error names the bad file
    assert "nothing from this run is committed" in message or "rolled back" in message, message
    # nothing partial: RAW holds only the earlier batch, its stream nothing new, STAGING is unchanged
    assert sf("SELECT COUNT(*) FROM RAW.ORDERS")[0][0] == len(first)
    assert not has_data(sf, "RAW.ORDERS_STREAM")
    assert sf(STAGING_SQL.format(table="STAGING.ORDERS")) == staging_before

    # the file fixed (re-extracted), the retry loads all three files once, the merge applies them once
    s3.put_object(Bucket=stack.bucket, Key=f"{folder}/batch-1/part-00001.jsonl.zst", Body=good[1])
    summary = loader("RAW.ORDERS", files, stack).execute({})
    assert (summary["files_loaded"], summary["files_skipped"], summary["rows_loaded"]) == (3, 0, len(rest))
    assert sf("SELECT COUNT(*), COUNT(DISTINCT _SOURCE_FILE || ':' || _SOURCE_ROW) FROM RAW.ORDERS")[0] == (
        len(orders), len(orders)
    )
    again = loader("RAW.ORDERS", files, stack).execute({})
    assert (again["files_loaded"], again["files_skipped"]) == (0, 3)
    merger("RAW.ORDERS", "STAGING.ORDERS").execute({})
    assert sf(STAGING_SQL.format(table="STAGING.ORDERS")) == expected_orders(orders)


def test_merge_failing_on_a_type_error_consumes_nothing_then_the_fixed_retry_applies_once(
    stack, sf, orders
) -> None:
    from airflow.sdk.exceptions import AirflowException

    sf("CREATE OR REPLACE TABLE RAW.ORDERS_TYPED (RECORD VARIANT)")
    sf(ORDERS_DDL.format(table="STAGING.ORDERS_TYPED"))
    batch = orders[:300]
    bad_id = batch[137]["id"]
    rows = [dict(r, amount="12,50 EUR") if r["id"] == bad_id else r for r in batch]
    # a standard (not append-only) stream: the fix below is an UPDATE of the landed row
    sf("CREATE OR REPLACE STREAM RAW.ORDERS_TYPED_STREAM ON TABLE RAW.ORDERS_TYPED")
    conn_rows = [json.dumps(r) for r in rows]
    for start in range(0, len(conn_rows), 100):
        chunk = conn_rows[start:start + 100]
        sf("INSERT INTO RAW.ORDERS_TYPED SELECT PARSE_JSON(COLUMN1) FROM VALUES "
           + ", ".join("('" + text.replace("'", "''") + "')" for text in chunk))
    assert has_data(sf, "RAW.ORDERS_TYPED_STREAM")

    with pytest.raises(AirflowException) as err:
        merger("RAW.ORDERS_TYPED", "STAGING.ORDERS_TYPED", append_only=False).execute({})
    message = str(err.value)
    # the error names the target, the unconsumed stream, the failing column and the value that cannot be cast
    assert message.startswith(
        'MERGE into "STAGING"."ORDERS_TYPED" failed and applied nothing: stream "RAW"."ORDERS_TYPED_STREAM" '
        "still holds its 300 change rows, and a retry after the fix applies them once; the column(s) that cannot "
        "be computed for some change rows: AMOUNT = (RECORD:amount::number(12, 2)). Snowflake said: "
    ), message
    assert '"12,50 EUR"' in message, message
    # nothing applied, the stream still holds the whole batch
    assert sf(STAGING_SQL.format(table="STAGING.ORDERS_TYPED")) == []
    assert has_data(sf, "RAW.ORDERS_TYPED_STREAM")

    # the landed record fixed in place: the retry applies the whole batch, once
    fixed = next(r for r in batch if r["id"] == bad_id)
    sf(f"UPDATE RAW.ORDERS_TYPED SET RECORD = PARSE_JSON('{json.dumps(fixed)}') WHERE RECORD:id::number = {bad_id}")
    summary = merger("RAW.ORDERS_TYPED", "STAGING.ORDERS_TYPED", append_only=False).execute({})
    expected = expected_orders(batch)
    assert summary["inserted"] == len(expected) and summary["empty"] is False
    assert sf(STAGING_SQL.format(table="STAGING.ORDERS_TYPED")) == expected
    assert not has_data(sf, "RAW.ORDERS_TYPED_STREAM")


def test_probe_column_sql_is_golden_and_parses() -> None:
    import sqlglot

    from airflow_provider_dataeng.sql.identifiers import parse_object_name
    from airflow_provider_dataeng.sql.merge import build_probe_column_sql

    sql = build_probe_column_sql(parse_object_name("RAW.ORDERS_STREAM", param="stream"), "(RECORD:amount::number(12, 2))")
    assert sql == 'SELECT COUNT((RECORD:amount::number(12, 2))) AS "N" FROM "RAW"."ORDERS_STREAM"'
    assert sqlglot.parse_one(sql, read="snowflake").sql("snowflake")


DBT_DATABASE = "RELIABILITY_DBT"
DBT_CONN_ID = "reliability_dbt"
# fct_sales with a cast that fails at run time on real rows ('USD' is not a number): one model fails
BROKEN_FCT_SALES = "    cast(o.ordered_at as date) as order_date,\n"
FACT_SQL = (
    "SELECT ORDER_ID, CUSTOMER_ID, STATUS, AMOUNT, CURRENCY, ORDERED_AT, ORDER_DATE, IS_CANCELLED "
    "FROM ANALYTICS.FCT_SALES ORDER BY ORDER_ID"
)


def _literal(value: Any) -> str:
    from airflow_provider_dataeng.sql.identifiers import quote_string

    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    return quote_string(str(value))


def fill_staging(sf, customers: dict[int, tuple], orders: dict[int, tuple]) -> None:
    """STAGING as the merge leaves it (the data contract dbt reads), replaced wholesale."""
    for table, state in (("STAGING.CUSTOMERS", customers), ("STAGING.ORDERS", orders)):
        sf(f"TRUNCATE TABLE {table}")
        rows = [(*values[:-1], "CURRENT_TIMESTAMP()" if values[-1] else None) for values in state.values()]
        for start in range(0, len(rows), 1000):
            sf(f"INSERT INTO {table} VALUES " + ", ".join(
                "(" + ", ".join(v if v == "CURRENT_TIMESTAMP()" else _literal(v) for v in row) + ")"
                for row in rows[start:start + 1000]
            ))


def expected_fact(customers: dict[int, tuple], orders: dict[int, tuple]) -> list[tuple]:
    live = {k for k, v in customers.items() if not v[-1]}
    return [
        (v[0], v[1], v[2], v[3], v[4].upper(), v[5], v[5].date(), v[2] == "cancelled")
        for k, v in sorted(orders.items()) if not v[-1] and v[1] in live
    ]


@pytest.fixture(scope="module")
def dbt_env(stack: Any) -> Iterator[Any]:
    snowflake = copy.deepcopy(stack.connections["snowflake_default"])
    snowflake["extra"]["database"] = DBT_DATABASE
    run, close = snowflake_runner(stack, DBT_DATABASE)
    for schema in ("STAGING", "ANALYTICS"):
        run(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    run(ORDERS_DDL.format(table="STAGING.ORDERS"))
    run("CREATE TABLE IF NOT EXISTS STAGING.CUSTOMERS (CUSTOMER_ID NUMBER(38, 0) NOT NULL, EMAIL VARCHAR, "
        "NAME VARCHAR, COUNTRY VARCHAR, STATUS VARCHAR, CREATED_AT TIMESTAMP_NTZ, UPDATED_AT TIMESTAMP_NTZ, "
        "_DELETED_AT TIMESTAMP_LTZ)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(f"AIRFLOW_CONN_{DBT_CONN_ID.upper()}", json.dumps(snowflake))
        yield run
    close()


def dbt(project: Path):
    from airflow_provider_dataeng import DbtRunOperator

    return DbtRunOperator(
        task_id="dbt_build", project_dir=str(project), command="run", snowflake_conn_id=DBT_CONN_ID, target="local"
    )


def test_dbt_failing_on_one_model_keeps_the_previous_mart_then_the_fixed_retry_builds_it_once(
    stack, dbt_env, tmp_path
) -> None:
    from airflow.sdk.exceptions import AirflowException

    sf = dbt_env
    good = tmp_path / "good"
    shutil.copytree(ROOT / "dags" / "dbt", good, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    broken = tmp_path / "broken"
    shutil.copytree(good, broken)
    fct = broken / "models" / "marts" / "fct_sales.sql"
    text = fct.read_text()
    assert BROKEN_FCT_SALES in text
    fct.write_text(text.replace(BROKEN_FCT_SALES, BROKEN_FCT_SALES + "    cast(o.currency as number) as currency_code,\n"))

    customers: dict[int, tuple] = {}
    orders: dict[int, tuple] = {}
    apply_window(customers, api_records(stack, "customers", T0, T1), customer_row)
    apply_window(orders, api_records(stack, "orders", T0, T1), order_row)
    fill_staging(sf, customers, orders)
    dbt(good).execute({})
    first = sf(FACT_SQL)
    assert first == expected_fact(customers, orders) and len(first) > 4000

    # the next interval lands in STAGING; the dbt run fails on fct_sales alone
    apply_window(customers, api_records(stack, "customers", T1, T2), customer_row)
    apply_window(orders, api_records(stack, "orders", T1, T2), order_row)
    fill_staging(sf, customers, orders)
    with pytest.raises(AirflowException) as err:
        dbt(broken).execute({})
    message = str(err.value)
    assert message.startswith("dbt run failed: 1 node(s) failed\n- model.dataeng_demo.fct_sales [error]: "), message
    assert "USD" in message or "convert" in message.lower(), message
    assert sf(FACT_SQL) == first  # nothing partial: the mart keeps the last good build

    # the model fixed, the retry builds it once: the new interval's state, each order once
    summary = dbt(good).execute({})
    assert summary["success"] is True
    assert sorted((n["unique_id"], n["status"]) for n in summary["nodes"]) == [
        ("model.dataeng_demo.dim_customer", "success"),
        ("model.dataeng_demo.fct_sales", "success"),
        ("model.dataeng_demo.stg_customers", "success"),
        ("model.dataeng_demo.stg_orders", "success"),
    ]
    assert sf(FACT_SQL) == expected_fact(customers, orders)
    assert sf("SELECT COUNT(*) - COUNT(DISTINCT ORDER_ID) FROM ANALYTICS.STG_ORDERS")[0][0] == 0
    assert sf("SELECT COUNT(*) FROM ANALYTICS.STG_ORDERS")[0][0] == len(orders)
