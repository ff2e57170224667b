"""Page requests predicted without the pages before them (concurrent fetching) equal the sequential walk."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_dataeng.pagination import (
    CursorPaginator,
    LinkHeaderPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    PageRequest,
    PageResponse,
)

BASE = PageRequest(url="http://api.test/items", params={"q": "x"})


def page(count: int, fields: dict) -> PageResponse:
    return PageResponse(url=BASE.url, status=200, headers={}, links={}, fields=fields, record_count=count,
                        page_number=1)


def walk(paginator, records: int, size: int, fields_of) -> list[PageRequest]:
    """The requests next_request makes over an API holding ``records`` records in pages of ``size``."""
    request, requests, served = paginator.first_request(BASE), [], 0
    while request is not None:
        requests.append(request)
        count = max(0, min(size, records - served))
        served += count
        request = paginator.next_request(request, page(count, fields_of(records)))
    return requests


@given(records=st.integers(0, 95), size=st.integers(1, 12), start=st.integers(0, 1), totals=st.sampled_from(
    ["none", "pages", "records"]))
def test_page_numbers(records: int, size: int, start: int, totals: str) -> None:
    path = {"none": {}, "pages": {"total_pages_path": "meta.pages"}, "records": {"total_records_path": "total"}}
    paginator = PageNumberPaginator(page_size=size, page_size_param="per_page", start_page=start, **path[totals])
    pages = -(-records // size)

    def fields(n: int) -> dict:
        return {("meta", "pages"): pages, ("total",): n}

    sequential = walk(paginator, records, size, fields)
    first = paginator.first_request(BASE)
    assert [paginator.request_for_page(first, i) for i in range(len(sequential))] == sequential
    expected = None if totals == "none" else max(1, pages)
    assert paginator.page_count(page(min(size, records), fields(records))) == expected
    if expected is not None:
        assert expected == len(sequential)


@given(records=st.integers(0, 95), limit=st.integers(1, 12), start=st.integers(0, 3),
       with_total=st.booleans())
def test_offsets(records: int, limit: int, start: int, with_total: bool) -> None:
    paginator = OffsetPaginator(limit, start_offset=start, total_path="total" if with_total else None)
    held = max(0, records - start)  # the records from the start offset on

    def fields(n: int) -> dict:
        return {("total",): n}

    sequential = walk(paginator, held, limit, lambda _: fields(records))  # a total counts them all
    first = paginator.first_request(BASE)
    assert [paginator.request_for_page(first, i) for i in range(len(sequential))] == sequential
    count = paginator.page_count(page(min(limit, held), fields(records)))
    assert count == (max(1, -(-held // limit)) if with_total else None)
    if with_total:
        assert count == len(sequential)


def test_cursors_and_links_cannot_be_predicted() -> None:
    for paginator in (CursorPaginator(cursor_path="next_cursor", cursor_param="cursor"), LinkHeaderPaginator()):
        first = paginator.first_request(BASE)
        assert paginator.request_for_page(first, 1) is None
        assert paginator.page_count(page(10, {})) is None


def test_a_total_that_is_not_a_count_plans_nothing() -> None:
    paginator = PageNumberPaginator(total_pages_path="pages")
    assert [paginator.page_count(page(5, {("pages",): value})) for value in ("3", None, True, -1, 2.5)] == [None] * 5
