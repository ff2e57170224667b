"""Data as a pure function of (seed, time): exact values, determinism, and changes between runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from dataeng_local.demo_api import DataShape, DemoApiConfig
from dataeng_local.demo_api.arrivals import Arrivals
from dataeng_local.demo_api.server import ThreadedServer, serve_in_thread

AUTH = {"Authorization": "Bearer dataeng-local-token"}
UPDATED = 430  # customers updated (not created, not deleted) in the two days
T1, T2 = "2024-01-08T00:00:00Z", "2024-01-10T00:00:00Z"


@pytest.fixture(scope="module")
def api() -> Iterator[ThreadedServer]:
    with serve_in_thread(DemoApiConfig()) as server:
        yield server


def fetch_all(url: str, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    with requests.Session() as s:
        while True:
            body = s.get(
                url,
                headers=AUTH,
                params={"limit": 10_000, **params, **({"cursor": cursor} if cursor else {})},
            ).json()
            out += body["data"]
            if not body["has_more"]:
                return out
            cursor = body["next_cursor"]


def test_exact_records_for_seed_42(api):
    customers = fetch_all(f"{api.url}/v1/customers", as_of=T1)
    orders = fetch_all(f"{api.url}/v1/orders", as_of=T1)
    assert next(c for c in customers if c["id"] == 5) == {
        "id": 5,
        "email": "yuki.haddad.5@mail.example",
        "name": "Yuki Haddad",
        "country": "SE",
        "status": "inactive",
        "created_at": "2023-12-18T01:20:38Z",
        "updated_at": "2024-01-04T05:29:07Z",
        "is_deleted": False,
    }
    assert next(o for o in orders if o["id"] == 5) == {
        "id": 5,
        "customer_id": 1,
        "status": "delivered",
        "amount": "55.02",
        "currency": "BRL",
        "ordered_at": "2023-12-18T00:16:07Z",
        "updated_at": "2023-12-20T22:55:25Z",
        "is_deleted": False,
    }


def test_orders_reference_customers_that_exist_and_amounts_have_two_decimals(api):
    customers = {c["id"]: c for c in fetch_all(f"{api.url}/v1/customers", as_of=T1, include_deleted="false")}
    orders = fetch_all(f"{api.url}/v1/orders", as_of=T1)
    assert all(o["customer_id"] in customers for o in orders)
    assert all(customers[o["customer_id"]]["created_at"] <= o["ordered_at"] for o in orders)
    assert all(o["amount"].count(".") == 1 and len(o["amount"].split(".")[1]) == 2 for o in orders)
    assert {o["status"] for o in orders} == {"placed", "shipped", "delivered", "cancelled"}
    assert {c["status"] for c in customers.values()} == {"active", "inactive", "churned"}


def test_same_seed_and_time_give_identical_bytes_across_servers(api):
    params: dict[str, Any] = {"as_of": T1, "limit": 1000, "paginate": "offset", "offset": 3000}
    with serve_in_thread(DemoApiConfig()) as other:
        a = requests.get(f"{api.url}/v1/orders", headers=AUTH, params=params).content
        b = requests.get(f"{other.url}/v1/orders", headers=AUTH, params=params).content
    assert a == b
    with serve_in_thread(DemoApiConfig(shape=DataShape(seed=7))) as different:
        c = requests.get(f"{different.url}/v1/orders", headers=AUTH, params=params).content
    assert c != a


def test_changes_between_two_runs_are_exactly_the_window(api):
    """Records differing between T1 and T2 are exactly those with T1 <= updated_at < T2 at T2."""
    url = f"{api.url}/v1/customers"
    before = {r["id"]: r for r in fetch_all(url, as_of=T1)}
    after = {r["id"]: r for r in fetch_all(url, as_of=T2)}
    changed = {i for i, r in after.items() if before.get(i) != r}
    window = fetch_all(url, as_of=T2, updated_since=T1, updated_before=T2)
    assert {r["id"] for r in window} == changed
    assert all(after[i]["updated_at"] > before[i]["updated_at"] for i in changed if i in before)
    assert set(before) <= set(after)
    assert len(after) - len(before) == 240  # 5 new customers per hourly run
    deleted = {i for i in changed if after[i]["is_deleted"]}
    assert deleted == {
        i for i, r in after.items() if r["is_deleted"] and not before.get(i, {}).get("is_deleted")
    }
    assert len(deleted) == 3
    assert len(changed - deleted - (set(after) - set(before))) == UPDATED
    hidden = fetch_all(url, as_of=T2, updated_since=T1, updated_before=T2, include_deleted="false")
    assert {r["id"] for r in hidden} == changed - deleted


def test_events_are_append_only(api):
    early = fetch_all(f"{api.url}/v1/events", as_of="2024-01-01T01:00:00Z")
    later = fetch_all(f"{api.url}/v1/events", as_of="2024-01-01T02:00:00Z")
    assert later[: len(early)] == early
    assert (len(early), len(later)) == (599, 1199)  # the event at exactly 01:00:00 is not yet visible
    assert [e["event_id"] for e in later] == list(range(1, 1200))


def test_admin_clock_moves_the_default_time():
    with serve_in_thread(DemoApiConfig()) as server:
        assert requests.get(f"{server.url}/admin/clock").json()["as_of"] == T1
        moved = requests.post(f"{server.url}/admin/clock", json={"advance_runs": 24}).json()
        assert (moved["as_of"], moved["run"]) == ("2024-01-09T00:00:00Z", 192)
        by_clock = requests.get(f"{server.url}/v1/orders", headers=AUTH, params={"limit": "50"}).content
        by_param = requests.get(
            f"{server.url}/v1/orders", headers=AUTH, params={"limit": "50", "as_of": "2024-01-09T00:00:00Z"}
        ).content
        assert by_clock == by_param
        assert requests.post(f"{server.url}/admin/clock", json={"as_of": T1}).json()["as_of"] == T1
        assert requests.post(f"{server.url}/admin/clock", json={}).status_code == 400


@pytest.mark.parametrize(
    "args", [(1_704_067_200, 3600, 1000, 5, 1_209_600), (1_704_067_200, 3600, 0, 600, 1_209_600)]
)
def test_arrivals_count_matches_creation_times(args):
    arrivals = Arrivals(*args)
    for t in range(args[0] - args[4] - 10, args[0] + 20_000, 97):
        n = arrivals.count(t)
        assert (n == 0 or arrivals.created_at(n) <= t) and arrivals.created_at(n + 1) > t
