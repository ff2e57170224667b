"""Latency and a server-side rate limit: the demo API behaving like a real, latency-bound, rate-limited API.

Query parameters (or the server's ``--faults`` query string, applied under them), for REST pages and GraphQL:

- ``latency``: seconds every request waits before it is answered (concurrent requests wait side by side, as
  they do against a remote API); 0 (the default) answers at once.
- ``rate_limit``: requests per second the server admits; more within any one-second window are answered 429
  with ``Retry-After`` (whole seconds, rounded up) and ``X-RateLimit-Limit/-Remaining/-Reset``. Admitted
  requests carry the same ``X-RateLimit-*`` headers. Requests refused do not count.
- ``rate_limit_key``: requests sharing a key share one limit (default: one limit for the whole server).

The limiter keeps the admission times of the last second per key, in the server process; ``POST
/admin/faults/reset`` clears it with the fault counters.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dataeng_local.demo_api.paging import BadRequest, number_param

LIMIT_PARAMS = ("latency", "rate_limit", "rate_limit_key")
WINDOW = 1.0  # seconds: rate_limit requests per window


@dataclass(frozen=True)
class Limits:
    latency: float
    rate_limit: int | None
    key: str


def parse_limits(params: Mapping[str, str]) -> Limits:
    """The latency and rate limit a request is subject to (bad values are a 400)."""
    return Limits(
        latency=_latency(params),
        rate_limit=_rate(params),
        key=params.get("rate_limit_key") or "server",
    )


def _latency(params: Mapping[str, str]) -> float:
    latency = number_param(params, "latency", 0.0) or 0.0
    if not math.isfinite(latency):
        raise BadRequest(f"latency must be a finite number of seconds, got {params['latency']!r}")
    return latency


def _rate(params: Mapping[str, str]) -> int | None:
    raw = params.get("rate_limit")
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"rate_limit must be a whole number of requests per second, got {raw!r}") from None
    if value < 1:
        raise BadRequest(f"rate_limit must be at least 1 request per second, got {raw!r}")
    return value


@dataclass(frozen=True)
class Admission:
    admitted: bool
    headers: dict[str, str]


class RateLimiter:
    """At most ``limit`` admitted requests per key in any window of ``WINDOW`` seconds (a sliding log)."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time
    ) -> None:
        self._clock = clock
        self._wall = wall
        self._admitted: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, key: str, limit: int) -> Admission:
        now = self._clock()
        with self._lock:
            log = self._admitted.setdefault(key, deque())
            while log and log[0] <= now - WINDOW:
                log.popleft()
            if len(log) < limit:
                log.append(now)
                wait = (log[0] + WINDOW - now) if len(log) >= limit else 0.0
                return Admission(True, self._headers(limit, limit - len(log), wait))
            wait = log[0] + WINDOW - now  # when the oldest admission leaves the window
        headers = self._headers(limit, 0, wait)
        headers["retry-after"] = str(max(1, math.ceil(wait)))
        return Admission(False, headers)

    def _headers(self, limit: int, remaining: int, wait: float) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(math.ceil(self._wall() + wait)),
        }

    def reset(self) -> None:
        with self._lock:
            self._admitted.clear()
