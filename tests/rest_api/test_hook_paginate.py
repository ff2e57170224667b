"""Every paginator against a real HTTP server on 127.0.0.1, with its stop conditions and loop detection."""

from __future__ import annotations

import pytest

from airflow_provider_dataeng.hooks.rest_api import RestApiHook
from airflow_provider_dataeng.pagination import (
    CursorPaginator,
    GraphQLCursorPaginator,
    IncompletePaginationError,
    LinkHeaderPaginator,
    NextUrlPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    PaginationError,
    PaginationLoopError,
)
from tests.rest_api.server import FixtureServer, Request

RECORDS = [{"id": i, "name": f"n{i}"} for i in range(23)]


def pages(hook: RestApiHook, endpoint: str, **kwargs) -> list[list[dict]]:
    return list(hook.paginate(endpoint, **kwargs))


def test_single_page_with_body_as_list(server: FixtureServer, hook: RestApiHook) -> None:
    server.route("GET", "/all", lambda r: (200, {}, RECORDS))
    assert pages(hook, "/all") == [RECORDS]
    assert [(r.path, r.query) for r in server.requests] == [("/all", {})]


def test_single_page_warns_when_a_next_link_is_ignored(server, hook, logs) -> None:
    server.route("GET", "/all", lambda r: (200, {"Link": '</all?page=2>; rel="next"'}, RECORDS[:2]))
    assert pages(hook, "/all") == [RECORDS[:2]]
    assert "pass paginator=LinkHeaderPaginator() to follow it" in logs()


def _page_number_handler(request: Request):
    page, size = int(request.query["page"]), int(request.query.get("per_page", 10))
    chunk = RECORDS[(page - 1) * size : page * size]
    return 200, {}, {"data": chunk, "meta": {"total_pages": -(-len(RECORDS) // size), "total": len(RECORDS)}}


def test_page_number_stops_on_short_page(server, hook) -> None:
    server.route("GET", "/items", _page_number_handler)
    got = pages(hook, "/items", records_path="data", params={"q": "a"},
                paginator=PageNumberPaginator(page_size=10, page_size_param="per_page"))
    assert got == [RECORDS[:10], RECORDS[10:20], RECORDS[20:]]
    assert [r.query for r in server.requests] == [
        {"q": "a", "page": str(p), "per_page": "10"} for p in (1, 2, 3)
    ]


def test_page_number_stops_at_total_pages_without_an_extra_request(server, hook) -> None:
    server.route("GET", "/items", _page_number_handler)
    got = pages(hook, "/items", records_path="data",
                paginator=PageNumberPaginator(total_pages_path="meta.total_pages", page_size=5,
                                              page_size_param="per_page"))
    assert [r for page in got for r in page] == RECORDS
    assert len(server.requests) == 5  # 23 records / 5 = 5 pages, the last short: no 6th request


def test_page_number_stops_on_empty_page(server, hook) -> None:
    server.route("GET", "/items", _page_number_handler)
    got = pages(hook, "/items", records_path="data", params={"per_page": 23}, paginator=PageNumberPaginator())
    assert got == [RECORDS, []]
    assert [r.query["page"] for r in server.requests] == ["1", "2"]


def test_offset_stops_at_total(server, hook) -> None:
    def handler(request: Request):
        offset, limit = int(request.query["offset"]), int(request.query["limit"])
        return 200, {}, {"items": RECORDS[offset : offset + limit], "total": len(RECORDS)}

    server.route("GET", "/items", handler)
    got = pages(hook, "/items", records_path="items", paginator=OffsetPaginator(limit=10, total_path="total"))
    assert got == [RECORDS[:10], RECORDS[10:20], RECORDS[20:]]
    assert [r.query["offset"] for r in server.requests] == ["0", "10", "20"]


def test_offset_total_reached_exactly_makes_no_extra_request(server, hook) -> None:
    def handler(request: Request):
        offset = int(request.query["offset"])
        return 200, {}, {"items": RECORDS[offset : offset + 23], "total": 23}

    server.route("GET", "/items", handler)
    assert pages(hook, "/items", records_path="items", paginator=OffsetPaginator(limit=23, total_path="total")) == [RECORDS]
    assert len(server.requests) == 1


def _cursor_handler(request: Request):
    start = int(request.query.get("cursor") or 0)
    chunk = RECORDS[start : start + 10]
    more = start + 10 < len(RECORDS)
    return 200, {}, {"results": chunk, "next_cursor": str(start + 10) if more else None, "has_more": more}


def test_cursor_body_path_and_has_more(server, hook) -> None:
    server.route("GET", "/events", _cursor_handler)
    got = pages(hook, "/events", records_path="results",
                paginator=CursorPaginator(cursor_path="next_cursor", has_more_path="has_more"))
    assert got == [RECORDS[:10], RECORDS[10:20], RECORDS[20:]]
    assert [r.query.get("cursor") for r in server.requests] == [None, "10", "20"]


def test_cursor_stops_on_null_cursor(server, hook) -> None:
    server.route("GET", "/events", _cursor_handler)
    got = pages(hook, "/events", records_path="results", paginator=CursorPaginator(cursor_path="next_cursor"))
    assert [r for p in got for r in p] == RECORDS


def test_cursor_from_header_sent_as_body_field_with_post(server, hook) -> None:
    def handler(request: Request):
        start = int(request.json().get("after") or 0)
        more = start + 10 < len(RECORDS)
        return 200, ({"X-Next": str(start + 10)} if more else {}), RECORDS[start : start + 10]

    server.route("POST", "/search", handler)
    got = pages(hook, "/search", method="POST", json={"filter": "all"},
                paginator=CursorPaginator(cursor_header="X-Next", cursor_body_field="after"))
    assert [r for p in got for r in p] == RECORDS
    assert [r.json() for r in server.requests] == [
        {"filter": "all"}, {"filter": "all", "after": "10"}, {"filter": "all", "after": "20"}
    ]


def test_repeated_cursor_is_a_loop_error(server, hook) -> None:
    cursors = iter(["a", "b", "a"])
    server.route("GET", "/loop", lambda r: (200, {}, {"data": [{"id": 1}], "next": next(cursors)}))
    got = []
    with pytest.raises(PaginationLoopError) as err:
        for page in hook.paginate("/loop", records_path="data", paginator=CursorPaginator(cursor_path="next")):
            got.append(page)
    assert len(got) == 3
    assert str(err.value).startswith(
        f"page 4 would fetch GET {server.url}/loop?cursor=a again, which an earlier page already returned: "
        "the API is looping"
    )


def test_link_header_follows_rel_next(server, hook) -> None:
    def handler(request: Request):
        page = int(request.query.get("page", 1))
        links = []
        if page < 3:
            links.append(f'<{server.url}/repos?page={page + 1}&per_page=10>; rel="next"')
        links.append(f'<{server.url}/repos?page=1&per_page=10>; rel="first"')
        return 200, {"Link": ", ".join(links)}, RECORDS[(page - 1) * 10 : page * 10]

    server.route("GET", "/repos", handler)
    got = pages(hook, "/repos", params={"per_page": 10}, paginator=LinkHeaderPaginator())
    assert got == [RECORDS[:10], RECORDS[10:20], RECORDS[20:]]
    assert [r.query for r in server.requests] == [
        {"per_page": "10"}, {"page": "2", "per_page": "10"}, {"page": "3", "per_page": "10"}
    ]


def test_link_header_pointing_back_is_a_loop_error(server, hook) -> None:
    server.route("GET", "/repos", lambda r: (200, {"Link": '</repos?page=1>; rel="next"'}, [{"id": 1}]))
    with pytest.raises(PaginationLoopError, match="page 3 would fetch GET .*/repos\\?page=1 again"):
        pages(hook, "/repos", paginator=LinkHeaderPaginator())


def test_next_url_relative_in_body(server, hook) -> None:
    def handler(request: Request):
        after = int(request.query.get("after", 0))
        nxt = f"orders?after={after + 10}" if after + 10 < len(RECORDS) else None
        return 200, {}, {"value": RECORDS[after : after + 10], "links": {"next": nxt}}

    server.route("GET", "/v2/orders", handler)
    got = pages(hook, "/v2/orders", records_path="value", paginator=NextUrlPaginator("links.next"))
    assert [r for p in got for r in p] == RECORDS
    assert [r.path for r in server.requests] == ["/v2/orders"] * 3


def test_graphql_relay_cursor(server, hook) -> None:
    def handler(request: Request):
        variables = request.json()["variables"]
        start = int(variables.get("after") or 0)
        end = start + variables["first"]
        return 200, {}, {"data": {"orders": {
            "nodes": RECORDS[start:end],
            "pageInfo": {"hasNextPage": end < len(RECORDS), "endCursor": str(end)},
        }}}

    server.route("POST", "/graphql", handler)
    got = pages(hook, "/graphql", method="POST", records_path="data.orders.nodes",
                json={"query": "query($first:Int,$after:String){orders(first:$first,after:$after){nodes{id}}}",
                      "variables": {"first": 10}},
                paginator=GraphQLCursorPaginator("data.orders.pageInfo"))
    assert got == [RECORDS[:10], RECORDS[10:20], RECORDS[20:]]
    assert [r.json()["variables"] for r in server.requests] == [
        {"first": 10}, {"first": 10, "after": "10"}, {"first": 10, "after": "20"}
    ]


def test_max_pages_stops_early_with_a_warning(server, hook, logs) -> None:
    server.route("GET", "/events", _cursor_handler)
    got = pages(hook, "/events", records_path="results", max_pages=2,
                paginator=CursorPaginator(cursor_path="next_cursor"))
    assert got == [RECORDS[:10], RECORDS[10:20]]
    assert len(server.requests) == 2
    assert "Stopped after max_pages=2 pages" in logs()


def test_paginator_max_pages(server, hook) -> None:
    server.route("GET", "/events", _cursor_handler)
    got = pages(hook, "/events", records_path="results", paginator=CursorPaginator(cursor_path="next_cursor",
                                                                                    max_pages=1))
    assert got == [RECORDS[:10]]


def test_pages_reuse_one_keep_alive_connection(server, hook) -> None:
    server.route("GET", "/events", _cursor_handler)
    pages(hook, "/events", records_path="results", paginator=CursorPaginator(cursor_path="next_cursor"))
    assert len({r.client_port for r in server.requests}) == 1


def test_raw_pages_carry_record_bytes(server, hook) -> None:
    server.route("GET", "/raw", lambda r: (200, {"Content-Type": "application/json"},
                                          b'{"data": [{"a": 1,  "b": "x"}, {"a": 2}]}'))
    (page,) = hook.iter_pages("/raw", records_path="data")
    assert [bytes(r) for r in page.records] == [b'{"a": 1,  "b": "x"}', b'{"a": 2}']
    assert (page.number, page.status, page.url, page.body_bytes) == (1, 200, f"{server.url}/raw", 41)


def test_next_link_to_another_host_is_refused(server, hook) -> None:
    server.route("GET", "/items", lambda r: (200, {}, {"data": [{"id": 1}], "next": "https://evil.example/steal?page=2"}))
    with pytest.raises(PaginationError) as err:
        pages(hook, "/items", records_path="data", paginator=NextUrlPaginator("next"))
    assert str(err.value) == (
        f"page 2 would be fetched from https://evil.example/steal?page=2, another host than {server.url}: "
        "refusing to send credentials there; check the paginator settings"
    )
    assert len(server.requests) == 1


def test_offset_empty_page_before_the_total_fails_naming_page_and_request(server, hook) -> None:
    def handler(request: Request):
        offset = int(request.query["offset"])
        records = [] if offset == 10 else RECORDS[offset : offset + 10]  # the API loses a page
        return 200, {}, {"items": records, "total": len(RECORDS)}

    server.route("GET", "/items", handler)
    with pytest.raises(IncompletePaginationError) as err:
        pages(hook, "/items", records_path="items", paginator=OffsetPaginator(limit=10, total_path="total"))
    assert str(err.value) == (
        f"page 2 (GET {server.url}/items?offset=10&limit=10): the API says there is more (total_path='total' is 23, "
        "and this page started at offset 10) but it returned no records, so the offset cannot advance; stopping "
        "here would silently drop the rest (13 records). Check that total_path counts the records this endpoint "
        "returns for these query parameters."
    )


def test_offset_follows_a_capped_limit_up_to_the_total(server, hook) -> None:
    def handler(request: Request):
        offset, limit = int(request.query["offset"]), min(int(request.query["limit"]), 7)  # the server caps at 7
        return 200, {}, {"items": RECORDS[offset : offset + limit], "total": len(RECORDS)}

    server.route("GET", "/items", handler)
    got = pages(hook, "/items", records_path="items", paginator=OffsetPaginator(limit=10, total_path="total"))
    assert [r for p in got for r in p] == RECORDS
    assert [r.query["offset"] for r in server.requests] == ["0", "7", "14", "21"]


def test_link_with_several_relation_types_is_followed(server, hook) -> None:
    def handler(request: Request):
        page = int(request.query.get("page", 1))
        link = f'</repos?page={page + 1}>; rel="next last"' if page < 3 else '</repos?page=1>; rel="First"'
        return 200, {"Link": link}, RECORDS[(page - 1) * 10 : page * 10]

    server.route("GET", "/repos", handler)
    got = pages(hook, "/repos", paginator=LinkHeaderPaginator())
    assert [r for p in got for r in p] == RECORDS


def test_link_next_with_an_empty_url_fails(server, hook) -> None:
    server.route("GET", "/repos", lambda r: (200, {"Link": '<>; rel="next"'}, RECORDS[:10]))
    with pytest.raises(IncompletePaginationError, match=r"^page 1 \(GET http://127\.0\.0\.1:\d+/repos\): the API says "
                                                        r"there is more \(a Link header with rel='next'\) but its URL "
                                                        r"is empty \(''\), so the next page cannot be requested"):
        pages(hook, "/repos", paginator=LinkHeaderPaginator())


def test_graphql_has_next_page_on_an_empty_page_is_followed(server, hook) -> None:
    def handler(request: Request):
        after = request.json()["variables"].get("after")
        nodes, info = {None: (RECORDS[:2], {"hasNextPage": True, "endCursor": "A"}),
                       "A": ([], {"hasNextPage": True, "endCursor": "B"}),
                       "B": (RECORDS[2:4], {"hasNextPage": False, "endCursor": "C"})}[after]
        return 200, {}, {"data": {"orders": {"nodes": nodes, "pageInfo": info}}}

    server.route("POST", "/graphql", handler)
    got = pages(hook, "/graphql", method="POST", records_path="data.orders.nodes",
                json={"query": "query($after:String){orders(after:$after){nodes{id}}}", "variables": {}},
                paginator=GraphQLCursorPaginator("data.orders.pageInfo"))
    assert got == [RECORDS[:2], [], RECORDS[2:4]]


def test_secret_looking_cursor_in_an_incomplete_pagination_error_is_redacted(server, hook) -> None:
    """The message names the request; a secret-looking query parameter in its URL is masked."""
    def handler(request: Request):
        return 200, {}, {"data": [{"id": 1}], "has_more": True}

    server.route("GET", "/items", handler)
    with pytest.raises(IncompletePaginationError) as err:
        pages(hook, "/items", params={"access_token": "tok-abc-123"}, records_path="data",
              paginator=CursorPaginator(cursor_path="next", has_more_path="has_more"))
    assert "tok-abc-123" not in str(err.value)
    assert str(err.value).startswith(f"page 1 (GET {server.url}/items?access_token=***): the API says there is more")
