"""Sorted, windowed views of one resource at one simulated time.

Every list is ordered by ``(time, id)`` (``updated_at`` or, for events, ``occurred_at``); a window is
``since <= time < before``. A view answers the questions paginators ask (how many records, the key at
a position, where a cursor key falls) without materialising records it does not return.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from typing import Any, NamedTuple, Protocol

import orjson

from dataeng_local.demo_api.config import DataShape
from dataeng_local.demo_api.models import Bulk, Customers, Events, Orders

Key = tuple[int, int]  # (time, id)
RESOURCES = ("customers", "orders", "events", "bulk")


class Window(NamedTuple):
    """``since <= time < before``; ``None`` means unbounded."""

    since: int | None = None
    before: int | None = None


class View(Protocol):
    id_field: str

    def __len__(self) -> int: ...
    def key(self, pos: int) -> Key: ...
    def position_after(self, key: Key) -> int: ...
    def records(self, start: int, stop: int) -> list[dict[str, Any]]: ...
    def raw(self, start: int, stop: int) -> list[bytes]: ...


class SnapshotView:
    """Customers or orders at time ``t``: keys of all records, sorted, then cut to the window."""

    def __init__(self, model: Customers | Orders, t: int, keys: list[Key], window: Window) -> None:
        self.model = model
        self.id_field = model.id_field
        self.t = t
        self.keys = keys
        self.lo = 0 if window.since is None else bisect_left(keys, (window.since, -1))
        self.hi = len(keys) if window.before is None else bisect_left(keys, (window.before, -1))
        self.hi = max(self.hi, self.lo)

    def __len__(self) -> int:
        return self.hi - self.lo

    def key(self, pos: int) -> Key:
        return self.keys[self.lo + pos]

    def position_after(self, key: Key) -> int:
        return min(max(bisect_right(self.keys, key, self.lo, self.hi) - self.lo, 0), len(self))

    def records(self, start: int, stop: int) -> list[dict[str, Any]]:
        return [self.model.record(i, self.t) for _, i in self.keys[self.lo + start : self.lo + stop]]

    def raw(self, start: int, stop: int) -> list[bytes]:
        return [orjson.dumps(r) for r in self.records(start, stop)]


class SequenceView:
    """Events or bulk records: ids in time order, so a window is an id range ``first..last``."""

    def __init__(self, model: Events | Bulk, first: int, last: int) -> None:
        self.model = model
        self.id_field = model.id_field
        self.first = first
        self.size = max(0, last - first + 1)

    def __len__(self) -> int:
        return self.size

    def key(self, pos: int) -> Key:
        i = self.first + pos
        return self.model.time_of(i), i

    def position_after(self, key: Key) -> int:
        return min(max(key[1] + 1 - self.first, 0), self.size)

    def records(self, start: int, stop: int) -> list[dict[str, Any]]:
        return [self.model.record(i) for i in range(self.first + start, self.first + min(stop, self.size))]

    def raw(self, start: int, stop: int) -> list[bytes]:
        stop = min(stop, self.size)
        if isinstance(self.model, Bulk):
            return self.model.raw_range(self.first + start, self.first + stop)
        return [orjson.dumps(r) for r in self.records(start, stop)]


class Dataset:
    """All resources of one seed; builds views and caches the sorted keys per (resource, time)."""

    def __init__(self, shape: DataShape, snapshots: int = 16) -> None:
        self.shape = shape
        self.customers = Customers(shape)
        self.orders = Orders(shape, self.customers)
        self.events = Events(shape, self.customers)
        self.bulk = Bulk(shape)
        self._snapshots: OrderedDict[tuple[str, int, bool], list[Key]] = OrderedDict()
        self._capacity = snapshots
        self._lock = threading.Lock()

    def view(
        self,
        resource: str,
        t: int,
        window: Window | None = None,
        include_deleted: bool = True,
        records: int | None = None,
    ) -> View:
        """The view of ``resource`` as of ``t``; ``records`` sizes the bulk data set."""
        window = window or Window()
        if resource in ("customers", "orders"):
            model = self.customers if resource == "customers" else self.orders
            return SnapshotView(model, t, self._keys(resource, t, include_deleted), window)
        if resource == "events":
            first = 1 if window.since is None else self.events.arrivals.first_at_or_after(window.since)
            last = self.events.count(t)
            if window.before is not None:
                last = min(last, self.events.count(window.before - 1))
            return SequenceView(self.events, first, last)
        if resource == "bulk":
            size = self.shape.bulk_records if records is None else records
            epoch = self.shape.epoch
            first = 1 if window.since is None else max(1, window.since - epoch)
            last = size if window.before is None else min(size, window.before - epoch - 1)
            return SequenceView(self.bulk, first, last)
        raise KeyError(resource)

    def _keys(self, resource: str, t: int, include_deleted: bool) -> list[Key]:
        cache_key = (resource, t, include_deleted)
        with self._lock:
            cached = self._snapshots.get(cache_key)
            if cached is not None:
                self._snapshots.move_to_end(cache_key)
                return cached
        model = self.customers if resource == "customers" else self.orders
        keys = []
        for i in range(1, model.count(t) + 1):
            updated, _, deleted = model.state(i, t)
            if include_deleted or not deleted:
                keys.append((updated, i))
        keys.sort()
        with self._lock:
            self._snapshots[cache_key] = keys
            while len(self._snapshots) > self._capacity:
                self._snapshots.popitem(last=False)
        return keys
