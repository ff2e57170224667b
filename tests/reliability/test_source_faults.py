"""Source faults during extract, injected by the demo API: each ends in complete, correct data after retries,
or in a clear failure with no ``_manifest.json`` committed (nothing for the loader downstream to pick up).

The extract runs the real operator against the session's local stack (demo API -> moto S3); the expected
records are the same window fetched fault-free in one request.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from airflow_provider_dataeng.hooks.rest_api import RestApiHook, RestApiHTTPError
from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator
from airflow_provider_dataeng.pagination import CursorPaginator, PageShapeError, PaginationLoopError
from tests.reliability.conftest import RETRIES, WINDOW, listing, read_parts, uid

pytestmark = pytest.mark.integration

PAGE = 50  # records per page: the window spans several pages, and fault_page=2 hits the middle of the run


@pytest.fixture(scope="module")
def expected_orders(local_stack) -> list[dict]:
    """The window's orders, fault-free, in one request: what every recovered extract must land."""
    (page,) = RestApiHook("demo_api", retry_policy=RETRIES).paginate(
        "/v1/orders", params={"paginate": "offset", "limit": 10_000, **WINDOW}, records_path="data")
    assert len(page) > 3 * PAGE
    assert len({r["id"] for r in page}) == len(page)
    return page


@pytest.fixture(scope="module")
def demo_short_timeout(local_stack) -> str:
    """The demo API connection with a 0.5 s read timeout (for the ``slow`` fault)."""
    conn = dict(local_stack.connections["demo_api"])
    conn["extra"] = {**conn["extra"], "timeout": [2, 0.5]}
    patch = pytest.MonkeyPatch()
    patch.setenv("AIRFLOW_CONN_DEMO_API_SHORT_TIMEOUT", json.dumps(conn))
    yield "demo_api_short_timeout"
    patch.undo()


def extract(destination: str, fault: dict[str, Any], conn_id: str = "demo_api", **kwargs: Any) -> dict:
    """Run the extract operator over the window with ``fault`` query parameters on every request."""
    return RestApiExtractOperator(
        task_id="extract_orders",
        http_conn_id=conn_id,
        endpoint="/v1/orders",
        query_params={"paginate": "cursor", "limit": PAGE, **WINDOW, **fault, "fault_key": uid()},
        records_path="data",
        paginator=CursorPaginator(cursor_path="next_cursor", has_more_path="has_more"),
        destination=destination,
        http_retry_policy=RETRIES,
        max_records_per_file=70,  # several part files: their order must keep the record order
        **kwargs,
    ).execute({})


RECOVERED = {
    "429 Retry-After seconds": ({"fault": "429", "retry_after": 1, "fault_page": 2}, "HTTP 429 (Retry-After: 1s)"),
    "429 Retry-After HTTP date": ({"fault": "429", "retry_after": 1, "retry_after_format": "http-date",
                                   "fault_page": 2}, "HTTP 429 (Retry-After: "),
    "429 Retry-After 0": ({"fault": "429", "retry_after": 0, "fault_page": 3}, "HTTP 429 (Retry-After: 0s)"),
    "500 burst of 2": ({"fault": "500", "fault_times": 2, "fault_page": 2}, "failed on attempt 2/3: HTTP 500"),
    "502 burst of 2": ({"fault": "502", "fault_times": 2, "fault_page": 2}, "failed on attempt 2/3: HTTP 502"),
    "503 burst of 2": ({"fault": "503", "fault_times": 2, "fault_page": 1}, "failed on attempt 2/3: HTTP 503"),
    "504 burst of 2": ({"fault": "504", "fault_times": 2, "fault_page": 2}, "failed on attempt 2/3: HTTP 504"),
    "connection reset mid-body": ({"fault": "truncate", "fault_page": 2}, "failed on attempt 1/3: "),
    "empty page in the middle": ({"fault": "empty_page", "fault_page": 2}, None),
}


@pytest.mark.parametrize("case", list(RECOVERED))
def test_fault_recovered_lands_exactly_the_fault_free_records(
    case: str, s3, new_prefix, expected_orders, logs
) -> None:
    fault, logged = RECOVERED[case]
    prefix = new_prefix("recovered")
    manifest = extract(f"s3://{prefix}/", fault)
    assert read_parts(s3, prefix) == expected_orders  # nothing lost, nothing duplicated, same order
    assert manifest["records"] == len(expected_orders)
    assert json.loads(s3.cat(f"{prefix}/_manifest.json")) == manifest
    n_parts = -(-len(expected_orders) // 70)
    assert listing(s3, prefix) == ["_manifest.json", *[f"part-{i:05d}.jsonl.zst" for i in range(n_parts)]]
    if logged is not None:
        assert logged in logs()
    if case == "empty page in the middle":  # the empty page is one more page, with no records
        assert manifest["pages"] == -(-len(expected_orders) // PAGE) + 1


def test_read_timeout_is_retried(s3, new_prefix, expected_orders, demo_short_timeout, logs) -> None:
    prefix = new_prefix("slow")
    extract(f"s3://{prefix}/", {"fault": "slow", "fault_delay": 1.5, "fault_page": 2}, conn_id=demo_short_timeout)
    assert read_parts(s3, prefix) == expected_orders
    assert re.search(r"failed on attempt 1/3: (ReadTimeout|ConnectionError).*[Rr]ead timed out", logs())


FAILED = {
    "500 every time": ({"fault": "500", "fault_times": "always", "fault_page": 2}, RestApiHTTPError,
                       r"^HTTP 500 from GET http://127\.0\.0\.1:\d+/v1/orders\?.* after 3 attempts: "),
    "502 every time": ({"fault": "502", "fault_times": "always", "fault_page": 2}, RestApiHTTPError,
                       r"^HTTP 502 from GET .* after 3 attempts: '<!DOCTYPE html>.*Bad Gateway"),
    "503 every time": ({"fault": "503", "fault_times": "always", "fault_page": 2}, RestApiHTTPError,
                       r"^HTTP 503 from GET .* after 3 attempts"),
    "504 every time": ({"fault": "504", "fault_times": "always", "fault_page": 2}, RestApiHTTPError,
                       r"^HTTP 504 from GET .* after 3 attempts: '<!DOCTYPE html>.*504 Gateway Timeout"),
    "429 every time": ({"fault": "429", "retry_after": 0, "fault_times": "always", "fault_page": 2},
                       RestApiHTTPError, r"^HTTP 429 from GET .* after 3 attempts"),
    "connection reset every time": ({"fault": "truncate", "fault_times": "always", "fault_page": 2},
                                    RestApiHTTPError,
                                    r"^GET http://127\.0\.0\.1:\d+/v1/orders failed after 3 attempts: "
                                    r"\w+: .*(IncompleteRead|Connection broken)"),
    "truncated / non-JSON body": ({"fault": "not_json", "fault_page": 2}, PageShapeError,
                                  r"^page 2 \(http://127\.0\.0\.1:\d+/v1/orders\?.*, HTTP 200, Content-Type "
                                  r"application/json.*\): expected a JSON body .*the body is not valid JSON"),
    "HTML error page with status 200": ({"fault": "html", "fault_page": 2}, PageShapeError,
                                        r"^page 2 \(.*, HTTP 200, Content-Type text/html.*\): expected a JSON body "
                                        r"\(an HTML error or proxy page\?\)"),
    "page repeats the previous cursor": ({"fault": "repeat_cursor", "fault_page": 2, "fault_times": "always"},
                                         PaginationLoopError,
                                         r"^page 3 would fetch GET .* again, which an earlier page already "
                                         r"returned: the API is looping"),
    "page without the records key": ({"fault": "missing_data", "fault_page": 2}, PageShapeError,
                                     r"^page 2 \(.*\): records_path='data' is not in the body"),
    "records lacking the key": ({"fault": "missing_id", "fault_page": 2}, ValueError,
                                r"^page 2 \(http://127\.0\.0\.1:\d+/v1/orders\?.*\): record 0 has no value for 'id'; "
                                r"record_key=\['id'\] must be present and non-null in every record\. "
                                r"Nothing was committed\.$"),
}


@pytest.mark.parametrize("case", list(FAILED))
def test_fault_not_recovered_fails_clearly_and_commits_nothing(case: str, s3, new_prefix) -> None:
    fault, error, message = FAILED[case]
    prefix = new_prefix("failed")
    with pytest.raises(error, match=message) as err:
        extract(f"s3://{prefix}/", fault, record_key="id")
    assert "dataeng-local-token" not in str(err.value)
    assert listing(s3, prefix) == []  # no manifest, no part file, no staging left behind


def test_read_timeout_every_time_fails_clearly(s3, new_prefix, demo_short_timeout) -> None:
    prefix = new_prefix("slow-failed")
    with pytest.raises(RestApiHTTPError, match=r"^GET http://127\.0\.0\.1:\d+/v1/orders failed after 3 attempts: "
                                               r"\w+: .*[Rr]ead timed out"):
        extract(f"s3://{prefix}/", {"fault": "slow", "fault_delay": 1.0, "fault_page": 2, "fault_times": "always"},
                conn_id=demo_short_timeout)
    assert listing(s3, prefix) == []


def test_failed_rerun_withdraws_the_previous_manifest(s3, new_prefix, expected_orders) -> None:
    """A re-run that fails must not leave the earlier run's manifest for the loader to load again as current."""
    prefix = new_prefix("rerun")
    extract(f"s3://{prefix}/", {})
    assert "_manifest.json" in listing(s3, prefix)
    with pytest.raises(PageShapeError):
        extract(f"s3://{prefix}/", {"fault": "html", "fault_page": 2})
    assert "_manifest.json" not in listing(s3, prefix)
    assert read_parts(s3, prefix) == expected_orders  # the older parts stay; only a manifest makes them current


def test_missing_key_is_landed_silently_without_record_key(s3, new_prefix, expected_orders) -> None:
    """Documents why record_key exists: without it the extract cannot know which field is the key."""
    prefix = new_prefix("no-record-key")
    extract(f"s3://{prefix}/", {"fault": "missing_id", "fault_page": 2})
    landed = read_parts(s3, prefix)
    assert [r.get("id") for r in landed[PAGE:2 * PAGE]] == [None] * PAGE
    assert landed[:PAGE] == expected_orders[:PAGE]
