"""Fixtures for the loader's integration tests: the shared local stack (Snowflake stand-in + moto S3),
a boto3 client, a Snowflake session for assertions, and writers for jsonl.zst / parquet / csv part files
with the extract operator's manifest."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

STAGE = "DEMO.PUBLIC.LOAD_TEST_STAGE"
STAGE_PREFIX = "load-tests/"


@pytest.fixture(scope="session")
def stack(local_stack: Any) -> Any:
    return local_stack


@pytest.fixture(scope="session")
def s3(stack: Any) -> Any:
    import boto3

    from dataeng_local.s3 import ACCESS_KEY, REGION, SECRET_KEY

    return boto3.client("s3", endpoint_url=stack.s3_endpoint, region_name=REGION,
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


@pytest.fixture(scope="session")
def stage_url(stack: Any) -> str:
    return f"s3://{stack.bucket}/{STAGE_PREFIX}"


@pytest.fixture(scope="session")
def ensure_stage(stage_url: str) -> dict[str, str]:
    return {"url": stage_url, "aws_conn_id": "aws_default"}


@pytest.fixture(scope="module")
def sf(stack: Any) -> Iterator[Callable[..., list[tuple[Any, ...]]]]:
    """``sf(sql, params=None)``: run one statement on the local Snowflake and return all rows."""
    from airflow_provider_dataeng.hooks.snowflake import SnowflakeHook

    conn = SnowflakeHook(snowflake_conn_id="snowflake_default").get_conn()
    cur = conn.cursor()

    def run(sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        cur.execute(sql, params)
        return list(cur.fetchall())

    yield run
    conn.close()


def jsonl_zst(records: list[dict[str, Any]]) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor().compress(b"".join(json.dumps(r).encode() + b"\n" for r in records))


def parquet(columns: dict[str, list[Any]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def put_parts(s3: Any, stack: Any, stage_url: str) -> Callable[..., dict[str, Any]]:
    """``put_parts(folder, [bytes, ...], records=[n, ...], fmt=...)`` uploads part files under the stage
    URL and returns the manifest the extract operator would return for them."""

    def put(folder: str, bodies: list[bytes], records: list[int], fmt: str = "jsonl",
            compression: str = "zstd", suffix: str = ".jsonl.zst") -> dict[str, Any]:
        files = []
        for i, (body, n) in enumerate(zip(bodies, records)):
            key = f"{STAGE_PREFIX}{folder}/part-{i:05d}{suffix}"
            s3.put_object(Bucket=stack.bucket, Key=key, Body=body)
            files.append({"uri": f"s3://{stack.bucket}/{key}", "records": n, "bytes": len(body)})
        return {"destination": f"{stage_url}{folder}/", "files": files, "records": sum(records),
                "pages": len(files), "format": fmt, "compression": compression}

    return put
