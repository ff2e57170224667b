"""The MERGE builder: golden SQL for every option combination, each parsed by sqlglot's Snowflake dialect."""

from __future__ import annotations

import itertools

import pytest
import sqlglot
from sqlglot import exp

from airflow_provider_dataeng.sql.identifiers import parse_object_name
from airflow_provider_dataeng.sql.merge import (
    MergeConfigError,
    MergeSpec,
    build_add_columns_sql,
    build_merge_sql,
    missing_bookkeeping_columns,
    normalize_columns_arg,
    parse_merge_counts,
    plan_columns,
    source_key_expressions,
)
from airflow_provider_dataeng.sql.stream import ColumnInfo
from tests.snowflake_merge import golden_util

TARGET = parse_object_name("ANALYTICS.STAGING.USERS", param="target_table")
STREAM = parse_object_name("ANALYTICS.RAW.USERS_STREAM", param="stream")
COLUMNS = (("ID", '"ID"'), ("NAME", '"NAME"'), ("UPDATED_AT", '"UPDATED_AT"'))


def spec(**overrides) -> MergeSpec:
    values = dict(target=TARGET, stream=STREAM, key_columns=("ID",), columns=COLUMNS)
    values.update(overrides)
    return MergeSpec(**values)


def all_cases() -> dict[str, MergeSpec]:
    cases: dict[str, MergeSpec] = {}
    for scd_type, delete_mode, condition, dedupe in itertools.product(
        (1, 2), ("hard", "soft", "ignore"), (None, "IS_DELETED"), ((), ("UPDATED_AT", "RECORD:seq::int"))
    ):
        name = f"scd{scd_type}-{delete_mode}-cond_{bool(condition)}-dedupe_{len(dedupe)}"
        cases[name] = spec(
            scd_type=scd_type, delete_mode=delete_mode, delete_condition=condition, dedupe_order_by=dedupe
        )
    mapped = (("ID", "(RECORD:id::int)"), ("EMAIL", "(RECORD:email::string)"), ("TENANT", '("TENANT")'))
    cases["scd1-composite-key-mapping"] = spec(key_columns=("TENANT", "ID"), columns=mapped)
    cases["scd2-composite-key-mapping"] = spec(key_columns=("TENANT", "ID"), columns=mapped, scd_type=2)
    cases["scd1-keys-only"] = spec(columns=(("ID", '"ID"'),))
    cases["scd2-keys-only"] = spec(columns=(("ID", '"ID"'),), scd_type=2)
    cases["scd1-soft-custom-column"] = spec(delete_mode="soft", soft_delete_column="removed at")
    cases["unqualified-names"] = spec(
        target=parse_object_name("users", param="t"), stream=parse_object_name('"raw stream"', param="s")
    )
    return cases


def test_merge_sql_matches_golden_for_every_option_combination() -> None:
    golden_util.check("merge.sql", {name: build_merge_sql(s) for name, s in all_cases().items()})


@pytest.mark.parametrize("name", sorted(all_cases()))
def test_every_merge_parses_as_one_snowflake_merge(name: str) -> None:
    sql = build_merge_sql(all_cases()[name])
    parsed = sqlglot.parse(sql, read="snowflake")
    assert len(parsed) == 1
    assert isinstance(parsed[0], exp.Merge)
    # the stream is read in exactly the one place that is the MERGE's source (twice for SCD2's UNION ALL: same statement)
    stream_reads = [t for t in parsed[0].find_all(exp.Table) if t.name == all_cases()[name].stream.name]
    assert len(stream_reads) == 1


def test_scd1_hard_is_exactly_this_statement() -> None:
    assert build_merge_sql(spec(dedupe_order_by=("UPDATED_AT",))) == (
        'MERGE INTO "ANALYTICS"."STAGING"."USERS" AS "T"\n'
        'USING (SELECT "ID", "NAME", "UPDATED_AT", "__DATAENG_DELETE" FROM (SELECT "ID" AS "ID", "NAME" AS "NAME", '
        '"UPDATED_AT" AS "UPDATED_AT", METADATA$ACTION AS "__DATAENG_ACTION", METADATA$ISUPDATE AS "__DATAENG_ISUPDATE", '
        'METADATA$ROW_ID AS "__DATAENG_ROW_ID", (UPDATED_AT) AS "__DATAENG_ORDER_1", '
        '(METADATA$ACTION = \'DELETE\') AS "__DATAENG_DELETE" FROM "ANALYTICS"."RAW"."USERS_STREAM") '
        'QUALIFY ROW_NUMBER() OVER (PARTITION BY "ID" ORDER BY IFF("__DATAENG_ACTION" = \'DELETE\' AND "__DATAENG_ISUPDATE", 1, 0), '
        '"__DATAENG_ORDER_1" DESC NULLS LAST, "__DATAENG_ACTION" DESC, "__DATAENG_ROW_ID" DESC) = 1) AS "S"\n'
        'ON "T"."ID" = "S"."ID"\n'
        'WHEN MATCHED AND "S"."__DATAENG_DELETE" THEN DELETE\n'
        'WHEN MATCHED AND NOT "S"."__DATAENG_DELETE" THEN UPDATE SET "NAME" = "S"."NAME", "UPDATED_AT" = "S"."UPDATED_AT"\n'
        'WHEN NOT MATCHED AND NOT "S"."__DATAENG_DELETE" THEN INSERT ("ID", "NAME", "UPDATED_AT") '
        'VALUES ("S"."ID", "S"."NAME", "S"."UPDATED_AT")'
    )


def test_on_clause_has_no_source_predicate_only_key_equality() -> None:
    for name, case in all_cases().items():
        on = sqlglot.parse_one(build_merge_sql(case), read="snowflake").args["on"]
        for column in on.find_all(exp.Column):
            if column.table == "S":
                assert isinstance(column.parent, exp.EQ), name


def test_ignore_mode_drops_deletes_before_dedupe_and_has_no_delete_clause() -> None:
    sql = build_merge_sql(spec(delete_mode="ignore", delete_condition="IS_DELETED"))
    assert "WHERE NOT (METADATA$ACTION = 'DELETE' OR COALESCE((IS_DELETED), FALSE))" in sql
    assert "THEN DELETE" not in sql and "__DATAENG_DELETE" not in sql


def test_soft_delete_stamps_only_live_rows_keeps_the_deletes_values_and_revives_resent_keys() -> None:
    sql = build_merge_sql(spec(delete_mode="soft"))
    assert (
        'WHEN MATCHED AND "S"."__DATAENG_DELETE" AND "T"."_DELETED_AT" IS NULL THEN UPDATE SET '
        '"NAME" = COALESCE("S"."NAME", "T"."NAME"), "UPDATED_AT" = COALESCE("S"."UPDATED_AT", "T"."UPDATED_AT"), '
        '"_DELETED_AT" = CURRENT_TIMESTAMP()'
        in sql
    )
    assert '"_DELETED_AT" = NULL' in sql


def test_spec_rejects_inconsistent_options() -> None:
    with pytest.raises(MergeConfigError, match="delete_mode='purge'"):
        spec(delete_mode="purge")
    with pytest.raises(MergeConfigError, match="scd_type=3"):
        spec(scd_type=3)
    with pytest.raises(MergeConfigError, match=r"key_columns \['EMAIL'\] are not among"):
        spec(key_columns=("EMAIL",))
    with pytest.raises(MergeConfigError, match="bookkeeping columns"):
        spec(columns=(*COLUMNS, ("_IS_CURRENT", '"X"')), scd_type=2)
    with pytest.raises(MergeConfigError, match="bookkeeping columns"):
        spec(columns=(*COLUMNS, ("__DATAENG_X", '"X"')))
    # only the mode's own bookkeeping columns are reserved: SCD1 may carry a column called _VALID_FROM
    assert spec(columns=(*COLUMNS, ("_VALID_FROM", '"_VALID_FROM"'))).value_columns[-1] == "_VALID_FROM"


def test_normalize_columns_arg() -> None:
    assert normalize_columns_arg(None) is None
    assert normalize_columns_arg(["id", '"Name"']) == ("ID", "Name")
    assert normalize_columns_arg({"email": " RECORD:email::string "}) == {"EMAIL": "RECORD:email::string"}
    with pytest.raises(MergeConfigError, match="non-empty list"):
        normalize_columns_arg("ID")
    with pytest.raises(ValueError, match=r"columns\['EMAIL'\]"):
        normalize_columns_arg({"EMAIL": "1; DROP TABLE X"})
    with pytest.raises(ValueError, match="columns"):
        normalize_columns_arg(["bad name"])


TARGET_COLS = [
    ColumnInfo("ID", "NUMBER(38, 0)"),
    ColumnInfo("NAME", "VARCHAR"),
    ColumnInfo("_DELETED_AT", "TIMESTAMP_LTZ"),
]
SOURCE_COLS = [
    ColumnInfo("ID", "NUMBER(38, 0)"),
    ColumnInfo("NAME", "VARCHAR"),
    ColumnInfo("EMAIL", "VARCHAR(200)"),
]


def plan(**kwargs):
    values = dict(
        target=TARGET,
        target_columns=TARGET_COLS,
        source_columns=SOURCE_COLS,
        key_columns=("ID",),
        columns=None,
    )
    values.update(kwargs)
    return plan_columns(**values)


def test_plan_none_takes_shared_columns_and_reports_stream_columns_the_target_lacks() -> None:
    result = plan(delete_mode="soft")
    assert result.columns == (("ID", '"ID"'), ("NAME", '"NAME"'), ("EMAIL", '"EMAIL"'))
    assert result.missing == (ColumnInfo("EMAIL", "VARCHAR(200)"),)


def test_plan_list_and_mapping() -> None:
    assert plan(columns=("NAME",)) == plan_columns(
        target=TARGET,
        target_columns=TARGET_COLS,
        source_columns=SOURCE_COLS,
        key_columns=("ID",),
        columns=("NAME",),
    )
    listed = plan(columns=("NAME",))
    assert listed.columns == (("NAME", '"NAME"'), ("ID", '"ID"')) and listed.missing == ()
    mapped = plan(columns={"ID": "ID", "MAIL": "RECORD:email::string", "SEEN": "SEEN_AT::timestamp_ntz"})
    assert mapped.columns == (
        ("ID", "(ID)"),
        ("MAIL", "(RECORD:email::string)"),
        ("SEEN", "(SEEN_AT::timestamp_ntz)"),
    )
    assert mapped.missing == (ColumnInfo("MAIL", "VARCHAR"), ColumnInfo("SEEN", "TIMESTAMPNTZ"))


def test_plan_errors_name_the_problem() -> None:
    with pytest.raises(
        MergeConfigError, match=r"target_table .* does not exist.*CREATE TABLE .*\"EMAIL\" VARCHAR\(200\)"
    ):
        plan(target_columns=[])
    with pytest.raises(MergeConfigError, match=r"key_columns \['TENANT'\] are not columns of target_table"):
        plan(key_columns=("TENANT",))
    with pytest.raises(MergeConfigError, match=r"columns \['PHONE'\] are not columns of the stream"):
        plan(columns=("PHONE",))
    with pytest.raises(MergeConfigError, match="type is unknown"):
        plan(columns={"ID": "ID", "MAIL": "LOWER(EMAIL)"})
    with pytest.raises(MergeConfigError, match="must be in the columns mapping"):
        plan(columns={"NAME": "NAME"})


def test_bookkeeping_and_add_columns_sql() -> None:
    missing = missing_bookkeeping_columns(
        TARGET_COLS, scd_type=2, delete_mode="soft", soft_delete_column="_DELETED_AT"
    )
    assert [c.name for c in missing] == ["_VALID_FROM", "_VALID_TO", "_IS_CURRENT"]
    sql = build_add_columns_sql(
        TARGET, [ColumnInfo("EMAIL", "VARCHAR(200)"), ColumnInfo("_DELETED_AT", "TIMESTAMP_LTZ")]
    )
    assert sql == (
        'ALTER TABLE "ANALYTICS"."STAGING"."USERS" ADD COLUMN IF NOT EXISTS "EMAIL" VARCHAR(200), "_DELETED_AT" TIMESTAMP_LTZ'
    )
    assert isinstance(sqlglot.parse_one(sql, read="snowflake"), exp.Alter)
    with pytest.raises(MergeConfigError, match="cannot write"):
        build_add_columns_sql(TARGET, [ColumnInfo("X", "INT); DROP TABLE Y; --")])


def test_parse_merge_counts_only_has_present_clauses() -> None:
    assert parse_merge_counts({"number of rows inserted": 3, "number of rows updated": 2}) == {
        "inserted": 3,
        "updated": 2,
        "deleted": 0,
    }
    assert parse_merge_counts(None) == {"inserted": 0, "updated": 0, "deleted": 0}


def test_source_key_expressions_match_what_plan_columns_writes() -> None:
    assert source_key_expressions(("TENANT", "ID"), None) == ('"TENANT"', '"ID"')
    assert source_key_expressions(("ID",), ("NAME",)) == ('"ID"',)
    mapping = {"ID": "RECORD:id::int", "NAME": "NAME"}
    assert source_key_expressions(("ID",), mapping) == ("(RECORD:id::int)",)
    planned = dict(plan(columns=mapping | {"ID": "ID"}).columns)
    assert source_key_expressions(("ID",), {"ID": "ID"}) == (planned["ID"],)
    with pytest.raises(MergeConfigError, match="must be in the columns mapping"):
        source_key_expressions(("ID",), {"NAME": "NAME"})
