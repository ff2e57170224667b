"""The demo resources as pure functions of (seed, simulated time).

``customers`` and ``orders`` change over time: each record is updated on its own schedule and a few
are deleted (soft-delete: ``is_deleted`` turns true and ``updated_at`` moves to the deletion time).
``events`` are append-only. ``bulk`` is a large static data set for benchmarks. Nothing here keeps
state: a record's value at time ``t`` is computed from its id and ``t`` alone.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import orjson

from dataeng_local.demo_api import vocab
from dataeng_local.demo_api.arrivals import Arrivals
from dataeng_local.demo_api.config import DAY, DataShape
from dataeng_local.demo_api.rand import mix
from dataeng_local.demo_api.timefmt import to_iso

HISTORY = 14 * DAY  # initial records are spread over the two weeks before the epoch
_CACHED = 1 << 18  # per-record facts that do not depend on time are computed once (bounded)

# Salts keep the hash streams of the resources apart.
_CUSTOMER, _ORDER, _EVENT, _BULK = 1, 2, 3, 4


class Customers:
    """Customers: each updates every ``P`` runs (P drawn per customer between 24 and 720 runs), at a
    drawn second within the run; about 8% are deleted one to thirty days after creation."""

    name = "customers"
    id_field = "id"
    time_field = "updated_at"
    fields = ("id", "email", "name", "country", "status", "created_at", "updated_at", "is_deleted")

    def __init__(self, shape: DataShape) -> None:
        self.seed = shape.seed
        self.epoch = shape.epoch
        self.run = shape.run_seconds
        self.arrivals = Arrivals(
            shape.epoch, shape.run_seconds, shape.customers_initial, shape.customers_per_run, HISTORY
        )
        self.deleted_at = lru_cache(maxsize=_CACHED)(self._deleted_at)
        self._schedule = lru_cache(maxsize=_CACHED)(self._make_schedule)
        self._profile = lru_cache(maxsize=_CACHED)(self._make_profile)

    def count(self, t: int) -> int:
        return self.arrivals.count(t)

    def _deleted_at(self, i: int) -> int | None:
        """When customer ``i`` is deleted, or ``None`` if never (customer 1 never is)."""
        if i == 1 or mix(self.seed, _CUSTOMER, i, 5) % 1000 >= 80:
            return None
        created_run = (self.arrivals.created_at(i) - self.epoch) // self.run
        run = created_run + 24 + mix(self.seed, _CUSTOMER, i, 6) % (30 * 24)
        return self.epoch + run * self.run + mix(self.seed, _CUSTOMER, i, 7) % self.run

    def _update_time(self, i: int, run: int) -> int:
        return self.epoch + run * self.run + mix(self.seed, _CUSTOMER, i, 3, run) % self.run

    def _make_schedule(self, i: int) -> tuple[int, int, int, int]:
        """(created_at, period, phase, first update run): customer ``i`` updates every ``period`` runs."""
        created = self.arrivals.created_at(i)
        period = 24 + mix(self.seed, _CUSTOMER, i, 1) % 697
        phase = mix(self.seed, _CUSTOMER, i, 2) % period
        created_run = (created - self.epoch) // self.run
        first = created_run + (phase - created_run) % period
        if self._update_time(i, first) <= created:
            first += period
        return created, period, phase, first

    def state(self, i: int, t: int) -> tuple[int, int, bool]:
        """(updated_at, version, deleted) of customer ``i`` at time ``t`` (``i`` must exist at ``t``)."""
        created, period, phase, first = self._schedule(i)
        deleted_at = self.deleted_at(i)
        deleted = deleted_at is not None and deleted_at <= t
        limit = deleted_at - 1 if deleted and deleted_at is not None else t
        last_run = (limit - self.epoch) // self.run
        last = last_run - (last_run - phase) % period
        if last >= first and self._update_time(i, last) > limit:
            last -= period
        if last < first:
            version, updated = 0, created
        else:
            version, updated = (last - first) // period + 1, self._update_time(i, last)
        if deleted and deleted_at is not None:
            updated = deleted_at
        return updated, version, deleted

    def _make_profile(self, i: int) -> tuple[str, str, str, str, str]:
        """(email, name, country, currency, created_at): what never changes about customer ``i``."""
        h = mix(self.seed, _CUSTOMER, i, 10)
        first = vocab.FIRST_NAMES[h % len(vocab.FIRST_NAMES)]
        last = vocab.LAST_NAMES[(h >> 8) % len(vocab.LAST_NAMES)]
        domain = vocab.DOMAINS[(h >> 16) % len(vocab.DOMAINS)]
        country, currency = vocab.COUNTRIES[(h >> 24) % len(vocab.COUNTRIES)]
        created = to_iso(self.arrivals.created_at(i))
        return f"{first}.{last}.{i}@{domain}".lower(), f"{first} {last}", country, currency, created

    def record(self, i: int, t: int) -> dict[str, Any]:
        updated, version, deleted = self.state(i, t)
        email, name, country, _, created = self._profile(i)
        return {
            "id": i,
            "email": email,
            "name": name,
            "country": country,
            "status": self._status(i, version),
            "created_at": created,
            "updated_at": to_iso(updated),
            "is_deleted": deleted,
        }

    def _status(self, i: int, version: int) -> str:
        if version == 0:
            return "active"
        roll = mix(self.seed, _CUSTOMER, i, 4, version) % 100
        return "active" if roll < 70 else "inactive" if roll < 88 else "churned"

    def currency(self, i: int) -> str:
        return self._profile(i)[3]

    def pick_live(self, t: int, salt: int, key: int) -> int:
        """A customer that exists at ``t`` and is never deleted (so references never dangle)."""
        n = self.count(t)
        for attempt in range(16):
            candidate = 1 + mix(self.seed, salt, key, 20, attempt) % n
            if self.deleted_at(candidate) is None:
                return candidate
        candidate = 1 + mix(self.seed, salt, key, 20) % n
        while self.deleted_at(candidate) is not None:
            candidate -= 1  # customer 1 is never deleted, so this ends
        return candidate


class Orders:
    """Orders: placed -> shipped (1 h to 2 days) -> delivered (1 to 5 days later), or cancelled
    (8%); 2% are deleted within a month. ``customer_id`` is a customer existing at ``ordered_at``."""

    name = "orders"
    id_field = "id"
    time_field = "updated_at"
    fields = ("id", "customer_id", "status", "amount", "currency", "ordered_at", "updated_at", "is_deleted")

    def __init__(self, shape: DataShape, customers: Customers) -> None:
        self.seed = shape.seed
        self.customers = customers
        self.arrivals = Arrivals(
            shape.epoch, shape.run_seconds, shape.orders_initial, shape.orders_per_run, HISTORY
        )
        self._facts = lru_cache(maxsize=_CACHED)(self._make_facts)

    def count(self, t: int) -> int:
        return self.arrivals.count(t)

    def _make_facts(self, j: int) -> tuple[int, tuple[tuple[int, str], ...], int | None, dict[str, Any]]:
        """(ordered_at, status transitions, deleted_at, time-independent fields) of order ``j``."""
        ordered = self.arrivals.created_at(j)
        customer = self.customers.pick_live(ordered, _ORDER, j)
        cents = 500 + mix(self.seed, _ORDER, j, 17) % 49_500
        fixed = {
            "customer_id": customer,
            "amount": f"{cents // 100}.{cents % 100:02d}",
            "currency": self.customers.currency(customer),
            "ordered_at": to_iso(ordered),
        }
        return ordered, self._transitions(j, ordered), self._deleted_at(j, ordered), fixed

    def _transitions(self, j: int, ordered: int) -> tuple[tuple[int, str], ...]:
        s = self.seed
        if mix(s, _ORDER, j, 11) % 100 < 8:
            return ((ordered + 600 + mix(s, _ORDER, j, 12) % (2 * DAY), "cancelled"),)
        shipped = ordered + 3600 + mix(s, _ORDER, j, 13) % (2 * DAY)
        return ((shipped, "shipped"), (shipped + DAY + mix(s, _ORDER, j, 14) % (4 * DAY), "delivered"))

    def _deleted_at(self, j: int, ordered: int) -> int | None:
        if mix(self.seed, _ORDER, j, 15) % 1000 >= 20:
            return None
        return ordered + DAY + mix(self.seed, _ORDER, j, 16) % (30 * DAY)

    def _status(self, j: int, t: int) -> tuple[str, int, bool]:
        ordered, transitions, deleted_at, _ = self._facts(j)
        deleted = deleted_at is not None and deleted_at <= t
        limit = deleted_at - 1 if deleted and deleted_at is not None else t
        status, updated = "placed", ordered
        for when, new_status in transitions:
            if when <= limit:
                status, updated = new_status, when
        if deleted and deleted_at is not None:
            updated = deleted_at
        return status, updated, deleted

    def state(self, j: int, t: int) -> tuple[int, int, bool]:
        _, updated, deleted = self._status(j, t)
        return updated, 0, deleted

    def record(self, j: int, t: int) -> dict[str, Any]:
        status, updated, deleted = self._status(j, t)
        fixed = self._facts(j)[3]
        return {
            "id": j,
            "customer_id": fixed["customer_id"],
            "status": status,
            "amount": fixed["amount"],
            "currency": fixed["currency"],
            "ordered_at": fixed["ordered_at"],
            "updated_at": to_iso(updated),
            "is_deleted": deleted,
        }


class Events:
    """Append-only events, in id order; ``occurred_at`` never decreases with ``event_id``."""

    name = "events"
    id_field = "event_id"
    time_field = "occurred_at"
    fields = ("event_id", "customer_id", "type", "occurred_at", "payload")

    def __init__(self, shape: DataShape, customers: Customers) -> None:
        self.seed = shape.seed
        self.customers = customers
        self.arrivals = Arrivals(
            shape.epoch, shape.run_seconds, shape.events_initial, shape.events_per_run, HISTORY
        )

    def count(self, t: int) -> int:
        return self.arrivals.count(t)

    def time_of(self, e: int) -> int:
        return self.arrivals.created_at(e)

    def record(self, e: int) -> dict[str, Any]:
        occurred = self.arrivals.created_at(e)
        h = mix(self.seed, _EVENT, e, 1)
        kind = vocab.EVENT_TYPES[h % len(vocab.EVENT_TYPES)]
        customer = self.customers.pick_live(occurred, _EVENT, e)
        return {
            "event_id": e,
            "customer_id": customer,
            "type": kind,
            "occurred_at": to_iso(occurred),
            "payload": self._payload(kind, h >> 8, customer),
        }

    def _payload(self, kind: str, h: int, customer: int) -> dict[str, Any]:
        if kind == "page_view":
            page = vocab.PAGES[h % len(vocab.PAGES)].format(n=(h >> 8) % 500)
            return {"path": page, "duration_ms": (h >> 20) % 30_000}
        if kind == "login":
            return {"method": ("password", "sso", "magic_link")[h % 3]}
        if kind == "add_to_cart":
            return {"sku": f"SKU-{(h >> 4) % 10_000:05d}", "quantity": 1 + (h >> 20) % 4}
        if kind == "checkout":
            cents = 500 + (h >> 4) % 49_500
            return {
                "value": f"{cents // 100}.{cents % 100:02d}",
                "currency": self.customers.currency(customer),
            }
        return {}


class Bulk:
    """A static data set of about 500-byte records, for throughput benchmarks.

    Independent of the clock: record ``i`` has ``updated_at = epoch + i`` seconds, so a window maps to
    an id range and any page is generated directly (nothing is held in memory). Records are built as
    JSON bytes from a per-record head (id, uuid, email, timestamps) and one of 4,096 pre-serialized
    tails, which keeps generation near 1 microsecond a record.
    """

    name = "bulk"
    id_field = "id"
    time_field = "updated_at"
    fields = (
        "id",
        "uuid",
        "email",
        "created_at",
        "updated_at",
        "name",
        "country",
        "status",
        "amount",
        "currency",
        "tags",
        "score",
        "notes",
    )
    _TAILS = 4096

    def __init__(self, shape: DataShape) -> None:
        self.seed = shape.seed
        self.epoch = shape.epoch
        self._tails: list[tuple[str, str, bytes]] | None = None

    def time_of(self, i: int) -> int:
        return self.epoch + i

    def _tail_table(self) -> list[tuple[str, str, bytes]]:
        if self._tails is None:
            self._tails = [self._make_tail(n) for n in range(self._TAILS)]
        return self._tails

    def _make_tail(self, k: int) -> tuple[str, str, bytes]:
        h = mix(self.seed, _BULK, k, 1)
        first = vocab.FIRST_NAMES[h % 30]
        last = vocab.LAST_NAMES[(h >> 5) % 30]
        country, currency = vocab.COUNTRIES[(h >> 10) % len(vocab.COUNTRIES)]
        cents = 100 + (h >> 15) % 999_900
        start = (h >> 12) % (len(vocab.LOREM) - 200)
        tail = {
            "name": f"{first} {last}",
            "country": country,
            "status": ("active", "active", "inactive", "churned")[(h >> 38) % 4],
            "amount": f"{cents // 100}.{cents % 100:02d}",
            "currency": currency,
            "tags": [vocab.TAGS[(h >> s) % len(vocab.TAGS)] for s in (40, 44, 48)],
            "score": ((h >> 52) % 10_000) / 100,
            "notes": vocab.LOREM[start : start + 160 + (h >> 8) % 40],
        }
        domain = vocab.DOMAINS[(h >> 35) % len(vocab.DOMAINS)]
        return f"{first}.{last}".lower(), domain, b'",' + orjson.dumps(tail)[1:]  # keeps the closing brace

    def raw_range(self, first: int, stop: int) -> list[bytes]:
        """Records ``first`` to ``stop - 1`` as JSON bytes (the hot path of benchmarks)."""
        tails, seed, epoch, mask = self._tail_table(), self.seed, self.epoch, 0xFFFFFFFFFFFFFFFF
        spread, count = 90 * DAY, self._TAILS
        out = []
        for i in range(first, stop):
            h = mix(seed, _BULK, i)
            name, domain, tail = tails[h % count]
            updated = epoch + i
            out.append(
                f'{{"id":{i},"uuid":"{h:016x}{(h * 0x9E3779B97F4A7C15) & mask:016x}","email":"{name}.{i}@{domain}",'
                f'"created_at":"{to_iso(updated - (h >> 20) % spread)}","updated_at":"{to_iso(updated)}'.encode()
                + tail
            )
        return out

    def raw(self, i: int) -> bytes:
        """Record ``i`` as JSON bytes."""
        return self.raw_range(i, i + 1)[0]

    def record(self, i: int) -> dict[str, Any]:
        return orjson.loads(self.raw(i))
