"""Airflow's SnowflakeHook path over the local stand-in: external S3 stage on moto, COPY, re-COPY skipped.

Uses the `snowflake_default` and `aws_default` connections exactly as `dataeng-local env` exports them.
"""

from __future__ import annotations

import json
import os

import pytest
import zstandard

from airflow_provider_dataeng.hooks.snowflake import SnowflakeHook

pytestmark = pytest.mark.integration


def test_copy_from_external_stage_through_snowflake_hook(local_stack) -> None:
    import boto3

    aws = json.loads(os.environ["AIRFLOW_CONN_AWS_DEFAULT"])
    s3 = boto3.client(
        "s3", endpoint_url=aws["extra"]["endpoint_url"], region_name=aws["extra"]["region_name"],
        aws_access_key_id=aws["login"], aws_secret_access_key=aws["password"],
    )
    for i in range(2):
        body = b"".join(json.dumps({"id": i * 10 + n, "name": f"r{n}"}).encode() + b"\n" for n in range(3))
        s3.put_object(Bucket=local_stack.bucket, Key=f"hook-test/part-{i}.jsonl.zst",
                      Body=zstandard.ZstdCompressor().compress(body))

    hook = SnowflakeHook(snowflake_conn_id="snowflake_default")
    hook.run([
        "CREATE SCHEMA IF NOT EXISTS HOOK_TEST",
        "CREATE OR REPLACE TABLE HOOK_TEST.T (RECORD VARIANT)",
        f"CREATE OR REPLACE STAGE HOOK_TEST.S URL = 's3://{local_stack.bucket}/hook-test/' "
        f"CREDENTIALS = (AWS_KEY_ID = '{aws['login']}' AWS_SECRET_KEY = '{aws['password']}')",
    ])
    copy = (
        "COPY INTO HOOK_TEST.T FROM @HOOK_TEST.S FILES = ('part-0.jsonl.zst', 'part-1.jsonl.zst') "
        "FILE_FORMAT = (TYPE = JSON COMPRESSION = ZSTD)"
    )
    first = hook.fetch_dicts(copy)
    assert sorted((r["file"], r["status"], r["rows_parsed"], r["rows_loaded"]) for r in first) == [
        (f"s3://{local_stack.bucket}/hook-test/part-0.jsonl.zst", "LOADED", 3, 3),
        (f"s3://{local_stack.bucket}/hook-test/part-1.jsonl.zst", "LOADED", 3, 3),
    ]
    assert hook.fetch_dicts(copy) == [{"status": "Copy executed with 0 files processed."}]
    rows = hook.fetch_dicts("SELECT RECORD:id::int AS ID, RECORD:name::string AS NAME FROM HOOK_TEST.T ORDER BY 1")
    assert [(r["ID"], r["NAME"]) for r in rows] == [(0, "r0"), (1, "r1"), (2, "r2"), (10, "r0"), (11, "r1"), (12, "r2")]
