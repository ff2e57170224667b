"""Every pagination style, walked with a plain ``requests`` loop, returns exactly the expected records."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
import requests

from dataeng_local.demo_api import DataShape, DemoApiConfig
from dataeng_local.demo_api.server import ThreadedServer, serve_in_thread
from dataeng_local.demo_api.timefmt import parse_iso
from dataeng_local.demo_api.views import Dataset

AS_OF = "2024-01-08T00:00:00Z"
T = int(parse_iso(AS_OF))
AUTH = {"Authorization": "Bearer dataeng-local-token"}


@pytest.fixture(scope="module")
def api() -> Iterator[ThreadedServer]:
    with serve_in_thread(DemoApiConfig()) as server:
        yield server


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.headers.update(AUTH)
        yield s


@cache
def all_records(resource: str) -> tuple[dict[str, Any], ...]:
    view = Dataset(DataShape()).view(resource, T - 1)  # as_of=T shows changes before T
    return tuple(view.records(0, len(view)))


def expected(resource: str, **window: Any) -> list[dict[str, Any]]:
    """All records of ``resource`` at ``T``, from the data model, filtered and sorted independently."""
    records = all_records(resource)
    time_field = "occurred_at" if resource == "events" else "updated_at"
    since, before = window.get("since"), window.get("before")
    out = [
        r
        for r in records
        if (since is None or r[time_field] >= since) and (before is None or r[time_field] < before)
    ]
    id_field = "event_id" if resource == "events" else "id"
    return sorted(out, key=lambda r: (r[time_field], r[id_field]))


def walk(
    session: requests.Session, url: str, style: str, params: dict[str, Any]
) -> tuple[list[dict[str, Any]], int]:
    """Follow one pagination style to the end; returns the records and the number of requests."""
    records: list[dict[str, Any]] = []
    params = {**params, "paginate": style, "as_of": AS_OF}
    requests_made = 0
    page, offset, cursor, next_url = 1, 0, None, None
    while True:
        requests_made += 1
        if style == "page":
            body = session.get(url, params={**params, "page": page}).json()
        elif style == "offset":
            body = session.get(url, params={**params, "offset": offset}).json()
        elif style == "cursor":
            body = session.get(url, params={**params, **({"cursor": cursor} if cursor else {})}).json()
        else:  # link, next_url: the first request builds the URL, later ones follow the server's URL
            resp = session.get(next_url) if next_url else session.get(url, params=params)
            assert resp.status_code == 200
            body = resp.json()
        records += body["data"]
        if style == "page":
            if page >= body["total_pages"]:
                return records, requests_made
            page += 1
        elif style == "offset":
            offset += body["limit"]
            if offset >= body["total"]:
                return records, requests_made
        elif style == "cursor":
            if not body["has_more"]:
                assert body["next_cursor"] is None
                return records, requests_made
            cursor = body["next_cursor"]
        elif style == "link":
            next_url = resp.links.get("next", {}).get("url")
            if not next_url:
                return records, requests_made
        else:
            assert body["next"] == body["links"]["next"]
            next_url = body["next"]
            if next_url is None:
                return records, requests_made


@pytest.mark.parametrize("style", ["page", "offset", "cursor", "link", "next_url"])
@pytest.mark.parametrize("resource", ["customers", "orders"])
def test_each_style_returns_every_record_once_in_order(api, session, style, resource):
    size = "per_page" if style == "page" else "limit"
    records, requests_made = walk(session, f"{api.url}/v1/{resource}", style, {size: 997})
    want = expected(resource)
    assert records == want
    assert requests_made == -(-len(want) // 997)


def test_sizes_at_the_default_time(api, session):
    body = session.get(f"{api.url}/v1/customers", params={"paginate": "offset", "limit": 1}).json()
    assert body["total"] == 1839  # customer 1840 is created at exactly AS_OF: not yet visible
    body = session.get(f"{api.url}/v1/orders", params={"paginate": "page", "per_page": 1}).json()
    assert (body["total"], body["total_pages"]) == (8359, 8359)


@pytest.mark.parametrize("style", ["cursor", "link", "next_url", "page"])
def test_windows_cut_by_updated_at(api, session, style):
    since, before = "2024-01-05T00:00:00Z", "2024-01-06T12:00:00Z"
    size = "per_page" if style == "page" else "limit"
    params = {"updated_since": since, "updated_before": before, size: 50}
    records, _ = walk(session, f"{api.url}/v1/orders", style, params)
    want = expected("orders", since=since, before=before)
    assert len(want) > 100
    assert records == want


def test_window_bounds_are_inclusive_then_exclusive(api, session):
    first = expected("customers")[0]
    stamp = first["updated_at"]
    including = session.get(
        f"{api.url}/v1/customers", params={"as_of": AS_OF, "updated_since": stamp, "limit": 1}
    ).json()
    excluding = session.get(
        f"{api.url}/v1/customers", params={"as_of": AS_OF, "updated_before": stamp}
    ).json()
    assert including["data"][0]["id"] == first["id"]
    assert all(r["updated_at"] < stamp for r in excluding["data"])


def test_events_window_applies_to_occurred_at(api, session):
    since, before = "2024-01-07T00:00:00Z", "2024-01-07T01:00:00Z"
    records, _ = walk(
        session,
        f"{api.url}/v1/events",
        "cursor",
        {"updated_since": since, "updated_before": before, "limit": 1000},
    )
    assert [r["event_id"] for r in records] == list(
        range(86_401 - 1, 87_001 - 1)
    )  # 600 events an hour, one per 6 s
    assert records[0]["occurred_at"] == "2024-01-07T00:00:00Z"
    assert records[-1]["occurred_at"] == "2024-01-07T00:59:54Z"


def test_bulk_is_sized_by_records_and_windowed_by_id(api, session):
    records, requests_made = walk(session, f"{api.url}/v1/bulk", "cursor", {"records": 2500, "limit": 1000})
    assert [r["id"] for r in records] == list(range(1, 2501))
    assert requests_made == 3
    body = session.get(
        f"{api.url}/v1/bulk",
        params={
            "records": 2500,
            "updated_since": "2024-01-01T00:00:10Z",
            "updated_before": "2024-01-01T00:00:13Z",
        },
    ).json()
    assert [r["id"] for r in body["data"]] == [10, 11, 12]


def test_include_deleted_false_leaves_deleted_records_out(api, session):
    flagged, _ = walk(session, f"{api.url}/v1/customers", "cursor", {"limit": 1000})
    missing, _ = walk(
        session, f"{api.url}/v1/customers", "cursor", {"limit": 1000, "include_deleted": "false"}
    )
    deleted = {r["id"] for r in flagged if r["is_deleted"]}
    assert len(deleted) == 37
    assert [r for r in flagged if not r["is_deleted"]] == missing


def test_graphql_relay_cursor_walk(api, session):
    query = """query Customers($after: String) {
      customers(first: 500, after: $after, asOf: "2024-01-08T00:00:00Z") {
        totalCount
        edges { cursor node { id email status updated_at is_deleted } }
        pageInfo { hasNextPage endCursor }
      }
    }"""
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        resp = session.post(f"{api.url}/graphql", json={"query": query, "variables": {"after": after}})
        conn = resp.json()["data"]["customers"]
        assert conn["totalCount"] == 1839
        nodes += [edge["node"] for edge in conn["edges"]]
        assert conn["pageInfo"]["endCursor"] == conn["edges"][-1]["cursor"]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    fields = ("id", "email", "status", "updated_at", "is_deleted")
    assert nodes == [{k: r[k] for k in fields} for r in expected("customers")]


def test_graphql_window_aliases_and_literal_arguments(api, session):
    query = '{ recent: orders(first: 3, asOf: "2024-01-08T00:00:00Z", updatedSince: "2024-01-07T12:00:00Z") { nodes { id status } pageInfo { hasNextPage } } }'
    data = session.post(f"{api.url}/graphql", json={"query": query}).json()["data"]
    want = expected("orders", since="2024-01-07T12:00:00Z")[:3]
    assert data == {
        "recent": {
            "nodes": [{"id": r["id"], "status": r["status"]} for r in want],
            "pageInfo": {"hasNextPage": True},
        }
    }


def test_graphql_unknown_field_is_an_error(api, session):
    body = session.post(
        f"{api.url}/graphql", json={"query": "{ customers(first: 1) { nodes { id salary } } }"}
    ).json()
    assert body == {"data": None, "errors": [{"message": "Cannot query field 'salary' on customers"}]}


def test_graphql_syntax_error_is_400(api, session):
    resp = session.post(f"{api.url}/graphql", json={"query": "{ customers(first: 1) { nodes { id }"})
    assert resp.status_code == 400
    assert "expected" in resp.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"paginate": "pages"}, "paginate must be one of page, offset, cursor, link, next_url; got 'pages'"),
        ({"limit": "0"}, "limit must be between 1 and 10000, got 0"),
        ({"cursor": "bm9wZQ"}, "invalid cursor: 'bm9wZQ'"),
        ({"updated_since": "yesterday"}, "updated_since: not an ISO-8601 timestamp: 'yesterday'"),
    ],
)
def test_bad_parameters_are_400_with_a_message(api, session, params, message):
    resp = session.get(f"{api.url}/v1/customers", params=params)
    assert resp.status_code == 400
    assert resp.json() == {"error": "bad_request", "message": message}


def test_unknown_resource_is_400(api, session):
    resp = session.get(f"{api.url}/v1/invoices")
    assert resp.status_code == 400
    assert resp.json()["message"] == "unknown resource 'invoices'; one of customers, orders, events, bulk"
