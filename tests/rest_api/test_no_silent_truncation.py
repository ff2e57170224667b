"""The defect this guards against: an API whose body says there is more, but whose cursor is not where
``cursor_path`` points, ended the extract after page 1, successfully, with 100 of 2,500 records. Now the
extract fails naming the page, the request, the path and what the body holds there, and commits nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_dataeng.hooks.rest_api import RestApiHook
from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator
from airflow_provider_dataeng.pagination import CursorPaginator, IncompletePaginationError
from tests.rest_api.conftest import FAST_RETRIES
from tests.rest_api.server import FixtureServer, stripe_list

CHARGES = [{"id": f"ch_{i:04d}", "amount": 100 + i, "currency": "usd"} for i in range(2500)]
# What the user configured: a cursor field the API does not send (Stripe sends none at all).
WRONG = CursorPaginator(cursor_path="next_cursor", cursor_param="starting_after", has_more_path="has_more")


def expected_message(server: FixtureServer) -> str:
    return (
        f"page 1 (GET {server.url}/v1/charges?limit=100): the API says there is more (has_more_path='has_more' "
        "is true) but cursor_path='next_cursor' is not in the body, so the next page cannot be requested; "
        "stopping here would silently drop the rest. Fix cursor_path to point at the cursor the API returns "
        "(list indexes reach into lists: 'data[-1].id' is the last record's id). Found: the body has no key "
        "'next_cursor' (its keys: ['data', 'has_more', 'object', 'url'])."
    )


def test_hook_fails_on_page_1_instead_of_returning_it_as_everything(server: FixtureServer, hook: RestApiHook) -> None:
    server.route("GET", "/v1/charges", stripe_list(CHARGES))
    got = []
    with pytest.raises(IncompletePaginationError) as err:
        for page in hook.paginate("/v1/charges", params={"limit": 100}, records_path="data", paginator=WRONG):
            got.append(page)
    assert str(err.value) == expected_message(server)
    assert got == [CHARGES[:100]]  # the one page read; the caller gets an error, not a short success
    assert [r.query for r in server.requests] == [{"limit": "100"}]


def test_operator_fails_and_commits_nothing(server: FixtureServer, connection, tmp_path: Path) -> None:
    connection("stripe")
    server.route("GET", "/v1/charges", stripe_list(CHARGES))
    out = tmp_path / "charges"
    extract = RestApiExtractOperator(
        task_id="extract_charges", http_conn_id="stripe", endpoint="/v1/charges", query_params={"limit": 100},
        records_path="data", paginator=WRONG, destination=f"file://{out}/", aws_conn_id=None,
        http_retry_policy=FAST_RETRIES,
    )
    with pytest.raises(IncompletePaginationError) as err:
        extract.execute({})
    assert str(err.value) == expected_message(server)
    assert not out.exists() or sorted(p.name for p in out.rglob("*")) == []  # no manifest, no part, no staging


def test_failed_rerun_withdraws_the_earlier_manifest(server: FixtureServer, connection, tmp_path: Path) -> None:
    """A re-run of the interval that hits the defect must not leave the earlier run's manifest as current."""
    connection("stripe")
    out = tmp_path / "charges"
    server.route("GET", "/v1/charges", stripe_list(CHARGES[:50]))
    RestApiExtractOperator(
        task_id="extract_charges", http_conn_id="stripe", endpoint="/v1/charges", query_params={"limit": 100},
        records_path="data", paginator=WRONG, destination=f"file://{out}/", aws_conn_id=None,
    ).execute({})
    assert json.loads((out / "_manifest.json").read_text())["records"] == 50
    server.route("GET", "/v1/charges", stripe_list(CHARGES))
    with pytest.raises(IncompletePaginationError):
        RestApiExtractOperator(
            task_id="extract_charges", http_conn_id="stripe", endpoint="/v1/charges", query_params={"limit": 100},
            records_path="data", paginator=WRONG, destination=f"file://{out}/", aws_conn_id=None,
        ).execute({})
    assert sorted(p.name for p in out.iterdir()) == ["part-00000.jsonl.zst"]  # the old part, no manifest
