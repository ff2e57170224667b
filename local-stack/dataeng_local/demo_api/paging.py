"""REST pagination styles over a view: where a request starts and what its response looks like.

Records are always under ``data``. Styles (query parameter ``paginate``):

- ``page``: ``page`` (1-based), ``per_page`` -> ``page``, ``per_page``, ``total``, ``total_pages``
- ``offset``: ``offset``, ``limit`` -> ``offset``, ``limit``, ``total``
- ``cursor`` (default): ``cursor``, ``limit`` -> ``has_more``, ``next_cursor``
- ``link``: ``cursor``, ``limit`` -> RFC 8288 ``Link: <url>; rel="next"`` header only
- ``next_url``: ``cursor``, ``limit`` -> ``next`` and ``links.next`` (absolute URLs, null at the end)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from dataeng_local.demo_api import cursors
from dataeng_local.demo_api.views import View

STYLES = ("page", "offset", "cursor", "link", "next_url")
CURSOR_STYLES = ("cursor", "link", "next_url")


class BadRequest(ValueError):
    """A request parameter this server cannot honour (answered with 400 and the message)."""


@dataclass(frozen=True)
class PageRequest:
    style: str
    limit: int
    page: int = 1
    offset: int = 0
    cursor: str | None = None

    @property
    def size_param(self) -> str:
        return "per_page" if self.style == "page" else "limit"


@dataclass(frozen=True)
class Mutation:
    """How an injected fault bends one page (all false: a normal page)."""

    empty: bool = False
    repeat_cursor: bool = False
    drop_id: bool = False
    drop_data: bool = False


NORMAL = Mutation()


def number_param(params: Mapping[str, str], name: str, default: float | None) -> float | None:
    """A query parameter that is a number >= 0 (``default`` when absent or empty); else a 400."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise BadRequest(f"{name} must not be negative, got {raw!r}")
    return value


def _int(params: Mapping[str, str], name: str, default: int, low: int, high: int | None = None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {raw!r}") from None
    if value < low or (high is not None and value > high):
        raise BadRequest(
            f"{name} must be between {low} and {high if high is not None else 'any'}, got {value}"
        )
    return value


def parse_page_request(params: Mapping[str, str], default_size: int, max_size: int) -> PageRequest:
    style = params.get("paginate", "cursor")
    if style not in STYLES:
        raise BadRequest(f"paginate must be one of {', '.join(STYLES)}; got {style!r}")
    size_name = "per_page" if style == "page" else "limit"
    limit = _int(params, size_name, default_size, 1, max_size)
    return PageRequest(
        style=style,
        limit=limit,
        page=_int(params, "page", 1, 1) if style == "page" else 1,
        offset=_int(params, "offset", 0, 0) if style == "offset" else 0,
        cursor=params.get("cursor") or None if style in CURSOR_STYLES else None,
    )


def start_position(view: View, request: PageRequest) -> int:
    """Index of the first record the request asks for (may be past the end)."""
    if request.style == "page":
        return (request.page - 1) * request.limit
    if request.style == "offset":
        return request.offset
    if request.cursor is None:
        return 0
    try:
        return view.position_after(cursors.decode(request.cursor))
    except cursors.CursorError as exc:
        raise BadRequest(str(exc)) from None


def build_page(
    view: View,
    request: PageRequest,
    start: int,
    next_url: Callable[[str], str],
    mutation: Mutation | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The response body and extra headers for one page starting at ``start``."""
    mutation = mutation or NORMAL
    total = len(view)
    start = min(start, total)
    stop = min(start + request.limit, total)
    next_cursor = cursors.encode(view.key(stop - 1)) if stop < total else None
    if mutation.empty:
        raw: list[bytes] = []
        if stop < total:
            before = view.key(start - 1) if start > 0 else cursors.BEFORE_START
            next_cursor = cursors.encode(before, hop=1)
    elif mutation.drop_id:
        raw = [
            orjson.dumps({k: v for k, v in r.items() if k != view.id_field})
            for r in view.records(start, stop)
        ]
    else:
        raw = view.raw(start, stop)
    if mutation.repeat_cursor and request.cursor is not None:
        next_cursor = request.cursor

    headers: dict[str, str] = {}
    meta: dict[str, Any]
    if request.style == "page":
        meta = {
            "page": request.page,
            "per_page": request.limit,
            "total": total,
            "total_pages": math.ceil(total / request.limit),
        }
    elif request.style == "offset":
        meta = {"offset": request.offset, "limit": request.limit, "total": total}
    elif request.style == "cursor":
        meta = {"has_more": next_cursor is not None, "next_cursor": next_cursor}
    elif request.style == "link":
        meta = {}
        if next_cursor is not None:
            headers["link"] = f'<{next_url(next_cursor)}>; rel="next"'
    else:
        url = next_url(next_cursor) if next_cursor is not None else None
        meta = {"next": url, "links": {"next": url}}
    return _envelope(raw, meta, with_data=not mutation.drop_data), headers


def _envelope(raw: list[bytes], meta: dict[str, Any], with_data: bool) -> bytes:
    tail = orjson.dumps(meta)
    if not with_data:
        return tail
    head = b'{"data":[' + b",".join(raw) + b"]"
    return head + (b"," + tail[1:] if meta else b"}")
