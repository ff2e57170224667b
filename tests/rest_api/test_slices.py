"""Sliced windows (``slices=WindowSlices(...)``): a cursor API's window read as sub-windows side by side.

Pure cutting rules first, then the operator against a cursor API on the real fixture server whose records
are filtered by an ``updated_since`` (inclusive) / ``updated_before`` (exclusive) window.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_dataeng.hooks.rest_api import RestApiHTTPError
from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator
from airflow_provider_dataeng.pagination import CursorPaginator, WindowSlices, cut_window
from tests.rest_api.conftest import FAST_RETRIES, folder_bytes
from tests.rest_api.server import FixtureServer, InFlight, Request

EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)
# 600 records over 10 hours, two every two minutes (one of them on a slice boundary: 02:30:00, 05:00:00, ...), several on the same second, sorted by (updated_at, id) as the API sorts them
RECORDS = [
    {"id": i, "updated_at": (EPOCH + timedelta(seconds=120 * (i // 2) + (i * 7) % 3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
     "amount": f"{i * 3}.{i % 100:02d}"}
    for i in range(600)
]
RECORDS.sort(key=lambda r: (r["updated_at"], r["id"]))
WINDOW = {"updated_since": "2024-01-01T00:00:00Z", "updated_before": "2024-01-01T10:00:00Z"}


# -- cutting (pure) -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "end", "count", "expected"),
    [
        ("2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", 4,
         ["2024-01-01T00:00:00Z", "2024-01-01T06:00:00Z", "2024-01-01T12:00:00Z", "2024-01-01T18:00:00Z",
          "2024-01-02T00:00:00Z"]),
        ("2024-01-01T00:00:00+02:00", "2024-01-01T01:00:00+02:00", 2,
         ["2024-01-01T00:00:00+02:00", "2024-01-01T00:30:00+02:00", "2024-01-01T01:00:00+02:00"]),
        ("2024-01-01 00:00:00", "2024-01-01 00:00:03", 2,
         ["2024-01-01 00:00:00", "2024-01-01 00:00:01", "2024-01-01 00:00:03"]),  # whole seconds, as given
        ("2024-01-01T00:00:00.000Z", "2024-01-01T00:00:01.000Z", 4,
         ["2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00.250000Z", "2024-01-01T00:00:00.500000Z",
          "2024-01-01T00:00:00.750000Z", "2024-01-01T00:00:01.000Z"]),
        ("2024-01-01", "2024-01-08", 3, ["2024-01-01", "2024-01-03", "2024-01-05", "2024-01-08"]),
        ("1700000000", "1700000100", 3, ["1700000000", "1700000033", "1700000066", "1700000100"]),
        (0, 10, 4, [0, 2, 5, 7, 10]),
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:02Z", 5,  # two whole seconds: two slices, not five
         ["2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z", "2024-01-01T00:00:02Z"]),
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", 3, ["2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"]),
    ],
)
def test_cut_window(start, end, count, expected) -> None:
    assert cut_window(start, end, count) == expected


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2024-01-02T00:00:00Z", "2024-01-01T00:00:00Z", "the window ends .* before it starts"),
        ("yesterday", "2024-01-01T00:00:00Z", "'yesterday' is not an ISO 8601 time"),
        ("2024-01-01", "2024-01-02T00:00:00Z", "not the same kind of value"),
        ("2024-01-01T00:00:00Z", "2024-01-02T00:00:00", "one has a time zone and the other has none"),
    ],
)
def test_cut_window_refuses(start, end, message) -> None:
    with pytest.raises(ValueError, match=message):
        cut_window(start, end, 2)


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1)),
    span=st.integers(min_value=0, max_value=10**8),
    count=st.integers(min_value=1, max_value=64),
    style=st.sampled_from(["Z", "+00:00", "-05:00", "naive", "date", "epoch"]),
)
def test_slices_tile_the_window_exactly(start: datetime, span: int, count: int, style: str) -> None:
    """Any window: boundaries rise strictly from its start to its end, at most ``count`` slices, each value
    parses back to the instant it names, in the format of the start."""
    start = start.replace(microsecond=0)
    end = start + timedelta(seconds=span)
    if style == "date":
        low, high = start.date().isoformat(), (start.date() + timedelta(days=span % 4000)).isoformat()
    elif style == "epoch":
        low, high = str(int(start.timestamp())), str(int(start.timestamp()) + span)
    else:
        zone = None if style == "naive" else timezone(timedelta(hours=-5) if style == "-05:00" else timedelta(0))
        low, high = (t.replace(tzinfo=zone).isoformat() for t in (start, end))
        if style == "Z":
            low, high = (t.replace("+00:00", "Z") for t in (low, high))
    bounds = cut_window(low, high, count)
    assert bounds[0] == low and bounds[-1] == high
    assert 2 <= len(bounds) <= count + 1
    keys = [_instant(b, style) for b in bounds]
    assert keys == sorted(keys) and (len(set(keys)) == len(keys) or low == high)
    assert all(type(b) is type(low) and (style != "Z" or b.endswith("Z")) for b in bounds)


def _instant(value: str, style: str):
    if style == "date":
        return date.fromisoformat(value)
    if style == "epoch":
        return int(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_window_slices_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="count must be a positive integer, got 0"):
        WindowSlices("updated_since", "updated_before", 0)
    with pytest.raises(ValueError, match="two different query parameters"):
        WindowSlices("t", "t", 2)
    with pytest.raises(ValueError, match=r"query_params\['updated_before'\], which is not set"):
        WindowSlices("updated_since", "updated_before", 2).cut({"updated_since": "2024-01-01"})


# -- the operator ---------------------------------------------------------------------------------------
def window_api(server: FixtureServer, *, flight: InFlight | None = None, fail_since: str | None = None) -> None:
    """Cursor pages of 25 over the records in ``[updated_since, updated_before)``, 10 ms per page."""
    flight = flight or InFlight()

    def handler(request: Request):
        with flight:
            time.sleep(0.01)
            since, before = request.query["updated_since"], request.query["updated_before"]
            if since == fail_since:
                return 400, {}, {"error": "bad window"}
            chosen = [r for r in RECORDS if since <= r["updated_at"] < before]
            start = int(request.query.get("cursor") or 0)
            more = start + 25 < len(chosen)
            return 200, {}, {"data": chosen[start : start + 25], "next": str(start + 25) if more else None}

    server.route("GET", "/changes", handler)


def extract(conn: str, root: Path, **kwargs) -> dict:
    defaults = dict(
        task_id="extract", http_conn_id=conn, endpoint="/changes", records_path="data", query_params=WINDOW,
        paginator=CursorPaginator(cursor_path="next"), destination=f"file://{root}/", aws_conn_id=None,
        http_retry_policy=FAST_RETRIES, max_records_per_file=40,
    )
    return RestApiExtractOperator(**{**defaults, **kwargs}).execute({})


def read_records(root: Path, manifest: dict) -> list[dict]:
    out = []
    for entry in manifest["files"]:
        with Path(entry["uri"].removeprefix("file://")).open("rb") as f:
            data = zstandard.ZstdDecompressor().stream_reader(f).read()
        out.extend(json.loads(line) for line in data.splitlines())
    return out


def test_sliced_extract_lands_the_window_in_order_and_concurrently(server, connection, tmp_path) -> None:
    conn = connection("api")
    flight = InFlight()
    window_api(server, flight=flight)
    whole = extract(conn, tmp_path / "whole")
    assert flight.peak == 1
    slices = WindowSlices("updated_since", "updated_before", 4)
    extract(conn, tmp_path / "c1", slices=slices, max_concurrency=1)
    concurrent = extract(conn, tmp_path / "c4", slices=slices, max_concurrency=4)
    assert flight.peak >= 2
    # the very same files, byte for byte, whatever the concurrency
    assert folder_bytes(tmp_path / "c4") == folder_bytes(tmp_path / "c1")
    # every record of the window exactly once, in the window's order (the slices tile it)
    assert read_records(tmp_path / "c4", concurrent) == read_records(tmp_path / "whole", whole) == [
        r for r in RECORDS if WINDOW["updated_since"] <= r["updated_at"] < WINDOW["updated_before"]
    ]
    hours = ["00", "02:30", "05", "07:30", "10"]
    bounds = [f"2024-01-01T{h if ':' in h else h + ':00'}:00Z" for h in hours]
    per_slice = [sum(1 for r in RECORDS if lo <= r["updated_at"] < hi) for lo, hi in zip(bounds, bounds[1:])]
    assert concurrent["slices"] == [
        {"updated_since": lo, "updated_before": hi, "records": n, "pages": max(1, -(-n // 25)), "files": -(-n // 40)}
        for lo, hi, n in zip(bounds, bounds[1:], per_slice)
    ]
    assert any(r["updated_at"] == bounds[1] for r in RECORDS)  # a record on a boundary lands once, in the later slice
    assert concurrent["records"] == 600 and concurrent["pages"] == sum(max(1, -(-n // 25)) for n in per_slice)
    assert json.loads((tmp_path / "c4" / "_manifest.json").read_text())["slices"] == concurrent["slices"]


def test_a_failing_slice_commits_nothing(server, connection, tmp_path) -> None:
    window_api(server, fail_since="2024-01-01T05:00:00Z")
    with pytest.raises(RestApiHTTPError, match="HTTP 400"):
        extract(connection("api"), tmp_path / "out", slices=WindowSlices("updated_since", "updated_before", 4),
                max_concurrency=4)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"slices": 4}, TypeError, "slices must be a WindowSlices"),
        ({"slices": WindowSlices("since", "updated_before", 2)}, ValueError, "query_params has no 'since': add it"),
        ({"slices": WindowSlices("updated_since", "updated_before", 2), "part_format": "parquet",
          "on_type_conflict": "string"}, ValueError, "slices with part_format='parquet' need on_type_conflict='fail'"),
    ],
)
def test_bad_slices_fail_at_construction(kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        RestApiExtractOperator(task_id="t", endpoint="/x", destination="file:///tmp/x/", query_params=WINDOW, **kwargs)
