"""Retries against a real server: 429 with both Retry-After forms, 5xx then success, timeouts, permanent 4xx."""

from __future__ import annotations

import random
import re
import time
from email.utils import formatdate

import pytest

from airflow_provider_dataeng.hooks.rest_api import RestApiHook, RestApiHTTPError
from airflow_provider_dataeng.hooks.rest_retry import (
    HttpRetryPolicy,
    parse_rate_limit_reset,
    parse_retry_after,
    server_wait_hint,
)
from tests.rest_api.conftest import FAST_RETRIES, free_port
from tests.rest_api.server import FixtureServer, Request, sequence

OK = (200, {}, [{"id": 1}])


def timed(hook: RestApiHook, endpoint: str = "/items") -> tuple[list, float]:
    started = time.monotonic()
    result = list(hook.paginate(endpoint))
    return result, time.monotonic() - started


def test_429_with_retry_after_seconds_waits_that_long(server: FixtureServer, hook, logs) -> None:
    server.route("GET", "/items", sequence((429, {"Retry-After": "0.3"}, {"error": "slow down"}), OK))
    result, elapsed = timed(hook)
    assert result == [[{"id": 1}]]
    assert len(server.requests) == 2
    assert 0.3 <= elapsed < 1.5
    assert f"GET {server.url}/items failed on attempt 1/3: HTTP 429 (Retry-After: 0.3s); retrying in 0.30s" in logs()


def test_429_with_retry_after_http_date(server, hook, logs) -> None:
    server.route("GET", "/items", sequence((429, {"Retry-After": formatdate(time.time() + 2, usegmt=True)}, {}), OK))
    result, elapsed = timed(hook)
    assert result == [[{"id": 1}]]
    assert 0.9 <= elapsed < 2.5  # the date has one-second resolution; the cap (2 s) bounds the wait
    # the date is fixed when the route is defined: the hint is what is left of its 2 s when the request is
    # answered (under load, well below 1 s; the floor then makes the wait 1 s)
    hint = re.search(r"HTTP 429 \(Retry-After: ([0-9.e+-]+)s\)", logs())
    assert hint is not None and 0 <= float(hint[1]) <= 2.0


def test_x_ratelimit_reset_epoch_is_honoured(server, hook, logs) -> None:
    server.route("GET", "/items", sequence((429, {"X-RateLimit-Reset": str(int(time.time()) + 1)}, {}), OK))
    result, elapsed = timed(hook)
    assert result == [[{"id": 1}]]
    assert "HTTP 429 (X-RateLimit-Reset: " in logs()
    assert elapsed < 2.5


def test_retry_after_zero_storm_waits_at_least_the_floor(server, connection) -> None:
    server.route("GET", "/items", sequence((429, {"Retry-After": "0"}, {}), (429, {"Retry-After": "0"}, {}), OK))
    policy = HttpRetryPolicy(max_attempts=3, jitter=0.0, retry_after_floor=0.2, retry_after_cap=1.0)
    result, elapsed = timed(RestApiHook(connection("api"), retry_policy=policy))
    assert result == [[{"id": 1}]]
    assert elapsed >= 0.4  # two waits of at least the floor, not two immediate retries


def test_retry_after_beyond_the_cap_is_cut_to_the_cap(server, connection) -> None:
    server.route("GET", "/items", sequence((503, {"Retry-After": "3600"}, {}), OK))
    policy = HttpRetryPolicy(max_attempts=2, jitter=0.0, retry_after_floor=0.1, retry_after_cap=0.3)
    result, elapsed = timed(RestApiHook(connection("api"), retry_policy=policy))
    assert result == [[{"id": 1}]]
    assert 0.3 <= elapsed < 1.5


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_then_success(server, hook, status: int) -> None:
    server.route("GET", "/items", sequence((status, {}, "upstream trouble"), OK))
    assert list(hook.paginate("/items")) == [[{"id": 1}]]
    assert len(server.requests) == 2


def test_retries_exhausted_reports_status_url_and_body(server, hook) -> None:
    server.route("GET", "/items", lambda r: (503, {}, "maintenance"))
    with pytest.raises(RestApiHTTPError) as err:
        list(hook.paginate("/items", params={"access_token": "qs-secret-value"}))
    assert len(server.requests) == 3
    assert str(err.value) == (
        f"HTTP 503 from GET {server.url}/items?access_token=*** after 3 attempts: 'maintenance'"
    )
    assert err.value.status == 503


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_permanent_4xx_fails_at_once(server, hook, status: int) -> None:
    server.route("GET", "/items", lambda r: (status, {}, {"message": "no such thing"}))
    with pytest.raises(RestApiHTTPError) as err:
        list(hook.paginate("/items", params={"q": "a"}))
    assert len(server.requests) == 1
    assert str(err.value) == f"HTTP {status} from GET {server.url}/items?q=a: '{{\"message\": \"no such thing\"}}'"


def test_read_timeout_is_retried(server, connection, logs) -> None:
    calls = []

    def slow_first(request: Request):
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.6)
        return OK

    server.route("GET", "/items", slow_first)
    hook = RestApiHook(connection("api", extra={"timeout": [1, 0.2]}), retry_policy=FAST_RETRIES)
    assert list(hook.paginate("/items")) == [[{"id": 1}]]
    assert len(calls) == 2
    assert "failed on attempt 1/3: _TransientError" not in logs()  # the reason names the real error
    assert "ReadTimeout" in logs() or "ReadTimeoutError" in logs()


def test_connection_refused_fails_after_all_attempts(connection, monkeypatch) -> None:
    conn_id = connection("down", port=free_port())
    with pytest.raises(RestApiHTTPError, match=r"GET http://127.0.0.1:\d+/items failed after 3 attempts: ConnectionError"):
        list(RestApiHook(conn_id, retry_policy=FAST_RETRIES).paginate("/items"))


def test_max_requests_per_second_spaces_requests(server, connection) -> None:
    server.route("GET", "/items", lambda r: OK)
    hook = RestApiHook(connection("slow", extra={"max_requests_per_second": 20}), retry_policy=FAST_RETRIES)
    started = time.monotonic()
    for _ in range(5):
        list(hook.paginate("/items"))
    assert time.monotonic() - started >= 0.2  # 5 requests at 20/s: 4 gaps of 50 ms


# -- pure functions ------------------------------------------------------------------------------
NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5", 5.0), ("0", 0.0), ("1.5", 1.5), ("-3", 0.0), (formatdate(NOW + 30, usegmt=True), 30.0),
     (formatdate(NOW - 30, usegmt=True), 0.0), ("soon", None), (None, None)],
)
def test_parse_retry_after(value, expected) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(("value", "expected"), [(str(int(NOW) + 12), 12.0), ("7", 7.0), ("x", None), (None, None)])
def test_parse_rate_limit_reset(value, expected) -> None:
    assert parse_rate_limit_reset(value, NOW) == expected


def test_retry_after_wins_over_rate_limit_reset() -> None:
    assert server_wait_hint({"Retry-After": "3", "X-RateLimit-Reset": "9"}, NOW) == (3.0, "Retry-After")
    assert server_wait_hint({}, NOW) == (None, None)


def test_policy_wait_backoff_floor_cap_and_jitter() -> None:
    policy = HttpRetryPolicy(backoff_initial=1, backoff_max=5, jitter=0, retry_after_floor=2, retry_after_cap=60)
    assert [policy.wait(n, None) for n in (1, 2, 3, 4)] == [1, 2, 4, 5]
    assert [policy.wait(1, hint) for hint in (0, 10, 600)] == [2, 10, 60]
    jittered = HttpRetryPolicy(jitter=0.5, backoff_initial=1).wait(1, None, random.Random(1))
    assert 1.0 <= jittered <= 1.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"max_attempts": 0}, "max_attempts must be a positive integer"),
     ({"jitter": -1}, "jitter must not be negative"),
     ({"retry_after_floor": 10, "retry_after_cap": 1}, "retry_after_floor must not exceed retry_after_cap")],
)
def test_policy_rejects_bad_settings(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        HttpRetryPolicy(**kwargs)
