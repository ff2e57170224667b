"""Fixtures for the database extract: the local stack's real PostgreSQL (``postgres_default``), a schema of
its own per test module, S3 (moto) and the Snowflake stand-in to load into."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

PG_CONN_ID = "postgres_default"


def pg_params() -> dict[str, Any]:
    conn = json.loads(os.environ[f"AIRFLOW_CONN_{PG_CONN_ID.upper()}"])
    return {"host": conn["host"], "port": conn["port"], "dbname": conn["schema"], "user": conn["login"],
            "password": conn["password"]}


@pytest.fixture(scope="module")
def pg(local_stack: Any) -> Iterator[Callable[..., list[tuple[Any, ...]]]]:
    """``pg(sql, params)``: one statement on the stack's PostgreSQL (autocommit), in the module's schema
    (``pg.schema``, first on the search path)."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:10]}"
    conn = psycopg.connect(**pg_params(), autocommit=True)
    conn.execute(f"CREATE SCHEMA {schema}")
    conn.execute(f"SET search_path TO {schema}, public")

    def run(sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []

    run.schema = schema  # type: ignore[attr-defined]
    run.conn = conn  # type: ignore[attr-defined]
    yield run
    conn.execute(f"DROP SCHEMA {schema} CASCADE")
    conn.close()


@pytest.fixture(scope="module")
def sf(local_stack: Any) -> Iterator[Callable[[str], list[tuple[Any, ...]]]]:
    from airflow_provider_dataeng.hooks.snowflake import SnowflakeHook

    conn = SnowflakeHook(snowflake_conn_id="snowflake_default").get_conn()
    cur = conn.cursor()

    def run(sql: str) -> list[tuple[Any, ...]]:
        cur.execute(sql)
        return list(cur.fetchall()) if cur.description else []

    yield run
    conn.close()


def context(previous: dict[str, Any] | None = None, **values: Any) -> dict[str, Any]:
    """A task context with what the extract reads: the task (whose latest earlier XCom is ``previous``), the
    run and its data interval."""
    def xcom_pull(**kwargs: Any) -> Any:
        assert kwargs == {"task_ids": "extract", "include_prior_dates": True, "map_indexes": -1}
        return previous

    ti = SimpleNamespace(dag_id="sql_extract_test", task_id="extract", map_index=-1, xcom_pull=xcom_pull)
    return {"ti": ti, **values}


def s3_folder(local_stack: Any, name: str = "") -> str:
    return f"s3://{local_stack.bucket}/sql-extract/{name or uuid.uuid4().hex[:12]}/"


def s3(local_stack: Any) -> Any:
    import s3fs

    return s3fs.S3FileSystem(key="testing", secret="testing", skip_instance_cache=True,
                             client_kwargs={"endpoint_url": local_stack.s3_endpoint, "region_name": "us-east-1"})


def raw_lines(local_stack: Any, manifest: dict[str, Any]) -> list[bytes]:
    """The jsonl part files' lines as bytes, exactly as written, in file order."""
    import io

    import zstandard

    fs = s3(local_stack)
    lines: list[bytes] = []
    for entry in manifest["files"]:
        data = fs.cat_file(entry["uri"])
        if manifest["compression"] == "zstd":
            data = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read()
        lines += data.splitlines()
    return lines


def landed(local_stack: Any, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of a manifest's part files, in file order (jsonl decoded, Parquet read)."""
    if manifest["format"] != "parquet":
        return [json.loads(line) for line in raw_lines(local_stack, manifest)]
    import io

    import pyarrow.parquet as pq

    fs = s3(local_stack)
    return [r for e in manifest["files"] for r in pq.read_table(io.BytesIO(fs.cat_file(e["uri"]))).to_pylist()]
