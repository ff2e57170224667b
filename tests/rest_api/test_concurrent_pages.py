"""Concurrent page requests (``max_concurrency``): the same pages as one at a time, in order, inside limits.

Against the real fixture server on 127.0.0.1, whose handlers answer after a random short delay so responses
arrive out of order; the server's request log shows what was fetched ahead.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time

import pytest

from airflow_provider_dataeng.hooks.rest_api import RestApiHook, RestApiHTTPError
from airflow_provider_dataeng.hooks.rest_concurrency import CALM_SECONDS, RequestLimits
from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator
from airflow_provider_dataeng.pagination import CursorPaginator, OffsetPaginator, PageNumberPaginator
from tests.rest_api.conftest import FAST_RETRIES, folder_bytes
from tests.rest_api.server import FixtureServer, InFlight, Request

RECORDS = [{"id": i, "name": f"n{i}", "amount": f"{i}.{i % 100:02d}"} for i in range(437)]


def slow(seed: int = 7, most: float = 0.02):
    rng, lock = random.Random(seed), threading.Lock()

    def pause() -> None:
        with lock:
            seconds = rng.uniform(0, most)
        time.sleep(seconds)

    return pause


def page_number_api(server: FixtureServer, *, total: bool = True, flight: InFlight | None = None,
                    fail_page: int | None = None) -> None:
    pause, flight = slow(), flight or InFlight()

    def handler(request: Request):
        with flight:
            pause()
            page, size = int(request.query["page"]), int(request.query["per_page"])
            if page == fail_page:
                return 400, {}, {"error": "bad page"}
            body = {"data": RECORDS[(page - 1) * size : page * size]}
            if total:
                body["meta"] = {"total_pages": -(-len(RECORDS) // size)}
            return 200, {}, body

    server.route("GET", "/pages", handler)


def offset_api(server: FixtureServer, *, total: bool, cap: int | None = None) -> None:
    pause = slow(11)

    def handler(request: Request):
        pause()
        offset, limit = int(request.query["offset"]), int(request.query["limit"])
        limit = min(limit, cap) if cap else limit
        body = {"items": RECORDS[offset : offset + limit]}
        if total:
            body["total"] = len(RECORDS)
        return 200, {}, body

    server.route("GET", "/offsets", handler)


def run(hook: RestApiHook, endpoint: str, **kwargs) -> list[list[dict]]:
    return list(hook.paginate(endpoint, **kwargs))


def chunks(size: int) -> list[list[dict]]:
    return [RECORDS[i : i + size] for i in range(0, len(RECORDS), size)]


@pytest.fixture
def hooks(connection):
    conn = connection("api")
    return (RestApiHook(conn, retry_policy=FAST_RETRIES),
            RestApiHook(conn, retry_policy=FAST_RETRIES, max_concurrency=8))


# -- the limits' rules (pure, with a fake clock) ---------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_a_throttle_pauses_everyone_and_halves_once_per_round() -> None:
    clock = FakeClock()
    limits = RequestLimits(8, clock=clock, sleep=clock.sleep)
    sent_before = limits.generation
    assert limits.throttled(sent_before, 429, 2.0) == ["page requests in flight lowered to 4"]
    # the other answers to requests sent before that halving do not halve again, but do extend the pause
    assert limits.throttled(sent_before, 503, 3.0) == []
    assert (limits.limit, limits.pause_left()) == (4, 3.0)
    assert limits.wait_turn() is True and clock.slept == [3.0]  # every request waits the pause out
    assert limits.throttled(limits.generation, 503, None) == ["page requests in flight lowered to 2"]
    assert limits.pause_left() == 0.0  # no pause without a server wait


def test_the_limit_climbs_back_after_successes_once_calm() -> None:
    clock = FakeClock()
    limits = RequestLimits(8, clock=clock, sleep=clock.sleep)
    limits.throttled(limits.generation, 429, None)
    limits.throttled(limits.generation, 429, None)
    assert limits.limit == 2
    assert [limits.succeeded() for _ in range(6)] == [False] * 6  # successes, but not yet calm
    clock.now += CALM_SECONDS
    assert limits.succeeded() is True and limits.limit == 3  # 2 x 2 in a row, and calm
    assert [limits.succeeded() for _ in range(6)] == [False] * 5 + [True]  # 2 x 3 successes -> 4
    limits.throttled(-1, 429, None)  # an old round's answer: no halving, but the run starts again
    clock.now += CALM_SECONDS
    assert [limits.succeeded() for _ in range(8)] == [False] * 7 + [True]
    for _ in range(200):
        limits.succeeded()
    assert limits.limit == 8  # never above the maximum
    for _ in range(5):
        limits.throttled(limits.generation, 429, None)
    assert limits.limit == 1  # never below one


def test_pacing_and_a_429_at_the_configured_rate_slows_it() -> None:
    clock = FakeClock()
    limits = RequestLimits(1, rate=20.0, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        assert limits.wait_turn() is True
    assert clock.slept == [0.05, 0.05]  # one slot every 1/20 s
    assert limits.throttled(limits.generation, 429, None) == ["pace lowered to 19 requests/s"]
    assert limits.throttled(limits.generation, 503, None) == []  # a 503 is not about the rate
    for _ in range(30):
        limits.throttled(limits.generation, 429, None)
    assert limits.rate == 10.0  # never below half the configured rate
    assert RequestLimits(8).throttled(0, 429, None) == ["page requests in flight lowered to 4"]  # no rate: none


def test_without_a_rate_a_429_sets_the_pace_from_the_last_second() -> None:
    clock = FakeClock()
    limits = RequestLimits(8, clock=clock, sleep=clock.sleep)
    for _ in range(30):  # 30 answers over 1.5 s: 20 of them in the last second
        limits.succeeded()
        clock.now += 0.05
    assert limits.throttled(limits.generation, 503, None) == ["page requests in flight lowered to 4"]  # no pace
    assert limits.throttled(limits.generation, 429, None) == [
        "page requests in flight lowered to 2", "pace set to 19 requests/s (20 answered in the last second)"]
    assert limits.rate == 19.0
    clock.now += 10  # the pace never rises again; a 429 with fewer answers lowers it, never below one a second
    assert limits.throttled(limits.generation, 429, None) == ["page requests in flight lowered to 1"]
    limits.succeeded()
    assert limits.throttled(-1, 429, None) == []  # an old round's answer changes nothing
    limits.throttled(limits.generation, 429, None)
    assert limits.rate == 1.0


def test_a_cancelled_request_stops_waiting() -> None:
    limits = RequestLimits(2)
    limits.throttled(limits.generation, 429, 30.0)
    cancelled = threading.Event()
    cancelled.set()
    started = time.monotonic()
    assert limits.wait_turn(cancelled) is False
    assert time.monotonic() - started < 1.0


# -- the same pages, in order -------------------------------------------------------------------------
def test_page_numbers_with_a_total_fetch_exactly_the_pages_concurrently(server, hooks) -> None:
    flight = InFlight()
    page_number_api(server, flight=flight)
    paginator = PageNumberPaginator(page_size=20, page_size_param="per_page", total_pages_path="meta.total_pages")
    sequential, concurrent = hooks
    expected = run(sequential, "/pages", records_path="data", paginator=paginator)
    assert expected == chunks(20) and flight.peak == 1
    server.reset()
    page_number_api(server, flight=flight)
    assert run(concurrent, "/pages", records_path="data", paginator=paginator) == expected
    # exactly the 22 pages, each once: the total bounds the requests sent ahead
    assert sorted(int(r.query["page"]) for r in server.requests) == list(range(1, 23))
    assert 2 <= flight.peak <= 8


def test_page_numbers_without_a_total_drop_the_pages_past_the_end(server, hooks) -> None:
    page_number_api(server, total=False)
    paginator = PageNumberPaginator(page_size=20, page_size_param="per_page")
    sequential, concurrent = hooks
    assert run(concurrent, "/pages", records_path="data", paginator=paginator) == chunks(20)
    asked = sorted(int(r.query["page"]) for r in server.requests)
    assert asked[:22] == list(range(1, 23))
    assert len(asked) == len(set(asked)) and len(asked) <= 22 + 8  # at most max_concurrency pages speculated


@pytest.mark.parametrize("total", [True, False], ids=["with-total", "without-total"])
def test_offsets_give_the_sequential_pages(server, hooks, total: bool) -> None:
    offset_api(server, total=total)
    paginator = OffsetPaginator(limit=50, total_path="total" if total else None)
    sequential, concurrent = hooks
    expected = run(sequential, "/offsets", records_path="items", paginator=paginator)
    assert expected == chunks(50)
    server.reset()
    offset_api(server, total=total)
    assert run(concurrent, "/offsets", records_path="items", paginator=paginator) == expected
    offsets = sorted(int(r.query["offset"]) for r in server.requests)
    if total:
        assert offsets == list(range(0, 437, 50))
    else:
        assert offsets[:9] == list(range(0, 437, 50)) and len(offsets) <= 9 + 8


def test_a_wrong_prediction_costs_requests_never_records(server, hooks, logs) -> None:
    offset_api(server, total=True, cap=30)  # the server caps limit=50 at 30: predicted offsets are wrong
    paginator = OffsetPaginator(limit=50, total_path="total")
    assert run(hooks[1], "/offsets", records_path="items", paginator=paginator) == chunks(30)
    offsets = [int(r.query["offset"]) for r in server.requests]
    assert set(range(0, 437, 30)) <= set(offsets)  # every page the server's own paging needs
    assert len(offsets) <= len(range(0, 437, 30)) + 8  # plus at most max_concurrency predicted in vain
    assert "fetched one page at a time" in logs()


def test_max_pages_bounds_the_requests_sent_ahead(server, hooks) -> None:
    page_number_api(server, total=False)
    paginator = PageNumberPaginator(page_size=20, page_size_param="per_page")
    assert run(hooks[1], "/pages", records_path="data", paginator=paginator, max_pages=5) == chunks(20)[:5]
    assert sorted(int(r.query["page"]) for r in server.requests) == [1, 2, 3, 4, 5]


def test_cursor_pages_are_fetched_one_at_a_time(server, hooks) -> None:
    flight, pause = InFlight(), slow()

    def handler(request: Request):
        with flight:
            pause()
            start = int(request.query.get("cursor") or 0)
            more = start + 50 < len(RECORDS)
            return 200, {}, {"data": RECORDS[start : start + 50], "next": str(start + 50) if more else None}

    server.route("GET", "/cursor", handler)
    assert run(hooks[1], "/cursor", records_path="data", paginator=CursorPaginator(cursor_path="next")) == chunks(50)
    assert flight.peak == 1


def test_a_page_failing_mid_flight_fails_the_run(server, hooks) -> None:
    page_number_api(server, fail_page=9)
    paginator = PageNumberPaginator(page_size=20, page_size_param="per_page", total_pages_path="meta.total_pages")
    got = []
    with pytest.raises(RestApiHTTPError, match=r"HTTP 400 from GET .*page=9"):
        for page in hooks[1].paginate("/pages", records_path="data", paginator=paginator):
            got.append(page)
    assert got == chunks(20)[:8]  # every page before it, in order, and none after


def test_a_429_storm_pauses_everyone_learns_the_pace_and_lands_every_record(server, connection, logs) -> None:
    """A server admitting 40 requests in any second, 8 requests in flight: the first refusals set the pace
    from the answers of the last second; after that the server refuses (almost) nothing."""
    from collections import deque

    admitted, lock = deque(), threading.Lock()

    def handler(request: Request):
        time.sleep(0.005)
        page = int(request.query["page"])
        with lock:
            now = time.monotonic()
            while admitted and admitted[0] <= now - 1.0:
                admitted.popleft()
            if len(admitted) >= 40:  # come back when the oldest admission leaves the window (whole seconds)
                return 429, {"Retry-After": str(math.ceil(admitted[0] + 1.0 - now))}, {"error": "slow down"}
            admitted.append(now)
        return 200, {}, {"data": RECORDS[(page - 1) * 5 : page * 5], "meta": {"total_pages": 88}}

    server.route("GET", "/pages", handler)
    hook = RestApiHook(connection("api"), retry_policy=FAST_RETRIES, max_concurrency=8)
    paginator = PageNumberPaginator(page_size=5, page_size_param="per_page", total_pages_path="meta.total_pages")
    assert run(hook, "/pages", records_path="data", paginator=paginator) == chunks(5)
    asked = [int(r.query["page"]) for r in server.requests]
    assert set(asked) == set(range(1, 89))
    text = logs()
    assert "page requests in flight lowered to 4" in text and "all requests paused 1s" in text
    # the pace the first refusal taught: 95% of the (up to 40) answers the server gave in the last second
    learned = re.search(r"pace set to ([\d.]+) requests/s \((\d+) answered in the last second\)", text)
    assert learned is not None and 30 <= int(learned[2]) <= 40 and abs(float(learned[1]) - int(learned[2]) * 0.95) < 0.06
    refusals = len(asked) - 88
    assert 1 <= refusals <= 16, refusals  # the first round's refusals, then few or none


def test_max_concurrency_from_the_connection(connection) -> None:
    assert RestApiHook(connection("c8", extra={"max_concurrency": 8})).max_concurrency == 8
    assert RestApiHook(connection("c1")).max_concurrency == 1
    assert RestApiHook(connection("c8b", extra={"max_concurrency": "8"}), max_concurrency=2).max_concurrency == 2
    with pytest.raises(ValueError, match="extra max_concurrency must be a positive whole number"):
        _ = RestApiHook(connection("c0", extra={"max_concurrency": 0})).max_concurrency
    with pytest.raises(ValueError, match="max_concurrency must be a positive integer"):
        RestApiHook("any", max_concurrency=0)


# -- the operator: byte-identical files ---------------------------------------------------------------
@pytest.mark.parametrize("part_format", ["jsonl", "parquet"])
@pytest.mark.parametrize("style", ["page-number", "offset-total", "offset-no-total"])
def test_operator_output_is_byte_identical_to_a_sequential_run(server, connection, tmp_path, style, part_format):
    conn = connection("api")
    if style == "page-number":
        page_number_api(server)
        endpoint, path = "/pages", "data"
        paginator = PageNumberPaginator(page_size=20, page_size_param="per_page", total_pages_path="meta.total_pages")
    else:
        offset_api(server, total=style == "offset-total")
        endpoint, path = "/offsets", "items"
        paginator = OffsetPaginator(limit=20, total_path="total" if style == "offset-total" else None)
    results = {}
    for concurrency in (1, 8):
        root = tmp_path / f"c{concurrency}"
        operator = RestApiExtractOperator(
            task_id="extract", http_conn_id=conn, endpoint=endpoint, records_path=path, paginator=paginator,
            destination=f"file://{root}/", aws_conn_id=None, http_retry_policy=FAST_RETRIES,
            max_records_per_file=50, part_format=part_format, max_concurrency=concurrency,
        )
        manifest = operator.execute({})
        assert (manifest["records"], manifest["pages"]) == (437, 22)
        results[concurrency] = folder_bytes(root)
    assert len(results[1]) == 1 + 9  # the manifest and 9 part files of 50 records
    assert results[8] == results[1]


def test_operator_failure_mid_flight_commits_nothing(server, connection, tmp_path) -> None:
    page_number_api(server, fail_page=13)
    operator = RestApiExtractOperator(
        task_id="extract", http_conn_id=connection("api"), endpoint="/pages", records_path="data",
        paginator=PageNumberPaginator(page_size=20, page_size_param="per_page", total_pages_path="meta.total_pages"),
        destination=f"file://{tmp_path}/out/", aws_conn_id=None, http_retry_policy=FAST_RETRIES,
        max_records_per_file=50, max_concurrency=8,
    )
    with pytest.raises(RestApiHTTPError, match="page=13"):
        operator.execute({})
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_operator_refuses_a_bad_max_concurrency() -> None:
    with pytest.raises(ValueError, match="max_concurrency must be a positive integer or None, got 0"):
        RestApiExtractOperator(task_id="t", endpoint="/x", destination="file:///tmp/x/", max_concurrency=0)
