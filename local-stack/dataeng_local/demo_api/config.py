"""Settings of one demo API server: data shape, simulated clock, credentials, limits."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

DAY = 86_400
DEFAULT_EPOCH = 1_704_067_200  # 2024-01-01T00:00:00Z
DEFAULT_TOKEN = "dataeng-local-token"


@dataclass(frozen=True)
class DataShape:
    """How much data exists and how fast it grows; with the seed, it fixes every record.

    A "run" is one step of the simulated clock (``run_seconds``). Records arrive at a steady rate per
    run; ``*_initial`` records already exist at the epoch (created during the days before it).
    """

    seed: int = 42
    epoch: int = DEFAULT_EPOCH
    run_seconds: int = 3600
    customers_initial: int = 1000
    customers_per_run: int = 5
    orders_initial: int = 5000
    orders_per_run: int = 20
    events_initial: int = 0
    events_per_run: int = 600
    bulk_records: int = 1_000_000  # default size of /v1/bulk when the request gives no ``records``

    def __post_init__(self) -> None:
        for name in ("run_seconds", "customers_per_run", "orders_per_run", "events_per_run"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("customers_initial", "orders_initial", "events_initial", "bulk_records"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        if self.customers_initial == 0:
            raise ValueError("customers_initial must be at least 1 (orders and events need a customer)")


@dataclass(frozen=True)
class Credentials:
    """What each auth variant accepts."""

    token: str = DEFAULT_TOKEN
    api_key: str = "dataeng-local-key"
    api_key_header: str = "X-API-Key"
    basic_user: str = "demo"
    basic_password: str = "demo"
    client_id: str = "dataeng-local"
    client_secret: str = "dataeng-local-secret"
    oauth_token_ttl: float = 3600.0  # seconds an OAuth access token stays valid (real time)


@dataclass(frozen=True)
class DemoApiConfig:
    """Everything a server needs; ``python -m ...demo_api --help`` maps flags onto these fields.

    ``clock``: ``"fixed"`` serves data as of ``start`` until moved by ``POST /admin/clock``;
    ``"wall"`` serves data as of the current time (then ``start`` is ignored).
    """

    shape: DataShape = field(default_factory=DataShape)
    credentials: Credentials = field(default_factory=Credentials)
    clock: str = "fixed"
    start: int | None = None  # default: epoch + 7 days
    default_page_size: int = 100
    max_page_size: int = 10_000
    cache_mb: int = 256
    default_faults: str = ""  # a query string of fault parameters applied to every request

    def __post_init__(self) -> None:
        if self.clock not in ("fixed", "wall"):
            raise ValueError(f"clock must be 'fixed' or 'wall', got {self.clock!r}")
        if not 0 < self.default_page_size <= self.max_page_size:
            raise ValueError("need 0 < default_page_size <= max_page_size")

    @property
    def start_time(self) -> int:
        """Initial simulated time of a fixed clock."""
        return self.start if self.start is not None else self.shape.epoch + 7 * DAY


def wall_clock_epoch(now: float | None = None) -> int:
    """Epoch for wall-clock mode: midnight UTC seven days ago, so a week of history exists."""
    current = int(now if now is not None else time.time())
    return current - current % DAY - 7 * DAY
