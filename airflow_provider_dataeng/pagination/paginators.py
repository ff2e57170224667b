"""The built-in paginators: one small class per pagination style, each a pure state machine.

Constructors reject contradicting settings with ``ValueError`` naming the parameter; ``next_request``
raises :class:`PaginationError` when a page lacks a field the paginator was told to read.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any
from urllib.parse import urljoin

from airflow_provider_dataeng.pagination.base import (
    MISSING,
    BasePaginator,
    PageRequest,
    PageResponse,
    PaginationError,
    Path,
    format_path,
    parse_path,
)


def _where(response: PageResponse) -> str:
    return f"page {response.page_number} ({response.url})"


def _required(response: PageResponse, path: Path, parameter: str) -> Any:
    value = response.field(path)
    if value is MISSING:
        raise PaginationError(
            f"{parameter}={format_path(path)!r} is not in the response body of {_where(response)}: "
            f"fix {parameter} to point at the field the API returns"
        )
    return value


def _positive_int(value: Any, name: str, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        kind = "a non-negative" if allow_zero else "a positive"
        raise ValueError(f"{name} must be {kind} integer, got {value!r}")
    return value


def _as_int(value: Any, parameter: str, response: PageResponse) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        return int(value)
    except (TypeError, ValueError):
        raise PaginationError(
            f"{parameter} must point at an integer, got {value!r} in {_where(response)}"
        ) from None


class SinglePagePaginator(BasePaginator):
    """The endpoint returns everything in one response."""

    def next_request(self, request: PageRequest, response: PageResponse) -> PageRequest | None:
        return None


class PageNumberPaginator(BasePaginator):
    """``?page=1``, ``?page=2``, ... Stops at an empty page, a short page (when ``page_size`` is known),
    ``total_pages_path`` or ``total_records_path`` reached, or ``max_pages``.

    :param page_param: query parameter carrying the page number.
    :param start_page: number of the first page (1, or 0 for zero-based APIs).
    :param page_size: records per page; with ``page_size_param`` it is also sent.
    :param page_size_param: query parameter for the page size (needs ``page_size``).
    :param total_pages_path: body path of the number of pages.
    :param total_records_path: body path of the number of records (needs ``page_size``).
    """

    def __init__(
        self,
        *,
        page_param: str = "page",
        start_page: int = 1,
        page_size: int | None = None,
        page_size_param: str | None = None,
        total_pages_path: str | Sequence[str] | None = None,
        total_records_path: str | Sequence[str] | None = None,
        max_pages: int | None = None,
        stop_on_empty_page: bool = True,
    ) -> None:
        super().__init__(max_pages=max_pages, stop_on_empty_page=stop_on_empty_page)
        if not page_param:
            raise ValueError("page_param must name the query parameter carrying the page number")
        self.page_param = page_param
        self.start_page = _positive_int(start_page, "start_page", allow_zero=True)
        self.page_size = None if page_size is None else _positive_int(page_size, "page_size")
        if page_size_param and page_size is None:
            raise ValueError("page_size_param needs page_size: the paginator must know what size it asks for")
        self.page_size_param = page_size_param
        self.total_pages_path = parse_path(total_pages_path, name="total_pages_path")
        self.total_records_path = parse_path(total_records_path, name="total_records_path")
        if self.total_pages_path and self.total_records_path:
            raise ValueError("give total_pages_path or total_records_path, not both")
        if self.total_records_path and page_size is None:
            raise ValueError("total_records_path needs page_size to know how many records the pages hold")
        if not stop_on_empty_page and not (page_size or self.total_pages_path or self.total_records_path):
            raise ValueError(
                "stop_on_empty_page=False needs page_size, total_pages_path or total_records_path: "
                "otherwise nothing tells the paginator to stop"
            )
        self.body_paths = tuple(p for p in (self.total_pages_path, self.total_records_path) if p)

    def first_request(self, request: PageRequest) -> PageRequest:
        params: dict[str, Any] = {self.page_param: self.start_page}
        if self.page_size_param:
            params[self.page_size_param] = self.page_size
        return request.with_params(**params)

    def next_request(self, request: PageRequest, response: PageResponse) -> PageRequest | None:
        page = int(request.params[self.page_param])
        pages_done = page - self.start_page + 1
        count = response.record_count
        if self._empty_stop(response):
            return None
        if self.page_size is not None and count < self.page_size:
            return None
        if self.total_pages_path:
            total = _as_int(
                _required(response, self.total_pages_path, "total_pages_path"), "total_pages_path", response
            )
            if pages_done >= total:
                return None
        if self.total_records_path:
            total = _as_int(
                _required(response, self.total_records_path, "total_records_path"),
                "total_records_path",
                response,
            )
            if pages_done * (self.page_size or 0) >= total:
                return None
        return request.with_params(**{self.page_param: page + 1})


class OffsetPaginator(BasePaginator):
    """``?offset=0&limit=100``, ``?offset=100&limit=100``, ... The offset advances by the records received,
    so a server that caps ``limit`` lower never makes the client skip records. Stops at an empty page, a
    page shorter than ``limit``, ``total_path`` reached, or ``max_pages``.
    """

    def __init__(
        self,
        limit: int,
        *,
        offset_param: str = "offset",
        limit_param: str = "limit",
        start_offset: int = 0,
        total_path: str | Sequence[str] | None = None,
        stop_on_short_page: bool = True,
        max_pages: int | None = None,
        stop_on_empty_page: bool = True,
    ) -> None:
        super().__init__(max_pages=max_pages, stop_on_empty_page=stop_on_empty_page)
        self.limit = _positive_int(limit, "limit")
        if not offset_param or not limit_param or offset_param == limit_param:
            raise ValueError("offset_param and limit_param must be two different query parameter names")
        self.offset_param = offset_param
        self.limit_param = limit_param
        self.start_offset = _positive_int(start_offset, "start_offset", allow_zero=True)
        self.total_path = parse_path(total_path, name="total_path")
        self.stop_on_short_page = stop_on_short_page
        if not stop_on_empty_page and not stop_on_short_page and not self.total_path:
            raise ValueError(
                "with stop_on_empty_page=False and stop_on_short_page=False, total_path is needed: "
                "otherwise nothing tells the paginator to stop"
            )
        self.body_paths = (self.total_path,) if self.total_path else ()

    def first_request(self, request: PageRequest) -> PageRequest:
        return request.with_params(**{self.offset_param: self.start_offset, self.limit_param: self.limit})

    def next_request(self, request: PageRequest, response: PageResponse) -> PageRequest | None:
        count = response.record_count
        if count == 0 and self.stop_on_empty_page:
            return None
        if self.stop_on_short_page and count < self.limit:
            return None
        offset = int(request.params[self.offset_param]) + count
        if self.total_path:
            total = _as_int(_required(response, self.total_path, "total_path"), "total_path", response)
            if offset >= total:
                return None
        if count == 0:
            raise PaginationError(
                f"empty page with stop_on_empty_page=False at {_where(response)}: the offset cannot advance"
            )
        return request.with_params(**{self.offset_param: offset})


class CursorPaginator(BasePaginator):
    """An opaque cursor from the body (``cursor_path``) or a header (``cursor_header``), sent back as a query
    parameter (``cursor_param``, default ``cursor``) or a JSON body field (``cursor_body_field``, dotted).
    Stops when the cursor is missing, null or empty, when ``has_more_path`` is false, at an empty page, or
    at ``max_pages``. With ``has_more_path`` the API's own signal wins: an empty page that says there is
    more is followed (stopping there would silently drop the rest). A repeated cursor is a loop error
    (raised by the hook).
    """

    def __init__(
        self,
        *,
        cursor_path: str | Sequence[str] | None = None,
        cursor_header: str | None = None,
        cursor_param: str | None = None,
        cursor_body_field: str | Sequence[str] | None = None,
        has_more_path: str | Sequence[str] | None = None,
        max_pages: int | None = None,
        stop_on_empty_page: bool = True,
    ) -> None:
        super().__init__(max_pages=max_pages, stop_on_empty_page=stop_on_empty_page)
        if (cursor_path is None) == (cursor_header is None):
            raise ValueError("give exactly one of cursor_path (cursor in the body) or cursor_header")
        if cursor_param is not None and cursor_body_field is not None:
            raise ValueError("give cursor_param (query string) or cursor_body_field (JSON body), not both")
        self.cursor_path = parse_path(cursor_path, name="cursor_path")
        self.cursor_header = cursor_header
        self.cursor_body_field = parse_path(cursor_body_field, name="cursor_body_field")
        self.cursor_param = cursor_param if cursor_param is not None or cursor_body_field else "cursor"
        self.has_more_path = parse_path(has_more_path, name="has_more_path")
        self.body_paths = tuple(p for p in (self.cursor_path, self.has_more_path) if p)

    def next_request(self, request: PageRequest, response: PageResponse) -> PageRequest | None:
        if self.has_more_path:
            has_more = _required(response, self.has_more_path, "has_more_path")
            if not isinstance(has_more, bool):
                raise PaginationError(
                    f"has_more_path must point at true/false, got {has_more!r} in {_where(response)}"
                )
            if not has_more:
                return None
        elif self._empty_stop(response):
            return None
        if self.cursor_path:
            cursor = response.field(self.cursor_path)
        else:
            cursor = response.headers.get(self.cursor_header or "")
        if cursor is MISSING or cursor is None or cursor == "":
            return None
        if isinstance(cursor, (dict, list)):
            raise PaginationError(
                f"cursor_path={format_path(self.cursor_path or ())!r} points at a JSON "
                f"{type(cursor).__name__}, expected a string or number, in {_where(response)}"
            )
        if self.cursor_body_field:
            return _with_body_value(request, self.cursor_body_field, cursor)
        return request.with_params(**{str(self.cursor_param): cursor})


class LinkHeaderPaginator(BasePaginator):
    """RFC 8288 ``Link: <https://...>; rel="next"`` (GitHub style). Stops when there is no such link."""

    def __init__(self, *, rel: str = "next", max_pages: int | None = None, stop_on_empty_page: bool = True):
        super().__init__(max_pages=max_pages, stop_on_empty_page=stop_on_empty_page)
        if not rel:
            raise ValueError("rel must name the link relation to follow, e.g. 'next'")
        self.rel = rel

    def next_request(self, request: PageRequest, response: PageResponse) -> PageRequest | None:
        if self._empty_stop(response):
            return None
        link = response.links.get(self.rel)
        if not link:
            return None
        return request.with_url(urljoin(response.url, link))


class NextUrlPaginator(BasePaginator):
    """The next page's URL sits in the body (``next_url_path``, e.g. ``links.next``); relative URLs are
    resolved against the current one. Stops when it is missing, null or empty."""

    def __init__(
        self,
        next_url_path: str | Sequence[str] = "next",
        *,
        max_pages: int | None = None,
        stop_on_empty_page: bool = True,
    ) -> None:
        super().__init__(max_pages=max_pages, stop_on_empty_page=stop_on_empty_page)
        self.next_url_path = parse_path(next_url_path, name="next_url_path")
        self.body_paths = (self.next_url_path,)  # type: ignore[assignment]

    def next_request(self, request: PageRequest, response: PageResponse) -> PageRequest | None:
        if self._empty_stop(response):
            return None
        link = response.field(self.next_url_path)  # type: ignore[arg-type]
        if link is MISSING or link is None or link == "":
            return None
        if not isinstance(link, str):
            raise PaginationError(
                f"next_url_path={format_path(self.next_url_path)!r} must point at a URL string, "  # type: ignore[arg-type]
                f"got {link!r} in {_where(response)}"
            )
        return request.with_url(urljoin(response.url, link))


class GraphQLCursorPaginator(BasePaginator):
    """Relay-style connections: ``pageInfo { hasNextPage endCursor }`` at ``page_info_path``; the cursor is
    sent back as the GraphQL variable ``cursor_variable``. The request needs ``json={"query": ...}`` (POST).
    A response with a non-empty ``errors`` list fails with the first error's message.
    """

    def __init__(
        self,
        page_info_path: str | Sequence[str],
        *,
        cursor_variable: str = "after",
        has_next_page_field: str = "hasNextPage",
        end_cursor_field: str = "endCursor",
        max_pages: int | None = None,
        stop_on_empty_page: bool = True,
    ) -> None:
        super().__init__(max_pages=max_pages, stop_on_empty_page=stop_on_empty_page)
        info = parse_path(page_info_path, name="page_info_path")
        assert info is not None
        if not cursor_variable:
            raise ValueError("cursor_variable must name the GraphQL variable that carries the cursor")
        self.page_info_path = info
        self.cursor_variable = cursor_variable
        self.has_next_path: Path = (*info, has_next_page_field)
        self.end_cursor_path: Path = (*info, end_cursor_field)
        self.body_paths = (self.has_next_path, self.end_cursor_path, ("errors",))

    def first_request(self, request: PageRequest) -> PageRequest:
        body = request.json
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            raise ValueError(
                "GraphQLCursorPaginator needs json={'query': '...', 'variables': {...}} with method='POST'"
            )
        variables = body.get("variables") or {}
        if not isinstance(variables, dict):
            raise ValueError(f"json['variables'] must be an object, got {variables!r}")
        return PageRequest(
            url=request.url,
            method=request.method,
            params=request.params,
            json={**body, "variables": dict(variables)},
        )

    def next_request(self, request: PageRequest, response: PageResponse) -> PageRequest | None:
        errors = response.field(("errors",))
        if errors:
            first = (
                errors[0].get("message")
                if isinstance(errors, list) and isinstance(errors[0], dict)
                else errors
            )
            raise PaginationError(f"GraphQL errors in {_where(response)}: {first!r}")
        if self._empty_stop(response):
            return None
        has_next = _required(response, self.has_next_path, "page_info_path")
        if not has_next:
            return None
        cursor = response.field(self.end_cursor_path)
        if cursor is MISSING or cursor is None or cursor == "":
            raise PaginationError(
                f"hasNextPage is true but {format_path(self.end_cursor_path)} is empty in {_where(response)}"
            )
        return _with_body_value(request, ("variables", self.cursor_variable), cursor)


def _with_body_value(request: PageRequest, path: Path, value: Any) -> PageRequest:
    body = copy.deepcopy(request.json) if request.json is not None else {}
    if not isinstance(body, dict):
        raise PaginationError(f"cannot set {format_path(path)!r} in a JSON body that is not an object")
    node = body
    for key in path[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise PaginationError(
                f"cannot set {format_path(path)!r}: {key!r} in the JSON body is not an object"
            )
    node[path[-1]] = value
    return PageRequest(url=request.url, method=request.method, params=request.params, json=body)
