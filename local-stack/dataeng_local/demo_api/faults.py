"""Fault injection: the same server misbehaves on request, deterministically.

Query parameters (or the server's ``default_faults``, a query string applied under them):

- ``fault``: ``429``, ``500``, ``502``, ``503``, ``504``, ``slow``, ``truncate``, ``html``, ``not_json``,
  ``repeat_cursor``, ``empty_page``, ``missing_id``, ``missing_data`` or ``flaky``
- ``fault_key``: requests sharing a key share one counter (default: fault, path and ``fault_page``)
- ``fault_times``: the first N matching requests of the key are faulted, later ones succeed
  (default 1; ``always`` for every request)
- ``fault_page``: only requests for this page number (1-based, ``start // limit + 1``) match
- ``fault_delay``: seconds ``slow`` waits before answering (default 1)
- ``retry_after``: seconds for 429 (default 1; also sent with 503 when given);
  ``retry_after_format``: ``seconds`` (default), ``http-date`` or ``none`` (only ``X-RateLimit-Reset``)
- ``fault_rate``: for ``flaky``, the share of requests answered 503 (default 0.2), decided per request
  number of the key, so a replay gives the same sequence

Counters live in the server process; ``POST /admin/faults/reset`` clears them.
"""

from __future__ import annotations

import math
import threading
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from dataeng_local.demo_api.paging import BadRequest, Mutation, number_param
from dataeng_local.demo_api.rand import mix
from dataeng_local.demo_api.timefmt import http_date

STATUS_FAULTS = ("429", "500", "502", "503", "504")
BODY_FAULTS = ("html", "not_json", "truncate")
PAGE_FAULTS = ("repeat_cursor", "empty_page", "missing_id", "missing_data")
KINDS = (*STATUS_FAULTS, *BODY_FAULTS, *PAGE_FAULTS, "slow", "flaky")
FAULT_PARAMS = (
    "fault",
    "fault_key",
    "fault_times",
    "fault_page",
    "fault_delay",
    "retry_after",
    "retry_after_format",
    "fault_rate",
)


@dataclass(frozen=True)
class FaultSpec:
    kind: str
    key: str
    times: int | None  # None: always
    page: int | None
    delay: float
    retry_after: float | None
    retry_after_format: str
    rate: float

    def mutation(self) -> Mutation:
        return Mutation(
            empty=self.kind == "empty_page",
            repeat_cursor=self.kind == "repeat_cursor",
            drop_id=self.kind == "missing_id",
            drop_data=self.kind == "missing_data",
        )


def parse_fault(params: Mapping[str, str], path: str) -> FaultSpec | None:
    """The fault a request asks for, or ``None``."""
    kind = params.get("fault")
    if not kind:
        return None
    if kind not in KINDS:
        raise BadRequest(f"fault must be one of {', '.join(KINDS)}; got {kind!r}")
    times_raw = params.get("fault_times", "1")
    if times_raw == "always":
        times = None
    else:
        try:
            times = int(times_raw)
        except ValueError:
            raise BadRequest(f"fault_times must be an integer or 'always', got {times_raw!r}") from None
    page_raw = number_param(params, "fault_page", None)
    retry_format = params.get("retry_after_format", "seconds")
    if retry_format not in ("seconds", "http-date", "none"):
        raise BadRequest(f"retry_after_format must be seconds, http-date or none; got {retry_format!r}")
    rate = number_param(params, "fault_rate", 0.2)
    return FaultSpec(
        kind=kind,
        key=params.get("fault_key") or f"{kind}|{path}|{params.get('fault_page', '')}",
        times=times,
        page=None if page_raw is None else int(page_raw),
        delay=number_param(params, "fault_delay", 1.0) or 0.0,
        retry_after=number_param(params, "retry_after", None),
        retry_after_format=retry_format,
        rate=1.0 if rate is None else min(rate, 1.0),
    )


class FaultBook:
    """Counts matching requests per fault key and decides whether this one is faulted."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def fires(self, spec: FaultSpec, page_number: int | None) -> bool:
        if spec.page is not None and page_number != spec.page:
            return False
        with self._lock:
            count = self._counts.get(spec.key, 0) + 1
            self._counts[spec.key] = count
        if spec.kind == "flaky":
            return mix(zlib.crc32(spec.key.encode()), count) % 10_000 < spec.rate * 10_000
        return spec.times is None or count <= spec.times

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


def rate_limit_headers(spec: FaultSpec, now: float | None = None) -> dict[str, str]:
    """``Retry-After`` (as configured) and ``X-RateLimit-*`` headers for a 429 or 503."""
    current = time.time() if now is None else now
    wait = 1.0 if spec.retry_after is None else spec.retry_after
    headers = {
        "x-ratelimit-limit": "100",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(int(current + wait + 0.999)),
    }
    if spec.retry_after_format == "seconds":
        headers["retry-after"] = str(math.ceil(wait))
    elif spec.retry_after_format == "http-date":
        headers["retry-after"] = http_date(current + wait)
    return headers
