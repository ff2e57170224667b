"""Hostile API bodies: oversized pages, deeply nested JSON, invalid UTF-8, records without their key, and
an empty page that says there is more. Each lands exactly the right data or fails naming the page and the
problem, with no manifest committed. A programmable HTTP server on 127.0.0.1 serves the bodies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zstandard

from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator
from airflow_provider_dataeng.pagination import CursorPaginator, PageShapeError
from tests.reliability.conftest import RETRIES
from tests.rest_api.server import FixtureServer


@pytest.fixture(scope="module")
def server() -> Iterator[FixtureServer]:
    server = FixtureServer().start()
    patch = pytest.MonkeyPatch()
    patch.setenv("AIRFLOW_CONN_HOSTILE_API", json.dumps(
        {"conn_type": "rest_api", "host": "127.0.0.1", "port": server.port, "schema": "http"}))
    yield server
    patch.undo()
    server.stop()


def serve(server: FixtureServer, *bodies: bytes) -> None:
    """``/items`` answers page ``n`` (cursor ``n``) with ``bodies[n]``."""
    server.reset()

    def handler(request: Any) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "application/json"}, bodies[int(request.query.get("cursor", 0))]

    server.route("GET", "/items", handler)


def page(records: list[Any], next_cursor: int | None) -> bytes:
    return json.dumps({"data": records, "has_more": next_cursor is not None, "next": next_cursor}).encode()


def extract(tmp_path: Path, **kwargs: Any) -> dict:
    return RestApiExtractOperator(
        task_id="extract", http_conn_id="hostile_api", endpoint="/items", records_path="data",
        paginator=CursorPaginator(cursor_path="next", has_more_path="has_more"),
        destination=f"file://{tmp_path}/out/", aws_conn_id=None, http_retry_policy=RETRIES, **kwargs,
    ).execute({})


def landed(tmp_path: Path) -> list[Any]:
    out = []
    for part in sorted((tmp_path / "out").glob("part-*")):
        data = zstandard.ZstdDecompressor().stream_reader(part.open("rb")).read()
        out += [json.loads(line) for line in data.splitlines()]
    return out


def committed(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "out").iterdir()) if (tmp_path / "out").exists() else []


def test_oversized_page_lands_completely(server, tmp_path) -> None:
    """One 40 MB page (80,000 records): read whole, landed exactly, split into part files."""
    records = [{"id": i, "notes": f"{i:08d}" + "x" * 480} for i in range(80_000)]
    body = page(records, None)
    assert len(body) > 40_000_000
    serve(server, body)
    manifest = extract(tmp_path, max_records_per_file=30_000)
    assert landed(tmp_path) == records
    assert (manifest["records"], len(manifest["files"]), manifest["pages"]) == (80_000, 3, 1)


def test_deeply_nested_json_fails_clearly(server, tmp_path) -> None:
    nested = b'{"data": [{"id": 1, "v": ' + b"[" * 5000 + b"]" * 5000 + b"}], \"has_more\": false}"
    serve(server, page([{"id": 0}], 1), nested)
    with pytest.raises(PageShapeError, match=r"^page 2 \(http://127\.0\.0\.1:\d+/items\?cursor=1, HTTP 200, "
                                             r"Content-Type application/json\): the body nests JSON arrays/objects "
                                             r"too deeply to decode"):
        extract(tmp_path)
    assert committed(tmp_path) == []


@pytest.mark.parametrize("transform", [None, lambda r: r], ids=["raw records", "with transform"])
@pytest.mark.parametrize("bad", [b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"caf\xe9"],
                         ids=["0xff", "bad continuation", "surrogate", "latin-1"])
def test_invalid_utf8_fails_clearly(server, tmp_path, bad: bytes, transform: Any) -> None:
    """Raw records are copied byte for byte: without a UTF-8 check they would land and break the COPY later."""
    body = b'{"data": [{"id": 1, "name": "' + bad + b'"}], "has_more": false, "next": null}'
    serve(server, page([{"id": 0}], 1), body)
    with pytest.raises(PageShapeError, match=r"^page 2 \(.*\): the body is not valid UTF-8 \(byte 0x[0-9a-f]{2} at "
                                             r"offset \d+: .*\); JSON must be UTF-8"):
        extract(tmp_path, transform=transform)
    assert committed(tmp_path) == []


def test_valid_non_ascii_utf8_lands_unchanged(server, tmp_path) -> None:
    records = [{"id": 1, "name": "Zoë Ñandú 日本 🚀"}, {"id": 2, "name": "\u2028"}]
    serve(server, json.dumps({"data": records, "has_more": False}, ensure_ascii=False).encode())
    extract(tmp_path)
    assert landed(tmp_path) == records


BAD_RECORDS = [({"name": "no id"}, "has no value for 'id'"), ({"id": None}, "has no value for 'id'"),
               ({"id": 3, "tenant": None}, "has no value for 'tenant'")]


@pytest.mark.parametrize(
    ("bad_record", "problem", "transform"),
    [*[(r, p, None) for r, p in BAD_RECORDS], ([1, 2], "is a JSON list, not an object", None),
     *[(r, p, lambda rec: rec) for r, p in BAD_RECORDS], ([1, 2], "is a JSON list, not an object", lambda rec: rec)],
    ids=["raw: no id", "raw: null id", "raw: null tenant", "raw: not an object",
         "transform: no id", "transform: null id", "transform: null tenant", "transform: not an object"],
)
def test_record_key_refuses_records_without_the_key(server, tmp_path, bad_record: Any, problem: str,
                                                    transform: Any) -> None:
    serve(server, page([{"id": 0, "tenant": "a"}], 1),
          page([{"id": 1, "tenant": "a"}, bad_record], None))
    with pytest.raises(ValueError) as err:
        extract(tmp_path, record_key=["id", "tenant"], transform=transform)
    assert str(err.value) == (
        f"page 2 (http://127.0.0.1:{server.port}/items?cursor=1): record 1 {problem}; record_key=['id', 'tenant'] "
        "must be present and non-null in every record. Nothing was committed."
    )
    assert committed(tmp_path) == []


def test_record_key_is_validated_at_construction() -> None:
    with pytest.raises(ValueError, match=r"record_key must be a field name or a list of field names, got \['id', ''\]"):
        RestApiExtractOperator(task_id="e", endpoint="/x", destination="s3://b/x/", record_key=["id", ""])


def test_empty_page_saying_has_more_is_followed(server, tmp_path) -> None:
    """An explicit has_more=true wins over stopping at an empty page (which silently dropped the rest)."""
    serve(server, page([{"id": 1}], 1), page([], 2), page([{"id": 2}], None))
    manifest = extract(tmp_path, record_key="id")
    assert landed(tmp_path) == [{"id": 1}, {"id": 2}]
    assert manifest["pages"] == 3


def test_empty_page_without_has_more_still_stops(server, tmp_path) -> None:
    serve(server, json.dumps({"data": [{"id": 1}], "next": 1}).encode(), json.dumps({"data": [], "next": 2}).encode())
    manifest = RestApiExtractOperator(
        task_id="extract", http_conn_id="hostile_api", endpoint="/items", records_path="data",
        paginator=CursorPaginator(cursor_path="next"), destination=f"file://{tmp_path}/out/", aws_conn_id=None,
    ).execute({})
    assert (manifest["records"], manifest["pages"]) == (1, 2)
