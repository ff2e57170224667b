"""Lineage and the Snowsight link from real operator runs on the local stack (moto S3 + Snowflake stand-in).

A load, a merge and a quality gate run for real (``execute`` with a recording task instance); then each
operator's ``get_openlineage_facets_on_complete`` is checked: the Lineage it builds (datasets, facts and the
statements it really sent), and ``None`` without apache-airflow-providers-openlineage (absent here).
The connection points at the stand-in but names the account ``myorg-myacct``, as a real one would.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_dataeng import lineage
from airflow_provider_dataeng.lineage import Assertion, Dataset, Lineage, OutputStats, SchemaField
from airflow_provider_dataeng.operators.quality_gate import QualityGateOperator
from airflow_provider_dataeng.operators.s3_stage_load import S3StageLoadOperator
from airflow_provider_dataeng.operators.snowflake_stream_merge import SnowflakeStreamMergeOperator
from airflow_provider_dataeng.quality import not_null, unique

pytestmark = pytest.mark.integration

CONN = "snowflake_lineage"
NS = "snowflake://myorg-myacct"
SNOWSIGHT = "https://app.snowflake.com/myorg/myacct/#/data/databases/DEMO/schemas/LINEAGE/table/"
PREFIX = "lineage-tests/"


class RecordingTI:
    """The part of a task instance the operators use: xcom_push, and the ids the quality gate records."""

    dag_id, task_id, run_id, try_number = "lineage", "t", "manual__1", 1

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


@pytest.fixture(scope="module")
def stack(local_stack: Any) -> Iterator[Any]:
    conn = {
        "conn_type": "snowflake",
        "login": "local",
        "password": "local",
        "schema": "PUBLIC",
        "extra": {
            "account": "myorg-myacct",
            "database": "DEMO",
            "warehouse": "LOCAL_WH",
            "role": "SYSADMIN",
            "host": "127.0.0.1",
            "port": local_stack.snowflake_port,
            "protocol": "http",
            "network_timeout": 30,
            "login_timeout": 10,
        },
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(f"AIRFLOW_CONN_{CONN.upper()}", json.dumps(conn))
        from airflow_provider_dataeng.hooks.snowflake import SnowflakeHook

        sf = SnowflakeHook(snowflake_conn_id=CONN).get_conn()
        with sf.cursor() as cur:
            cur.execute("CREATE SCHEMA IF NOT EXISTS DEMO.LINEAGE")
        sf.close()
        yield local_stack


@pytest.fixture()
def captured(monkeypatch: pytest.MonkeyPatch) -> list[Lineage]:
    """The Lineage each operator hands to the OpenLineage conversion (which returns None here)."""
    seen: list[Lineage] = []

    def capture(value: Lineage | None) -> None:
        assert value is not None
        seen.append(value)

    monkeypatch.setattr(lineage, "to_operator_lineage", capture)
    return seen


def sql(statement: str) -> None:
    from airflow_provider_dataeng.hooks.snowflake import SnowflakeHook

    SnowflakeHook(snowflake_conn_id=CONN).run(statement)


def test_load_reports_the_folder_the_table_its_shape_and_counts(stack: Any, captured: list[Lineage]) -> None:
    import boto3
    import zstandard

    from dataeng_local.s3 import ACCESS_KEY, REGION, SECRET_KEY

    s3 = boto3.client(
        "s3",
        endpoint_url=stack.s3_endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    files = []
    for i, ids in enumerate(([1, 2, 3], [4, 5])):
        body = zstandard.ZstdCompressor().compress(
            b"".join(json.dumps({"id": n}).encode() + b"\n" for n in ids)
        )
        key = f"{PREFIX}events/2026-01-01/part-{i:05d}.jsonl.zst"
        s3.put_object(Bucket=stack.bucket, Key=key, Body=body)
        files.append({"uri": f"s3://{stack.bucket}/{key}", "records": len(ids), "bytes": len(body)})
    manifest = {
        "destination": f"s3://{stack.bucket}/{PREFIX}events/2026-01-01/",
        "files": files,
        "records": 5,
        "pages": 2,
        "format": "jsonl",
        "compression": "zstd",
    }
    sql("DROP TABLE IF EXISTS DEMO.LINEAGE.EVENTS")
    op = S3StageLoadOperator(
        task_id="load",
        snowflake_conn_id=CONN,
        table="LINEAGE.EVENTS",
        stage="DEMO.LINEAGE.LANDING",
        files=manifest,
        file_format={"type": "JSON", "compression": "ZSTD"},
        create_table=True,
        ensure_stage={"url": f"s3://{stack.bucket}/{PREFIX}", "aws_conn_id": "aws_default"},
    )
    ti = RecordingTI()
    assert op.execute({"ti": ti})["rows_loaded"] == 5
    assert ti.xcom == {"snowsight_table_url": SNOWSIGHT + "EVENTS"}

    op.get_openlineage_facets_on_complete(None)
    [got] = captured
    copies = [s for s in op.statements_run if s.startswith("COPY INTO")]
    assert len(copies) == 1
    assert "AWS_SECRET_KEY = '***'" in (got.sql or "") and SECRET_KEY not in (got.sql or "")  # redacted
    assert got == Lineage(
        inputs=(Dataset(namespace=f"s3://{stack.bucket}", name=f"{PREFIX}events/2026-01-01"),),
        outputs=(
            Dataset(
                namespace=NS,
                name="DEMO.LINEAGE.EVENTS",
                schema=(
                    SchemaField("RECORD", "VARIANT"),
                    SchemaField("_SOURCE_FILE", "VARCHAR"),
                    SchemaField("_SOURCE_ROW", "NUMBER(38,0)"),
                    SchemaField("_LOADED_AT", "TIMESTAMP_LTZ"),
                ),
                stats=OutputStats(rows=5, files=2),
            ),
        ),
        sql=lineage.sql_text(op.statements_run),
        dialect="snowflake",
    )
    assert got.sql is not None and copies[0].split("\n")[0] in got.sql
    assert got.sql.startswith('CREATE STAGE IF NOT EXISTS "DEMO"."LINEAGE"."LANDING"')


def test_merge_reports_source_target_columns_changed_rows_and_the_merge(
    stack: Any, captured: list[Lineage]
) -> None:
    sql("DROP TABLE IF EXISTS DEMO.LINEAGE.USERS_RAW")
    sql("DROP TABLE IF EXISTS DEMO.LINEAGE.USERS")
    sql("CREATE TABLE DEMO.LINEAGE.USERS_RAW (ID INT, NAME VARCHAR)")
    sql("CREATE TABLE DEMO.LINEAGE.USERS (ID INT, NAME VARCHAR)")
    sql("INSERT INTO DEMO.LINEAGE.USERS VALUES (1, 'old')")
    op = SnowflakeStreamMergeOperator(
        task_id="merge",
        snowflake_conn_id=CONN,
        target_table="LINEAGE.USERS",
        source_table="LINEAGE.USERS_RAW",
        key_columns="ID",
    )
    from airflow.sdk.exceptions import AirflowSkipException

    with pytest.raises(AirflowSkipException):
        op.execute({"ti": RecordingTI()})  # creates the stream (empty): skipped
    sql("INSERT INTO DEMO.LINEAGE.USERS_RAW VALUES (1, 'new'), (2, 'b'), (3, 'c')")
    ti = RecordingTI()
    assert op.execute({"ti": ti}) == {
        "inserted": 2,
        "updated": 1,
        "deleted": 0,
        "empty": False,
        "statements": 3,
    }
    assert ti.xcom == {"snowsight_table_url": SNOWSIGHT + "USERS"}

    op.get_openlineage_facets_on_complete(None)
    [got] = captured
    merge = [s for s in op.statements_run if s.startswith("MERGE INTO")]
    assert len(merge) == 1
    assert got.inputs == (Dataset(namespace=NS, name="DEMO.LINEAGE.USERS_RAW"),)
    assert got.outputs == (
        Dataset(
            namespace=NS,
            name="DEMO.LINEAGE.USERS",
            schema=(
                SchemaField("ID", "NUMBER(38, 0)"),
                SchemaField("NAME", "VARCHAR"),
            ),  # as the catalog says
            stats=OutputStats(rows=3),
        ),
    )
    assert got.sql == lineage.sql_text(op.statements_run) and got.sql.endswith(merge[0] + ";")
    assert got.dialect == "snowflake"


def test_quality_gate_reports_assertions_also_when_it_fails(stack: Any, captured: list[Lineage]) -> None:
    sql("CREATE OR REPLACE TABLE DEMO.LINEAGE.CUSTOMERS (ID INT, EMAIL VARCHAR)")
    sql("INSERT INTO DEMO.LINEAGE.CUSTOMERS VALUES (1, 'a@x'), (2, NULL)")
    op = QualityGateOperator(
        task_id="gate",
        snowflake_conn_id=CONN,
        table="LINEAGE.CUSTOMERS",
        checks=[unique("ID"), not_null("EMAIL")],
        sample_size=0,
    )
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException):
        op.execute({"ti": RecordingTI(), "logical_date": None})
    op.get_openlineage_facets_on_complete(None)
    [got] = captured
    names = [c.name for c in op.checks]
    assert got == Lineage(
        inputs=(
            Dataset(
                namespace=NS,
                name="DEMO.LINEAGE.CUSTOMERS",
                assertions=(Assertion(names[0], True, "ID"), Assertion(names[1], False, "EMAIL")),
            ),
        ),
        sql=lineage.sql_text(op.statements_run),
        dialect="snowflake",
    )
    assert len(op.statements_run) == 1 and '"CUSTOMERS"' in op.statements_run[0]


def test_without_the_openlineage_provider_the_method_returns_none(
    stack: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("airflow.providers.openlineage", "airflow.providers.openlineage.extractors"):
        monkeypatch.setitem(sys.modules, module, None)  # as if the provider were not installed
    op = SnowflakeStreamMergeOperator(
        task_id="merge",
        snowflake_conn_id=CONN,
        target_table="LINEAGE.USERS",
        source_table="LINEAGE.USERS_RAW",
        key_columns="ID",
    )
    assert op.get_openlineage_facets_on_complete(None) is None  # never ran: nothing to report
    from airflow_provider_dataeng.sql.identifiers import parse_object_name

    target = parse_object_name("LINEAGE.USERS", param="t")
    op._lineage = (target, None, None, {"inserted": 1, "updated": 0, "deleted": 0})
    with caplog.at_level(logging.DEBUG, logger="airflow_provider_dataeng.lineage"):
        assert op.get_openlineage_facets_on_complete(None) is None
    assert "apache-airflow-providers-openlineage is not installed" in caplog.text


def test_extract_reports_the_endpoint_and_the_folder_with_records_bytes_files(
    stack: Any, captured: list[Lineage]
) -> None:
    from airflow_provider_dataeng.hooks.rest_api import RestApiHook
    from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator
    from airflow_provider_dataeng.pagination import CursorPaginator

    dest = f"s3://{stack.bucket}/{PREFIX}orders/2026-01-01/"
    op = RestApiExtractOperator(
        task_id="extract",
        http_conn_id="demo_api",
        endpoint="/v1/orders",
        query_params={
            "paginate": "cursor",
            "limit": 100,
            "updated_since": "2024-01-03T00:00:00Z",
            "updated_before": "2024-01-04T00:00:00Z",
        },
        records_path="data",
        paginator=CursorPaginator(cursor_path="next_cursor", has_more_path="has_more"),
        destination=dest,
        max_records_per_file=50,
    )
    manifest = op.execute({})
    op.get_openlineage_facets_on_complete(None)
    [got] = captured
    base = RestApiHook("demo_api").url_for("/v1/orders")
    host = base.split("/v1/")[0]
    assert manifest["records"] > 50 and len(manifest["files"]) >= 2
    assert got == Lineage(
        inputs=(Dataset(namespace=host, name="/v1/orders"),),
        outputs=(
            Dataset(
                namespace=f"s3://{stack.bucket}",
                name=f"{PREFIX}orders/2026-01-01",
                stats=OutputStats(
                    rows=manifest["records"],
                    bytes=sum(f["bytes"] for f in manifest["files"]),
                    files=len(manifest["files"]),
                ),
            ),
        ),
    )
