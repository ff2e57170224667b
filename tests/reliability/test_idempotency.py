"""Idempotency of the whole example DAG: re-runs and out-of-order backfills give the in-order tables.

Two Snowflake databases on the local stack, the DAG run with ``airflow dags test``:
- ``IDEMPOTENCY_IN_ORDER``: one in-order run for the interval ending T3 (the first run of a deployment
  loads the whole history up to its interval's end): the reference (the in-order T1, T2, T3 sequence is the
  pipeline test's);
- ``IDEMPOTENCY_SHUFFLED``: three intervals backfilled out of order (T2, T1, T3), then T3 run a second time.
The marts and STAGING must then be identical to the reference, and both databases equal
the state the demo API's own responses give for the windows they loaded (the pipeline test's independent
computation). The Airflow
metadata of the DAG is deleted before each scenario, so each starts as a first deployment: its first run
loads everything since the start of the data, later ones since the previous successful interval (by
logical date, as the DAG templates it): T2 loads [T0, T2), the late T1 replays the stale [T0, T1), T3 loads
[T2, T3). The late T1 must change nothing (the merge's ``only_newer_by``), the repeated T3 neither.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.pipeline.test_example_pipelines import (
    T0,
    airflow,
    api_records,
    apply_window,
    check_tables,
    customer_row,
    dags_test,
    order_row,
)
from tests.reliability.test_kill_and_retry import snowflake_runner, stack_env

DAG_ID = "customer_data_pipeline"
T1 = "2024-01-08T04:00:00+00:00"
T2 = "2024-01-08T08:00:00+00:00"
T3 = "2024-01-08T12:00:00+00:00"
IN_ORDER, SHUFFLED = "IDEMPOTENCY_IN_ORDER", "IDEMPOTENCY_SHUFFLED"
SCHEMAS = ("STAGING", "ANALYTICS")


def forget_dag_runs(env: dict[str, str]) -> None:
    """Delete the DAG's runs from the Airflow metadata: the next run is a first deployment's."""
    result = airflow(env, "dags", "delete", DAG_ID, "--yes")
    assert result.returncode == 0 or "not found" in (result.stdout + result.stderr).lower(), (
        result.stdout + result.stderr
    )[-3000:]


def snapshot(sf) -> dict[str, list[tuple]]:
    """Every STAGING and ANALYTICS table's rows, sorted; run-time stamps reduced to 'set or not'."""
    tables = sf(
        "SELECT TABLE_SCHEMA, TABLE_NAME FROM INFORMATION_SCHEMA.TABLES "
        f"WHERE TABLE_SCHEMA IN ({', '.join(repr(s) for s in SCHEMAS)}) ORDER BY 1, 2"
    )
    out: dict[str, list[tuple]] = {}
    for schema, table in tables:
        columns = sf(
            "SELECT COLUMN_NAME, DATA_TYPE FROM INFORMATION_SCHEMA.COLUMNS "
            f"WHERE TABLE_SCHEMA = '{schema}' AND TABLE_NAME = '{table}' ORDER BY ORDINAL_POSITION"
        )
        select = []
        for name, data_type in columns:
            if name == "_DELETED_AT":  # the time the merge ran
                select.append(f'"{name}" IS NOT NULL')
            elif data_type.upper() in ("NUMBER", "FLOAT", "DECIMAL", "DOUBLE"):
                select.append(f'"{name}"::NUMBER(38, 4)')  # sums come back as floats from the stand-in
            else:
                select.append(f'"{name}"')
        out[f"{schema}.{table}"] = sorted(
            sf(f'SELECT {", ".join(select)} FROM "{schema}"."{table}"'), key=repr
        )
    return out


@pytest.fixture(scope="module")
def stack(local_stack: Any, airflow_db: Any) -> Any:
    return local_stack


def run_scenario(stack: Any, database: str, run_afters: list[str]) -> tuple[Any, list[dict[str, list[tuple]]]]:
    """Run the DAG for each interval in turn into ``database``; the tables after each run."""
    env = {**stack_env(stack, database), "DATAENG_DATABASE": database, "DATAENG_BUCKET": stack.bucket}
    forget_dag_runs(env)
    sf, close = snowflake_runner(stack, database)
    states = []
    try:
        for run_after in run_afters:
            dags_test(env, DAG_ID, run_after)
            states.append(snapshot(sf))
    finally:
        forget_dag_runs(env)
    return (sf, close), states


# The whole scenario runs five pipeline runs (about 200 s): `make test-idempotency`. CI runs the part no other
# test covers, a late stale interval after a newer one (two runs), and checks it against the source's state;
# re-running one interval is the pipeline test's.
FULL = os.environ.get("DATAENG_IDEMPOTENCY") == "full"


def expected(stack: Any, windows: list[tuple[str, str]]) -> tuple[dict[int, tuple], dict[int, tuple]]:
    """The STAGING/mart state the source's own responses give for these windows, applied in order."""
    customers: dict[int, tuple] = {}
    orders: dict[int, tuple] = {}
    for since, before in windows:
        apply_window(customers, api_records(stack, "customers", since, before), customer_row)
        apply_window(orders, api_records(stack, "orders", since, before), order_row)
    return customers, orders


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.skipif(FULL, reason="make test-idempotency runs the whole scenario instead")
def test_a_late_stale_interval_changes_nothing(stack) -> None:
    """T2 lands [T0, T2); the late T1 replays [T0, T1) with older versions of rows T2 landed: no change."""
    (shuffled_sf, close_shuffled), shuffled = run_scenario(stack, SHUFFLED, [T2, T1])
    try:
        assert shuffled[1] == shuffled[0]
        check_tables(shuffled_sf, *expected(stack, [(T0, T2)]))
        assert len(shuffled[1]["STAGING.ORDERS"]) > 5000 and any(r[-1] for r in shuffled[1]["STAGING.ORDERS"])
    finally:
        close_shuffled()


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.skipif(not FULL, reason="five pipeline runs: make test-idempotency")
def test_reruns_and_an_out_of_order_backfill_give_the_in_order_tables(stack) -> None:
    (in_order_sf, close_in_order), in_order = run_scenario(stack, IN_ORDER, [T3])
    (shuffled_sf, close_shuffled), shuffled = run_scenario(stack, SHUFFLED, [T2, T1, T3, T3])
    try:
        reference = in_order[-1]
        assert len(reference["STAGING.ORDERS"]) > 5000 and len(reference["ANALYTICS.FCT_SALES"]) > 4000

        # each database holds exactly the source's state for the windows its runs loaded (computed
        # independently from the API): the reference [T0, T3); the backfill [T0, T2) then [T2, T3), the late
        # T1 (a replay of [T0, T1) as of T1, older versions of rows T2 had landed) having changed nothing
        check_tables(in_order_sf, *expected(stack, [(T0, T3)]))
        check_tables(shuffled_sf, *expected(stack, [(T0, T2), (T2, T3)]))

        assert shuffled[1] == shuffled[0]  # the late, stale interval T1 changed nothing T2 had landed
        assert shuffled[3] == shuffled[2]  # the same interval run twice: the second run changes nothing
        # out of order, the backfill ends in exactly the in-order state: every mart row
        for name in ("ANALYTICS.DIM_CUSTOMER", "ANALYTICS.FCT_SALES"):
            assert shuffled[-1][name] == reference[name], name
        # every STAGING row too, soft-deleted ones included (tombstones of unseen keys are kept)
        for name in ("STAGING.CUSTOMERS", "STAGING.ORDERS"):
            assert shuffled[-1][name] == reference[name], name
            assert any(r[-1] for r in reference[name]) and len(live(reference[name])) > 1000
    finally:
        close_in_order()
        close_shuffled()


def live(rows: list[tuple]) -> list[tuple]:
    """STAGING rows not soft-deleted (the last column of a snapshot is ``_DELETED_AT IS NOT NULL``)."""
    return [r for r in rows if not r[-1]]


@pytest.mark.parametrize("delete_mode", ["soft", "hard"])
def test_only_newer_by_guards_every_matched_clause(delete_mode) -> None:
    """The guard's SQL, golden and parsed: every WHEN MATCHED clause compares the column."""
    import sqlglot

    from airflow_provider_dataeng.sql.identifiers import parse_object_name
    from airflow_provider_dataeng.sql.merge import MergeSpec, build_merge_sql

    spec = MergeSpec(
        target=parse_object_name("STAGING.ORDERS", param="target_table"),
        stream=parse_object_name("RAW.ORDERS_STREAM", param="stream"),
        key_columns=("ORDER_ID",),
        columns=(("ORDER_ID", '"ORDER_ID"'), ("STATUS", '"STATUS"'), ("UPDATED_AT", '"UPDATED_AT"')),
        dedupe_order_by=('"UPDATED_AT"',),
        delete_mode=delete_mode,
        delete_condition='"IS_DELETED"',
        only_newer_by="UPDATED_AT",
    )
    sql = build_merge_sql(spec)
    guard = ' AND ("S"."UPDATED_AT" IS NULL OR "T"."UPDATED_AT" IS NULL OR "S"."UPDATED_AT" >= "T"."UPDATED_AT")'
    clauses = sql.split("\n")[3:]
    if delete_mode == "soft":
        assert clauses == [
            f'WHEN MATCHED AND "S"."__DATAENG_DELETE" AND "T"."_DELETED_AT" IS NULL{guard} THEN UPDATE SET '
            '"STATUS" = COALESCE("S"."STATUS", "T"."STATUS"), "UPDATED_AT" = COALESCE("S"."UPDATED_AT", '
            '"T"."UPDATED_AT"), "_DELETED_AT" = CURRENT_TIMESTAMP()',
            f'WHEN MATCHED AND NOT "S"."__DATAENG_DELETE"{guard} THEN UPDATE SET "STATUS" = "S"."STATUS", '
            '"UPDATED_AT" = "S"."UPDATED_AT", "_DELETED_AT" = NULL',
            'WHEN NOT MATCHED AND NOT "S"."__DATAENG_DELETE" THEN INSERT ("ORDER_ID", "STATUS", "UPDATED_AT") '
            'VALUES ("S"."ORDER_ID", "S"."STATUS", "S"."UPDATED_AT")',
            # a tombstone of an unseen key is kept, soft-deleted: a later, older version meets the guard
            'WHEN NOT MATCHED AND "S"."__DATAENG_DELETE" THEN INSERT ("ORDER_ID", "STATUS", "UPDATED_AT", '
            '"_DELETED_AT") VALUES ("S"."ORDER_ID", "S"."STATUS", "S"."UPDATED_AT", CURRENT_TIMESTAMP())',
        ]
    else:
        assert clauses == [
            f'WHEN MATCHED AND "S"."__DATAENG_DELETE"{guard} THEN DELETE',
            f'WHEN MATCHED AND NOT "S"."__DATAENG_DELETE"{guard} THEN UPDATE SET "STATUS" = "S"."STATUS", '
            '"UPDATED_AT" = "S"."UPDATED_AT"',
            'WHEN NOT MATCHED AND NOT "S"."__DATAENG_DELETE" THEN INSERT ("ORDER_ID", "STATUS", "UPDATED_AT") '
            'VALUES ("S"."ORDER_ID", "S"."STATUS", "S"."UPDATED_AT")',
        ]
    assert isinstance(sqlglot.parse_one(sql, read="snowflake"), sqlglot.exp.Merge)
    # without the option the statement is unchanged (no guard)
    import dataclasses

    assert guard not in build_merge_sql(dataclasses.replace(spec, only_newer_by=None))


def test_only_newer_by_is_checked_when_the_operator_is_built() -> None:
    from airflow_provider_dataeng import SnowflakeStreamMergeOperator

    common = dict(task_id="m", target_table="STAGING.ORDERS", source_table="RAW.ORDERS", key_columns="ORDER_ID",
                  columns={"ORDER_ID": "RECORD:id::number", "UPDATED_AT": "RECORD:updated_at::timestamp_ntz"})
    with pytest.raises(ValueError, match=r"only_newer_by='MISSING' must be one of the merged non-key columns"):
        SnowflakeStreamMergeOperator(**common, only_newer_by="MISSING")
    with pytest.raises(ValueError, match=r"only_newer_by applies to scd_type=1"):
        SnowflakeStreamMergeOperator(**common, only_newer_by="UPDATED_AT", scd_type=2)
    with pytest.raises(ValueError, match=r"only_newer_by"):
        SnowflakeStreamMergeOperator(**common, only_newer_by='X"; DROP TABLE T; --')
