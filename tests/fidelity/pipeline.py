"""One run of the real pipeline on the local stack: pages on an HTTP server -> RestApiExtractOperator -> S3 ->
S3StageLoadOperator -> stream -> SnowflakeStreamMergeOperator -> read back.

The operators run exactly as in a DAG (``execute``), against the session's Snowflake stand-in and S3 stand-in;
the only test knowledge is where the pages come from and how the result is read back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from airflow_provider_dataeng.hooks.rest_retry import HttpRetryPolicy
from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator
from airflow_provider_dataeng.operators.s3_stage_load import S3StageLoadOperator
from airflow_provider_dataeng.operators.snowflake_stream_merge import SnowflakeStreamMergeOperator
from airflow_provider_dataeng.pagination import CursorPaginator
from tests.fidelity.conftest import API_CONN_ID
from tests.fidelity.jsontext import dumps, loads
from tests.fidelity.strategies import ID_KEY
from tests.rest_api.server import FixtureServer, Request

PAGE_SIZE = 40
RECORDS_PER_FILE = 150
SCHEMA = "DEMO.FIDELITY"
STAGE = f"{SCHEMA}.LANDING"
RETRIES = HttpRetryPolicy(max_attempts=2, backoff_initial=0.01, backoff_max=0.05, jitter=0.0)
LOAD_FORMATS = {
    ("jsonl", "zstd"): {"type": "JSON", "compression": "ZSTD"},
    ("jsonl", "gzip"): {"type": "JSON", "compression": "GZIP"},
    ("parquet", "zstd"): {"type": "PARQUET"},
}


@dataclass
class Run:
    """What one pipeline run returned, and the rows it left in the target table (by record id)."""

    manifest: dict[str, Any]
    loaded: dict[str, Any]
    merged: dict[str, Any]
    rows: dict[int, Any]


def page_bodies(records: list[Any], styles: list[str]) -> list[bytes]:
    """The records as pages of ``PAGE_SIZE``, page ``n`` written in ``styles[n % len(styles)]``."""
    pages = [records[i : i + PAGE_SIZE] for i in range(0, len(records), PAGE_SIZE)] or [[]]
    bodies = []
    for number, page in enumerate(pages):
        last = number == len(pages) - 1
        body = {"data": page, "has_more": not last, "next_cursor": None if last else f"c{number + 1}"}
        style = styles[number % len(styles)]
        bodies.append(dumps(body, style).encode())
    return bodies


def serve(api: FixtureServer, bodies: list[bytes]) -> str:
    """Route a fresh endpoint answering ``?cursor=c<n>`` with ``bodies[n]``; returns its path."""
    path = f"/records/{uuid.uuid4().hex[:8]}"

    def handler(request: Request) -> tuple[int, dict[str, str], bytes]:
        cursor = request.query.get("cursor", "c0")
        return 200, {"Content-Type": "application/json"}, bodies[int(cursor[1:])]

    api.route("GET", path, handler)
    return path


def extract(endpoint: str, destination: str, *, part_format: str, compression: str) -> dict[str, Any]:
    return RestApiExtractOperator(
        task_id="extract", http_conn_id=API_CONN_ID, endpoint=endpoint, records_path="data",
        paginator=CursorPaginator(cursor_path="next_cursor", has_more_path="has_more"),
        destination=destination, part_format=part_format, compression=compression,
        max_records_per_file=RECORDS_PER_FILE, http_retry_policy=RETRIES, emit_assets=False,
    ).execute({})


def run_pipeline(
    api: FixtureServer,
    sf: Any,
    bucket: str,
    records: list[Any],
    *,
    styles: list[str],
    part_format: str = "jsonl",
    compression: str = "zstd",
    columns: dict[str, str] | None = None,
    bodies: list[bytes] | None = None,
) -> Run:
    """Land ``records`` (each with a numeric ``ID_KEY``) through the pipeline; read the target back.

    Without ``columns`` the load keeps each record in a VARIANT and the merge copies it into ``DOC``; the
    rows are the parsed VARIANT texts. With ``columns`` (Parquet only) the load matches typed columns by name
    and the merge copies them; the rows are the column values (VARIANT columns parsed). ``bodies`` serves
    these page bodies instead of writing ``records`` (for bodies no encoder would write).
    """
    name = uuid.uuid4().hex[:10].upper()
    endpoint = serve(api, bodies or page_bodies(records, styles))
    manifest = extract(endpoint, f"s3://{bucket}/fidelity/{name}/", part_format=part_format,
                       compression=compression)
    raw, target = f"{SCHEMA}.RAW_{name}", f"{SCHEMA}.STG_{name}"
    loaded = S3StageLoadOperator(
        task_id="load", table=raw, stage=STAGE,
        ensure_stage={"url": f"s3://{bucket}/fidelity/", "aws_conn_id": "aws_default"},
        files=manifest, file_format=LOAD_FORMATS[(part_format, compression)],
        load_as="columns" if columns else "variant", create_table=True, columns=columns, emit_assets=False,
    ).execute({})
    if columns:
        definition = ", ".join(f"{column} {kind}" for column, kind in columns.items())
        sf(f"CREATE TABLE {target} ({definition})")
        merge_columns: Any = list(columns)
    else:
        sf(f"CREATE TABLE {target} (ID NUMBER(38,0), DOC VARIANT)")
        merge_columns = {"ID": f"RECORD:{ID_KEY}::NUMBER(38,0)", "DOC": "RECORD"}
    merged = SnowflakeStreamMergeOperator(
        task_id="merge", target_table=target, source_table=raw, key_columns=["ID"], append_only=True,
        columns=merge_columns, emit_assets=False,
    ).execute({})
    return Run(manifest, loaded, merged, read_back(sf, target, columns))


def read_back(sf: Any, table: str, columns: dict[str, str] | None) -> dict[int, Any]:
    if columns is None:
        return {int(i): None if doc is None else loads(doc) for i, doc in sf(f"SELECT ID, DOC FROM {table}")}
    names = list(columns)
    variant = [kind.upper() in ("VARIANT", "OBJECT", "ARRAY") for kind in columns.values()]
    rows = sf(f"SELECT {', '.join(names)} FROM {table}")
    out = {}
    for row in rows:
        values = {n: loads(v) if is_variant and v is not None else v for n, v, is_variant in zip(names, row, variant)}
        out[int(values["ID"])] = values
    return out


def parquet_columns_by_record(stack: Any, manifest: dict[str, Any]) -> list[list[str]]:
    """For each landed record, in order, the columns of the Parquet part file that holds it: each part has its
    own schema (Arrow's, widened within a part), and a field no record of a part has is no column of it."""
    import pyarrow.parquet as pq
    import s3fs

    from dataeng_local.s3 import ACCESS_KEY, REGION, SECRET_KEY

    fs = s3fs.S3FileSystem(key=ACCESS_KEY, secret=SECRET_KEY, skip_instance_cache=True,
                           client_kwargs={"endpoint_url": stack.s3_endpoint, "region_name": REGION})
    out: list[list[str]] = []
    for part in manifest["files"]:
        with fs.open(part["uri"], "rb") as f:
            names = pq.read_schema(f).names
        out += [names] * part["records"]
    return out
