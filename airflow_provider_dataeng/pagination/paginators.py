"""The built-in paginators: one small class per pagination style, each a pure state machine.

Constructors reject contradicting settings with ``ValueError`` naming the parameter; ``next_request``
raises :class:`PaginationError` when a page lacks a field the paginator was told to read.

No silent truncation: whenever the API says there is more (``has_more`` true, a total not reached, a next
link present, ``hasNextPage`` true) and the paginator cannot build the next request, or the page contradicts
that signal (an empty page while a total says more), ``next_request`` raises
:class:`IncompletePaginationError` naming the page, the request, the path and what was there, instead of
stopping: stopping would end the extract successfully with part of the data. A heuristic stop (an empty or
short page) applies only when the API gives no such signal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_dataeng.pagination.base import (
    MISSING,
    BasePaginator,
    IncompletePaginationError,
    PageRequest,
    PageResponse,
    PaginationError,
    Path,
    format_path,
    parse_path,
)
from airflow_provider_dataeng.pagination.signals import (
    STOPPING,
    as_int,
    cannot_continue,
    describe_value,
    follow_link,
    no_value,
    page_and_request,
    required,
    usable_scalar,
    with_body_value,
)


def _positive_int(value: Any, name: str, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        kind = "a non-negative" if allow_zero else "a positive"
        raise ValueError(f"{name} must be {kind} integer, got {value!r}")
    return value


class SinglePagePaginator(BasePaginator):
    """The endpoint returns everything in one response."""

    def next_request(self, request: PageRequest, response: PageResponse) -> PageRequest | None:
        return None


class PageNumberPaginator(BasePaginator):
    """``?page=1``, ``?page=2``, ... Stops at an empty page, a short page (when ``page_size`` is known),
    ``total_pages_path`` or ``total_records_path`` reached, or ``max_pages``.

    With a total, the total decides: a page that looks like the last one (empty, or shorter than
    ``page_size``) while the total says there are more pages is an :class:`IncompletePaginationError`
    (following it could skip that page's records, stopping would drop the rest; a page size capped by the
    server below ``page_size`` shows up this way). ``stop_on_empty_page=False`` follows empty pages up to
    the total.

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
        total_pages_path: str | Sequence[str | int] | None = None,
        total_records_path: str | Sequence[str | int] | None = None,
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

    def request_for_page(self, first: PageRequest, index: int) -> PageRequest | None:
        return first.with_params(**{self.page_param: int(first.params[self.page_param]) + index})

    def page_count(self, first: PageResponse) -> int | None:
        path = self.total_pages_path or self.total_records_path
        total = first.field(path) if path is not None else MISSING
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            return None  # no total (or not a count): next_request decides, page after page
        pages = total if self.total_pages_path else -(-total // (self.page_size or 1))
        return max(1, pages)  # the first page exists whatever the total says

    def next_request(self, request: PageRequest, response: PageResponse) -> PageRequest | None:
        page = int(request.params[self.page_param])
        pages_done = page - self.start_page + 1
        count = response.record_count
        empty = count == 0 and self.stop_on_empty_page
        short = self.page_size is not None and count < self.page_size
        following = request.with_params(**{self.page_param: page + 1})
        path = self.total_pages_path or self.total_records_path
        if path is None:
            return None if empty or short else following
        if (empty or short) and response.field(path) is MISSING:
            return None  # the page ends the data, and the API says nothing about more
        parameter = "total_pages_path" if self.total_pages_path else "total_records_path"
        total = as_int(required(request, response, path, parameter), parameter, request, response)
        stated = f"{parameter}={format_path(path)!r} is {total}"
        if self.total_pages_path:
            if pages_done >= total:
                return None
            signal = f"{stated}, this is page {pages_done} of them"
        else:
            held = pages_done * (self.page_size or 0)
            if held >= total:
                return None
            pages = f"{pages_done} page{'' if pages_done == 1 else 's'}"
            signal = f"{stated}, more than the {held} records {pages} of {self.page_size} can hold"
        if count == 0 and empty:
            found = "no records"
            fix = "If the API serves empty pages before the last one, pass stop_on_empty_page=False."
        elif count > 0 and short:
            found = f"{count} records, fewer than page_size={self.page_size}"
            fix = "If the API caps the page size, set page_size to that cap."
        else:
            return following
        raise IncompletePaginationError(
            f"{page_and_request(request, response)}: the API says there is more ({signal}) but this page returned "
            f"{found}, as a last page does: following could skip records and {STOPPING}. {fix}"
        )


class OffsetPaginator(BasePaginator):
    """``?offset=0&limit=100``, ``?offset=100&limit=100``, ... The offset advances by the records received,
    so a server that caps ``limit`` lower never makes the client skip records. Stops at an empty page, a
    page shorter than ``limit``, ``total_path`` reached, or ``max_pages``.

    With ``total_path``, the total decides: a short page before it is followed (the offset advances by what
    came), and an empty page before it is an :class:`IncompletePaginationError` (the offset cannot advance,
    and stopping would drop the rest).
    """

    def __init__(
        self,
        limit: int,
        *,
        offset_param: str = "offset",
        limit_param: str = "limit",
        start_offset: int = 0,
        total_path: str | Sequence[str | int] | None = None,
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

    def request_for_page(self, first: PageRequest, index: int) -> PageRequest | None:
        # as next_request moves the offset on when every page before is full (a server capping the limit
        # lower breaks the prediction, and the hook then follows next_request's own offsets)
        return first.with_params(
            **{self.offset_param: int(first.params[self.offset_param]) + index * self.limit}
        )

    def page_count(self, first: PageResponse) -> int | None:
        total = first.field(self.total_path) if self.total_path is not None else MISSING
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            return None
        return max(1, -(-(total - self.start_offset) // self.limit))

    def next_request(self, request: PageRequest, response: PageResponse) -> PageRequest | None:
        count = response.record_count
        looks_last = (count == 0 and self.stop_on_empty_page) or (
            self.stop_on_short_page and count < self.limit
        )
        offset = int(request.params[self.offset_param]) + count
        following = request.with_params(**{self.offset_param: offset})
        if self.total_path is None:
            return None if looks_last else following
        if looks_last and response.field(self.total_path) is MISSING:
            return None  # the page ends the data, and the API says nothing about more
        total = as_int(
            required(request, response, self.total_path, "total_path"), "total_path", request, response
        )
        if offset >= total:
            return None
        if count == 0:
            raise IncompletePaginationError(
                f"{page_and_request(request, response)}: the API says there is more (total_path="
                f"{format_path(self.total_path)!r} is {total}, and this page started at offset {offset}) but it returned "
                f"no records, so the offset cannot advance; {STOPPING} ({total - offset} records). Check that "
                "total_path counts the records this endpoint returns for these query parameters."
            )
        return following


class CursorPaginator(BasePaginator):
    """An opaque cursor from the body (``cursor_path``) or a header (``cursor_header``), sent back as a query
    parameter (``cursor_param``, default ``cursor``) or a JSON body field (``cursor_body_field``, dotted).

    ``cursor_path`` may index into lists: ``data[-1].id`` is the last record's id, which is how Stripe-style
    APIs paginate (``CursorPaginator(cursor_path="data[-1].id", cursor_param="starting_after",
    has_more_path="has_more")``).

    Stops when ``has_more_path`` is false; without ``has_more_path``, when the cursor is missing, null or
    empty, or at an empty page. With ``has_more_path`` the API's own signal wins: an empty page that says
    there is more is followed, and ``has_more`` true with no usable cursor is an
    :class:`IncompletePaginationError` (stopping there would silently drop the rest). A repeated cursor is a
    loop error (raised by the hook).
    """

    def __init__(
        self,
        *,
        cursor_path: str | Sequence[str | int] | None = None,
        cursor_header: str | None = None,
        cursor_param: str | None = None,
        cursor_body_field: str | Sequence[str] | None = None,
        has_more_path: str | Sequence[str | int] | None = None,
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
        if self.cursor_body_field and any(isinstance(step, int) for step in self.cursor_body_field):
            raise ValueError(
                f"cursor_body_field={cursor_body_field!r} names a field of the JSON request body to set: "
                "list indexes are not supported there"
            )
        self.cursor_param = cursor_param if cursor_param is not None or cursor_body_field else "cursor"
        self.has_more_path = parse_path(has_more_path, name="has_more_path")
        self.body_paths = tuple(p for p in (self.cursor_path, self.has_more_path) if p)

    def next_request(self, request: PageRequest, response: PageResponse) -> PageRequest | None:
        if self.has_more_path:
            has_more = required(request, response, self.has_more_path, "has_more_path")
            if not isinstance(has_more, bool):
                raise PaginationError(
                    f"has_more_path must point at true/false, got {has_more!r} in {page_and_request(request, response)}"
                )
            if not has_more:
                return None
            signal: str | None = f"has_more_path={format_path(self.has_more_path)!r} is true"
        elif self._empty_stop(response):
            return None
        else:
            signal = None
        cursor = self._cursor(response)
        if no_value(cursor) and signal is None:
            return None
        if no_value(cursor) or not usable_scalar(cursor):
            signal = signal or f"a cursor at {self._source()}"
            if self.cursor_path:
                problem = f"cursor_path={format_path(self.cursor_path)!r} {describe_value(cursor)}"
                fix = (
                    "Fix cursor_path to point at the cursor the API returns (list indexes reach into lists: "
                    "'data[-1].id' is the last record's id)."
                )
            else:
                problem = f"cursor_header={self.cursor_header!r} " + (
                    "is not among the response headers" if cursor is MISSING else describe_value(cursor)
                )
                fix = f"Fix cursor_header to name the header that carries the cursor (headers: {sorted(response.headers)})."
            path = self.cursor_path if cursor is MISSING else None
            raise cannot_continue(request, response, signal, problem, fix, path)
        if self.cursor_body_field:
            return with_body_value(request, self.cursor_body_field, cursor)
        return request.with_params(**{str(self.cursor_param): cursor})

    def _cursor(self, response: PageResponse) -> Any:
        if self.cursor_path:
            return response.field(self.cursor_path)
        for name, value in response.headers.items():  # case-insensitive, whatever mapping the hook passes
            if name.lower() == (self.cursor_header or "").lower():
                return value
        return MISSING

    def _source(self) -> str:
        if self.cursor_path:
            return f"cursor_path={format_path(self.cursor_path)!r}"
        return f"cursor_header={self.cursor_header!r}"


class LinkHeaderPaginator(BasePaginator):
    """RFC 8288 ``Link: <https://...>; rel="next"`` (GitHub style). Stops when there is no such link (or at
    an empty page); a link that is there but empty or unparsable is an :class:`IncompletePaginationError`."""

    def __init__(self, *, rel: str = "next", max_pages: int | None = None, stop_on_empty_page: bool = True):
        super().__init__(max_pages=max_pages, stop_on_empty_page=stop_on_empty_page)
        if not rel:
            raise ValueError("rel must name the link relation to follow, e.g. 'next'")
        self.rel = rel

    def next_request(self, request: PageRequest, response: PageResponse) -> PageRequest | None:
        if self._empty_stop(response):
            return None
        link = response.links.get(self.rel)
        if link is None:
            return None
        return follow_link(request, response, link, f"a Link header with rel={self.rel!r}", "its URL")


class NextUrlPaginator(BasePaginator):
    """The next page's URL sits in the body (``next_url_path``, e.g. ``links.next``); relative URLs are
    resolved against the current one. Stops when it is missing, null or empty (or at an empty page); a
    value that is there but not a usable URL is an :class:`IncompletePaginationError`."""

    def __init__(
        self,
        next_url_path: str | Sequence[str | int] = "next",
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
        if no_value(link):
            return None
        path = format_path(self.next_url_path)  # type: ignore[arg-type]
        return follow_link(request, response, link, f"a next URL at next_url_path={path!r}", "it")


class GraphQLCursorPaginator(BasePaginator):
    """Relay-style connections: ``pageInfo { hasNextPage endCursor }`` at ``page_info_path``; the cursor is
    sent back as the GraphQL variable ``cursor_variable``. The request needs ``json={"query": ...}`` (POST).
    A response with a non-empty ``errors`` list fails with the first error's message.

    ``hasNextPage`` decides (it must be true or false, so ``stop_on_empty_page`` is not consulted): an empty
    page with ``hasNextPage`` true is followed, and ``hasNextPage`` true without a usable ``endCursor`` is an
    :class:`IncompletePaginationError`.
    """

    def __init__(
        self,
        page_info_path: str | Sequence[str | int],
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
            raise PaginationError(f"GraphQL errors in {page_and_request(request, response)}: {first!r}")
        has_next = required(request, response, self.has_next_path, "page_info_path")
        if not isinstance(has_next, bool):
            raise PaginationError(
                f"{format_path(self.has_next_path)} must be true or false, got {has_next!r} in "
                f"{page_and_request(request, response)}"
            )
        if not has_next:
            return None
        cursor = response.field(self.end_cursor_path)
        if no_value(cursor) or not usable_scalar(cursor):
            raise cannot_continue(
                request,
                response,
                f"{format_path(self.has_next_path)} is true",
                f"{format_path(self.end_cursor_path)} {describe_value(cursor)}",
                "Check the query selects pageInfo { hasNextPage endCursor } (or set end_cursor_field).",
                self.end_cursor_path if cursor is MISSING else None,
            )
        return with_body_value(request, ("variables", self.cursor_variable), cursor)
