"""Paginators as pure state machines: constructor validation and next_request, without any server."""

from __future__ import annotations

import pytest

from airflow_provider_dataeng.pagination import (
    MISSING,
    CursorPaginator,
    GraphQLCursorPaginator,
    IncompletePaginationError,
    LinkHeaderPaginator,
    NextUrlPaginator,
    OffsetPaginator,
    PageDecoder,
    PageNumberPaginator,
    PageRequest,
    PageResponse,
    PageShapeError,
    PaginationError,
    SinglePagePaginator,
)

BASE = PageRequest(url="http://api.test/items", params={"q": "x"})


def response(count: int, fields: dict | None = None, *, headers: dict | None = None, links: dict | None = None,
             url: str = "http://api.test/items?q=x", number: int = 1) -> PageResponse:
    return PageResponse(url=url, status=200, headers=headers or {}, links=links or {}, fields=fields or {},
                        record_count=count, page_number=number)


def test_single_page_always_stops() -> None:
    assert SinglePagePaginator().next_request(BASE, response(100)) is None


def test_page_number_counts_pages_and_sends_page_size() -> None:
    p = PageNumberPaginator(page_size=10, page_size_param="per_page")
    first = p.first_request(BASE)
    assert dict(first.params) == {"q": "x", "page": 1, "per_page": 10}
    second = p.next_request(first, response(10))
    assert dict(second.params) == {"q": "x", "page": 2, "per_page": 10}


@pytest.mark.parametrize(
    ("kwargs", "count", "fields", "stops"),
    [
        ({}, 0, {}, True),  # empty page
        ({"page_size": 10}, 9, {}, True),  # short page
        ({"page_size": 10}, 10, {}, False),
        ({"total_pages_path": "meta.pages"}, 5, {("meta", "pages"): 1}, True),
        ({"total_pages_path": "meta.pages"}, 5, {("meta", "pages"): 2}, False),
        ({"page_size": 5, "total_records_path": "total"}, 5, {("total",): 5}, True),
        ({"page_size": 5, "total_records_path": "total"}, 5, {("total",): 6}, False),
    ],
)
def test_page_number_stop_conditions(kwargs: dict, count: int, fields: dict, stops: bool) -> None:
    p = PageNumberPaginator(**kwargs)
    result = p.next_request(p.first_request(BASE), response(count, fields))
    assert (result is None) is stops


def test_page_number_zero_based_total_pages() -> None:
    p = PageNumberPaginator(start_page=0, total_pages_path="pages")
    request = p.first_request(BASE)
    assert request.params["page"] == 0
    request = p.next_request(request, response(3, {("pages",): 2}))
    assert request.params["page"] == 1
    assert p.next_request(request, response(3, {("pages",): 2})) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"page_size_param": "per_page"}, "page_size_param needs page_size"),
        ({"total_pages_path": "a", "total_records_path": "b", "page_size": 1}, "not both"),
        ({"total_records_path": "total"}, "total_records_path needs page_size"),
        ({"stop_on_empty_page": False}, "nothing tells the paginator to stop"),
        ({"page_size": 0}, "page_size must be a positive integer"),
        ({"start_page": -1}, "start_page must be a non-negative integer"),
        ({"max_pages": 0}, "max_pages must be a positive integer"),
        ({"total_pages_path": "a..b"}, "empty key"),
    ],
)
def test_page_number_rejects_contradictions(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PageNumberPaginator(**kwargs)


def test_page_number_missing_total_names_parameter_page_and_url() -> None:
    p = PageNumberPaginator(total_pages_path="meta.pages")
    with pytest.raises(PaginationError) as err:
        p.next_request(p.first_request(BASE), response(3, {("meta", "pages"): MISSING}, number=4))
    assert str(err.value) == (
        "total_pages_path='meta.pages' is not in the response body of page 4 (GET http://api.test/items?q=x): "
        "fix total_pages_path to point at the field the API returns"
    )


def test_offset_advances_by_records_received_and_stops() -> None:
    p = OffsetPaginator(limit=100, total_path="total")
    request = p.first_request(BASE)
    assert dict(request.params) == {"q": "x", "offset": 0, "limit": 100}
    request = p.next_request(request, response(100, {("total",): 250}))
    assert request.params["offset"] == 100
    request = p.next_request(request, response(100, {("total",): 250}))
    assert request.params["offset"] == 200
    assert p.next_request(request, response(50, {("total",): 250})) is None  # short page
    assert p.next_request(request, response(100, {("total",): 300})) is None  # total reached


def test_offset_without_short_page_stop_relies_on_total() -> None:
    p = OffsetPaginator(limit=100, total_path="total", stop_on_short_page=False)
    request = p.next_request(p.first_request(BASE), response(40, {("total",): 100}))
    assert request.params["offset"] == 40  # a server capping limit at 40 loses nothing


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0}, "limit must be a positive integer"),
        ({"limit": 10, "offset_param": "x", "limit_param": "x"}, "two different"),
        ({"limit": 10, "stop_on_empty_page": False, "stop_on_short_page": False}, "total_path is needed"),
    ],
)
def test_offset_rejects_contradictions(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OffsetPaginator(**kwargs)


def test_cursor_from_body_sent_as_query_param() -> None:
    p = CursorPaginator(cursor_path="meta.next", has_more_path="meta.more")
    assert p.body_paths == (("meta", "next"), ("meta", "more"))
    nxt = p.next_request(BASE, response(5, {("meta", "next"): "c2", ("meta", "more"): True}))
    assert dict(nxt.params) == {"q": "x", "cursor": "c2"}
    assert p.next_request(BASE, response(5, {("meta", "next"): "c2", ("meta", "more"): False})) is None


@pytest.mark.parametrize("cursor", [None, "", MISSING])
def test_cursor_stops_when_cursor_absent(cursor: object) -> None:
    p = CursorPaginator(cursor_path="next")
    assert p.next_request(BASE, response(5, {("next",): cursor})) is None


def test_cursor_from_header_sent_in_json_body() -> None:
    p = CursorPaginator(cursor_header="X-Next-Cursor", cursor_body_field="page.after")
    request = PageRequest(url="http://api.test/search", method="POST", json={"filter": 1})
    nxt = p.next_request(request, response(5, headers={"X-Next-Cursor": "abc"}))
    assert nxt.json == {"filter": 1, "page": {"after": "abc"}}
    assert request.json == {"filter": 1}  # the earlier request is not mutated


def test_cursor_has_more_must_be_boolean() -> None:
    p = CursorPaginator(cursor_path="next", has_more_path="more")
    with pytest.raises(PaginationError, match="has_more_path must point at true/false, got 'yes'"):
        p.next_request(BASE, response(5, {("next",): "c", ("more",): "yes"}))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of cursor_path"),
        ({"cursor_path": "a", "cursor_header": "X"}, "exactly one of cursor_path"),
        ({"cursor_path": "a", "cursor_param": "c", "cursor_body_field": "c"}, "not both"),
    ],
)
def test_cursor_rejects_contradictions(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CursorPaginator(**kwargs)


def test_link_header_resolves_relative_link_and_drops_params() -> None:
    nxt = LinkHeaderPaginator().next_request(BASE, response(5, links={"next": "/items?page=2"}))
    assert (nxt.url, dict(nxt.params)) == ("http://api.test/items?page=2", {})
    assert LinkHeaderPaginator().next_request(BASE, response(5, links={"prev": "/x"})) is None


def test_next_url_from_body() -> None:
    p = NextUrlPaginator("links.next")
    nxt = p.next_request(BASE, response(5, {("links", "next"): "http://api.test/items?after=9"}))
    assert nxt.url == "http://api.test/items?after=9"
    assert p.next_request(BASE, response(5, {("links", "next"): None})) is None
    with pytest.raises(IncompletePaginationError, match="but it is 5, not a URL string"):
        p.next_request(BASE, response(5, {("links", "next"): 5}))


def test_graphql_cursor_sets_variable_and_stops() -> None:
    p = GraphQLCursorPaginator("data.orders.pageInfo", cursor_variable="after")
    first = p.first_request(PageRequest(url="http://api.test/graphql", method="POST",
                                        json={"query": "q", "variables": {"first": 2}}))
    info = ("data", "orders", "pageInfo")
    nxt = p.next_request(first, response(2, {(*info, "hasNextPage"): True, (*info, "endCursor"): "E1"}))
    assert nxt.json == {"query": "q", "variables": {"first": 2, "after": "E1"}}
    assert p.next_request(nxt, response(2, {(*info, "hasNextPage"): False, (*info, "endCursor"): "E2"})) is None
    with pytest.raises(IncompletePaginationError, match="hasNextPage is true\\) but data.orders.pageInfo.endCursor is null"):
        p.next_request(nxt, response(2, {(*info, "hasNextPage"): True, (*info, "endCursor"): None}))
    with pytest.raises(PaginationError, match="GraphQL errors in page 1 .*: 'boom'"):
        p.next_request(nxt, response(0, {("errors",): [{"message": "boom"}]}))


def test_graphql_needs_query_body() -> None:
    with pytest.raises(ValueError, match="needs json=\\{'query'"):
        GraphQLCursorPaginator("data.x.pageInfo").first_request(BASE)


def test_decoder_splits_raw_records_and_reads_only_fields() -> None:
    decoder = PageDecoder(("data", "items"), [("meta", "next")])
    records, fields = decoder.decode(
        b'{"data": {"items": [{"a": 1}, {"b": [1, 2]}], "other": 1}, "meta": {"next": "c"}, "x": {"y": 2}}'
    )
    assert [bytes(r) for r in records] == [b'{"a": 1}', b'{"b": [1, 2]}']
    assert fields == {("meta", "next"): "c"}


def test_decoder_keys_with_dots_as_list_path() -> None:
    decoder = PageDecoder(("value",), [("@odata.nextLink",)], raw_records=False)
    assert decoder.decode(b'{"value": [{"a": 1}], "@odata.nextLink": "u"}') == ([{"a": 1}], {("@odata.nextLink",): "u"})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"data": {}}', "records_path='data.items' is not in the body (top-level keys: ['data'])"),
        (b'{"data": {"items": {"a": 1}}}', "records_path='data.items' must lead to a list of records "
                                           "(Expected `array | null`, got `object` - at `$.data.items`)"),
        (b"<html>oops</html>", "the body is not valid JSON"),
    ],
)
def test_decoder_shape_errors(body: bytes, message: str) -> None:
    with pytest.raises(PageShapeError) as err:
        PageDecoder(("data", "items")).decode(body)
    assert message in str(err.value)


def test_decoder_null_records_is_an_empty_page() -> None:
    assert PageDecoder(("data",)).decode(b'{"data": null}') == ([], {})


def test_decoder_rejects_overlapping_paths_and_fields_on_list_body() -> None:
    with pytest.raises(ValueError, match="body paths overlap at 'data'"):
        PageDecoder(("data", "items"), [("data",)])
    with pytest.raises(ValueError, match="records_path=None means the body is the list"):
        PageDecoder(None, [("next",)])
