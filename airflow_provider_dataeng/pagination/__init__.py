"""Paginators for REST APIs: pure state machines over pages (no I/O), plus the page decoder.

Pick the class that matches the API, or subclass :class:`BasePaginator` for an odd one::

    CursorPaginator(cursor_path="meta.next_cursor", has_more_path="meta.has_more")
    CursorPaginator(cursor_path="data[-1].id", cursor_param="starting_after", has_more_path="has_more")  # Stripe
    LinkHeaderPaginator()                       # GitHub-style Link: <...>; rel="next"
    GraphQLCursorPaginator("data.search.pageInfo", cursor_variable="after")
"""

from __future__ import annotations

from airflow_provider_dataeng.pagination.base import (
    MISSING,
    BasePaginator,
    IncompletePaginationError,
    PageRequest,
    PageResponse,
    PaginationError,
    PaginationLoopError,
    format_path,
    parse_path,
)
from airflow_provider_dataeng.pagination.decode import PageDecoder, PageShapeError, describe_path
from airflow_provider_dataeng.pagination.paginators import (
    CursorPaginator,
    GraphQLCursorPaginator,
    LinkHeaderPaginator,
    NextUrlPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    SinglePagePaginator,
)
from airflow_provider_dataeng.pagination.slices import WindowSlices, cut_window

__all__ = [
    "MISSING",
    "BasePaginator",
    "CursorPaginator",
    "GraphQLCursorPaginator",
    "IncompletePaginationError",
    "LinkHeaderPaginator",
    "NextUrlPaginator",
    "OffsetPaginator",
    "PageDecoder",
    "PageNumberPaginator",
    "PageRequest",
    "PageResponse",
    "PageShapeError",
    "PaginationError",
    "PaginationLoopError",
    "SinglePagePaginator",
    "WindowSlices",
    "cut_window",
    "describe_path",
    "format_path",
    "parse_path",
]
