"""The real path on the local stack: RestApiExtractOperator (parquet) -> S3 (moto) -> S3StageLoadOperator (COPY
on the Snowflake stand-in), values read back from the table and compared exactly with what the API sent."""

from __future__ import annotations

import datetime
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator
from airflow_provider_dataeng.operators.s3_stage_load import S3StageLoadOperator
from airflow_provider_dataeng.pagination import PageNumberPaginator
from tests.rest_api.conftest import FAST_RETRIES

pytestmark = pytest.mark.integration

STAGE = "DEMO.PUBLIC.PARQUET_FIDELITY_STAGE"
UTC = datetime.timezone.utc
PAGES = [
    [
        {"id": 1, "ts": "2024-01-01T00:00:00Z", "local": "2024-01-01T05:00:00+02:00", "day": "2024-01-01",
         "big": 9007199254740993, "amount": "1234.50", "score": 0.1, "ok": True, "tags": ["a", "b"],
         "nested": {"a.b": 1, "c d": "é \"q\""}, "maybe": None},
        {"id": 2, "ts": "2024-06-30T23:59:59.123456Z", "local": "2024-06-30T23:59:59-07:00", "day": "2024-02-29",
         "big": -9223372036854775808, "amount": "0.05", "score": 2.5, "ok": False, "tags": [],
         "nested": {"a.b": None, "c d": ""}},
    ],
    [
        {"id": 3, "ts": "2024-12-31T23:00:00+00:00", "local": "2024-12-31T23:00:00Z", "day": "2024-12-31",
         "big": 0, "amount": "99999999.99", "score": 1e-07, "ok": True, "tags": ["z"],
         "nested": {"a.b": 7, "c d": "x"}, "maybe": 1},
    ],
]
RECORDS = [r for page in PAGES for r in page]


@pytest.fixture
def api(server: Any, connection: Any) -> str:
    server.route("GET", "/items", lambda request: (200, {}, {"data": (PAGES + [[]])[int(request.query["page"]) - 1]}))
    return connection("api")


@pytest.fixture(scope="module")
def sf(local_stack: Any) -> Any:
    from airflow_provider_dataeng.hooks.snowflake import SnowflakeHook

    conn = SnowflakeHook(snowflake_conn_id="snowflake_default").get_conn()
    cur = conn.cursor()

    def run(sql: str) -> list[tuple[Any, ...]]:
        cur.execute(sql)
        return list(cur.fetchall())

    yield run
    conn.close()


def part_schema(local_stack: Any, uri: str) -> dict[str, str]:
    import pyarrow.parquet as pq
    import s3fs

    fs = s3fs.S3FileSystem(key="testing", secret="testing", skip_instance_cache=True,
                           client_kwargs={"endpoint_url": local_stack.s3_endpoint, "region_name": "us-east-1"})
    with fs.open(uri, "rb") as f:
        return {field.name: str(field.type) for field in pq.read_schema(f)}


def extract(api: str, local_stack: Any, folder: str, **kwargs: Any) -> dict[str, Any]:
    return RestApiExtractOperator(
        task_id="extract", http_conn_id=api, endpoint="/items", records_path="data", paginator=PageNumberPaginator(),
        destination=f"s3://{local_stack.bucket}/parquet-fidelity/{folder}/", part_format="parquet",
        http_retry_policy=FAST_RETRIES, **kwargs,
    ).execute({})


def load(local_stack: Any, table: str, manifest: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return S3StageLoadOperator(
        task_id="load", table=table, stage=STAGE, files=manifest, file_format={"type": "PARQUET"},
        ensure_stage={"url": f"s3://{local_stack.bucket}/parquet-fidelity/", "aws_conn_id": "aws_default"},
        create_table=True, metadata_columns=False, **kwargs,
    ).execute({})


def test_iso_strings_reach_a_variant_column_unchanged(api: str, local_stack: Any, sf: Any) -> None:
    folder = uuid.uuid4().hex
    manifest = extract(api, local_stack, folder)
    assert manifest["records"] == 3 and manifest["format"] == "parquet"
    table = f"PUBLIC.PQ_VARIANT_{folder[:8].upper()}"
    assert load(local_stack, table, manifest)["rows_loaded"] == 3
    rows = sf(f"SELECT RECORD:ts::VARCHAR, RECORD:local::VARCHAR, RECORD:day::VARCHAR, RECORD FROM {table} "
              "ORDER BY RECORD:id::INT")
    assert [r[:3] for r in rows] == [(r["ts"], r["local"], r["day"]) for r in RECORDS]
    # The whole record as the API sent it; a missing field reads back as null (Parquet has no "absent").
    assert [json.loads(r[3]) for r in rows] == [{"maybe": None, **r} for r in RECORDS]


def test_declared_types_reach_typed_columns(api: str, local_stack: Any, sf: Any) -> None:
    folder = uuid.uuid4().hex
    schema = {"ts": "timestamp_tz", "local": "timestamp_tz", "day": "date", "amount": "decimal(10,2)",
              "big": "int64", "tags": "json"}
    manifest = extract(api, local_stack, folder, schema=schema)
    table = f"PUBLIC.PQ_TYPED_{folder[:8].upper()}"
    columns = {"ID": "NUMBER(38,0)", "TS": "TIMESTAMP_TZ", "LOCAL": "TIMESTAMP_TZ", "DAY": "DATE",
               "AMOUNT": "NUMBER(10,2)", "BIG": "NUMBER(38,0)", "SCORE": "FLOAT", "OK": "BOOLEAN", "TAGS": "VARCHAR",
               "NESTED": "VARIANT", "MAYBE": "NUMBER(38,0)"}
    assert load(local_stack, table, manifest, load_as="columns", columns=columns)["rows_loaded"] == 3
    rows = sf(f"SELECT ID, TS, LOCAL, DAY, AMOUNT, BIG, SCORE, OK, TAGS, MAYBE FROM {table} ORDER BY ID")
    assert [(r[0], r[1].astimezone(UTC), r[2].astimezone(UTC), *r[3:]) for r in rows] == [
        (1, datetime.datetime(2024, 1, 1, tzinfo=UTC), datetime.datetime(2024, 1, 1, 3, tzinfo=UTC),
         datetime.date(2024, 1, 1), Decimal("1234.50"), 9007199254740993, 0.1, True, '["a", "b"]', None),
        (2, datetime.datetime(2024, 6, 30, 23, 59, 59, 123456, tzinfo=UTC),
         datetime.datetime(2024, 7, 1, 6, 59, 59, tzinfo=UTC), datetime.date(2024, 2, 29), Decimal("0.05"),
         -9223372036854775808, 2.5, False, "[]", None),
        (3, datetime.datetime(2024, 12, 31, 23, tzinfo=UTC), datetime.datetime(2024, 12, 31, 23, tzinfo=UTC),
         datetime.date(2024, 12, 31), Decimal("99999999.99"), 0, 1e-07, True, '["z"]', 1),
    ]


def test_parts_of_one_extract_load_together_after_widening_and_text_conversion(
    server: Any, connection: Any, local_stack: Any, sf: Any
) -> None:
    """Part files of one extract differ (a column widened to float64, a later new column, a field turned to
    text after a conflict): every part still loads, into typed columns and into VARIANT."""
    pages = [
        [{"id": 1, "v": 10, "n": 1}, {"id": 2, "v": 20, "n": 2}],
        [{"id": 3, "v": "x", "n": 2.5}],
        [{"id": 4, "v": {"k": 1}, "n": 3, "added": "new"}],
    ]
    server.route("GET", "/items", lambda request: (200, {}, {"data": (pages + [[]])[int(request.query["page"]) - 1]}))
    folder = uuid.uuid4().hex
    manifest = extract(connection("api"), local_stack, folder, on_type_conflict="string", max_records_per_file=2)
    assert [f["records"] for f in manifest["files"]] == [2, 2]
    assert [part_schema(local_stack, f["uri"]) for f in manifest["files"]] == [
        {"id": "int64", "v": "string", "n": "int64"},  # v rewritten as text after the conflict on page 2
        {"id": "int64", "v": "string", "n": "double", "added": "string"},
    ]
    typed = f"PUBLIC.PQ_PARTS_{folder[:8].upper()}"
    columns = {"ID": "NUMBER(38,0)", "V": "VARCHAR", "N": "FLOAT", "ADDED": "VARCHAR"}
    assert load(local_stack, typed, manifest, load_as="columns", columns=columns)["rows_loaded"] == 4
    assert sf(f"SELECT ID, V, N, ADDED FROM {typed} ORDER BY ID") == [
        (1, "10", 1.0, None), (2, "20", 2.0, None), (3, "x", 2.5, None), (4, '{"k": 1}', 3.0, "new"),
    ]
    variant = f"PUBLIC.PQ_PARTS_V_{folder[:8].upper()}"
    assert load(local_stack, variant, manifest)["rows_loaded"] == 4
    rows = sf(f"SELECT RECORD:v::VARCHAR, RECORD:n::FLOAT FROM {variant} ORDER BY RECORD:id::INT")
    assert rows == [("10", 1.0), ("20", 2.0), ("x", 2.5), ('{"k": 1}', 3.0)]
