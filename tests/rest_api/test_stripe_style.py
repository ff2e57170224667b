"""A Stripe-style list API end to end: no cursor field in the body, the next cursor is the last record's
``id`` sent back as ``starting_after``, and ``has_more`` says when to stop. Served over HTTP on 127.0.0.1,
read through the hook and landed by the operator on file:// and on S3 (moto), record for record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zstandard

from airflow_provider_dataeng.hooks.rest_api import RestApiHook
from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator
from airflow_provider_dataeng.pagination import CursorPaginator, IncompletePaginationError
from tests.rest_api.conftest import FAST_RETRIES, free_port
from tests.rest_api.server import FixtureServer, Request, stripe_list

CHARGES = [
    {"id": f"ch_{i:04d}", "object": "charge", "amount": 100 + i, "currency": "usd", "paid": i % 7 != 0,
     "metadata": {"order": i, "note": "é" * (i % 3)}}
    for i in range(2500)
]
STRIPE = CursorPaginator(cursor_path="data[-1].id", cursor_param="starting_after", has_more_path="has_more")
EXPECTED_AFTER = [None] + [f"ch_{i:04d}" for i in range(99, 2499, 100)]  # the last id of each page


def test_hook_reads_every_charge_in_order(server: FixtureServer, hook: RestApiHook) -> None:
    server.route("GET", "/v1/charges", stripe_list(CHARGES))
    pages = list(hook.paginate("/v1/charges", params={"limit": 100}, records_path="data", paginator=STRIPE))
    assert [len(p) for p in pages] == [100] * 25
    assert [r for p in pages for r in p] == CHARGES
    assert [r.query.get("starting_after") for r in server.requests] == EXPECTED_AFTER
    assert all(r.query["limit"] == "100" for r in server.requests)


def test_hook_raw_pages_pick_the_cursor_from_the_split_records(server: FixtureServer, hook: RestApiHook) -> None:
    server.route("GET", "/v1/charges", stripe_list(CHARGES))
    pages = list(hook.iter_pages("/v1/charges", params={"limit": 100}, records_path="data", paginator=STRIPE))
    assert [json.loads(bytes(r)) for p in pages for r in p.records] == CHARGES
    assert [p.number for p in pages] == list(range(1, 26))


def test_a_last_page_that_is_exactly_full_stops_on_has_more(server: FixtureServer, hook: RestApiHook) -> None:
    server.route("GET", "/v1/charges", stripe_list(CHARGES[:200]))
    pages = list(hook.paginate("/v1/charges", params={"limit": 100}, records_path="data", paginator=STRIPE))
    assert [r for p in pages for r in p] == CHARGES[:200]
    assert len(server.requests) == 2  # has_more false on page 2: no third request


def read_parts(files: list[Path]) -> list[dict]:
    out = []
    for part in files:
        data = zstandard.ZstdDecompressor().stream_reader(part.open("rb")).read()
        out += [json.loads(line) for line in data.splitlines()]
    return out


def extract(destination: str, **kwargs: Any) -> dict:
    return RestApiExtractOperator(
        task_id="extract_charges", http_conn_id="stripe", endpoint="/v1/charges", query_params={"limit": 100},
        records_path="data", paginator=STRIPE, destination=destination, http_retry_policy=FAST_RETRIES,
        max_records_per_file=1000, **kwargs,
    ).execute({})


def test_operator_lands_all_2500_charges_on_file(server: FixtureServer, connection, tmp_path: Path) -> None:
    connection("stripe", password="sk_test_stripe_secret_1", extra={"auth_type": "bearer"})
    seen_auth = []

    def handler(request: Request):
        seen_auth.append(request.headers.get("authorization"))
        return stripe_list(CHARGES)(request)

    server.route("GET", "/v1/charges", handler)
    out = tmp_path / "charges"
    manifest = extract(f"file://{out}/", aws_conn_id=None)
    parts = [out / f"part-{i:05d}.jsonl.zst" for i in range(3)]
    assert read_parts(parts) == CHARGES
    assert manifest == {
        "destination": f"file://{out}/",
        "files": [{"uri": f"file://{p}", "records": n, "bytes": p.stat().st_size} for p, n in zip(parts, [1000, 1000, 500])],
        "records": 2500, "pages": 25, "format": "jsonl", "compression": "zstd",
    }
    assert sorted(p.name for p in out.iterdir()) == ["_manifest.json", *[p.name for p in parts]]
    assert [r.query.get("starting_after") for r in server.requests] == EXPECTED_AFTER
    assert seen_auth == ["Bearer sk_test_stripe_secret_1"] * 25


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[Any]:
    """A moto S3 server on 127.0.0.1 with a ``landing`` bucket; the ``aws_moto`` connection points at it."""
    import s3fs
    from moto.server import ThreadedMotoServer

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    patch = pytest.MonkeyPatch()
    patch.setenv("AIRFLOW_CONN_AWS_MOTO", json.dumps({
        "conn_type": "aws", "login": "local", "password": "local",
        "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"}}))
    fs = s3fs.S3FileSystem(key="local", secret="local", client_kwargs={"endpoint_url": endpoint,
                                                                       "region_name": "us-east-1"})
    import boto3

    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="local", aws_secret_access_key="local",
                 region_name="us-east-1").create_bucket(Bucket="landing")
    yield fs
    patch.undo()
    moto.stop()


def test_operator_lands_all_2500_charges_on_s3(server: FixtureServer, connection, moto_s3: Any) -> None:
    connection("stripe")
    server.route("GET", "/v1/charges", stripe_list(CHARGES))
    manifest = extract("s3://landing/stripe/charges/2024-01-05/", aws_conn_id="aws_moto")
    names = [f"part-{i:05d}.jsonl.zst" for i in range(3)]
    assert sorted(p.rsplit("/", 1)[1] for p in moto_s3.ls("landing/stripe/charges/2024-01-05/", refresh=True)) == [
        "_manifest.json", *names]
    landed = []
    for name in names:
        data = zstandard.ZstdDecompressor().decompress(
            moto_s3.cat(f"landing/stripe/charges/2024-01-05/{name}"), max_output_size=10**8)
        landed += [json.loads(line) for line in data.splitlines()]
    assert landed == CHARGES
    assert [(f["uri"], f["records"]) for f in manifest["files"]] == [
        (f"s3://landing/stripe/charges/2024-01-05/{n}", r) for n, r in zip(names, [1000, 1000, 500])]
    assert json.loads(moto_s3.cat("landing/stripe/charges/2024-01-05/_manifest.json")) == manifest


def test_an_empty_page_saying_has_more_fails_on_s3_and_commits_nothing(server: FixtureServer, connection,
                                                                         moto_s3: Any) -> None:
    """An API that answers has_more=true with no records leaves no last id to continue from."""
    connection("stripe")
    normal = stripe_list(CHARGES)

    def handler(request: Request):
        if request.query.get("starting_after") == "ch_0199":
            return 200, {}, {"object": "list", "url": "/v1/charges", "has_more": True, "data": []}
        return normal(request)

    server.route("GET", "/v1/charges", handler)
    with pytest.raises(IncompletePaginationError) as err:
        extract("s3://landing/stripe/broken/", aws_conn_id="aws_moto")
    assert str(err.value) == (
        f"page 3 (GET {server.url}/v1/charges?limit=100&starting_after=ch_0199): the API says there is more "
        "(has_more_path='has_more' is true) but cursor_path='data[-1].id' is not in the body, so the next page "
        "cannot be requested; stopping here would silently drop the rest. Fix cursor_path to point at the cursor "
        "the API returns (list indexes reach into lists: 'data[-1].id' is the last record's id). Found: data is "
        "an empty list."
    )
    assert not moto_s3.exists("landing/stripe/broken/") or moto_s3.find("landing/stripe/broken/") == []
