"""Bad input fails early with an error naming the parameter, the page and URL (redacted), and what was expected."""

from __future__ import annotations

import pytest

from airflow_provider_dataeng.hooks.rest_api import RestApiHook
from airflow_provider_dataeng.pagination import (
    CursorPaginator,
    PageNumberPaginator,
    PageShapeError,
    PaginationError,
)
from tests.rest_api.server import FixtureServer


def run(hook: RestApiHook, **kwargs) -> list:
    return list(hook.paginate("/items", **kwargs))


def test_records_path_missing(server: FixtureServer, hook) -> None:
    server.route("GET", "/items", lambda r: (200, {}, {"results": [], "count": 0}))
    with pytest.raises(PageShapeError) as err:
        run(hook, records_path="data.items")
    assert str(err.value).startswith(
        f"page 1 ({server.url}/items, HTTP 200, Content-Type application/json): records_path='data.items' is not "
        "in the body (top-level keys: ['count', 'results']); set records_path to the list of records"
    )


def test_records_path_not_a_list_on_a_later_page(server, hook) -> None:
    def handler(request):
        if request.query["page"] == "1":
            return 200, {}, {"data": [{"id": 1}]}
        return 200, {}, {"data": {"id": 2}}

    server.route("GET", "/items", handler)
    with pytest.raises(PageShapeError) as err:
        run(hook, records_path="data", paginator=PageNumberPaginator(), params={"api_key": "qs-key-123"})
    assert str(err.value).startswith(
        f"page 2 ({server.url}/items?api_key=***&page=2, HTTP 200, Content-Type application/json): "
        "records_path='data' must lead to a list of records (Expected `array | null`, got `object` - at `$.data`)"
    )


def test_body_is_an_object_but_records_path_is_none(server, hook) -> None:
    server.route("GET", "/items", lambda r: (200, {}, {"data": []}))
    with pytest.raises(PageShapeError, match=r"records_path=None expects the body to be a JSON array of records "
                                             r"\(Expected `array`, got `object`; top-level keys: \['data'\]\)"):
        run(hook)


def test_html_error_page_with_status_200(server, hook) -> None:
    html = "<html><body><h1>Service temporarily unavailable</h1></body></html>"
    server.route("GET", "/items", lambda r: (200, {"Content-Type": "text/html"}, html))
    with pytest.raises(PageShapeError) as err:
        run(hook, records_path="data")
    assert str(err.value) == (
        f"page 1 ({server.url}/items, HTTP 200, Content-Type text/html): expected a JSON body (an HTML error or "
        "proxy page?): the body is not valid JSON (JSON is malformed: invalid character (byte 0)); body starts "
        "'<html><body><h1>Service temporarily unavailable</h1></body></html>'"
    )


def test_truncated_json_body(server, hook) -> None:
    server.route("GET", "/items", lambda r: (200, {"Content-Type": "application/json"}, b'{"data": [{"id": 1}, {"i'))
    with pytest.raises(PageShapeError, match=r"page 1 .*: the body is not valid JSON \(Input data was truncated\)"):
        run(hook, records_path="data")


def test_paginator_field_missing_names_parameter_page_and_url(server, hook) -> None:
    server.route("GET", "/items", lambda r: (200, {}, {"data": [{"id": 1}], "meta": {}}))
    with pytest.raises(PaginationError) as err:
        run(hook, records_path="data", paginator=CursorPaginator(cursor_path="meta.next", has_more_path="meta.more"))
    assert str(err.value) == (
        f"has_more_path='meta.more' is not in the response body of page 1 (GET {server.url}/items): "
        "fix has_more_path to point at the field the API returns. Found: meta has no key 'more' (its keys: [])."
    )


def test_secret_in_paginator_error_url_is_redacted(server, connection) -> None:
    server.route("GET", "/items", lambda r: (200, {}, {"data": [{"id": 1}]}))
    conn_id = connection("k", password="very-secret-key",
                         extra={"auth_type": "api_key", "api_key_in": "query", "api_key_name": "k"})
    with pytest.raises(PaginationError) as err:
        list(RestApiHook(conn_id).paginate("/items", records_path="data",
                                           paginator=CursorPaginator(cursor_path="n", has_more_path="more")))
    assert "very-secret-key" not in str(err.value)
    assert "?k=***" in str(err.value)


def test_records_path_overlapping_paginator_field_fails_before_any_request(server, hook) -> None:
    with pytest.raises(ValueError, match="body paths overlap at 'data'"):
        run(hook, records_path="data.items", paginator=CursorPaginator(cursor_path="data"))
    assert server.requests == []


def test_object_that_is_not_a_paginator(server, hook) -> None:
    with pytest.raises(TypeError, match="paginator must implement first_request, next_request and body_paths"):
        run(hook, paginator="cursor")
