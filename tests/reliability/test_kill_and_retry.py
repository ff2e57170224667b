"""Kill and retry: the worker SIGKILLed in the middle of extract, load and merge, then the task re-run.

Each operator runs in a worker subprocess (``run_operator``: the operator built from its arguments, its
``execute()`` called, as a task does). A kill point patches one method in that subprocess so that, when
it is reached, the worker prints ``KILLPOINT`` and blocks; the test then sends SIGKILL (no cleanup,
no ``finally``, no ROLLBACK: what an OOM kill or a lost node does). The re-run for the same interval must
end in exactly the state of an undisturbed run, compared row by row.

Kill points (chosen to be deterministic, and where a crash does the most harm):
- extract: after the 2nd page is written to a staged part file, while the 3rd page is held back by the
  demo API (``fault=slow``): parts are staged, no manifest exists yet.
- load: after the COPY returned, before COMMIT: the rows and load metadata exist only inside the dead
  session's open transaction.
- merge: (a) just before the MERGE is sent (stream and target created, preflight done); (b) after the
  MERGE returned, before the task reports success (the stream is consumed but Airflow saw a failure).
"""

from __future__ import annotations

import copy
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DATABASE = "RELIABILITY_KILL"
T0 = "1970-01-01T00:00:00+00:00"
T1 = "2024-01-08T04:00:00+00:00"

# The worker: builds the operator, installs the kill point, runs execute(), prints the result.
WORKER = textwrap.dedent(
    """
    import importlib, json, os, sys, time
    spec = json.loads(sys.argv[1])
    kill = spec.get("kill_at")
    if kill:
        module_name, _, attr = kill["target"].rpartition(":")
        owner_name, _, method_name = attr.rpartition(".")
        owner = importlib.import_module(module_name)
        for part in owner_name.split("."):
            owner = getattr(owner, part)
        original = getattr(owner, method_name)
        calls = {"n": 0}

        def park():
            print("KILLPOINT", flush=True)
            time.sleep(600)

        def patched(self, *args, **kwargs):
            matches = kill.get("match") is None or kill["match"] in str(args[0] if args else "")
            if matches:
                calls["n"] += 1
            hit = matches and calls["n"] == kill.get("nth", 1)
            if hit and kill.get("when") == "before":
                park()
            result = original(self, *args, **kwargs)
            if hit and kill.get("when", "after") == "after":
                park()
            return result

        setattr(owner, method_name, patched)
    module_name, _, class_name = spec["operator"].rpartition(":")
    operator_class = getattr(importlib.import_module(module_name), class_name)
    if spec.get("factory"):
        exec(spec["factory"], globals())  # defines make_kwargs() (arguments that are not JSON), make_context()
        kwargs = {**spec["kwargs"], **make_kwargs()}
    else:
        kwargs = spec["kwargs"]
    operator = operator_class(task_id=spec.get("task_id", "worker"), **kwargs)
    context = make_context() if "make_context" in globals() else {}
    try:
        result = operator.execute(context)
    except BaseException as err:
        print("ERROR " + json.dumps({"type": type(err).__name__, "message": str(err)}), flush=True)
        sys.exit(3)
    finally:
        # the worker's peak resident set size in KiB: VmHWM belongs to this process image (getrusage's
        # ru_maxrss would carry the forking pytest process's peak over the exec)
        with open("/proc/self/status") as status:
            peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
        print("PEAK_RSS_KB " + peak, flush=True)
    print("RESULT " + json.dumps(result, default=str), flush=True)
    """
)


class WorkerResult:
    def __init__(self, returncode: int, output: str) -> None:
        self.returncode = returncode
        self.output = output

    def _line(self, prefix: str) -> Any:
        for line in self.output.splitlines():
            if line.startswith(prefix):
                return json.loads(line[len(prefix) :])
        raise AssertionError(f"no {prefix.strip()} line; worker output:\n{self.output[-6000:]}")

    @property
    def result(self) -> Any:
        assert self.returncode == 0, self.output[-6000:]
        return self._line("RESULT ")

    @property
    def peak_rss_mib(self) -> float:
        return int(self._line("PEAK_RSS_KB ")) / 1024

    @property
    def error(self) -> dict[str, str]:
        assert self.returncode == 3, self.output[-6000:]
        return self._line("ERROR ")


def run_operator(
    env: dict[str, str],
    operator: str,
    kwargs: dict[str, Any],
    *,
    kill_at: dict[str, Any] | None = None,
    factory: str | None = None,
    timeout: float = 300,
) -> WorkerResult:
    """Run ``operator`` (``module:Class``) in a worker subprocess; with ``kill_at``, SIGKILL it there."""
    spec = {"operator": operator, "kwargs": kwargs, "kill_at": kill_at, "factory": factory}
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, json.dumps(spec)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    if kill_at is None:
        output, _ = proc.communicate(timeout=timeout)
        return WorkerResult(proc.returncode, output)
    lines: list[str] = []
    for line in proc.stdout:  # the worker's log until it parks at the kill point
        lines.append(line)
        if line.startswith("KILLPOINT"):
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.stdout.close()
    returncode = proc.wait(timeout=60)
    output = "".join(lines)
    assert returncode == -signal.SIGKILL, (
        f"the worker never reached the kill point {kill_at}:\n{output[-6000:]}"
    )
    return WorkerResult(returncode, output)


def stack_env(local_stack: Any, database: str) -> dict[str, str]:
    """The workers' environment: the stack's connections, Snowflake pointed at ``database``."""
    snowflake = copy.deepcopy(local_stack.connections["snowflake_default"])
    snowflake["extra"]["database"] = database
    return {
        **os.environ,
        **local_stack.env,
        "AIRFLOW_CONN_SNOWFLAKE_DEFAULT": json.dumps(snowflake),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }


def snowflake_runner(local_stack: Any, database: str):
    """A connection to the stand-in; returns ``(sql -> rows, close)``."""
    import snowflake.connector

    conn = snowflake.connector.connect(
        host="127.0.0.1",
        port=local_stack.snowflake_port,
        protocol="http",
        account="fakesnow",
        user="local",
        password="local",
        database=database,
    )
    conn.cursor().execute(f"CREATE DATABASE IF NOT EXISTS {database}")
    conn.cursor().execute(f"USE DATABASE {database}")
    cur = conn.cursor()
    return (lambda sql: cur.execute(sql).fetchall()), conn.close


def s3_client(local_stack: Any):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=local_stack.s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def s3_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def s3_records(s3: Any, bucket: str, manifest: dict[str, Any]) -> list[bytes]:
    """Every record line of the manifest's part files, in file order (the extract's exact output)."""
    import zstandard

    lines: list[bytes] = []
    for f in manifest["files"]:
        key = f["uri"].split(f"s3://{bucket}/", 1)[1]
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        lines += zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body)).read().splitlines()
    return lines


EXTRACT = "airflow_provider_dataeng.operators.rest_api_extract:RestApiExtractOperator"
LOAD = "airflow_provider_dataeng.operators.s3_stage_load:S3StageLoadOperator"
MERGE = "airflow_provider_dataeng.operators.snowflake_stream_merge:SnowflakeStreamMergeOperator"
PAGINATOR = textwrap.dedent(
    """
    def make_kwargs():
        from airflow_provider_dataeng import CursorPaginator
        return {"paginator": CursorPaginator(cursor_path="next_cursor", has_more_path="has_more")}
    """
)
ORDER_COLUMNS = {
    "ORDER_ID": "RECORD:id::number",
    "CUSTOMER_ID": "RECORD:customer_id::number",
    "STATUS": "RECORD:status::string",
    "AMOUNT": "RECORD:amount::number(12, 2)",
    "CURRENCY": "RECORD:currency::string",
    "ORDERED_AT": "RECORD:ordered_at::timestamp_ntz",
    "UPDATED_AT": "RECORD:updated_at::timestamp_ntz",
}
ORDERS_DDL = (
    "CREATE TABLE IF NOT EXISTS {table} (ORDER_ID NUMBER(38, 0) NOT NULL, CUSTOMER_ID NUMBER(38, 0), "
    "STATUS VARCHAR, AMOUNT NUMBER(12, 2), CURRENCY VARCHAR, ORDERED_AT TIMESTAMP_NTZ, "
    "UPDATED_AT TIMESTAMP_NTZ, _DELETED_AT TIMESTAMP_LTZ)"
)


def extract_kwargs(bucket: str, folder: str, **query: Any) -> dict[str, Any]:
    return {
        "http_conn_id": "demo_api",
        "endpoint": "/v1/orders",
        "records_path": "data",
        "query_params": {"updated_since": T0, "updated_before": T1, "as_of": T1, "limit": 1000, **query},
        "destination": f"s3://{bucket}/reliability/{folder}/",
        "aws_conn_id": "aws_default",
        "part_format": "jsonl",
        "compression": "zstd",
        "max_records_per_file": 1500,
    }


def load_kwargs(table: str, manifest: dict[str, Any], bucket: str) -> dict[str, Any]:
    return {
        "table": table,
        "stage": "RAW.RELIABILITY_LANDING",
        "ensure_stage": {"url": f"s3://{bucket}/reliability/", "aws_conn_id": "aws_default"},
        "file_format": {"type": "JSON", "compression": "ZSTD"},
        "files": manifest,
        "create_table": True,
    }


def merge_kwargs(source: str, stream: str, target: str) -> dict[str, Any]:
    return {
        "source_table": source,
        "stream": stream,
        "target_table": target,
        "key_columns": ["ORDER_ID"],
        "columns": ORDER_COLUMNS,
        "append_only": True,
        "dedupe_order_by": "RECORD:updated_at::timestamp_ntz",
        "delete_condition": "RECORD:is_deleted::boolean",
        "delete_mode": "soft",
        "only_newer_by": "UPDATED_AT",  # as the example DAG
        "if_empty": "succeed",
    }


RAW_SQL = "SELECT RECORD::string, _SOURCE_FILE, _SOURCE_ROW FROM {table} ORDER BY _SOURCE_FILE, _SOURCE_ROW"
STAGING_SQL = (
    "SELECT ORDER_ID, CUSTOMER_ID, STATUS, AMOUNT, CURRENCY, ORDERED_AT, UPDATED_AT, _DELETED_AT IS NOT NULL "
    "FROM {table} ORDER BY ORDER_ID"
)


@pytest.fixture(scope="module")
def local_stack():
    """A private stack for this module. A SIGKILLed worker leaves its Snowflake session, and the open
    transaction in it, behind in the stand-in (nothing ends abandoned sessions there, unlike Snowflake);
    that must not leak into the session's shared stack."""
    from dataeng_local.stack import LocalStack

    with LocalStack() as stack:
        yield stack


@pytest.fixture(scope="module")
def env(local_stack: Any, airflow_db: Any) -> dict[str, str]:
    return stack_env(local_stack, DATABASE)


@pytest.fixture(scope="module")
def sf(local_stack: Any):
    run, close = snowflake_runner(local_stack, DATABASE)
    run("CREATE SCHEMA IF NOT EXISTS RAW")
    run("CREATE SCHEMA IF NOT EXISTS STAGING")
    yield run
    close()


@pytest.fixture(scope="module")
def reference(env, sf, local_stack) -> dict[str, Any]:
    """The undisturbed run: extract -> load -> merge, each once, into the *_REF objects."""
    bucket = local_stack.bucket
    manifest = run_operator(env, EXTRACT, extract_kwargs(bucket, "ref"), factory=PAGINATOR).result
    load = run_operator(env, LOAD, load_kwargs("RAW.ORDERS_REF", manifest, bucket)).result
    sf(ORDERS_DDL.format(table="STAGING.ORDERS_REF"))
    merge = run_operator(
        env, MERGE, merge_kwargs("RAW.ORDERS_REF", "RAW.ORDERS_REF_STREAM", "STAGING.ORDERS_REF")
    ).result
    assert manifest["records"] > 5000 and len(manifest["files"]) >= 4
    assert load["rows_loaded"] == manifest["records"] and load["files_loaded"] == len(manifest["files"])
    assert merge["inserted"] > 5000 and merge["empty"] is False
    return {
        "manifest": manifest,
        "records": s3_records(s3_client(local_stack), bucket, manifest),
        "raw": sf(RAW_SQL.format(table="RAW.ORDERS_REF")),
        "staging": sf(STAGING_SQL.format(table="STAGING.ORDERS_REF")),
    }


def test_extract_killed_mid_stream_then_rerun_lands_the_same_files(env, local_stack, reference) -> None:
    bucket, s3 = local_stack.bucket, s3_client(local_stack)
    slow = {"fault": "slow", "fault_page": 3, "fault_delay": 30, "fault_key": f"kill-{uuid.uuid4().hex}"}
    kwargs = extract_kwargs(bucket, "killed", **slow)
    run_operator(
        env,
        EXTRACT,
        kwargs,
        factory=PAGINATOR,
        kill_at={"target": "airflow_provider_dataeng.sinks.destination:PartFileSink.write", "nth": 2},
    )
    # killed: staged parts are left behind, no part is in place and there is no manifest
    left = s3_keys(s3, bucket, "reliability/killed/")
    assert left and all("/_staging/" in key for key in left), left

    manifest = run_operator(env, EXTRACT, kwargs, factory=PAGINATOR).result  # the retry (page 3 fast now)
    assert {k: v for k, v in manifest.items() if k not in ("destination", "files")} == {
        k: v for k, v in reference["manifest"].items() if k not in ("destination", "files")
    }
    assert [f["records"] for f in manifest["files"]] == [f["records"] for f in reference["manifest"]["files"]]
    assert s3_records(s3, bucket, manifest) == reference["records"]  # byte for byte, record for record
    keys = s3_keys(s3, bucket, "reliability/killed/")
    # the crashed attempt's staged parts are not among the loadable files (COPY lists the manifest's files)
    finals = [k for k in keys if "/_staging/" not in k]
    assert finals == sorted(
        [f"reliability/killed/part-{i:05d}.jsonl.zst" for i in range(len(manifest["files"]))]
        + ["reliability/killed/_manifest.json"]
    )


def test_load_killed_before_commit_then_rerun_loads_every_file_once(env, sf, local_stack, reference) -> None:
    bucket = local_stack.bucket
    kwargs = load_kwargs("RAW.ORDERS_KILLED", reference["manifest"], bucket)
    run_operator(
        env,
        LOAD,
        kwargs,
        # the second COPY: the first finds no table (created then, and the load runs again), as on Snowflake
        kill_at={
            "target": "airflow_provider_dataeng.hooks.session:SqlSession.fetch",
            "match": "COPY INTO",
            "nth": 2,
        },
    )
    # the dead session's transaction never committed: no rows are visible
    assert sf("SELECT COUNT(*) FROM RAW.ORDERS_KILLED")[0][0] == 0

    summary = run_operator(env, LOAD, kwargs).result
    manifest = reference["manifest"]
    assert summary["files_loaded"] == len(manifest["files"]) and summary["files_skipped"] == 0
    assert summary["rows_loaded"] == manifest["records"]
    assert sf(RAW_SQL.format(table="RAW.ORDERS_KILLED")) == reference["raw"]
    # and a third run skips every file (load metadata committed with the rows)
    again = run_operator(env, LOAD, kwargs).result
    assert again["files_loaded"] == 0 and again["files_skipped"] == len(manifest["files"])
    assert sf(RAW_SQL.format(table="RAW.ORDERS_KILLED")) == reference["raw"]


@pytest.mark.parametrize("when", ["before", "after"])
def test_merge_killed_around_the_merge_then_rerun_applies_it_once(env, sf, reference, when) -> None:
    target, stream = f"STAGING.ORDERS_KILLED_{when.upper()}", f"RAW.ORDERS_KILLED_{when.upper()}_STREAM"
    sf(ORDERS_DDL.format(table=target))
    kwargs = merge_kwargs("RAW.ORDERS_REF", stream, target)
    run_operator(
        env,
        MERGE,
        kwargs,
        kill_at={
            "target": "airflow_provider_dataeng.hooks.session:SqlSession.fetch",
            "match": "MERGE INTO",
            "when": when,
        },
    )
    staged = sf(STAGING_SQL.format(table=target))
    assert staged == ([] if when == "before" else reference["staging"])

    summary = run_operator(env, MERGE, kwargs).result
    if when == "before":  # the stream was not consumed: the retry applies the whole batch
        assert summary["empty"] is False and summary["inserted"] == len(reference["staging"])
    else:  # the killed MERGE committed and consumed the stream: the retry has nothing to apply
        assert summary == {"inserted": 0, "updated": 0, "deleted": 0, "empty": True, "statements": 2}
    assert sf(STAGING_SQL.format(table=target)) == reference["staging"]
