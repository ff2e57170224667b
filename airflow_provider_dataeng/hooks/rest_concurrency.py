"""Concurrent page requests: an adaptive in-flight limit and a prefetcher of predicted page requests.

The hook still walks the pages in order with the paginator's ``next_request``; the prefetcher only sends,
ahead of it, the requests the paginator predicts (``request_for_page``) and hands a response over when
``next_request`` asks for exactly that request. So the output is the sequential run's, page for page, and a
wrong prediction costs a request, never a record.

The in-flight limit follows one documented rule (:class:`AdaptiveConcurrency`): a 429 or 503 halves it
(once per round of requests: the answers to requests sent before the halving do not halve it again) and
every ``2 x limit`` successes in a row add one, up to ``max_concurrency``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from airflow_provider_dataeng.pagination import BasePaginator, PageRequest

THROTTLE_STATUSES = frozenset({429, 503})


class AdaptiveConcurrency:
    """How many requests may be in flight now; shared by every thread of one hook (thread-safe).

    Also holds the pause every request waits out before it is sent: a server's ``Retry-After`` on one
    request stops all of them, since they share the server's limit.
    """

    def __init__(self, maximum: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.maximum = maximum
        self.limit = maximum
        self.generation = 0  # bumped by each halving; a request remembers the one it was sent in
        self._successes = 0
        self._paused_until = 0.0
        self._clock = clock
        self._lock = threading.Lock()

    def throttled(self, generation: int, wait: float | None) -> bool:
        """A 429/503 answered a request sent in ``generation``: pause everyone ``wait`` seconds (when the
        server said) and halve the limit, unless a halving since that request was sent already did.
        Returns whether this call halved it."""
        with self._lock:
            if wait:
                self._paused_until = max(self._paused_until, self._clock() + wait)
            self._successes = 0
            if generation != self.generation:
                return False
            self.generation += 1
            before, self.limit = self.limit, max(1, self.limit // 2)
            return self.limit != before

    def succeeded(self) -> bool:
        """One success; every ``2 x limit`` in a row raise the limit by one (up to the maximum). Returns
        whether this call raised it."""
        with self._lock:
            if self.limit >= self.maximum:
                return False
            self._successes += 1
            if self._successes < 2 * self.limit:
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
        concurrency: AdaptiveConcurrency,
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
        self._pending: dict[int, tuple[bytes, Future[Any]]] = {}
        self._pool = ThreadPoolExecutor(max_workers=concurrency.maximum, thread_name_prefix="rest-page")
        self.cancelled = threading.Event()  # set by close(): retries in flight give up instead of waiting
        self.predicting = True
        self.hits = 0
        self.misses = 0

    def take(self, index: int, request: PageRequest) -> Future[Any] | None:
        """The fetch of page ``index`` when it was predicted as exactly ``request`` (sent now if it was not
        yet); ``None`` when there is no prediction for it (the caller fetches it itself). A prediction that
        differs from ``request`` ends prediction for the rest of the run."""
        self.fill(index)
        entry = self._pending.pop(index, None)
        if entry is None:
            return None
        if entry[0] != request.fingerprint():
            self.misses += 1
            self.close()
            return None
        self.hits += 1
        self.fill(index + 1)
        return entry[1]

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
            self._pending[self._next] = (
                request.fingerprint(),
                self._pool.submit(self._fetch, request, self._next, self.cancelled),
            )
            self._next += 1

    def close(self) -> None:
        """Stop: pages not yet sent are never sent; requests in flight finish in the background and are
        dropped."""
        self.predicting = False
        self.cancelled.set()
        self._drop()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _drop_before(self, index: int) -> None:
        for stale in [i for i in self._pending if i < index]:
            self._pending.pop(stale)[1].cancel()

    def _drop(self) -> None:
        for _, future in self._pending.values():
            future.cancel()
        self._pending.clear()
