"""Which records a request is about: resource, simulated time, window, deletes, bulk size.

Shared by the REST and GraphQL endpoints so both read the same data the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dataeng_local.demo_api.paging import BadRequest
from dataeng_local.demo_api.timefmt import parse_iso, parse_iso_ceil
from dataeng_local.demo_api.views import RESOURCES, Window

MAX_BULK_RECORDS = 1_000_000_000


@dataclass(frozen=True)
class Selection:
    resource: str
    t: int  # the last second whose changes are visible (as_of - 1)
    window: Window
    include_deleted: bool
    records: int | None


def _time(value: Any, name: str, ceil: bool) -> int | None:
    if value is None or value == "":
        return None
    try:
        return parse_iso_ceil(str(value)) if ceil else math.floor(parse_iso(str(value)))
    except ValueError as exc:
        raise BadRequest(f"{name}: {exc}") from None


def _flag(value: Any, name: str) -> bool:
    if value is None or value == "" or value is True:
        return True
    if value is False:
        return False
    text = str(value).lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise BadRequest(f"{name} must be true or false, got {value!r}")


def _records(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        records = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"records must be an integer, got {value!r}") from None
    if not 0 <= records <= MAX_BULK_RECORDS:
        raise BadRequest(f"records must be between 0 and {MAX_BULK_RECORDS}, got {records}")
    return records


def select(
    resource: str, args: Mapping[str, Any], now: int, names: Mapping[str, str] | None = None
) -> Selection:
    """Read ``as_of``, ``updated_since``, ``updated_before``, ``include_deleted`` and ``records``.

    ``names`` renames the arguments (GraphQL uses camelCase). ``as_of`` defaults to the server clock.
    Data "as of T" holds every change made *before* T, and windows include ``updated_since`` and exclude
    ``updated_before`` (for events they apply to ``occurred_at``): so the records that differ between
    ``as_of=T1`` and ``as_of=T2`` are exactly the window ``[T1, T2)`` read as of T2.
    """
    if resource not in RESOURCES:
        raise BadRequest(f"unknown resource {resource!r}; one of {', '.join(RESOURCES)}")
    n = {
        "as_of": "as_of",
        "updated_since": "updated_since",
        "updated_before": "updated_before",
        "include_deleted": "include_deleted",
        "records": "records",
        **(names or {}),
    }
    as_of = _time(args.get(n["as_of"]), n["as_of"], ceil=False)
    window = Window(
        _time(args.get(n["updated_since"]), n["updated_since"], ceil=True),
        _time(args.get(n["updated_before"]), n["updated_before"], ceil=True),
    )
    return Selection(
        resource=resource,
        t=(now if as_of is None else as_of) - 1,  # views include changes at or before t
        window=window,
        include_deleted=_flag(args.get(n["include_deleted"]), n["include_deleted"]),
        records=_records(args.get(n["records"])),
    )
