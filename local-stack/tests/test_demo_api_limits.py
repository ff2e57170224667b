"""Latency and the server-side rate limit: the demo API at a remote API's pace, and its request log."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs

import pytest
import requests

from dataeng_local.demo_api import DemoApiConfig
from dataeng_local.demo_api.limits import RateLimiter, parse_limits
from dataeng_local.demo_api.paging import BadRequest
from dataeng_local.demo_api.server import ThreadedServer, serve_in_thread

AS_OF = "2024-01-08T00:00:00Z"
AUTH = {"Authorization": "Bearer dataeng-local-token"}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_limiter_admits_n_per_sliding_second_and_says_when_to_come_back() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock, wall=lambda: 1_000.0 + clock.now)
    first = []
    for at in (100.0, 100.2, 100.3):
        clock.now = at
        first.append(limiter.admit("k", 3))
    assert [a.admitted for a in first] == [True, True, True]
    assert [a.headers["x-ratelimit-remaining"] for a in first] == ["2", "1", "0"]
    clock.now = 100.4
    refused = limiter.admit("k", 3)
    assert not refused.admitted
    assert refused.headers == {
        "x-ratelimit-limit": "3",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": "1101",  # the oldest admission (100.0) leaves the window at 101.0
        "retry-after": "1",
    }
    assert limiter.admit("other", 3).admitted  # keys are separate
    clock.now = 101.0  # the first admission left the window (the refused request never counted): one fits
    assert limiter.admit("k", 3).admitted
    assert not limiter.admit("k", 3).admitted
    limiter.reset()
    assert limiter.admit("k", 3).admitted


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"latency": "-1"}, "latency must not be negative"),
        ({"latency": "inf"}, "latency must be a finite number of seconds"),
        ({"latency": "nan"}, "latency must be a finite number of seconds"),
        ({"latency": "soon"}, "latency must be a number"),
        ({"rate_limit": "0"}, "rate_limit must be at least 1"),
        ({"rate_limit": "2.5"}, "rate_limit must be a whole number"),
    ],
)
def test_bad_values_are_refused(params: dict[str, str], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_limits(params)


@pytest.fixture(scope="module")
def api() -> Iterator[ThreadedServer]:
    with serve_in_thread(DemoApiConfig()) as server:
        yield server


def page(api: ThreadedServer, **params: object) -> requests.Response:
    return requests.get(
        f"{api.url}/v1/customers", params={"as_of": AS_OF, "limit": 10, **params}, headers=AUTH, timeout=30
    )


def test_concurrent_requests_wait_their_latency_side_by_side(api: ThreadedServer) -> None:
    requests.post(f"{api.url}/admin/requests/reset", timeout=10)
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: page(api, latency=0.5, paginate="page", per_page=10, page=n), range(1, 9)))
    elapsed = time.monotonic() - started
    assert [a.status_code for a in answers] == [200] * 8
    at_once = [a.json()["data"] for a in answers]
    assert at_once == [page(api, paginate="page", per_page=10, page=n).json()["data"] for n in range(1, 9)]
    assert len({r["id"] for data in at_once for r in data}) == 80
    assert 0.5 <= elapsed < 3.5  # eight at once, not 4 s one after the other
    log = requests.get(f"{api.url}/admin/requests", timeout=10).json()["requests"][:8]
    assert sorted(int(parse_qs(r["query"])["page"][0]) for r in log) == list(range(1, 9))
    assert {r["path"] for r in log} == {"/v1/customers"}


def test_above_the_limit_requests_get_429_with_retry_after_and_do_not_count(api: ThreadedServer) -> None:
    key = uuid.uuid4().hex
    answers = [page(api, rate_limit=5, rate_limit_key=key) for _ in range(7)]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:5]] == ["4", "3", "2", "1", "0"]
    assert answers[5].headers["Retry-After"] == "1"
    assert answers[5].json() == {"error": "rate_limited", "message": "more than 5 requests per second"}
    log = [r for r in requests.get(f"{api.url}/admin/requests", timeout=10).json()["requests"] if key in r["query"]]
    assert [r["rate_limited"] for r in log] == [False] * 5 + [True] * 2  # the request log says which were refused
    time.sleep(1.05)  # the window moved past the first five: five more fit
    assert [page(api, rate_limit=5, rate_limit_key=key).status_code for _ in range(6)] == [200] * 5 + [429]


def test_graphql_is_limited_too(api: ThreadedServer) -> None:
    key = uuid.uuid4().hex
    query = {"query": "{ customers(first: 1) { nodes { id } } }"}
    codes = [
        requests.post(
            f"{api.url}/graphql",
            params={"as_of": AS_OF, "rate_limit": 2, "rate_limit_key": key},
            json=query,
            headers=AUTH,
            timeout=30,
        ).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]


def test_a_server_wide_limit_from_its_fault_string() -> None:
    with serve_in_thread(DemoApiConfig(default_faults="rate_limit=3&latency=0.05")) as server:
        started = time.monotonic()
        codes = [page(server).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert time.monotonic() - started >= 0.2  # every request waited its latency
        assert page(server, rate_limit_key="mine").status_code == 200  # a key of its own
