"""Injected faults: each one exactly as documented, and "fail N times then succeed" per key."""

from __future__ import annotations

import http.client
import time
import uuid
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import orjson
import pytest
import requests

from dataeng_local.demo_api import DemoApiConfig
from dataeng_local.demo_api.server import ThreadedServer, serve_in_thread

AS_OF = "2024-01-08T00:00:00Z"
AUTH = {"Authorization": "Bearer dataeng-local-token"}


@pytest.fixture(scope="module")
def api() -> Iterator[ThreadedServer]:
    with serve_in_thread(DemoApiConfig()) as server:
        yield server


@pytest.fixture()
def get(api):
    """``get(**params)`` on /v1/customers with a fresh fault key per test."""
    key = uuid.uuid4().hex
    session = requests.Session()
    session.headers.update(AUTH)

    def call(path: str = "/v1/customers", **params: Any) -> requests.Response:
        return session.get(f"{api.url}{path}", params={"as_of": AS_OF, "fault_key": key, **params})

    yield call
    session.close()


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_for_the_first_n_requests_then_success(get, status):
    codes = [get(fault=status, fault_times=2).status_code for _ in range(4)]
    assert codes == [status, status, 200, 200]


def test_gateway_errors_come_as_html(get):
    resp = get(fault=502)
    assert resp.headers["content-type"].startswith("text/html")
    assert "<title>502 Bad Gateway</title>" in resp.text


def test_429_with_retry_after_seconds_and_reset(get):
    before = time.time()
    resp = get(fault=429, retry_after=2)
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "2"
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    assert int(before) + 2 <= int(resp.headers["X-RateLimit-Reset"]) <= int(time.time()) + 3
    assert get(fault=429, retry_after=2).status_code == 200


def test_429_with_retry_after_http_date(get):
    resp = get(fault=429, retry_after=30, retry_after_format="http-date")
    when = parsedate_to_datetime(resp.headers["Retry-After"]).timestamp()
    assert time.time() + 28 <= when <= time.time() + 31


def test_429_with_retry_after_zero(get):
    assert get(fault=429, retry_after=0).headers["Retry-After"] == "0"


def test_429_with_only_the_reset_header(get):
    resp = get(fault=429, retry_after=5, retry_after_format="none")
    assert "Retry-After" not in resp.headers
    assert int(resp.headers["X-RateLimit-Reset"]) >= int(time.time()) + 4


def test_fault_times_always(get):
    assert {get(fault=503, fault_times="always").status_code for _ in range(5)} == {503}


def test_slow_response_then_fast(get):
    start = time.monotonic()
    assert get(fault="slow", fault_delay=0.4).status_code == 200
    slow = time.monotonic() - start
    start = time.monotonic()
    get(fault="slow", fault_delay=0.4)
    assert slow >= 0.4 > time.monotonic() - start


def test_truncated_body_declares_more_than_it_sends(api):
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=5)
    conn.request(
        "GET",
        f"/v1/customers?limit=100&as_of={AS_OF}&fault=truncate&fault_key={uuid.uuid4().hex}",
        headers=AUTH,
    )
    resp = conn.getresponse()
    declared = int(resp.headers["Content-Length"])
    with pytest.raises(http.client.IncompleteRead) as info:
        resp.read()
    assert len(info.value.partial) == declared // 2
    conn.close()


def test_truncated_body_through_requests(get):
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        get(fault="truncate")
    assert get(fault="truncate").status_code == 200


def test_html_page_with_status_200(get):
    resp = get(fault="html")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    with pytest.raises(requests.exceptions.JSONDecodeError):
        resp.json()


def test_body_that_is_not_json(get):
    resp = get(fault="not_json")
    assert (resp.status_code, resp.headers["content-type"]) == (200, "application/json")
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(resp.content)


def test_repeated_cursor_on_the_chosen_page(get):
    first = get(limit=10).json()
    second = get(limit=10, cursor=first["next_cursor"], fault="repeat_cursor", fault_page=2).json()
    assert second["next_cursor"] == first["next_cursor"]
    assert second["has_more"] is True
    again = get(limit=10, cursor=first["next_cursor"], fault="repeat_cursor", fault_page=2).json()
    assert again["data"] == second["data"]
    assert again["next_cursor"] != first["next_cursor"]


def test_empty_page_in_the_middle_loses_nothing_for_a_client_that_continues(get):
    ids: list[int] = []
    pages: list[int] = []
    cursor = None
    while True:
        body = get(
            limit=500, fault="empty_page", fault_page=2, **({"cursor": cursor} if cursor else {})
        ).json()
        ids += [r["id"] for r in body["data"]]
        pages.append(len(body["data"]))
        if not body["has_more"]:
            break
        cursor = body["next_cursor"]
    assert pages == [500, 0, 500, 500, 339]
    assert len(ids) == len(set(ids)) == 1839


def test_records_without_their_id(get):
    body = get(limit=5, fault="missing_id").json()
    assert len(body["data"]) == 5
    assert all("id" not in r and "email" in r for r in body["data"])


def test_body_without_the_data_key(get):
    body = get(limit=5, fault="missing_data").json()
    assert "data" not in body
    assert body["has_more"] is True


def test_flaky_is_the_same_sequence_for_the_same_key(api):
    def run() -> list[int]:
        requests.post(f"{api.url}/admin/faults/reset")
        return [
            requests.get(
                f"{api.url}/v1/customers",
                headers=AUTH,
                params={"limit": "1", "fault": "flaky", "fault_rate": "0.5", "fault_key": "flaky-seq"},
            ).status_code
            for _ in range(20)
        ]

    first = run()
    assert first == run()
    assert set(first) == {200, 503}


def test_fault_on_graphql(api):
    query = {"query": "{ customers(first: 1) { nodes { id } } }"}
    url = f"{api.url}/graphql?fault=503&fault_key={uuid.uuid4().hex}"
    assert [requests.post(url, json=query, headers=AUTH).status_code for _ in range(2)] == [503, 200]


def test_server_wide_default_faults():
    with serve_in_thread(DemoApiConfig(default_faults="fault=503&fault_times=2&fault_key=all")) as server:
        codes = [requests.get(f"{server.url}/v1/customers", headers=AUTH).status_code for _ in range(3)]
    assert codes == [503, 503, 200]


def test_unknown_fault_is_400(get):
    resp = get(fault="teapot")
    assert resp.status_code == 400
    assert resp.json()["message"].startswith("fault must be one of 429, 500, 502, 503, 504")
