"""Cut a request's time window into sub-windows, so a cursor-paginated API can be read by several at once.

A cursor or next link is in the previous page, so one window's pages come one after the other. But a window
``[since, before)`` is the union of ``[since, t1)``, ``[t1, t2)``, ... ``[tn-1, before)``: each sub-window is
paginated with its own cursor, and they can run side by side. Pure functions; the operator does the I/O.

The window's start is taken as inclusive and its end as exclusive (half-open), as most APIs' since/before
(or from/to) parameters are: neighbouring slices share a boundary and no record is in two slices. The values
keep the format they came in: ISO 8601 timestamps (``Z`` or an offset, with or without fractions of a
second), dates (cut at whole days), or integer epoch numbers (cut at whole numbers).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INTEGER = re.compile(r"-?\d+")


@dataclass(frozen=True)
class WindowSlices:
    """Read the window in ``query_params[start_param]`` to ``query_params[end_param]`` as ``count`` slices.

    :param start_param: the query parameter holding the window's (inclusive) start, e.g. ``updated_since``.
    :param end_param: the one holding its (exclusive) end, e.g. ``updated_before``.
    :param count: how many sub-windows of equal length (fewer when the window has fewer whole seconds, days
        or numbers than that).
    """

    start_param: str
    end_param: str
    count: int

    def __post_init__(self) -> None:
        for name in ("start_param", "end_param"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"WindowSlices {name} must be a query parameter name, got {value!r}")
        if self.start_param == self.end_param:
            raise ValueError("WindowSlices start_param and end_param must be two different query parameters")
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise ValueError(f"WindowSlices count must be a positive integer, got {self.count!r}")

    def cut(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The query parameters of each slice, in window order: ``params`` with the window's two values
        replaced. Raises ``ValueError`` naming the parameter when a value is missing or not a time."""
        for name in (self.start_param, self.end_param):
            if params.get(name) in (None, ""):
                raise ValueError(
                    f"slices cut query_params[{name!r}], which is not set: give both {self.start_param!r} and "
                    f"{self.end_param!r} in query_params (e.g. from the data interval)"
                )
        bounds = cut_window(params[self.start_param], params[self.end_param], self.count, names=self)
        return [
            {**params, self.start_param: start, self.end_param: end} for start, end in zip(bounds, bounds[1:])
        ]


def cut_window(start: Any, end: Any, count: int, *, names: WindowSlices | None = None) -> list[Any]:
    """``count + 1`` boundaries from ``start`` to ``end`` (fewer when the window is too short to cut that
    finely), each in the format of ``start``."""
    label = (names.start_param, names.end_param) if names else ("start", "end")
    low, kind, fmt = _parse(start, label[0])
    high, end_kind, _ = _parse(end, label[1])
    if kind != end_kind:
        raise ValueError(f"{label[0]}={start!r} and {label[1]}={end!r} are not the same kind of value")
    if kind == "datetime" and (low.tzinfo is None) != (high.tzinfo is None):
        raise ValueError(
            f"{label[0]}={start!r} and {label[1]}={end!r}: one has a time zone and the other has none"
        )
    if high < low:
        raise ValueError(f"the window ends ({label[1]}={end!r}) before it starts ({label[0]}={start!r})")
    if kind == "datetime":
        span = high - low
        unit = timedelta(microseconds=1) if fmt["fraction"] else timedelta(seconds=1)
        points = [low + (span * k / count) // unit * unit for k in range(count)] + [high]
    elif kind == "date":
        days = (high - low).days
        points = [low + timedelta(days=days * k // count) for k in range(count)] + [high]
    else:
        points = [low + (high - low) * k // count for k in range(count)] + [high]
    unique = sorted(set(points))
    return [start, *(_format(p, kind, fmt) for p in unique[1:-1]), end] if len(unique) > 1 else [start, end]


def _parse(value: Any, name: str) -> tuple[Any, str, dict[str, Any]]:
    if isinstance(value, bool):
        raise ValueError(f"{name}={value!r} is not a time, a date or a number")
    if isinstance(value, int):
        return value, "int", {"type": int}
    if isinstance(value, datetime):
        return value, "datetime", {"datetime": True, "fraction": bool(value.microsecond), "z": False}
    if isinstance(value, date):
        return value, "date", {"type": date}
    text = str(value).strip()
    if _INTEGER.fullmatch(text):
        return int(text), "int", {"type": str}
    if _DATE.fullmatch(text):
        return date.fromisoformat(text), "date", {"type": str}
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise ValueError(
            f"{name}={value!r} is not an ISO 8601 time, a date or an integer: slices cannot cut it"
        ) from None
    return moment, "datetime", {"z": text.endswith("Z"), "fraction": "." in text, "sep": text[10]}


def _format(point: Any, kind: str, fmt: dict[str, Any]) -> Any:
    if kind == "int":
        return point if fmt["type"] is int else str(point)
    if kind == "date":
        return point if fmt["type"] is date else point.isoformat()
    if fmt.get("datetime"):
        return point
    text = point.isoformat(sep=fmt["sep"], timespec="microseconds" if fmt["fraction"] else "seconds")
    return text[: -len("+00:00")] + "Z" if fmt["z"] and text.endswith("+00:00") else text
