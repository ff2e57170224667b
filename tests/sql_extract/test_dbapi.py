"""Best-effort reading of other DB-API databases: the Python row encoder and statement (pure), and a real
SQLite database through common-sql's SqliteHook, landed in local part files."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dataeng.operators.sql_extract import SqlExtractOperator
from airflow_provider_dataeng.sql_source.dbapi import RowEncoder, render_name, select
from tests.sql_extract.conftest import context
from tests.sql_extract.test_extract import END, START, run_context


def test_python_values_follow_the_type_table() -> None:
    encode = RowEncoder(["i", "f", "nan", "inf", "d", "dn", "aware", "naive", "day", "t", "td", "b", "u", "j", "n"])
    row = (9007199254740993, 0.1, float("nan"), float("-inf"), Decimal("12.50"), Decimal("Infinity"),
           datetime(2024, 1, 1, 5, tzinfo=timezone(timedelta(hours=2))), datetime(2024, 1, 1, 0, 0, 0, 1),
           date(2024, 2, 29), time(3, 4, 5, 6), timedelta(days=1, seconds=5), b"\x00\xff\\",
           uuid.UUID(int=1), {"a": [1, None]}, None)
    assert encode(row) == (
        b'{"i":9007199254740993,"f":0.1,"nan":"NaN","inf":"-inf","d":"12.50","dn":"inf",'
        b'"aware":"2024-01-01T03:00:00+00:00","naive":"2024-01-01T00:00:00.000001","day":"2024-02-29",'
        b'"t":"03:04:05.000006","td":"P1DT5S","b":"00ff5c","u":"00000000-0000-0000-0000-000000000001",'
        b'"j":{"a":[1,null]},"n":null}'
    )
    with pytest.raises(ValueError, match="a row has 1 values for 15 columns"):
        encode((1,))


def test_statement_and_names_as_written() -> None:
    assert select(table="sales.orders", sql=None) == "SELECT * FROM sales.orders"
    assert select(table="orders", sql=None, columns=["id", '"Total"'], watermark=["updated_at"], placeholder="?") == (
        'SELECT id, "Total" FROM orders WHERE updated_at >= ? AND updated_at < ?'
    )
    assert select(table=None, sql="SELECT a FROM t;", watermark=["u", "c"]) == (
        "SELECT * FROM (SELECT a FROM t) src WHERE COALESCE(u, c) >= %s AND COALESCE(u, c) < %s"
    )
    assert render_name([("Sales", False), ("Odd Name", True)], "`{}`") == "Sales.`Odd Name`"
    with pytest.raises(ValueError, match="quote character"):
        render_name([("a`b", True)], "`{}`")


@pytest.fixture
def lite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A SQLite database reached through the ``lite`` connection (common-sql's SqliteHook)."""
    path = tmp_path / "source.db"
    with sqlite3.connect(path) as db:
        db.execute('CREATE TABLE "Odd Events" (id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB, '
                   "updated_at TEXT)")
        db.executemany('INSERT INTO "Odd Events" VALUES (?, ?, ?, ?, ?)', [
            (1, "before", 1.5, b"\x00", (START - timedelta(microseconds=1)).isoformat()),
            (2, 'on "start"\n☃', float("inf"), None, START.isoformat()),
            (3, "", -0.25, b"\xff\xfe", (END - timedelta(microseconds=1)).isoformat()),
            (4, None, None, b"", END.isoformat()),
        ])
    monkeypatch.setenv("AIRFLOW_CONN_LITE", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    return path


def read(folder: Path) -> list[dict[str, Any]]:
    import zstandard

    lines: list[bytes] = []
    for part in sorted(folder.glob("part-*.jsonl.zst")):
        lines += zstandard.ZstdDecompressor().decompress(part.read_bytes(), max_output_size=1 << 24).splitlines()
    return [json.loads(line) for line in lines]


def test_a_sqlite_table_in_full(lite: Path, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    manifest = SqlExtractOperator(
        task_id="extract", sql_conn_id="lite", table='"Odd Events"', mode="full", destination=f"file://{folder}/",
        emit_assets=False,
    ).execute(context())
    assert read(folder) == [
        {"id": 1, "name": "before", "score": 1.5, "data": "00", "updated_at": "2024-03-09T23:59:59.999999+00:00"},
        {"id": 2, "name": 'on "start"\n☃', "score": "inf", "data": None, "updated_at": "2024-03-10T00:00:00+00:00"},
        {"id": 3, "name": "", "score": -0.25, "data": "fffe", "updated_at": "2024-03-10T23:59:59.999999+00:00"},
        {"id": 4, "name": None, "score": None, "data": "", "updated_at": "2024-03-11T00:00:00+00:00"},
    ]
    assert manifest["records"] == 4 and list(manifest["columns"]) == ["id", "name", "score", "data", "updated_at"]


def test_a_sqlite_window_includes_its_start_and_excludes_its_end(lite: Path, tmp_path: Path) -> None:
    folder = tmp_path / "window"
    manifest = SqlExtractOperator(
        task_id="extract", sql_conn_id="lite", sql='SELECT id, updated_at FROM "Odd Events"',
        watermark_column="updated_at", destination=f"file://{folder}/", emit_assets=False,
    ).execute(run_context())
    assert [r["id"] for r in read(folder)] == [2, 3]
    assert manifest["window"] == {"column": ["updated_at"], "start": START.isoformat(), "end": END.isoformat()}
    assert manifest["watermark"] == (END - timedelta(microseconds=1)).isoformat()


@pytest.mark.parametrize(("kwargs", "param"), [
    ({"partition_by": "id", "partitions": 2, "partition": 0}, "partition_by"),
    ({"key_columns": "id", "delete_detection": True}, "delete_detection"),
    ({"max_concurrency": 2}, "max_concurrency"),
])
def test_postgresql_only_features_are_refused(lite: Path, tmp_path: Path, kwargs: dict, param: str) -> None:
    with pytest.raises(ValueError, match=f"^{param} needs a PostgreSQL source"):
        SqlExtractOperator(task_id="extract", sql_conn_id="lite", table='"Odd Events"', mode="full",
                           destination=f"file://{tmp_path}/x/", **kwargs).execute(context())
