"""RestApiExtractOperator: construction-time validation, execute() end to end on file://, XCom shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard

from airflow_provider_dataeng.hooks.rest_retry import HttpRetryPolicy
from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator
from airflow_provider_dataeng.pagination import CursorPaginator, PageShapeError
from tests.rest_api.conftest import FAST_RETRIES
from tests.rest_api.server import FixtureServer, Request

RECORDS = [{"id": i, "email": f"user{i}@example.com", "nested": {"n": i}} for i in range(57)]
SECRET = "op-bearer-secret-0001"


def cursor_api(server: FixtureServer, records: list[dict] = RECORDS, size: int = 10) -> None:
    def handler(request: Request):
        assert request.headers["authorization"] == f"Bearer {SECRET}"
        start = int(request.query.get("cursor") or 0)
        more = start + size < len(records)
        return 200, {}, {"data": records[start : start + size], "meta": {"next": str(start + size) if more else None}}

    server.route("GET", "/v1/orders", handler)


def operator(dest: str, **kwargs) -> RestApiExtractOperator:
    defaults = dict(
        task_id="extract", http_conn_id="demo", endpoint="/v1/orders", records_path="data",
        paginator=CursorPaginator(cursor_path="meta.next"), destination=dest, aws_conn_id=None,
        http_retry_policy=FAST_RETRIES, max_records_per_file=25,
    )
    return RestApiExtractOperator(**{**defaults, **kwargs})


def read_zst_lines(path: Path) -> list[dict]:
    data = zstandard.ZstdDecompressor().stream_reader(path.open("rb")).read()
    return [json.loads(line) for line in data.splitlines()]


@pytest.fixture
def demo_conn(connection) -> str:
    return connection("demo", conn_type="http", password=SECRET, extra={"auth_type": "bearer"})


def test_execute_streams_pages_into_parts_and_returns_the_manifest(server, demo_conn, tmp_path, logs) -> None:
    cursor_api(server)
    dest = f"file://{tmp_path}/orders/2024-01-01/"
    manifest = operator(dest).execute({})
    root = tmp_path / "orders/2024-01-01"
    assert manifest == {
        "destination": dest,
        "files": [
            {"uri": f"file://{root}/part-{i:05d}.jsonl.zst", "records": n,
             "bytes": (root / f"part-{i:05d}.jsonl.zst").stat().st_size}
            for i, n in enumerate([25, 25, 7])
        ],
        "records": 57,
        "pages": 6,
        "format": "jsonl",
        "compression": "zstd",
    }
    assert [r for i in range(3) for r in read_zst_lines(root / f"part-{i:05d}.jsonl.zst")] == RECORDS
    assert json.loads((root / "_manifest.json").read_text()) == manifest
    text = logs()
    assert "Extracted 6 pages, 57 records in" in text
    assert SECRET not in text
    assert SECRET not in json.dumps(manifest)


def test_rerun_with_less_data_replaces_files(server, demo_conn, tmp_path) -> None:
    cursor_api(server)
    dest = f"file://{tmp_path}/"
    operator(dest).execute({})
    cursor_api(server, RECORDS[:12])
    manifest = operator(dest).execute({})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_manifest.json", "part-00000.jsonl.zst"]
    assert read_zst_lines(tmp_path / "part-00000.jsonl.zst") == RECORDS[:12]
    assert manifest["records"] == 12


def test_transform_builds_dicts_and_drops_none(server, demo_conn, tmp_path) -> None:
    cursor_api(server)
    manifest = operator(f"file://{tmp_path}/", max_records_per_file=100,
                        transform=lambda r: None if r["id"] % 2 else {"id": r["id"], "domain": "example.com"}).execute({})
    assert manifest["records"] == 29
    assert read_zst_lines(tmp_path / "part-00000.jsonl.zst") == [
        {"id": i, "domain": "example.com"} for i in range(0, 57, 2)
    ]


def test_transform_error_names_record_and_page(server, demo_conn, tmp_path) -> None:
    cursor_api(server)
    with pytest.raises(ValueError, match=r"transform failed on record 3 of page 2 \(http://127.0.0.1:\d+/v1/orders"
                                         r"\?cursor=10\): KeyError: 'missing'"):
        operator(f"file://{tmp_path}/", transform=lambda r: r["missing"] if r["id"] == 13 else r).execute({})
    assert not (tmp_path / "_manifest.json").exists()


def test_parquet_output(server, demo_conn, tmp_path) -> None:
    import pyarrow.parquet as pq

    cursor_api(server)
    manifest = operator(f"file://{tmp_path}/", part_format="parquet", max_records_per_file=100).execute({})
    assert manifest["format"] == "parquet" and manifest["compression"] == "zstd"
    assert pq.read_table(tmp_path / "part-00000.parquet").to_pylist() == RECORDS


def test_failure_mid_extract_writes_no_manifest(server, demo_conn, tmp_path) -> None:
    def handler(request: Request):
        if request.query.get("cursor") == "20":
            return 200, {"Content-Type": "text/html"}, "<html>gateway error</html>"
        start = int(request.query.get("cursor") or 0)
        return 200, {}, {"data": RECORDS[start : start + 10], "meta": {"next": str(start + 10)}}

    server.route("GET", "/v1/orders", handler)
    with pytest.raises(PageShapeError, match=r"^page 3 \(http://127.0.0.1:\d+/v1/orders\?cursor=20, HTTP 200, "
                                             r"Content-Type text/html\): expected a JSON body"):
        operator(f"file://{tmp_path}/").execute({})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"part_format": "csv"}, ValueError, "part_format must be one of"),
        ({"compression": "brotli"}, ValueError, "compression for part_format='jsonl' must be one of"),
        ({"max_records_per_file": 0}, ValueError, "max_records_per_file must be a positive integer"),
        ({"max_pages": -1}, ValueError, "max_pages must be a positive integer or None"),
        ({"destination": "/data/out"}, ValueError, "destination must be an object-storage URL"),
        ({"method": "DELETE"}, ValueError, "method must be one of"),
        ({"query_params": [("a", 1)]}, ValueError, "query_params must be a dict"),
        ({"paginator": "cursor"}, TypeError, "paginator must be a BasePaginator"),
        ({"transform": "upper"}, TypeError, "transform must be a callable"),
        ({"records_path": "data..items"}, ValueError, "records_path='data..items' has an empty key"),
        ({"endpoint": ""}, ValueError, "endpoint must be a non-empty path or URL string"),
    ],
)
def test_bad_arguments_fail_at_construction(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        operator("file:///tmp/x/", **kwargs)


def test_templated_destination_is_checked_at_run_time_only() -> None:
    op = operator("{{ var.value.bucket_url }}/orders/{{ ds }}/")
    assert op.template_fields == ("endpoint", "query_params", "headers", "json", "destination")


def test_operator_module_import_is_light() -> None:
    """Importing the operator (done on every DAG parse) loads nothing beyond what BaseOperator loads itself."""
    code = (
        "import json, sys; from airflow.sdk import BaseOperator; before = set(sys.modules); "
        "import airflow_provider_dataeng.operators.rest_api_extract; print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    extra = json.loads(out.strip().splitlines()[-1])
    heavy = ("requests", "urllib3", "pyarrow", "boto3", "botocore", "s3fs", "fsspec", "zstandard", "tenacity", "msgspec")
    assert [m for m in extra if m.split(".")[0] in heavy] == []
    assert "airflow_provider_dataeng.operators.rest_api_extract" in extra


def test_retry_policy_is_passed_to_the_hook(server, demo_conn, tmp_path) -> None:
    calls = []

    def handler(request: Request):
        calls.append(1)
        return 503, {}, "down"

    server.route("GET", "/v1/orders", handler)
    with pytest.raises(Exception, match="HTTP 503 .* after 2 attempts"):
        operator(f"file://{tmp_path}/", http_retry_policy=HttpRetryPolicy(max_attempts=2, backoff_initial=0.01,
                                                                 jitter=0)).execute({})
    assert len(calls) == 2


def test_read_ahead_yields_in_order_and_reraises_the_producer_error() -> None:
    from airflow_provider_dataeng.operators.rest_api_extract import read_ahead

    def pages():
        yield from range(5)
        raise ConnectionError("source went away")

    got = []
    with pytest.raises(ConnectionError, match="source went away"):
        for item in read_ahead(pages(), 2):
            got.append(item)
    assert got == [0, 1, 2, 3, 4]
    assert list(read_ahead(iter(range(3)), 0)) == [0, 1, 2]


def test_read_ahead_stops_the_producer_when_the_consumer_fails() -> None:
    import threading

    from airflow_provider_dataeng.operators.rest_api_extract import read_ahead

    produced = []

    def pages():
        for i in range(1000):
            produced.append(i)
            yield i

    ready = read_ahead(pages(), 2)
    with pytest.raises(RuntimeError):
        for item in ready:
            if item == 1:
                raise RuntimeError("writer failed")
    ready.close()
    readers = [t for t in threading.enumerate() if t.name == "rest-extract-read-ahead"]
    for thread in readers:
        thread.join(timeout=2)
    assert not any(t.is_alive() for t in readers)  # the reader thread ended
    assert len(produced) <= 6  # at most a few pages beyond the failure, never the whole source


@pytest.mark.parametrize(("compression", "level"), [("zstd", 19), ("gzip", 1), ("none", None)])
def test_compression_level_and_no_read_ahead(server, demo_conn, tmp_path, compression: str, level) -> None:
    import gzip

    cursor_api(server)
    manifest = operator(f"file://{tmp_path}/", compression=compression, compression_level=level, read_ahead=0,
                        max_records_per_file=100).execute({})
    (entry,) = manifest["files"]
    raw = Path(entry["uri"].removeprefix("file://")).read_bytes()
    data = {"zstd": lambda b: zstandard.ZstdDecompressor().decompress(b, max_output_size=10**7),
            "gzip": gzip.decompress, "none": lambda b: b}[compression](raw)
    assert [json.loads(line) for line in data.splitlines()] == RECORDS


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"compression_level": 30}, "compression_level for zstd must be between -7 and 22, got 30"),
     ({"compression": "none", "compression_level": 3}, "compression_level applies to jsonl with zstd or gzip"),
     ({"read_ahead": -1}, "read_ahead must be a non-negative integer")],
)
def test_bad_tuning_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        operator("file:///tmp/x/", **kwargs)


def test_oauth2_connection_token_fetched_before_read_ahead_and_kept_out_of_xcom(server, connection, tmp_path,
                                                                              logs) -> None:
    from tests.rest_api.test_hook_auth import OAuthServer

    oauth = OAuthServer(server)
    connection("oauth_op", login="client-1", password="client-secret-1",
               extra={"auth_type": "oauth2", "token_url": "/oauth/token"})
    manifest = operator(f"file://{tmp_path}/", http_conn_id="oauth_op", endpoint="/items", records_path=None,
                        paginator=None).execute({})
    assert manifest["records"] == 1
    assert oauth.issued == 1
    assert [r.path for r in server.requests] == ["/oauth/token", "/items"]
    assert "tok-1-xyz" not in json.dumps(manifest) and "tok-1-xyz" not in logs()


def test_progress_lines_in_the_task_log(server, demo_conn, tmp_path, logs) -> None:
    cursor_api(server)
    operator(f"file://{tmp_path}/", progress_interval=1e-6).execute({})
    text = logs()
    assert "Progress: 1 pages, 10 records, " in text
    assert "Progress: 6 pages, 57 records, " in text
    assert "records/s, " in text and "bytes in closed part files" in text
