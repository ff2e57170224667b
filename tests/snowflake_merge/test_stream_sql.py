"""Stream SQL builders and the parsing of their answers (pure: no server)."""

from __future__ import annotations

import datetime

import pytest
import sqlglot
from sqlglot import exp

from airflow_provider_dataeng.sql.identifiers import ObjectName, parse_object_name
from airflow_provider_dataeng.sql.stream import (
    ColumnInfo,
    Preflight,
    StreamError,
    build_columns_sql,
    build_create_stream_sql,
    build_has_data_sql,
    build_preflight_sql,
    build_show_streams_sql,
    ddl_type,
    default_stream_name,
    parse_has_data,
    parse_preflight,
    parse_show_streams,
)

RAW = parse_object_name("ANALYTICS.RAW.USERS", param="source_table")
STREAM = parse_object_name("ANALYTICS.RAW.USERS_STREAM", param="stream")
TARGET = parse_object_name("ANALYTICS.STAGING.USERS", param="target_table")


def parses(sql: str) -> exp.Expression:
    statements = sqlglot.parse(sql, read="snowflake")
    assert len(statements) == 1 and statements[0] is not None
    return statements[0]


def test_default_stream_name_sits_next_to_the_source_table() -> None:
    assert default_stream_name(RAW) == STREAM
    assert default_stream_name(parse_object_name('"events"', param="s")).sql == '"events_STREAM"'


@pytest.mark.parametrize(
    ("append_only", "show_initial_rows", "expected"),
    [
        (False, True, "APPEND_ONLY = FALSE SHOW_INITIAL_ROWS = TRUE"),
        (True, False, "APPEND_ONLY = TRUE SHOW_INITIAL_ROWS = FALSE"),
    ],
)
def test_create_stream_sql(append_only: bool, show_initial_rows: bool, expected: str) -> None:
    sql = build_create_stream_sql(STREAM, RAW, append_only=append_only, show_initial_rows=show_initial_rows)
    assert sql == (
        'CREATE STREAM IF NOT EXISTS "ANALYTICS"."RAW"."USERS_STREAM" ON TABLE "ANALYTICS"."RAW"."USERS" '
        + expected
    )
    assert parses(sql).sql("snowflake") == sql  # sqlglot keeps CREATE STREAM as a command, verbatim


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ANALYTICS.RAW.USERS_STREAM", 'SHOW STREAMS LIKE \'USERS_STREAM\' IN SCHEMA "ANALYTICS"."RAW"'),
        ("RAW.USERS_STREAM", "SHOW STREAMS LIKE 'USERS_STREAM' IN SCHEMA \"RAW\""),
        ("USERS_STREAM", "SHOW STREAMS LIKE 'USERS_STREAM' IN SCHEMA"),
        ('"it\'s"', "SHOW STREAMS LIKE 'it\\'s' IN SCHEMA"),
    ],
)
def test_show_streams_sql(name: str, expected: str) -> None:
    sql = build_show_streams_sql(parse_object_name(name, param="stream"))
    assert sql == expected
    parses(sql)


def show_row(**overrides):
    row = {
        "created_on": datetime.datetime(2026, 11, 1),
        "name": "USERS_STREAM",
        "database_name": "ANALYTICS",
        "schema_name": "RAW",
        "table_name": "ANALYTICS.RAW.USERS",
        "mode": "DEFAULT",
        "stale": "false",
        "stale_after": datetime.datetime(2026, 11, 15),
        "invalid_reason": "N/A",
    }
    row.update(overrides)
    return row


def test_parse_show_streams_keeps_the_exact_match_only() -> None:
    rows = [show_row(name="USERSXSTREAM"), show_row(name="users_stream"), show_row(mode="APPEND_ONLY")]
    info = parse_show_streams(rows, STREAM)
    assert (info.name, info.mode, info.stale) == ("USERS_STREAM", "APPEND_ONLY", False)
    assert info.source_table == RAW


def test_parse_show_streams_missing_stream() -> None:
    with pytest.raises(StreamError, match="does not exist.*pass source_table"):
        parse_show_streams([show_row(schema_name="OTHER")], STREAM)


def test_stale_stream_error_says_how_to_recover() -> None:
    with pytest.raises(StreamError) as err:
        parse_show_streams([show_row(stale="true")], STREAM)
    message = str(err.value)
    assert "is stale" in message
    assert (
        'CREATE OR REPLACE STREAM "ANALYTICS"."RAW"."USERS_STREAM" ON TABLE <source> SHOW_INITIAL_ROWS = TRUE'
        in message
    )
    assert "full refresh" in message


def test_invalid_stream_is_refused() -> None:
    with pytest.raises(StreamError, match="invalid: base table dropped"):
        parse_show_streams([show_row(invalid_reason="base table dropped")], STREAM)


def test_source_table_keeps_exact_case_of_show_output() -> None:
    info = parse_show_streams([show_row(table_name="ANALYTICS.raw.Users")], STREAM)
    assert info.source_table == ObjectName(("ANALYTICS", "raw", "Users"))


def test_has_data_sql_is_a_standalone_metadata_check() -> None:
    sql = build_has_data_sql(STREAM)
    assert sql == 'SELECT SYSTEM$STREAM_HAS_DATA(\'"ANALYTICS"."RAW"."USERS_STREAM"\') AS "HAS_DATA"'
    assert isinstance(parses(sql), exp.Select)
    assert parse_has_data([{"HAS_DATA": True}]) is True
    assert parse_has_data([{"has_data": "false"}]) is False
    assert parse_has_data([]) is False


def test_preflight_sql_counts_and_columns_in_one_query() -> None:
    sql = build_preflight_sql(
        STREAM,
        {"TARGET": TARGET, "SOURCE": parse_object_name("USERS", param="s")},
        ['"TENANT"', "(RECORD:id::int)"],
    )
    assert sql == (
        'SELECT "N"."CHANGES", "N"."NULL_KEYS", "C"."TABLE_ROLE", "C"."COLUMN_NAME", "C"."DATA_TYPE", '
        '"C"."CHARACTER_MAXIMUM_LENGTH", "C"."NUMERIC_PRECISION", "C"."NUMERIC_SCALE" '
        'FROM (SELECT COUNT(*) AS "CHANGES", COUNT_IF(("TENANT") IS NULL OR ((RECORD:id::int)) IS NULL) AS "NULL_KEYS" '
        'FROM "ANALYTICS"."RAW"."USERS_STREAM") AS "N" '
        "LEFT JOIN (SELECT 'TARGET' AS \"TABLE_ROLE\", COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, "
        'NUMERIC_PRECISION, NUMERIC_SCALE, ORDINAL_POSITION FROM "ANALYTICS".INFORMATION_SCHEMA.COLUMNS '
        "WHERE TABLE_SCHEMA = 'STAGING' AND TABLE_NAME = 'USERS' "
        "UNION ALL SELECT 'SOURCE' AS \"TABLE_ROLE\", COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, "
        "NUMERIC_PRECISION, NUMERIC_SCALE, ORDINAL_POSITION FROM INFORMATION_SCHEMA.COLUMNS "
        "WHERE TABLE_SCHEMA = CURRENT_SCHEMA() AND TABLE_NAME = 'USERS') AS \"C\" ON TRUE "
        'ORDER BY "C"."TABLE_ROLE", "C"."ORDINAL_POSITION"'
    )
    assert isinstance(parses(sql), exp.Select)
    columns_only = build_columns_sql({"TARGET": TARGET})
    assert columns_only.startswith("SELECT 'TARGET' AS \"TABLE_ROLE\", COLUMN_NAME")
    assert isinstance(parses(columns_only), exp.Select)


def test_parse_preflight() -> None:
    row = dict(CHANGES=5, NULL_KEYS=1, TABLE_ROLE="SOURCE", CHARACTER_MAXIMUM_LENGTH=None)
    rows = [
        {**row, "COLUMN_NAME": "ID", "DATA_TYPE": "NUMBER", "NUMERIC_PRECISION": 38, "NUMERIC_SCALE": 0},
        {**row, "COLUMN_NAME": "NAME", "DATA_TYPE": "TEXT", "CHARACTER_MAXIMUM_LENGTH": 16777216},
    ]
    assert parse_preflight(rows, ["TARGET", "SOURCE"]) == Preflight(
        changes=5,
        null_keys=1,
        columns={"TARGET": [], "SOURCE": [ColumnInfo("ID", "NUMBER(38, 0)"), ColumnInfo("NAME", "VARCHAR")]},
    )
    none = [{"CHANGES": 0, "NULL_KEYS": 0, "TABLE_ROLE": None, "COLUMN_NAME": None, "DATA_TYPE": None}]
    assert parse_preflight(none, ["TARGET"]) == Preflight(0, 0, {"TARGET": []})


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("NUMBER",), "NUMBER"),
        (("NUMBER", None, 10, 2), "NUMBER(10, 2)"),
        (("TEXT", 16777216), "VARCHAR"),
        (("TEXT", 20), "VARCHAR(20)"),
        (("timestamp_ntz",), "TIMESTAMP_NTZ"),
        (("VARIANT",), "VARIANT"),
    ],
)
def test_ddl_type(args: tuple, expected: str) -> None:
    data_type, *rest = args
    keys = dict(zip(("length", "precision", "scale"), rest))
    assert ddl_type(data_type, **keys) == expected
