"""Against the local stack: the demo API in every pagination style and auth mode, and S3 (moto) as destination."""

from __future__ import annotations

import json
import uuid

import pytest
import s3fs
import zstandard

from airflow_provider_dataeng.hooks.rest_api import RestApiHook, RestApiHTTPError
from airflow_provider_dataeng.hooks.rest_retry import HttpRetryPolicy
from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator
from airflow_provider_dataeng.pagination import (
    CursorPaginator,
    GraphQLCursorPaginator,
    LinkHeaderPaginator,
    NextUrlPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    PageShapeError,
    PaginationLoopError,
)

pytestmark = pytest.mark.integration

RETRIES = HttpRetryPolicy(max_attempts=3, backoff_initial=0.05, jitter=0.0, retry_after_floor=0.1, retry_after_cap=3.0)
WINDOW = {"updated_since": "2024-01-03T00:00:00Z", "updated_before": "2024-01-05T00:00:00Z"}
GRAPHQL = """query($after: String) {
  orders(first: 70, after: $after, updatedSince: "2024-01-03T00:00:00Z", updatedBefore: "2024-01-05T00:00:00Z") {
    nodes { id customer_id status amount currency ordered_at updated_at is_deleted }
    pageInfo { hasNextPage endCursor }
  }
}"""

STYLES = {
    "page": ({"paginate": "page", **WINDOW},
             PageNumberPaginator(page_size=70, page_size_param="per_page", total_pages_path="total_pages")),
    "offset": ({"paginate": "offset", **WINDOW}, OffsetPaginator(limit=70, total_path="total")),
    "cursor": ({"paginate": "cursor", "limit": 70, **WINDOW},
               CursorPaginator(cursor_path="next_cursor", has_more_path="has_more")),
    "link": ({"paginate": "link", "limit": 70, **WINDOW}, LinkHeaderPaginator()),
    "next_url": ({"paginate": "next_url", "limit": 70, **WINDOW}, NextUrlPaginator("links.next")),
}


@pytest.fixture(scope="module")
def demo(local_stack) -> RestApiHook:
    return RestApiHook("demo_api", retry_policy=RETRIES)


@pytest.fixture(scope="module")
def expected_orders(demo: RestApiHook) -> list[dict]:
    """The window's orders in one request (page size 10,000): what every pagination style must return."""
    (page,) = demo.paginate("/v1/orders", params={"paginate": "offset", "limit": 10_000, **WINDOW},
                            records_path="data")
    assert 140 < len(page) < 10_000
    return page


@pytest.mark.parametrize("style", list(STYLES))
def test_each_rest_pagination_style_returns_the_whole_window(demo, expected_orders, style: str) -> None:
    params, paginator = STYLES[style]
    pages = list(demo.paginate("/v1/orders", params=params, records_path="data", paginator=paginator))
    assert [r for p in pages for r in p] == expected_orders
    assert [len(p) for p in pages[:-1]] == [70] * (len(pages) - 1)


def test_graphql_relay_pagination(demo, expected_orders) -> None:
    pages = list(demo.paginate("/graphql", method="POST", json={"query": GRAPHQL, "variables": {}},
                               records_path="data.orders.nodes",
                               paginator=GraphQLCursorPaginator("data.orders.pageInfo")))
    assert [r for p in pages for r in p] == expected_orders


@pytest.mark.parametrize(
    ("prefix", "conn"),
    [
        ("/apikey", {"password": "dataeng-local-key", "extra": {"auth_type": "api_key", "api_key_name": "X-API-Key"}}),
        ("/basic", {"login": "demo", "password": "demo"}),
        ("/oauth", {"login": "dataeng-local", "password": "dataeng-local-secret",
                    "extra": {"auth_type": "oauth2", "token_url": "/oauth/token"}}),
    ],
)
def test_each_auth_mode(local_stack, monkeypatch, expected_orders, prefix: str, conn: dict) -> None:
    spec = {"conn_type": "rest_api", "host": "127.0.0.1", "port": local_stack.api_port, "schema": "http", **conn}
    monkeypatch.setenv("AIRFLOW_CONN_DEMO_AUTH", json.dumps(spec))
    pages = RestApiHook("demo_auth", retry_policy=RETRIES).paginate(
        f"{prefix}/v1/orders", params={"paginate": "cursor", "limit": 100, **WINDOW}, records_path="data",
        paginator=CursorPaginator(cursor_path="next_cursor"))
    assert [r for p in pages for r in p] == expected_orders


def test_wrong_token_is_a_permanent_401(local_stack, monkeypatch) -> None:
    spec = {"conn_type": "http", "host": "127.0.0.1", "port": local_stack.api_port, "schema": "http",
            "password": "not-the-token", "extra": {"auth_type": "bearer"}}
    monkeypatch.setenv("AIRFLOW_CONN_DEMO_BAD", json.dumps(spec))
    with pytest.raises(RestApiHTTPError, match=r"^HTTP 401 from GET http://127.0.0.1:\d+/v1/orders: ") as err:
        list(RestApiHook("demo_bad", retry_policy=RETRIES).paginate("/v1/orders", records_path="data"))
    assert "not-the-token" not in str(err.value)


@pytest.mark.parametrize("fmt", ["seconds", "http-date", "none"])
def test_demo_429_with_each_retry_hint_then_success(demo, expected_orders, fmt: str, logs) -> None:
    params = {"paginate": "offset", "limit": 10_000, **WINDOW, "fault": "429", "retry_after": 1,
              "retry_after_format": fmt, "fault_key": f"429-{fmt}-{uuid.uuid4().hex}"}
    assert list(demo.paginate("/v1/orders", params=params, records_path="data")) == [expected_orders]
    hint = {"seconds": "Retry-After", "http-date": "Retry-After", "none": "X-RateLimit-Reset"}[fmt]
    assert f"HTTP 429 ({hint}: " in logs()


def test_demo_truncated_body_is_retried(demo, expected_orders) -> None:
    params = {"paginate": "offset", "limit": 10_000, **WINDOW, "fault": "truncate", "fault_key": uuid.uuid4().hex}
    assert list(demo.paginate("/v1/orders", params=params, records_path="data")) == [expected_orders]


def test_demo_repeated_cursor_is_detected(demo) -> None:
    params = {"paginate": "cursor", "limit": 50, **WINDOW, "fault": "repeat_cursor", "fault_page": 2,
              "fault_times": "always", "fault_key": uuid.uuid4().hex}
    with pytest.raises(PaginationLoopError, match="page 3 would fetch GET .* again"):
        list(demo.paginate("/v1/orders", params=params, records_path="data",
                           paginator=CursorPaginator(cursor_path="next_cursor", has_more_path="has_more")))


def test_demo_html_page_with_status_200(demo) -> None:
    params = {"paginate": "cursor", "limit": 50, **WINDOW, "fault": "html", "fault_page": 2, "fault_key": uuid.uuid4().hex}
    with pytest.raises(PageShapeError, match=r"^page 2 \(.*, HTTP 200, Content-Type text/html.*\): expected a JSON body"):
        list(demo.paginate("/v1/orders", params=params, records_path="data",
                           paginator=CursorPaginator(cursor_path="next_cursor")))


def _s3(local_stack) -> s3fs.S3FileSystem:
    return s3fs.S3FileSystem(key="testing", secret="testing", skip_instance_cache=True,
                             client_kwargs={"endpoint_url": local_stack.s3_endpoint, "region_name": "us-east-1"})


def _landed(fs: s3fs.S3FileSystem, manifest: dict) -> list[dict]:
    """The records of an extract's part files, in the manifest's order."""
    landed = []
    for f in manifest["files"]:
        data = zstandard.ZstdDecompressor().stream_reader(fs.open(f["uri"], "rb")).read()
        landed += [json.loads(line) for line in data.splitlines()]
    return landed


def test_operator_to_s3_and_rerun_replaces(local_stack, expected_orders) -> None:
    prefix = f"dataeng-local/test-extract/{uuid.uuid4().hex}/orders/2024-01-05"
    dest = f"s3://{prefix}/"

    def extract(max_records_per_file: int) -> dict:
        return RestApiExtractOperator(
            task_id="extract_orders", http_conn_id="demo_api", endpoint="/v1/orders",
            query_params={"paginate": "cursor", "limit": 100, **WINDOW}, records_path="data",
            paginator=CursorPaginator(cursor_path="next_cursor", has_more_path="has_more"),
            destination=dest, max_records_per_file=max_records_per_file, http_retry_policy=RETRIES,
        ).execute({})

    first = extract(max_records_per_file=40)
    fs = _s3(local_stack)
    assert len(first["files"]) == -(-len(expected_orders) // 40)
    manifest = extract(max_records_per_file=100_000)  # the re-run writes one part; the older parts must go
    assert sorted(fs.ls(prefix)) == [f"{prefix}/_manifest.json", f"{prefix}/part-00000.jsonl.zst"]
    data = zstandard.ZstdDecompressor().stream_reader(fs.open(f"{prefix}/part-00000.jsonl.zst", "rb")).read()
    assert [json.loads(line) for line in data.splitlines()] == expected_orders
    assert manifest == {
        "destination": dest,
        "files": [{"uri": f"s3://{prefix}/part-00000.jsonl.zst", "records": len(expected_orders),
                   "bytes": fs.size(f"{prefix}/part-00000.jsonl.zst")}],
        "records": len(expected_orders),
        "pages": -(-len(expected_orders) // 100),
        "format": "jsonl",
        "compression": "zstd",
    }
    assert json.loads(fs.cat(f"{prefix}/_manifest.json")) == manifest
    assert "dataeng-local-token" not in json.dumps(manifest)


def test_extract_emits_its_folder_asset_with_the_manifest_counts(local_stack, expected_orders) -> None:
    """The asset is the destination's static folder (one for every logical date), added to the running
    task's outlets with the manifest's counts; an empty extract adds none; emit_assets=False adds none."""
    from airflow.sdk.execution_time.context import OutletEventAccessors

    root = f"s3://dataeng-local/test-extract/{uuid.uuid4().hex}/orders/"

    def extract(query: dict, **kwargs) -> tuple[RestApiExtractOperator, dict, dict]:
        op = RestApiExtractOperator(
            task_id="extract_orders", http_conn_id="demo_api", endpoint="/v1/orders",
            query_params={"paginate": "cursor", "limit": 500, **query}, records_path="data",
            paginator=CursorPaginator(cursor_path="next_cursor", has_more_path="has_more"),
            destination=root + "{{ ds }}/", http_retry_policy=RETRIES, **kwargs,
        )
        op.destination = root + "2024-01-05/"  # as rendered for that logical date
        context = {"outlet_events": OutletEventAccessors()}
        manifest = op.execute(context)
        return op, manifest, {(a.name, a.uri): context["outlet_events"][a].extra for a in context["outlet_events"]}

    op, manifest, events = extract(WINDOW)
    # Airflow normalizes the URI without the trailing slash; the name keeps the folder form.
    assert [(a.name, a.uri) for a in op.outlets] == [(root, root.rstrip("/"))]
    assert events == {(root, root.rstrip("/")): {
        "destination": root + "2024-01-05/", "files": 1, "records": len(expected_orders),
        "bytes": manifest["files"][0]["bytes"], "pages": manifest["pages"],
    }}
    empty = {"updated_since": "2024-01-03T00:00:00Z", "updated_before": "2024-01-03T00:00:00Z"}
    op, manifest, events = extract(empty)
    assert (manifest["records"], op.outlets, events) == (0, [], {})
    op, manifest, events = extract(WINDOW, emit_assets=False)
    assert (manifest["records"], op.outlets, events) == (len(expected_orders), [], {})


def test_missing_bucket_is_an_error_not_a_new_bucket(local_stack) -> None:
    from airflow_provider_dataeng.sinks import PartFileSink, s3_storage_options

    bucket = f"no-such-bucket-{uuid.uuid4().hex[:8]}"
    sink = PartFileSink(f"s3://{bucket}/x/", storage_options=s3_storage_options("aws_default"))
    with pytest.raises(Exception, match="NoSuchBucket|does not exist|not found"), sink:
        sink.write([b'{"id": 1}'])
        sink.commit(pages=1)
    assert bucket not in [b.rstrip("/") for b in _s3(local_stack).ls("")]


def test_deferred_extract_resumes_on_s3_with_its_staged_parts(local_stack, expected_orders) -> None:
    """The demo API refuses page 3 with Retry-After: 120 once: the task defers (TaskDeferred carries the
    trigger with the saved state), a fresh operator resumes from that state on S3, nothing is fetched twice
    but the refused page, and the committed parts hold exactly the window's orders."""
    from airflow.sdk.exceptions import TaskDeferred

    prefix = f"dataeng-local/test-extract/{uuid.uuid4().hex}/orders/2024-01-05"
    query = {"paginate": "offset", "limit": 40, **WINDOW, "fault": "429", "fault_page": "3", "retry_after": "120",
             "fault_key": uuid.uuid4().hex}

    def operator() -> RestApiExtractOperator:
        return RestApiExtractOperator(
            task_id="extract_orders", http_conn_id="demo_api", endpoint="/v1/orders", query_params=query,
            records_path="data", paginator=OffsetPaginator(limit=40, total_path="total"),
            destination=f"s3://{prefix}/", max_records_per_file=50, http_retry_policy=RETRIES,
            deferrable=True, defer_threshold=60,
        )

    with pytest.raises(TaskDeferred) as deferred:
        operator().execute({})
    trigger = deferred.value.trigger
    assert deferred.value.method_name == "execute_resume"
    state = json.loads(json.dumps(trigger.serialize()[1]["state"]))
    assert state["cursor"]["pages_done"] == 2 and state["cursor"]["request"]["params"]["offset"] == 80
    assert [n for _, n in state["sink"]["staged"]] == [50, 30]
    fs = _s3(local_stack)
    staged = sorted(fs.ls(f"{prefix}/_staging", refresh=True))
    assert len(staged) == 1 and not fs.exists(f"{prefix}/_manifest.json")

    manifest = operator().execute_resume({}, event={"resume_at": trigger.moment, "state": state})
    assert _landed(fs, manifest) == expected_orders
    assert [f["records"] for f in manifest["files"]][:2] == [50, 30]
    assert manifest["records"] == len(expected_orders) and manifest["pages"] == -(-len(expected_orders) // 40)
    fs.invalidate_cache()
    assert sorted(p.rsplit("/", 1)[1] for p in fs.ls(prefix)) == [
        "_manifest.json", *(f"part-{i:05d}.jsonl.zst" for i in range(len(manifest["files"])))]
    assert json.loads(fs.cat(f"{prefix}/_manifest.json")) == manifest


def test_deferred_concurrent_extract_fetches_no_page_twice(local_stack, expected_orders) -> None:
    """max_concurrency=8, the demo API answering each page after 50 ms and refusing page 3 once with
    Retry-After: 120: the task defers keeping the pages fetched ahead of page 3 in its staging folder; the
    resumed task asks only for page 3 and the pages nobody fetched yet (the server's request log)."""
    from urllib.parse import parse_qs

    import requests
    from airflow.sdk.exceptions import TaskDeferred

    key = uuid.uuid4().hex
    prefix = f"dataeng-local/test-extract/{key}/orders/2024-01-05"
    query = {"paginate": "offset", "limit": 20, **WINDOW, "latency": "0.05", "fault": "429", "fault_page": "3",
             "retry_after": "120", "fault_key": key}

    def operator() -> RestApiExtractOperator:
        return RestApiExtractOperator(
            task_id="extract_orders", http_conn_id="demo_api", endpoint="/v1/orders", query_params=query,
            records_path="data", paginator=OffsetPaginator(limit=20, total_path="total"),
            destination=f"s3://{prefix}/", max_records_per_file=50, http_retry_policy=RETRIES,
            deferrable=True, defer_threshold=60, max_concurrency=8,
        )

    with pytest.raises(TaskDeferred) as deferred:
        operator().execute({})
    trigger = deferred.value.trigger
    state = json.loads(json.dumps(trigger.serialize()[1]["state"]))
    assert state["cursor"]["pages_done"] == 2 and state["cursor"]["request"]["params"]["offset"] == 40
    assert len(state["held"]) >= 1  # pages 4, 5, ... came back while page 3 was refused
    fs = _s3(local_stack)
    assert {path.rsplit("/", 1)[1] for path in fs.ls(state["sink"]["staging"] + "/held", refresh=True)} == {
        f"{entry['fingerprint']}.page" for entry in state["held"]}

    manifest = operator().execute_resume({}, event={"resume_at": trigger.moment, "state": state})
    assert _landed(fs, manifest) == expected_orders
    pages = -(-len(expected_orders) // 20)
    assert manifest["pages"] == pages
    base = RestApiHook("demo_api").url_for("")
    log = requests.get(f"{base.rstrip('/')}/admin/requests", timeout=10).json()["requests"]
    offsets = sorted(int(parse_qs(r["query"])["offset"][0]) for r in log if key in r["query"])
    # every page once, page 3 twice (refused, then after the deferral); nothing past the total
    assert offsets == sorted([*range(0, pages * 20, 20), 40])
    fs.invalidate_cache()
    assert not fs.exists(f"{prefix}/_staging")


# ------------------------------------------------------------------------------ if_empty: no records


EMPTY_WINDOW = {"updated_since": "2024-01-03T00:00:00Z", "updated_before": "2024-01-03T00:00:00Z"}


def _empty_extract(dest: str, if_empty: str) -> RestApiExtractOperator:
    return RestApiExtractOperator(
        task_id="extract_orders", http_conn_id="demo_api", endpoint="/v1/orders",
        query_params={"paginate": "cursor", "limit": 100, **EMPTY_WINDOW}, records_path="data",
        paginator=CursorPaginator(cursor_path="next_cursor", has_more_path="has_more"),
        destination=dest, http_retry_policy=RETRIES, if_empty=if_empty,
    )


@pytest.mark.parametrize("if_empty", ["succeed", "skip"])
def test_no_records_writes_the_empty_manifest_then_succeeds_or_skips(local_stack, if_empty: str) -> None:
    from airflow.sdk.exceptions import AirflowSkipException

    prefix = f"dataeng-local/test-extract/{uuid.uuid4().hex}/orders/2024-01-03"
    dest = f"s3://{prefix}/"
    empty = {"destination": dest, "files": [], "records": 0, "pages": 1, "format": "jsonl", "compression": "zstd"}
    op = _empty_extract(dest, if_empty)
    if if_empty == "succeed":
        assert op.execute({}) == empty
    else:
        with pytest.raises(AirflowSkipException) as skipped:
            op.execute({})
        url = RestApiHook("demo_api").url_for("/v1/orders")
        assert str(skipped.value) == (
            f"the API returned no records for GET {url}?paginate=cursor&limit=100"
            "&updated_since=2024-01-03T00%3A00%3A00Z&updated_before=2024-01-03T00%3A00%3A00Z (no data interval)"
        )
    fs = _s3(local_stack)
    assert fs.ls(prefix) == [f"{prefix}/_manifest.json"]  # a re-run (or the load) sees the same empty landing
    assert json.loads(fs.cat(f"{prefix}/_manifest.json")) == empty


def test_no_records_with_if_empty_fail_writes_nothing_and_names_endpoint_and_window(local_stack) -> None:
    from datetime import datetime, timezone

    from airflow.sdk.exceptions import AirflowFailException

    prefix = f"dataeng-local/test-extract/{uuid.uuid4().hex}/orders/2024-01-03"
    start, end = datetime(2024, 1, 3, tzinfo=timezone.utc), datetime(2024, 1, 3, 4, tzinfo=timezone.utc)
    with pytest.raises(AirflowFailException) as failed:
        _empty_extract(f"s3://{prefix}/", "fail").execute({"data_interval_start": start, "data_interval_end": end})
    url = RestApiHook("demo_api").url_for("/v1/orders")
    assert str(failed.value) == (
        f"the API returned no records for GET {url}?paginate=cursor&limit=100"
        "&updated_since=2024-01-03T00%3A00%3A00Z&updated_before=2024-01-03T00%3A00%3A00Z "
        "(data interval 2024-01-03 00:00:00+00:00 to 2024-01-03 04:00:00+00:00) (if_empty='fail')"
    )
    assert not _s3(local_stack).exists(prefix)
