"""Load: the extract operator as 8 concurrent tasks, and the quality gate on a large table, within a worker's memory.

Each task runs in its own worker process (as the mapped tasks of one DAG run do on a worker with 8 slots) and
reports its peak RSS (``getrusage``); each must stay under 1 GiB, well within a default Airflow worker.
Sizes come from environment variables so the suite stays fast; the 10M-row figure is measured with
``RELIABILITY_GATE_ROWS=10000000`` (the numbers measured are in the README's Guarantees).

- ``RELIABILITY_EXTRACT_RECORDS``: records of ``/v1/bulk`` (~500 bytes each) per extract task (default 25,000)
- ``RELIABILITY_GATE_ROWS``: rows of the table the quality gate checks (default 1,000,000)
"""

from __future__ import annotations

import io
import json
import os
import re
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.reliability.test_kill_and_retry import (
    EXTRACT,
    PAGINATOR,
    run_operator,
    s3_client,
    snowflake_runner,
    stack_env,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DATABASE = "RELIABILITY_LOAD"
TASKS = 8
EXTRACT_RECORDS = int(os.environ.get("RELIABILITY_EXTRACT_RECORDS", "25000"))
GATE_ROWS = int(os.environ.get("RELIABILITY_GATE_ROWS", "1000000"))
MEMORY_LIMIT_MIB = 1024
GATE = "airflow_provider_dataeng.operators.quality_gate:QualityGateOperator"
GATE_FACTORY = textwrap.dedent(
    """
    def make_kwargs():
        from airflow_provider_dataeng.quality import accepted_values, not_null, relationships, row_count, unique
        return {"checks": [
            unique("ORDER_ID"),
            not_null(["ORDER_ID", "CUSTOMER_ID", "AMOUNT", "UPDATED_AT"]),
            accepted_values("STATUS", ["placed", "shipped", "delivered", "cancelled"]),
            # fails as a warning on purpose: the gate also fetches failing samples from the big table
            accepted_values("CURRENCY", ["USD", "EUR"], severity="warn", name="currency_usd_eur"),
            relationships("CUSTOMER_ID", to_table="ANALYTICS.CUSTOMERS", to_column="CUSTOMER_ID"),
            row_count(min=1),
        ]}

    def make_context():
        from types import SimpleNamespace
        ti = SimpleNamespace(dag_id="reliability_load", task_id="quality", run_id="manual__load",
                             xcom_push=lambda **kwargs: None)
        return {"ti": ti, "logical_date": None}
    """
)


@pytest.fixture(scope="module")
def local_stack():
    """A private stack: the 1M-row gate table and the bulk extracts' files are freed with it instead of
    weighing on the session's shared stand-ins for the rest of the run."""
    from dataeng_local.stack import LocalStack

    with LocalStack() as stack:
        yield stack


@pytest.fixture(scope="module")
def env(local_stack: Any, airflow_db: Any) -> dict[str, str]:
    return stack_env(local_stack, DATABASE)


def extract_bulk(env: dict[str, str], bucket: str, number: int):
    kwargs = {
        "http_conn_id": "demo_api",
        "endpoint": "/v1/bulk",
        "records_path": "data",
        "query_params": {"records": EXTRACT_RECORDS, "limit": 1000},
        "destination": f"s3://{bucket}/reliability/load/bulk-{number}/",
        "aws_conn_id": "aws_default",
        "part_format": "jsonl",
        "compression": "zstd",
    }
    return run_operator(env, EXTRACT, kwargs, factory=PAGINATOR, timeout=900)


def test_eight_concurrent_extracts_stay_within_a_worker_memory(env, local_stack) -> None:
    import zstandard

    started = time.monotonic()
    with ThreadPoolExecutor(TASKS) as pool:
        workers = list(pool.map(lambda n: extract_bulk(env, local_stack.bucket, n), range(TASKS)))
    elapsed = time.monotonic() - started
    peaks = [w.peak_rss_mib for w in workers]
    # the extract's own time, from its final log line (the rest is each worker process starting up)
    extract_seconds = [
        float(re.search(r"Extracted \d+ pages, \d+ records in ([\d.]+)s", w.output).group(1)) for w in workers
    ]
    print(f"\n{TASKS} concurrent extracts of {EXTRACT_RECORDS:,} bulk records each: {elapsed:.1f}s wall "
          f"(worker start-up included), extract phase {min(extract_seconds):.1f}-{max(extract_seconds):.1f}s per "
          f"task, peak RSS per task {min(peaks):.0f}-{max(peaks):.0f} MiB")
    for worker in workers:
        manifest = worker.result
        assert manifest["records"] == EXTRACT_RECORDS and manifest["pages"] == -(-EXTRACT_RECORDS // 1000)
        assert sum(f["records"] for f in manifest["files"]) == EXTRACT_RECORDS
    assert max(peaks) < MEMORY_LIMIT_MIB, peaks
    # every task landed every record once: one task's files hold N consecutive ids, each once
    s3, ids = s3_client(local_stack), []
    for f in workers[-1].result["files"]:
        body = s3.get_object(Bucket=local_stack.bucket, Key=f["uri"].split("/", 3)[3])["Body"].read()
        text = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body)).read()
        ids += [json.loads(line)["id"] for line in text.splitlines()]
    assert len(ids) == len(set(ids)) == EXTRACT_RECORDS and max(ids) - min(ids) == EXTRACT_RECORDS - 1


def test_quality_gate_on_a_large_table_stays_within_a_worker_memory(env, local_stack) -> None:
    import psutil

    sf, close = snowflake_runner(local_stack, DATABASE)
    try:
        sf("CREATE SCHEMA IF NOT EXISTS ANALYTICS")
        sf("CREATE OR REPLACE TABLE ANALYTICS.CUSTOMERS AS SELECT SEQ4() AS CUSTOMER_ID "
           "FROM TABLE(GENERATOR(ROWCOUNT => 10000))")
        started = time.monotonic()
        sf(
            "CREATE OR REPLACE TABLE ANALYTICS.BIG_SALES AS SELECT SEQ4() AS ORDER_ID, "
            "MOD(SEQ4(), 10000) AS CUSTOMER_ID, "
            "DECODE(MOD(SEQ4(), 4), 0, 'placed', 1, 'shipped', 2, 'delivered', 'cancelled') AS STATUS, "
            "(MOD(SEQ4(), 100000) / 100)::NUMBER(12, 2) AS AMOUNT, "
            "DECODE(MOD(SEQ4(), 3), 0, 'USD', 1, 'EUR', 'GBP') AS CURRENCY, "
            "DATEADD('second', SEQ4(), '2024-01-01'::TIMESTAMP_NTZ) AS UPDATED_AT "
            f"FROM TABLE(GENERATOR(ROWCOUNT => {GATE_ROWS}))"
        )
        built = time.monotonic() - started
        assert sf("SELECT COUNT(*) FROM ANALYTICS.BIG_SALES")[0][0] == GATE_ROWS
    finally:
        close()
    server = [p for p in psutil.process_iter(["cmdline"])
              if "dataeng_local.snowflake" in " ".join(p.info["cmdline"] or [])
              and f"{local_stack.snowflake_port}" in " ".join(p.info["cmdline"] or [])]

    started = time.monotonic()
    worker = run_operator(
        env, GATE, {"snowflake_conn_id": "snowflake_default", "table": "ANALYTICS.BIG_SALES", "sample_size": 5},
        factory=GATE_FACTORY, timeout=900,
    )
    elapsed = time.monotonic() - started
    output = worker.result
    print(f"\nquality gate on {GATE_ROWS:,} rows: table built in {built:.1f}s, gate {elapsed:.1f}s "
          f"(worker process incl. start-up), worker peak RSS {worker.peak_rss_mib:.0f} MiB"
          + (f", stand-in RSS now {server[0].memory_info().rss / 2**20:.0f} MiB" if server else ""))
    assert output["passed"] is True
    statuses = {r["name"]: r["status"] for r in output["results"]}
    assert statuses["currency_usd_eur"] == "warn"
    assert [s for name, s in statuses.items() if name != "currency_usd_eur"] == ["pass"] * (len(statuses) - 1)
    failing = next(r for r in output["results"] if r["name"] == "currency_usd_eur")
    assert failing["observed"] == GATE_ROWS // 3 + (1 if GATE_ROWS % 3 == 2 else 0)
    assert worker.peak_rss_mib < MEMORY_LIMIT_MIB
