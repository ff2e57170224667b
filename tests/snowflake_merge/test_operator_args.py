"""SnowflakeStreamMergeOperator's argument checks (no server): clear errors, as early as possible."""

from __future__ import annotations

import subprocess
import sys

import pytest

from airflow_provider_dataeng.operators.snowflake_stream_merge import SnowflakeStreamMergeOperator


def build(**overrides):
    args = dict(task_id="merge", target_table="STAGING.USERS", source_table="RAW.USERS", key_columns=["ID"])
    args.update(overrides)
    return SnowflakeStreamMergeOperator(**args)


def test_defaults_and_stream_name() -> None:
    op = build()
    options = op._options()
    assert options.stream.sql == '"RAW"."USERS_STREAM"'
    assert options.target.sql == '"STAGING"."USERS"'
    assert options.key_columns == ("ID",)
    assert (op.delete_mode, op.scd_type, op.schema_evolution, op.if_empty) == ("hard", 1, "fail", "skip")
    assert op.max_active_tis_per_dag == 1  # one consumer of the stream at a time
    assert build(max_active_tis_per_dag=3).max_active_tis_per_dag == 3
    assert build(stream="raw.changes", source_table=None)._options().stream.sql == '"RAW"."CHANGES"'


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(delete_mode="purge"), "delete_mode must be one of hard, soft, ignore, got 'purge'"),
        (dict(scd_type=3), "scd_type must be one of 1, 2, got 3"),
        (dict(schema_evolution="drop"), "schema_evolution must be one of fail, add_columns, got 'drop'"),
        (dict(if_empty="ignore"), "if_empty must be one of succeed, skip, fail, got 'ignore'"),
        (dict(source_table=None), "give stream .* or source_table"),
        (dict(target_table="STAGING.USERS; DROP TABLE X"), "target_table="),
        (dict(key_columns=[]), "key_columns is empty"),
        (dict(key_columns=["bad key"]), "key_columns="),
        (dict(soft_delete_column="a.b"), "soft_delete_column="),
        (dict(columns="NAME"), "columns must be None"),
        (dict(columns={"EMAIL": "RECORD:email::string"}), r"key_columns \['ID'\] are not among"),
        (dict(columns={"ID": "ID", "_VALID_TO": "X"}, scd_type=2), "bookkeeping columns"),
        (dict(dedupe_order_by=""), "dedupe_order_by must be a non-empty SQL expression"),
    ],
)
def test_bad_arguments_fail_at_construction(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(**overrides)


def test_sql_expressions_are_parsed_before_any_sql_is_sent() -> None:
    op = build(delete_condition="IS_DELETED OR", dedupe_order_by="UPDATED_AT")  # the shape is fine
    with pytest.raises(ValueError, match="delete_condition=.* is not a valid Snowflake SQL expression"):
        op._options()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(delete_condition="IS_DELETED OR ("), "delete_condition=.* unbalanced parentheses"),
        (dict(columns={"ID": "(SELECT 1)"}), "subqueries"),
        (dict(dedupe_order_by="UPDATED_AT; DROP TABLE X"), "cannot contain ';'"),
    ],
)
def test_sql_expressions_shapes_are_checked_at_construction(overrides: dict, message: str) -> None:
    """As the quality gate's: no sqlglot at DAG parse time, but ``;``, comments, subqueries refused there."""
    with pytest.raises(ValueError, match=message):
        build(**overrides)


def test_templated_arguments_are_checked_after_rendering() -> None:
    op = build(target_table="{{ params.schema }}.USERS", delete_condition="{{ var.value.cond }}")
    op.target_table = "STAGING.USERS"
    op.delete_condition = "IS_DELETED"
    assert op._options().delete_condition == "IS_DELETED"
    assert set(SnowflakeStreamMergeOperator.template_fields) >= {
        "target_table",
        "stream",
        "columns",
        "delete_condition",
    }


def test_importing_and_building_the_operator_loads_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from airflow_provider_dataeng.operators.snowflake_stream_merge import SnowflakeStreamMergeOperator as Op\n"
        "Op(task_id='m', target_table='S.T', source_table='R.T', key_columns='ID', dedupe_order_by='UPDATED_AT',"
        " columns={'ID': 'RECORD:id::int'}, delete_condition='IS_DELETED')\n"
        "heavy = [m for m in ('snowflake.connector', 'sqlglot', 'boto3', 'pyarrow', 'requests', 'dbt') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
