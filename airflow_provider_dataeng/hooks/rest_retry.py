"""Retry policy for REST calls: which failures are transient and how long to wait before the next try.

Pure functions (no I/O) plus a tenacity ``Retrying`` factory. Server hints win over backoff: ``Retry-After``
(seconds or an HTTP date) or ``X-RateLimit-Reset`` (epoch seconds or seconds from now), clamped to
``[retry_after_floor, retry_after_cap]`` so a ``Retry-After: 0`` storm cannot burn every attempt in
milliseconds and a far-future reset cannot park the task for hours.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class HttpRetryPolicy:
    """How many attempts, and the waits between them (seconds).

    :param max_attempts: attempts per request, first one included.
    :param backoff_initial: first exponential wait; doubles each attempt up to ``backoff_max``.
    :param jitter: up to this many seconds added at random to each wait (spreads out parallel clients).
    :param retry_after_floor: the least wait when the server sends a hint (``Retry-After: 0``).
    :param retry_after_cap: the most wait a server hint can ask for; longer hints are cut to this.
    :param statuses: HTTP statuses retried; any other 4xx/5xx fails at once.
    """

    max_attempts: int = 6
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    jitter: float = 1.0
    retry_after_floor: float = 1.0
    retry_after_cap: float = 300.0
    statuses: frozenset[int] = RETRY_STATUSES

    def __post_init__(self) -> None:
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ValueError(f"max_attempts must be a positive integer, got {self.max_attempts!r}")
        for name in ("backoff_initial", "backoff_max", "jitter", "retry_after_floor", "retry_after_cap"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)!r}")
        if self.retry_after_floor > self.retry_after_cap:
            raise ValueError("retry_after_floor must not exceed retry_after_cap")

    def wait(self, attempt: int, server_hint: float | None, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        jitter = (rng or random).uniform(0, self.jitter) if self.jitter else 0.0
        if server_hint is not None:
            return min(max(server_hint, self.retry_after_floor) + jitter, self.retry_after_cap)
        return min(self.backoff_initial * 2 ** (attempt - 1), self.backoff_max) + jitter


class RetryableHTTPError(Exception):
    """A response with a retryable status; carries the server's wait hint, if any."""

    def __init__(self, status: int, url: str, retry_after: float | None, hint_source: str | None) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status = status
        self.url = url
        self.retry_after = retry_after
        self.hint_source = hint_source


def parse_retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta seconds or an HTTP date; ``None`` if unparseable."""
    if value is None:
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(when.timestamp() - now, 0.0)


def parse_rate_limit_reset(value: str | None, now: float) -> float | None:
    """``X-RateLimit-Reset``: epoch seconds (GitHub) or, when small, seconds from now."""
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if number > 1_000_000_000:  # an epoch timestamp
        return max(number - now, 0.0)
    return max(number, 0.0)


def server_wait_hint(headers: Mapping[str, str], now: float | None = None) -> tuple[float | None, str | None]:
    """``(seconds, header name)`` from ``Retry-After`` or ``X-RateLimit-Reset``; ``(None, None)`` if absent."""
    now = time.time() if now is None else now
    seconds = parse_retry_after(headers.get("Retry-After"), now)
    if seconds is not None:
        return seconds, "Retry-After"
    seconds = parse_rate_limit_reset(headers.get("X-RateLimit-Reset"), now)
    if seconds is not None:
        return seconds, "X-RateLimit-Reset"
    return None, None


def build_retrying(
    policy: HttpRetryPolicy,
    *,
    is_retryable: Callable[[BaseException], bool],
    before_sleep: Callable[[Any], None],
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """A tenacity ``Retrying`` that waits per ``policy`` (server hint first) and re-raises the last error."""
    import tenacity

    def wait(retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        hint = getattr(exc, "retry_after", None)
        return policy.wait(retry_state.attempt_number, hint)

    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.max_attempts),
        wait=wait,
        retry=tenacity.retry_if_exception(is_retryable),
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    )
