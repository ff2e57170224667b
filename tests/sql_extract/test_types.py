"""Every row of the type table, end to end on the local stack: PostgreSQL -> SqlExtractOperator -> S3 (moto)
-> S3StageLoadOperator into columns of the table's Snowflake types (the stand-in) -> read back and compared
value for value with what PostgreSQL holds."""

from __future__ import annotations

import datetime
import json
import math
import uuid
from decimal import Decimal
from typing import Any

import pytest

from airflow_provider_dataeng.operators.s3_stage_load import S3StageLoadOperator
from airflow_provider_dataeng.operators.sql_extract import SqlExtractOperator
from tests.sql_extract.conftest import context, landed, raw_lines, s3_folder

pytestmark = pytest.mark.integration

UTC = datetime.timezone.utc
# column, PostgreSQL type, Snowflake type (the type table's), how PostgreSQL's own value is compared
COLUMNS = [
    ("id", "bigint PRIMARY KEY", "NUMBER(38,0)"),
    ("i2", "smallint", "NUMBER(38,0)"),
    ("i4", "integer", "NUMBER(38,0)"),
    ("i8", "bigint", "NUMBER(38,0)"),
    ("n", "numeric(38,9)", "NUMBER(38,9)"),
    ("n_free", "numeric", "VARCHAR"),  # beyond 38 digits: only text holds it
    ("f8", "double precision", "FLOAT"),
    ("f4", "real", "FLOAT"),
    ("cash", "money", "NUMBER(38,2)"),
    ("bo", "boolean", "BOOLEAN"),
    ("d", "date", "DATE"),
    ("ts", "timestamptz", "TIMESTAMP_TZ"),
    ("tn", "timestamp", "TIMESTAMP_NTZ"),
    ("tm", "time", "TIME"),
    ("ttz", "timetz", "VARCHAR"),
    ("iv", "interval", "VARCHAR"),
    ("u", "uuid", "VARCHAR"),
    ("j", "json", "VARIANT"),
    ("jb", "jsonb", "VARIANT"),
    ("ai", "integer[]", "ARRAY"),
    ("at", "text[]", "ARRAY"),
    ("by", "bytea", "BINARY"),
    ("e", "mood", "VARCHAR"),
    ("s", "text", "VARCHAR"),
    ("vc", "varchar(20)", "VARCHAR"),
    ("ch", "char(4)", "VARCHAR"),
]
TEXT_IN_SNOWFLAKE = {"n_free", "ttz", "iv", "u", "e"}  # VARCHAR holding PostgreSQL's text (session as the extract's)
ROWS = [
    # typical values
    "(1, 1, 2, 9007199254740993, 12345678901234567890.123456789, 0.1, 0.1, 1.5, 12.34, true, '2024-02-29',"
    " '2024-01-02 03:04:05.123456+05', '2024-01-02 03:04:05.000001', '23:59:59.999999', '03:04:05+02',"
    " '1 year 2 mons 3 days 04:05:06.7', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',"
    " '{\"a\" : [1, 2.50],\n \"b\": \"x\\\\ny\"}', '{\"z\": 1, \"a\": {\"k\": \"é\"}}', '{1,2,NULL}',"
    " '{\"a b\",\"c\\\"d\",NULL}', '\\x00ff0a5c22', 'happy', 'plain', 'short', 'ab')",
    # edges: extremes, empty values, text that needs escaping
    "(2, -32768, -2147483648, -9223372036854775808, -0.000000001, 123456789012345678901234567890.123456789012345,"
    " -1.7976931348623157e308, 1e-38, -0.01, false, '0001-01-01', '1970-01-01 00:00:00+00',"
    " '2262-04-11 23:47:16', '00:00:00', '00:00:00-12:30', '-3 days', '00000000-0000-0000-0000-000000000000',"
    " '[]', '{}', '{}', '{\"\"}', '\\x', 'sad', E'tab\\there \\\\ \"q\" \\n nl ☃ 🎉', '', '    ')",
    # NULL in every column
    "(3" + ", NULL" * 25 + ")",
    # the values a JSON number cannot hold
    "(4, 0, 0, 0, 0, 'NaN', 'NaN', 'NaN', 0, true, '2024-01-01', '2024-01-01 00:00:00+00', '2024-01-01 00:00:00',"
    " '12:00', '12:00+00', '0', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'null', '\"s\"', '{{1,2},{3,4}}', '{}',"
    " '\\x00', 'ok', '0', '0', '0')",
    "(5, 0, 0, 0, 0, 'Infinity', 'Infinity', '-Infinity', 0, true, '2024-01-01', '2024-01-01 00:00:00+00',"
    " '2024-01-01 00:00:00', '12:00', '12:00+00', '0', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '1.50', '2.50',"
    " '{}', '{}', '\\x00', 'ok', '0', '0', '0')",
]


@pytest.fixture(scope="module")
def types_table(pg: Any) -> str:
    pg("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
    pg(f"CREATE TABLE all_types ({', '.join(f'{n} {t}' for n, t, _ in COLUMNS)})")
    pg(f"INSERT INTO all_types VALUES {', '.join(ROWS)}")
    return f"{pg.schema}.all_types"


def expected_rows(pg: Any, names: list[str]) -> list[tuple[Any, ...]]:
    """PostgreSQL's values, the VARCHAR-landed ones as its text (in the session the extract reads in)."""
    pg("SET IntervalStyle = iso_8601")
    pg("SET TimeZone = 'UTC'")
    items = [f"{n}::text" if n in TEXT_IN_SNOWFLAKE else ("cash::numeric" if n == "cash" else n) for n in names]
    rows = pg(f"SELECT {', '.join(items)} FROM all_types ORDER BY id")
    pg("RESET IntervalStyle")
    pg("RESET TimeZone")
    return rows


def comparable(name: str, value: Any, *, snowflake: bool) -> Any:
    """One value in a form both sides share: Snowflake's VARIANT/ARRAY come back as JSON text, NaN is not
    equal to itself, a real is compared at its own precision, timestamps as UTC instants."""
    if value is None:
        return None
    if snowflake and name in ("j", "jb", "ai", "at"):
        return json.loads(value)
    if not snowflake and name == "n_free":  # the type table's spelling of the infinities
        return {"Infinity": "inf", "-Infinity": "-inf"}.get(value, value)
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if name == "f4" and isinstance(value, float) and not math.isinf(value):
        return float(f"{value:.7g}")  # a real's decimal text, as PostgreSQL writes it
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return value


def load_all_types(types_table: str, sf: Any, local_stack: Any, columns: list[tuple[str, str, str]]) -> str:
    """Extract the table (jsonl.zst), load it into a new table with the type table's Snowflake types."""
    manifest = SqlExtractOperator(
        task_id="extract", table=types_table, mode="full", destination=s3_folder(local_stack), emit_assets=False,
        columns=[n for n, _, _ in columns],
    ).execute(context())
    assert manifest["records"] == len(ROWS)
    table = f"PUBLIC.PG_TYPES_{uuid.uuid4().hex[:8].upper()}"
    loaded = S3StageLoadOperator(
        task_id="load", table=table, stage="DEMO.PUBLIC.SQL_EXTRACT_STAGE", files=manifest,
        file_format={"type": "JSON", "compression": "ZSTD"}, load_as="columns", create_table=True,
        columns={n.upper(): sf_type for n, _, sf_type in columns}, metadata_columns=False,
        ensure_stage={"url": f"s3://{local_stack.bucket}/sql-extract/", "aws_conn_id": "aws_default"},
    ).execute({})
    assert loaded["rows_loaded"] == len(ROWS)
    return table


def test_every_type_lands_in_snowflake_value_for_value(types_table: str, pg: Any, sf: Any, local_stack: Any) -> None:
    columns = [c for c in COLUMNS if c[0] != "by"]  # BINARY: see the next test
    table = load_all_types(types_table, sf, local_stack, columns)
    names = [n for n, _, _ in columns]
    got = sf(f"SELECT {', '.join(f'{chr(34)}{n.upper()}{chr(34)}' for n in names)} FROM {table} ORDER BY ID")
    want = expected_rows(pg, names)
    assert [[comparable(n, v, snowflake=True) for n, v in zip(names, row)] for row in got] == [
        [comparable(n, v, snowflake=False) for n, v in zip(names, row)] for row in want
    ]


@pytest.mark.xfail(strict=True, reason="the Snowflake stand-in stores a hex string's characters in a BINARY column; "
                   "Snowflake decodes it (BINARY_FORMAT = HEX, the default). The part file holds the hex (next test)")
def test_bytea_lands_in_a_binary_column(types_table: str, pg: Any, sf: Any, local_stack: Any) -> None:
    table = load_all_types(types_table, sf, local_stack, [COLUMNS[0], ("by", "bytea", "BINARY")])
    got = [bytes(v) if v is not None else None for (v,) in sf(f'SELECT "BY" FROM {table} ORDER BY ID')]
    assert got == [bytes(v) if v is not None else None for (v,) in pg("SELECT by FROM all_types ORDER BY id")]


def test_the_part_file_holds_the_type_tables_json(types_table: str, local_stack: Any) -> None:
    manifest = SqlExtractOperator(
        task_id="extract", table=types_table, mode="full", destination=s3_folder(local_stack), emit_assets=False,
        columns=["id", "i8", "n", "n_free", "f8", "f4", "ts", "iv", "j", "by", "s"],
    ).execute(context())
    lines = sorted(raw_lines(local_stack, manifest), key=lambda line: json.loads(line)["id"])
    assert lines[0] == (
        b'{"id":1,"i8":9007199254740993,"n":"12345678901234567890.123456789","n_free":"0.1","f8":0.1,"f4":1.5,'
        b'"ts":"2024-01-01T22:04:05.123456+00:00","iv":"P1Y2M3DT4H5M6.7S","j":{"a": [1, 2.50], "b": "x\\\\ny"},'
        b'"by":"00ff0a5c22","s":"plain"}'
    )
    assert [json.loads(line)["f8"] for line in lines[3:]] == ["NaN", "inf"]
    assert [json.loads(line)["n_free"] for line in lines[3:]] == ["NaN", "inf"]
    assert [json.loads(line)["n"] for line in lines[:2]] == ["12345678901234567890.123456789", "-0.000000001"]
    assert json.loads(lines[1])["s"] == 'tab\there \\ "q" \n nl ☃ 🎉'
    assert json.loads(lines[2]) == {k: None for k in json.loads(lines[2])} | {"id": 3}


def test_every_type_lands_in_parquet_columns_of_its_type(types_table: str, pg: Any, local_stack: Any) -> None:
    """The Parquet columns are typed from the source (decimal(38,9), timestamp_tz, float64 with NaN and the
    infinities, ...) and read back equal to PostgreSQL's values."""
    manifest = SqlExtractOperator(
        task_id="extract", table=types_table, mode="full", destination=s3_folder(local_stack), emit_assets=False,
        part_format="parquet",
    ).execute(context())
    assert manifest["records"] == len(ROWS)
    names = [n for n, _, _ in COLUMNS]
    records = sorted(landed(local_stack, manifest), key=lambda r: r["id"])
    assert all(list(r) == names for r in records)

    def from_parquet(name: str, value: Any) -> Any:
        if value is None:
            return None
        if name == "by":
            return bytes.fromhex(value)
        if name == "cash":
            return Decimal(value)
        if name == "tm":
            return datetime.time.fromisoformat(value)
        return comparable(name, value, snowflake=True)

    assert [[from_parquet(n, r[n]) for n in names] for r in records] == [
        [comparable(n, v, snowflake=False) for n, v in zip(names, row)] for row in expected_rows(pg, names)
    ]
    assert manifest["schema"]["n"] == "decimal(38,9)" and manifest["schema"]["ts"] == "timestamp_tz"
