"""No silent truncation, as a specification: for every built-in paginator and every stop signal it reads,
what it does with a page: follow it (the next request), stop, or fail because the API says there is more
but the next request cannot be built (or the page contradicts that signal).

The rule: an explicit signal from the API (``has_more`` true, a total not reached, a next link present,
``hasNextPage`` true) is never overridden by a heuristic (an empty or short page), and never ends the run
when the paginator cannot use it: that is an :class:`IncompletePaginationError`, never a quiet stop.
Heuristic stops apply only where the API gives no such signal.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_dataeng.pagination import (
    MISSING,
    BasePaginator,
    CursorPaginator,
    GraphQLCursorPaginator,
    IncompletePaginationError,
    LinkHeaderPaginator,
    NextUrlPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    PageRequest,
    PageResponse,
    PaginationError,
    SinglePagePaginator,
)

URL = "http://api.test/items?q=x"
BASE = PageRequest(url="http://api.test/items", params={"q": "x"})
GRAPHQL = PageRequest(url="http://api.test/graphql", method="POST", json={"query": "q", "variables": {"first": 10}})
INFO = ("data", "orders", "pageInfo")
STOP = None


def follows(**want: Any) -> tuple[str, dict[str, Any]]:
    """The next request: ``params`` (those keys), ``url`` or ``variables`` (GraphQL) as given."""
    return ("follow", want)


def fails(error: type[Exception], text: str) -> tuple[type[Exception], str]:
    return (error, text)


def page(count: int = 10, fields: dict | None = None, *, headers: dict | None = None,
         links: dict | None = None) -> dict[str, Any]:
    return {"count": count, "fields": fields or {}, "headers": headers or {}, "links": links or {}}


MORE = IncompletePaginationError

PAGE_NUMBER = [
    # (case, paginator, page, outcome)
    ("no total, full page", PageNumberPaginator(page_size=10), page(10), follows(params={"page": 2})),
    ("no total, empty page", PageNumberPaginator(), page(0), STOP),
    ("no total, short page", PageNumberPaginator(page_size=10), page(4), STOP),
    ("total pages not reached", PageNumberPaginator(total_pages_path="pages"), page(10, {("pages",): 5}),
     follows(params={"page": 2})),
    ("total pages reached", PageNumberPaginator(total_pages_path="pages"), page(10, {("pages",): 1}), STOP),
    ("total pages reached on a short page", PageNumberPaginator(page_size=10, total_pages_path="pages"),
     page(4, {("pages",): 1}), STOP),
    ("empty page before total pages", PageNumberPaginator(total_pages_path="pages"), page(0, {("pages",): 5}),
     fails(MORE, "(total_pages_path='pages' is 5, this is page 1 of them) but this page returned no records, "
                 "as a last page does: following could skip records and stopping here would silently drop the "
                 "rest. If the API serves empty pages before the last one, pass stop_on_empty_page=False.")),
    ("empty page before total pages, empty pages allowed",
     PageNumberPaginator(total_pages_path="pages", stop_on_empty_page=False), page(0, {("pages",): 5}),
     follows(params={"page": 2})),
    ("short page before total pages", PageNumberPaginator(page_size=10, total_pages_path="pages"),
     page(4, {("pages",): 5}),
     fails(MORE, "but this page returned 4 records, fewer than page_size=10, as a last page does: following "
                 "could skip records and stopping here would silently drop the rest. If the API caps the page "
                 "size, set page_size to that cap.")),
    ("total pages absent on an empty page", PageNumberPaginator(total_pages_path="pages"),
     page(0, {("pages",): MISSING}), STOP),
    ("total pages absent on a full page", PageNumberPaginator(total_pages_path="pages"),
     page(10, {("pages",): MISSING}), fails(PaginationError, "total_pages_path='pages' is not in the response body")),
    ("total pages null", PageNumberPaginator(total_pages_path="pages"), page(10, {("pages",): None}),
     fails(PaginationError, "total_pages_path must point at an integer, got None")),
    ("total records not reached", PageNumberPaginator(page_size=10, total_records_path="total"),
     page(10, {("total",): 25}), follows(params={"page": 2})),
    ("total records reached on the short last page", PageNumberPaginator(page_size=10, total_records_path="total"),
     page(5, {("total",): 5}), STOP),
    ("short page before total records (a capped page size)",
     PageNumberPaginator(page_size=500, total_records_path="total"), page(100, {("total",): 2500}),
     fails(MORE, "(total_records_path='total' is 2500, more than the 500 records 1 page of 500 can hold) but this page "
                 "returned 100 "
                 "records, fewer than page_size=500")),
    ("empty page before total records", PageNumberPaginator(page_size=10, total_records_path="total"),
     page(0, {("total",): 25}), fails(MORE, "but this page returned no records")),
]

OFFSET = [
    ("no total, full page", OffsetPaginator(limit=10), page(10), follows(params={"offset": 10, "limit": 10})),
    ("no total, short page", OffsetPaginator(limit=10), page(4), STOP),
    ("no total, empty page", OffsetPaginator(limit=10), page(0), STOP),
    ("total not reached", OffsetPaginator(limit=10, total_path="total"), page(10, {("total",): 25}),
     follows(params={"offset": 10})),
    ("short page before the total (a capped limit): the offset advances by what came",
     OffsetPaginator(limit=100, total_path="total"), page(40, {("total",): 250}), follows(params={"offset": 40})),
    ("total reached", OffsetPaginator(limit=10, total_path="total"), page(10, {("total",): 10}), STOP),
    ("empty page before the total", OffsetPaginator(limit=10, total_path="total"), page(0, {("total",): 25}),
     fails(MORE, "(total_path='total' is 25, and this page started at offset 0) but it returned no records, so the offset "
                 "cannot advance; stopping here would silently drop the rest (25 records)")),
    ("empty page before the total, empty pages allowed",
     OffsetPaginator(limit=10, total_path="total", stop_on_empty_page=False, stop_on_short_page=False),
     page(0, {("total",): 25}), fails(MORE, "so the offset cannot advance")),
    ("total absent on a short page", OffsetPaginator(limit=10, total_path="total"),
     page(4, {("total",): MISSING}), STOP),
    ("total absent on a full page", OffsetPaginator(limit=10, total_path="total"),
     page(10, {("total",): MISSING}), fails(PaginationError, "total_path='total' is not in the response body")),
]

STRIPE = CursorPaginator(cursor_path="data[-1].id", cursor_param="starting_after", has_more_path="has_more")
LAST_ID = ("data", -1, "id")
CURSOR = CursorPaginator(cursor_path="next", has_more_path="more")

CURSOR_CASES = [
    ("has_more true, cursor present", CURSOR, page(10, {("next",): "c2", ("more",): True}),
     follows(params={"q": "x", "cursor": "c2"})),
    ("has_more true, numeric cursor", CURSOR, page(10, {("next",): 42, ("more",): True}),
     follows(params={"cursor": 42})),
    ("has_more false, cursor null", CURSOR, page(10, {("next",): None, ("more",): False}), STOP),
    ("has_more false, cursor present", CURSOR, page(10, {("next",): "c2", ("more",): False}), STOP),
    ("has_more true, cursor absent (the reported defect)", CURSOR, page(10, {("next",): MISSING, ("more",): True}),
     fails(MORE, "(has_more_path='more' is true) but cursor_path='next' is not in the body, so the next page "
                 "cannot be requested; stopping here would silently drop the rest. Fix cursor_path")),
    ("has_more true, cursor null", CURSOR, page(10, {("next",): None, ("more",): True}),
     fails(MORE, "but cursor_path='next' is null")),
    ("has_more true, cursor empty", CURSOR, page(10, {("next",): "", ("more",): True}),
     fails(MORE, "but cursor_path='next' is an empty string")),
    ("has_more true, cursor an object", CURSOR, page(10, {("next",): {"a": 1}, ("more",): True}),
     fails(MORE, "but cursor_path='next' is a JSON object, not a string or number")),
    ("has_more true, cursor a boolean", CURSOR, page(10, {("next",): True, ("more",): True}),
     fails(MORE, "but cursor_path='next' is true, not a string or number")),
    ("has_more true on an empty page: followed", CURSOR, page(0, {("next",): "c2", ("more",): True}),
     follows(params={"cursor": "c2"})),
    ("has_more absent", CURSOR, page(10, {("next",): "c2", ("more",): MISSING}),
     fails(PaginationError, "has_more_path='more' is not in the response body")),
    ("has_more not a boolean", CURSOR, page(10, {("next",): "c2", ("more",): "yes"}),
     fails(PaginationError, "has_more_path must point at true/false, got 'yes'")),
    ("no has_more, cursor present", CursorPaginator(cursor_path="next"), page(10, {("next",): "c2"}),
     follows(params={"cursor": "c2"})),
    ("no has_more, cursor null", CursorPaginator(cursor_path="next"), page(10, {("next",): None}), STOP),
    ("no has_more, cursor absent", CursorPaginator(cursor_path="next"), page(10, {("next",): MISSING}), STOP),
    ("no has_more, empty page with a cursor", CursorPaginator(cursor_path="next"), page(0, {("next",): "c2"}), STOP),
    ("no has_more, cursor a list", CursorPaginator(cursor_path="next"), page(10, {("next",): ["a"]}),
     fails(MORE, "(a cursor at cursor_path='next') but cursor_path='next' is a JSON list, not a string or number")),
    ("header cursor with has_more true", CursorPaginator(cursor_header="X-Next", has_more_path="more"),
     page(10, {("more",): True}, headers={"x-next": "abc"}), follows(params={"cursor": "abc"})),
    ("header cursor absent, has_more true", CursorPaginator(cursor_header="X-Next", has_more_path="more"),
     page(10, {("more",): True}, headers={"X-Other": "1"}),
     fails(MORE, "but cursor_header='X-Next' is not among the response headers, so the next page cannot be "
                 "requested; stopping here would silently drop the rest. Fix cursor_header to name the header "
                 "that carries the cursor (headers: ['X-Other']).")),
    ("header cursor absent, no has_more", CursorPaginator(cursor_header="X-Next"), page(10), STOP),
    ("Stripe: the last record's id, has_more true", STRIPE, page(10, {LAST_ID: "ch_9", ("has_more",): True}),
     follows(params={"q": "x", "starting_after": "ch_9"})),
    ("Stripe: has_more false", STRIPE, page(10, {LAST_ID: "ch_9", ("has_more",): False}), STOP),
    ("Stripe: empty page saying has_more", STRIPE, page(0, {LAST_ID: MISSING, ("has_more",): True}),
     fails(MORE, "but cursor_path='data[-1].id' is not in the body")),
]

LINKS = [
    ("next link", LinkHeaderPaginator(), page(10, links={"next": "/items?page=2"}),
     follows(url="http://api.test/items?page=2")),
    ("no next link", LinkHeaderPaginator(), page(10, links={"prev": "/items?page=1"}), STOP),
    ("next link with an empty URL", LinkHeaderPaginator(), page(10, links={"next": ""}),
     fails(MORE, "(a Link header with rel='next') but its URL is empty ('')")),
    ("next link that is not a URL", LinkHeaderPaginator(), page(10, links={"next": "http://[::1/x"}),
     fails(MORE, "but its URL 'http://[::1/x' is not a valid URL (Invalid IPv6 URL)")),
    ("empty page with a next link", LinkHeaderPaginator(), page(0, links={"next": "/items?page=2"}), STOP),
    ("empty page with a next link, empty pages allowed", LinkHeaderPaginator(stop_on_empty_page=False),
     page(0, links={"next": "/items?page=2"}), follows(url="http://api.test/items?page=2")),
    ("next URL in the body", NextUrlPaginator("links.next"), page(10, {("links", "next"): "/items?after=9"}),
     follows(url="http://api.test/items?after=9")),
    ("next URL null", NextUrlPaginator("links.next"), page(10, {("links", "next"): None}), STOP),
    ("next URL empty", NextUrlPaginator("links.next"), page(10, {("links", "next"): ""}), STOP),
    ("next URL absent", NextUrlPaginator("links.next"), page(10, {("links", "next"): MISSING}), STOP),
    ("next URL a number", NextUrlPaginator("links.next"), page(10, {("links", "next"): 5}),
     fails(MORE, "(a next URL at next_url_path='links.next') but it is 5, not a URL string")),
    ("next URL an object", NextUrlPaginator("links.next"), page(10, {("links", "next"): {"href": "/x"}}),
     fails(MORE, 'but it is {"href": "/x"}, not a URL string')),
    ("next URL blank", NextUrlPaginator("links.next"), page(10, {("links", "next"): "  "}),
     fails(MORE, "but it is empty ('  ')")),
    ("empty page with a next URL", NextUrlPaginator("links.next"), page(0, {("links", "next"): "/x"}), STOP),
]

GRAPHQL_PAGINATOR = GraphQLCursorPaginator("data.orders.pageInfo")
GRAPHQL_CASES = [
    ("hasNextPage true", GRAPHQL_PAGINATOR, page(10, {(*INFO, "hasNextPage"): True, (*INFO, "endCursor"): "E1"}),
     follows(variables={"first": 10, "after": "E1"})),
    ("hasNextPage false", GRAPHQL_PAGINATOR, page(10, {(*INFO, "hasNextPage"): False, (*INFO, "endCursor"): None}),
     STOP),
    ("hasNextPage true on an empty page: followed", GRAPHQL_PAGINATOR,
     page(0, {(*INFO, "hasNextPage"): True, (*INFO, "endCursor"): "E1"}), follows(variables={"first": 10, "after": "E1"})),
    ("hasNextPage true, endCursor null", GRAPHQL_PAGINATOR,
     page(10, {(*INFO, "hasNextPage"): True, (*INFO, "endCursor"): None}),
     fails(MORE, "(data.orders.pageInfo.hasNextPage is true) but data.orders.pageInfo.endCursor is null, so the "
                 "next page cannot be requested")),
    ("hasNextPage true, endCursor absent", GRAPHQL_PAGINATOR,
     page(10, {(*INFO, "hasNextPage"): True, (*INFO, "endCursor"): MISSING}),
     fails(MORE, "but data.orders.pageInfo.endCursor is not in the body")),
    ("hasNextPage null", GRAPHQL_PAGINATOR, page(10, {(*INFO, "hasNextPage"): None}),
     fails(PaginationError, "data.orders.pageInfo.hasNextPage must be true or false, got None")),
    ("pageInfo absent", GRAPHQL_PAGINATOR, page(10, {(*INFO, "hasNextPage"): MISSING}),
     fails(PaginationError, "page_info_path='data.orders.pageInfo.hasNextPage' is not in the response body")),
    ("GraphQL errors", GRAPHQL_PAGINATOR, page(0, {("errors",): [{"message": "boom"}]}),
     fails(PaginationError, "GraphQL errors in page 3 (POST http://api.test/items?q=x with JSON body "
                            '{"query": "q", "variables": {"first": 10}}): \'boom\'')),
]

SINGLE = [("one page", SinglePagePaginator(), page(10, links={"next": "/items?page=2"}), STOP)]

SPEC = PAGE_NUMBER + OFFSET + CURSOR_CASES + LINKS + GRAPHQL_CASES + SINGLE


@pytest.mark.parametrize(("paginator", "shape", "outcome"),
                         [pytest.param(p, s, o, id=f"{type(p).__name__}: {case}") for case, p, s, o in SPEC])
def test_spec(paginator: BasePaginator, shape: dict[str, Any], outcome: Any) -> None:
    request = paginator.first_request(GRAPHQL if isinstance(paginator, GraphQLCursorPaginator) else BASE)
    response = PageResponse(url=URL, status=200, headers=shape["headers"], links=shape["links"],
                            fields=shape["fields"], record_count=shape["count"], page_number=3)
    if outcome is STOP:
        assert paginator.next_request(request, response) is None
    elif outcome[0] == "follow":
        following = paginator.next_request(request, response)
        assert following is not None
        want = outcome[1]
        if "params" in want:
            assert {k: following.params.get(k) for k in want["params"]} == want["params"]
        if "url" in want:
            assert (following.url, dict(following.params)) == (want["url"], {})
        if "variables" in want:
            assert following.json["variables"] == want["variables"]
    else:
        error, text = outcome
        with pytest.raises(error) as err:
            paginator.next_request(request, response)
        message = str(err.value)
        assert text in message
        if error is MORE:  # names the page and the request it came from
            assert message.startswith(f"page 3 ({request.method} {URL}")


def test_every_built_in_paginator_is_in_the_spec() -> None:
    covered = {type(p) for _, p, _, _ in SPEC}
    assert covered == {PageNumberPaginator, OffsetPaginator, CursorPaginator, LinkHeaderPaginator,
                       NextUrlPaginator, GraphQLCursorPaginator, SinglePagePaginator}


@pytest.mark.parametrize(
    ("paginator", "fields", "path"),
    [
        (CURSOR, {("next",): MISSING, ("more",): True}, ("next",)),
        (STRIPE, {LAST_ID: MISSING, ("has_more",): True}, LAST_ID),
        (GRAPHQL_PAGINATOR, {(*INFO, "hasNextPage"): True, (*INFO, "endCursor"): MISSING}, (*INFO, "endCursor")),
        (CURSOR, {("next",): None, ("more",): True}, None),  # null was found: the message says so already
    ],
)
def test_a_path_not_found_is_handed_to_the_hook(paginator: BasePaginator, fields: dict, path: Any) -> None:
    """The error carries the path, so the hook can add what the body holds along it ("Found: ...")."""
    request = paginator.first_request(GRAPHQL if isinstance(paginator, GraphQLCursorPaginator) else BASE)
    response = PageResponse(url=URL, status=200, headers={}, links={}, fields=fields, record_count=10, page_number=1)
    with pytest.raises(IncompletePaginationError) as err:
        paginator.next_request(request, response)
    assert err.value.path == path
