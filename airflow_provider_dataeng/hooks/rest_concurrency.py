"""Concurrent page requests: shared request limits and a prefetcher of predicted page requests.

The hook still walks the pages in order with the paginator's ``next_request``; the prefetcher only sends,
ahead of it, the requests the paginator predicts (``request_for_page``) and hands a response over when
``next_request`` asks for exactly that request. So the output is the sequential run's, page for page, and a
wrong prediction costs a request, never a record.

Every request of one hook goes through one :class:`RequestLimits` (the documented rules):

- **Pacing**: with the connection's ``max_requests_per_second``, requests leave at most that often. A 429
  at that rate means the API counts a little differently (its window, network jitter): the pace drops by
  5% for the rest of the run, down to half the configured rate at most. Without a configured rate, a 429
  to concurrent requests sets the pace to 95% of the answers the server gave in the last second (at least
  one a second): the rate it just showed it admits; a later 429 lowers it the same way. The pace never
  rises again within the run (a rate that drew a 429 would draw another).
- **Pause**: a 429 or 503 with ``Retry-After`` (or ``X-RateLimit-Reset``) on any request holds back every
  request until then: they all count against the same server limit.
- **In flight**: a 429 or 503 halves the number of requests in flight (once per round: the answers to
  requests sent before that halving do not halve it again); it climbs back by one after ``2 x limit``
  successes in a row, and no sooner than ``CALM_SECONDS`` after the last halving, up to ``max_concurrency``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from airflow_provider_dataeng.pagination import BasePaginator, PageRequest

THROTTLE_STATUSES = frozenset({429, 503})
CALM_SECONDS = 5.0  # after a halving, this long before the in-flight limit climbs again
PACE_STEP = 0.95  # a 429 at the configured rate slows the pace to this share of it
PACE_FLOOR = 0.5  # ... never below this share of the configured rate
LEARNED_FLOOR = 1.0  # requests per second: the least pace learned from the answers of the last second


class RequestLimits:
    """Pacing, shared pause and in-flight limit of one hook's requests (thread-safe; see the module doc)."""

    def __init__(
        self,
        maximum: int,
        rate: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        self.maximum = maximum
        self.limit = maximum
        self.configured_rate = rate
        self.rate = rate
        self.generation = 0  # bumped by each halving; a request remembers the one it was sent in
        self._successes = 0
        self._calm_from = 0.0
        self._paused_until = 0.0
        self._next_slot = 0.0
        self._answered: deque[float] = deque()  # when the successes of the last second came back
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()

    def wait_turn(self, cancelled: threading.Event | None = None) -> bool:
        """Block until this request may leave: the shared pause is over and its pacing slot has come.
        Returns ``False`` when ``cancelled`` was set meanwhile (the request is not wanted any more)."""
        while True:
            pause = self.pause_left()
            if pause <= 0:
                break
            if not self._wait(pause, cancelled):
                return False
        with self._lock:
            if not self.rate:
                return True
            now = self._clock()
            wait = self._next_slot - now
            self._next_slot = max(now, self._next_slot) + 1.0 / self.rate
        return wait <= 0 or self._wait(wait, cancelled)

    def _wait(self, seconds: float, cancelled: threading.Event | None) -> bool:
        if cancelled is None:
            self._sleep(seconds)
            return True
        return not cancelled.wait(seconds)

    def throttled(self, generation: int, status: int, wait: float | None) -> list[str]:
        """A 429/503 answered a request sent in ``generation``: pause everyone ``wait`` seconds (when the
        server said), halve the in-flight limit unless a halving since that request was sent already did,
        and on a 429 slow a configured pace. Returns what changed, for the log."""
        changes: list[str] = []
        with self._lock:
            now = self._clock()
            if wait:
                self._paused_until = max(self._paused_until, now + wait)
            self._successes = 0
            self._calm_from = now + CALM_SECONDS
            if generation != self.generation:
                return changes
            self.generation += 1
            if self.limit > 1:
                self.limit = max(1, self.limit // 2)
                changes.append(f"page requests in flight lowered to {self.limit}")
            if status == 429 and self.configured_rate:
                slower = max(
                    (self.rate or self.configured_rate) * PACE_STEP, self.configured_rate * PACE_FLOOR
                )
                if slower < (self.rate or self.configured_rate):
                    self.rate = slower
                    changes.append(f"pace lowered to {slower:.3g} requests/s")
            elif status == 429 and self._seen(now):
                seen = self._seen(now)
                learned = max(seen * PACE_STEP, LEARNED_FLOOR)
                if self.rate is None or learned < self.rate:
                    self.rate = learned
                    changes.append(
                        f"pace set to {learned:.3g} requests/s ({seen} answered in the last second)"
                    )
        return changes

    def _seen(self, now: float) -> int:
        self._forget(now)
        return len(self._answered)

    def _forget(self, now: float) -> None:
        while self._answered and self._answered[0] <= now - 1.0:
            self._answered.popleft()

    def succeeded(self) -> bool:
        """One success; ``2 x limit`` in a row, once calm, raise the in-flight limit by one (up to the
        maximum). Returns whether this call raised it."""
        with self._lock:
            now = self._clock()
            self._answered.append(now)
            self._forget(now)
            if self.limit >= self.maximum:
                return False
            self._successes += 1
            if self._successes < 2 * self.limit or now < self._calm_from:
                return False
            self._successes = 0
            self.limit += 1
            return True

    def pause_left(self) -> float:
        """Seconds until the shared pause is over (0 when there is none)."""
        with self._lock:
            return max(0.0, self._paused_until - self._clock())


class PagePrefetcher:
    """Keeps up to ``concurrency.limit`` predicted page requests in flight ahead of the page being read.

    ``fetch(request, index, cancelled)`` runs in a worker thread and returns whatever the hook needs of a page (body fetched
    and decoded); its exception, if any, surfaces only when that page is taken, so a failing request past
    the last page (speculation) never fails the run. ``end`` (exclusive page index) is set when the number
    of pages is known; without it the prefetcher runs ahead speculatively and the pages past the end are
    dropped unread. At most ``maximum`` results are held (plus the page the caller is writing).
    """

    def __init__(
        self,
        paginator: BasePaginator,
        first: PageRequest,
        fetch: Callable[[PageRequest, int, threading.Event], Any],
        concurrency: RequestLimits,
        *,
        start: int,
        end: int | None,
    ) -> None:
        self._paginator = paginator
        self._first = first
        self._fetch = fetch
        self._concurrency = concurrency
        self._end = end
        self._next = start
        self._pending: dict[int, tuple[PageRequest, bytes, Future[Any]]] = {}
        self._pool = ThreadPoolExecutor(max_workers=concurrency.maximum, thread_name_prefix="rest-page")
        self.cancelled = threading.Event()  # set by close(): retries in flight give up instead of waiting
        self.predicting = True
        self.hits = 0
        self.misses = 0

    def take(self, index: int, fingerprint: bytes) -> Future[Any] | None:
        """The fetch of page ``index`` when it was predicted as exactly the request with ``fingerprint`` (sent
        now if it was not yet); ``None`` when there is no prediction for it (the caller fetches it itself). A
        prediction that differs ends prediction for the rest of the run."""
        self.fill(index)
        entry = self._pending.pop(index, None)
        if entry is None:
            return None
        if entry[1] != fingerprint:
            self.misses += 1
            self.close()
            return None
        self.hits += 1
        self.fill(index + 1)
        return entry[2]

    def fill(self, reading: int) -> None:
        """Send the predicted requests for pages ``reading`` to ``reading + limit - 1`` not yet sent."""
        if not self.predicting:
            return
        self._drop_before(reading)
        self._next = max(self._next, reading)
        while self._next < reading + self._concurrency.limit and (
            self._end is None or self._next < self._end
        ):
            request = self._paginator.request_for_page(self._first, self._next)
            if request is None:
                self._end = self._next
                return
            future = self._pool.submit(self._fetch, request, self._next, self.cancelled)
            self._pending[self._next] = (request, request.fingerprint(), future)
            self._next += 1

    def close(self) -> None:
        """Stop: pages not yet sent are never sent; requests in flight finish in the background and are
        dropped."""
        self.predicting = False
        self.cancelled.set()
        self._drop()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def settle(self) -> list[tuple[int, PageRequest, Any]]:
        """Stop, let the requests already on the wire finish, and return the pages they fetched (index,
        request, result), in page order: pages fetched ahead of one the server refused, worth keeping."""
        self.predicting = False
        self.cancelled.set()
        done = []
        for index in sorted(self._pending):
            request, _, future = self._pending[index]
            if future.cancel():
                continue
            try:
                done.append((index, request, future.result()))
            except Exception:  # refused, failed or cancelled: not a page to keep
                continue
        self._pending.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
        return done

    def _drop_before(self, index: int) -> None:
        for stale in [i for i in self._pending if i < index]:
            self._pending.pop(stale)[2].cancel()

    def _drop(self) -> None:
        for _, _, future in self._pending.values():
            future.cancel()
        self._pending.clear()
