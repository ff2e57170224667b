"""Paginators for REST APIs: pure state machines over pages (no I/O), plus the page decoder.

Pick the class that matches the API, or subclass :class:`BasePaginator` for an odd one::

    CursorPaginator(cursor_path="meta.next_cursor", has_more_path="meta.has_more")
    LinkHeaderPaginator()                       # GitHub-style Link: <...>; rel="next"
    GraphQLCursorPaginator("data.search.pageInfo", cursor_variable="after")
"""

from __future__ import annotations

from airflow_provider_dataeng.pagination.base import (
    MISSING,
    BasePaginator,
    PageRequest,
    PageResponse,
    PaginationError,
    PaginationLoopError,
    parse_path,
)
from airflow_provider_dataeng.pagination.decode import PageDecoder, PageShapeError
from airflow_provider_dataeng.pagination.paginators import (
    CursorPaginator,
    GraphQLCursorPaginator,
    LinkHeaderPaginator,
    NextUrlPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    SinglePagePaginator,
)

__all__ = [
    "MISSING",
    "BasePaginator",
    "CursorPaginator",
    "GraphQLCursorPaginator",
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
    "parse_path",
]
