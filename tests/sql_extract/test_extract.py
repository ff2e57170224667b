"""SqlExtractOperator against the local stack's real PostgreSQL, landing in S3 (moto): incremental windows and
their boundaries, late commits inside the lookback, snapshots read in chunks, partitions, re-runs, and the
failures that must commit nothing."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from airflow_provider_dataeng.hooks.sql_source import SourceReader
from airflow_provider_dataeng.operators import sql_extract
from airflow_provider_dataeng.operators.sql_extract import SqlExtractOperator
from airflow_provider_dataeng.sinks import MANIFEST_NAME
from tests.sql_extract.conftest import context, landed, pg_params, s3, s3_folder

pytestmark = pytest.mark.integration

UTC = timezone.utc
START = datetime(2024, 3, 10, tzinfo=UTC)
END = START + timedelta(days=1)
MICRO = timedelta(microseconds=1)


def run_context(start: datetime = START, end: datetime = END, previous_end: datetime | None = None) -> dict[str, Any]:
    """A scheduled run's context for the window ``[start, end)``; ``previous_end``: the last success's end."""
    dag_run = SimpleNamespace(dag_id="sql_extract_test", run_after=end, run_type="scheduled")
    return context(dag_run=dag_run, data_interval_start=start, data_interval_end=end,
                   prev_data_interval_end_success=previous_end)


def extract(local_stack: Any, ctx: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("destination", s3_folder(local_stack))
    kwargs.setdefault("emit_assets", False)
    return SqlExtractOperator(task_id="extract", **kwargs).execute(ctx or context())


@pytest.fixture(scope="module")
def events(pg: Any) -> str:
    """Rows on and around the window's boundaries (ids say where)."""
    pg("CREATE TABLE events (id int PRIMARY KEY, kind text NOT NULL, updated_at timestamptz, created_at timestamptz)")
    rows = [
        (1, "before start", START - MICRO, START - timedelta(days=3)),
        (2, "on start", START, START - timedelta(days=3)),
        (3, "inside", START + timedelta(hours=5), START - timedelta(days=2)),
        (4, "just before end", END - MICRO, START),
        (5, "on end", END, START),
        (6, "never updated, created inside", None, START + timedelta(hours=1)),
        (7, "never updated, created before", None, START - timedelta(days=1)),
    ]
    pg.conn.cursor().executemany("INSERT INTO events VALUES (%s, %s, %s, %s)", rows)
    return f"{pg.schema}.events"


def ids(local_stack: Any, manifest: dict[str, Any]) -> list[int]:
    return sorted(r["id"] for r in landed(local_stack, manifest))


def test_incremental_window_includes_its_start_and_excludes_its_end(events: str, local_stack: Any) -> None:
    manifest = extract(local_stack, run_context(), table=events, watermark_column="updated_at")
    assert ids(local_stack, manifest) == [2, 3, 4]
    assert manifest["window"] == {"column": ["updated_at"], "start": START.isoformat(), "end": END.isoformat()}
    assert manifest["watermark"] == (END - MICRO).isoformat()  # as landed: the UTC instant, +00:00
    assert manifest["records"] == 3 and manifest["mode"] == "incremental" and manifest["source"] == events


def test_a_run_after_a_failed_one_reads_from_the_last_success(events: str, local_stack: Any) -> None:
    """The window starts where the last successful run's interval ended (the run before this one failed)."""
    ctx = run_context(START + timedelta(hours=12), END, previous_end=START)
    assert ids(local_stack, extract(local_stack, ctx, table=events, watermark_column="updated_at")) == [2, 3, 4]


def test_several_watermark_columns_take_the_first_non_null(events: str, local_stack: Any) -> None:
    manifest = extract(local_stack, run_context(), table=events, watermark_column=["updated_at", "created_at"])
    assert ids(local_stack, manifest) == [2, 3, 4, 6]


def test_explicit_bounds_and_an_integer_watermark(events: str, local_stack: Any) -> None:
    manifest = extract(local_stack, run_context(), table=events, watermark_column="id", window_start="3",
                       window_end=6)
    assert ids(local_stack, manifest) == [3, 4, 5]
    assert manifest["window"] == {"column": ["id"], "start": "3", "end": "6"} and manifest["watermark"] == 5


def test_a_late_commit_inside_the_lookback_lands_in_the_next_run(pg: Any, local_stack: Any) -> None:
    """A row stamped inside the first window but committed after the first run read it: the next run's
    lookback reads it; without the lookback it would be lost."""
    pg("CREATE TABLE late (id int PRIMARY KEY, updated_at timestamptz NOT NULL)")
    pg("INSERT INTO late VALUES (1, %s)", (START + timedelta(hours=23),))
    late = f"{pg.schema}.late"
    first = extract(local_stack, run_context(), table=late, watermark_column="updated_at", lookback=timedelta(hours=2))
    assert ids(local_stack, first) == [1]
    # committed now, stamped 23:30 of the first day (its transaction began then)
    pg("INSERT INTO late VALUES (2, %s), (3, %s)", (START + timedelta(hours=23, minutes=30), END + timedelta(hours=1)))
    second_window = run_context(END, END + timedelta(days=1), previous_end=END)
    with_lookback = extract(local_stack, second_window, table=late, watermark_column="updated_at",
                            lookback=timedelta(hours=2))
    assert ids(local_stack, with_lookback) == [1, 2, 3]  # 1 again: the merge keeps one version per key
    assert with_lookback["window"]["start"] == (END - timedelta(hours=2)).isoformat()
    without = extract(local_stack, second_window, table=late, watermark_column="updated_at")
    assert ids(local_stack, without) == [3]


def test_a_query_with_percent_signs_and_its_own_columns(events: str, local_stack: Any) -> None:
    sql = f"SELECT id, upper(kind) AS kind_upper, updated_at FROM {events} WHERE kind LIKE 'on %' ;"
    manifest = extract(local_stack, run_context(), sql=sql, watermark_column="updated_at")
    assert landed(local_stack, manifest) == [
        {"id": 2, "kind_upper": "ON START", "updated_at": START.isoformat()}
    ]
    assert manifest["columns"] == {"id": "integer", "kind_upper": "text", "updated_at": "timestamp with time zone"}


def test_duplicate_column_names_are_refused(events: str, local_stack: Any) -> None:
    with pytest.raises(RuntimeError, match="returns the column name 'id' twice"):
        extract(local_stack, sql=f"SELECT id, id FROM {events}", mode="full")


def test_unknown_columns_are_named(events: str, local_stack: Any) -> None:
    with pytest.raises(RuntimeError, match="watermark_column: the source has no column 'changed_at'; its columns are id, kind, updated_at, created_at"):
        extract(local_stack, run_context(), table=events, watermark_column="changed_at")


WIDE_ROWS = 6000
WIDE_INSERT = ("INSERT INTO {table} SELECT g, md5(g::text), (g % 1000) / 7.0, jsonb_build_object('g', g, 'tags', "
               "jsonb_build_array('a', g % 3)) FROM generate_series({first}, {last}) g")


@pytest.fixture(scope="module")
def wide(pg: Any) -> str:
    """6,000 rows over many pages, with a text key for hash partitions."""
    pg("CREATE TABLE wide (id bigint PRIMARY KEY, code text NOT NULL, amount numeric(12,2), payload jsonb)")
    pg(WIDE_INSERT.format(table="wide", first=1, last=WIDE_ROWS))
    pg("ANALYZE wide")
    return f"{pg.schema}.wide"


def table_records(pg: Any, table: str) -> list[dict[str, Any]]:
    """The table's rows as PostgreSQL's own row_to_json would give them, with numerics as text."""
    return [json.loads(r[0]) for r in pg(f"SELECT json_build_object('id', id, 'code', code, 'amount', amount::text, "
                                         f"'payload', payload)::text FROM {table} ORDER BY id")]


def by_id(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(records, key=lambda r: r["id"])


def test_a_full_extract_read_in_chunks_is_the_table(wide: str, pg: Any, local_stack: Any) -> None:
    one = extract(local_stack, table=wide, mode="full", max_records_per_file=1000)
    chunked = extract(local_stack, table=wide, mode="full", max_concurrency=3, max_records_per_file=1000)
    expected = table_records(pg, wide)
    assert by_id(landed(local_stack, one)) == expected
    assert by_id(landed(local_stack, chunked)) == expected
    assert chunked["records"] == one["records"] == WIDE_ROWS
    assert sum(f["records"] for f in chunked["files"]) == WIDE_ROWS


def test_a_rerun_into_the_same_folder_leaves_one_copy(wide: str, local_stack: Any) -> None:
    folder = s3_folder(local_stack)
    first = extract(local_stack, table=wide, mode="full", destination=folder, max_records_per_file=1500)
    second = extract(local_stack, table=wide, mode="full", destination=folder, max_records_per_file=2500)
    fs = s3(local_stack)
    names = sorted(p.rsplit("/", 1)[1] for p in fs.ls(folder))
    assert names == [MANIFEST_NAME, "part-00000.jsonl.zst", "part-00001.jsonl.zst", "part-00002.jsonl.zst"]
    assert len(first["files"]) == 4 and len(second["files"]) == 3
    assert Counter(r["id"] for r in landed(local_stack, second)) == Counter(range(1, WIDE_ROWS + 1))


def test_reads_in_parallel_plans_land_the_table(wide: str, pg: Any, local_stack: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The extract's session lets PostgreSQL's parallel workers write the rows (``parallel_tuple_cost = 0``);
    a role whose settings make every scan parallel reads the table (in one stream and in page ranges) and its
    keys (sorted under a Gather Merge) exactly as a serial plan does."""
    from airflow_provider_dataeng.sinks.key_file import read_keys
    from airflow_provider_dataeng.sinks.storage import s3_storage_options

    role = f"parallel_{uuid.uuid4().hex[:8]}"
    pg(f"CREATE ROLE {role} LOGIN PASSWORD 'parallel'")
    pg(f"GRANT USAGE ON SCHEMA {pg.schema} TO {role}")
    pg(f"GRANT SELECT ON {wide} TO {role}")
    for setting in ("parallel_setup_cost", "min_parallel_table_scan_size", "min_parallel_index_scan_size"):
        pg(f"ALTER ROLE {role} SET {setting} = 0")
    params = pg_params()
    monkeypatch.setenv("AIRFLOW_CONN_PG_PARALLEL", json.dumps({
        "conn_type": "postgres", "host": params["host"], "port": params["port"], "schema": params["dbname"],
        "login": role, "password": "parallel"}))
    import psycopg

    with psycopg.connect(**{**params, "user": role, "password": "parallel"}) as conn:
        conn.execute("SET parallel_tuple_cost = 0")
        plan = [r[0] for r in conn.execute(f"EXPLAIN SELECT row_to_json(w.*) FROM {wide} AS w")]
    assert "Gather" in plan[0]  # the setting does what the extract relies on

    expected = table_records(pg, wide)
    one = extract(local_stack, table=wide, mode="full", sql_conn_id="pg_parallel", key_columns="id",
                  delete_detection=True)
    chunked = extract(local_stack, table=wide, mode="full", sql_conn_id="pg_parallel", max_concurrency=2)
    assert by_id(landed(local_stack, one)) == expected
    assert by_id(landed(local_stack, chunked)) == expected
    keys = [json.loads(k) for k in read_keys(one["keys"]["uri"], s3_storage_options("aws_default"))]
    assert keys == [[i] for i in range(1, WIDE_ROWS + 1)]


@pytest.mark.parametrize("key", ["id", "code"])
def test_partitions_split_the_rows_once_each(wide: str, local_stack: Any, key: str) -> None:
    folder = s3_folder(local_stack)
    manifests = [extract(local_stack, table=wide, mode="full", destination=folder, partition_by=key, partitions=3,
                         partition=str(i) if i == 2 else i) for i in range(3)]
    parts = [ids(local_stack, m) for m in manifests]
    assert sorted(i for part in parts for i in part) == list(range(1, WIDE_ROWS + 1))
    assert all(len(part) > WIDE_ROWS // 5 for part in parts)  # spread, not all in one
    assert [m["partition"] for m in manifests] == [{"by": key, "index": i, "count": 3} for i in range(3)]
    assert [m["destination"] for m in manifests] == [f"{folder}partition={i}/" for i in range(3)]


def test_rows_changed_during_the_extract_land_as_the_snapshot_saw_them(
    wide: str, pg: Any, local_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another session updates and deletes rows after the first batch: every chunk still reads the snapshot."""
    import psycopg

    before = table_records(pg, wide)
    original = SourceReader.copy_rows
    changed = []

    def copy_rows(self: SourceReader, sql: str, params: Any, batch_rows: int) -> Any:
        for number, batch in enumerate(original(self, sql, params, batch_rows)):
            yield batch
            if number == 0 and not changed:
                with psycopg.connect(**pg_params(), autocommit=True) as other:
                    other.execute(f"UPDATE {wide} SET code = 'changed' WHERE id % 2 = 0")
                    other.execute(f"DELETE FROM {wide} WHERE id > {WIDE_ROWS - 1000}")
                    other.execute(f"INSERT INTO {wide} VALUES ({WIDE_ROWS + 1}, 'new', 1, '{{}}')")
                changed.append(True)

    monkeypatch.setattr(SourceReader, "copy_rows", copy_rows)
    monkeypatch.setattr(sql_extract, "_BATCH_ROWS", 500)  # the change comes while both chunks have rows to read
    try:
        manifest = extract(local_stack, table=wide, mode="full", max_concurrency=2)
        assert changed and by_id(landed(local_stack, manifest)) == before
    finally:
        pg(f"DELETE FROM {wide} WHERE id = {WIDE_ROWS + 1}")
        pg(WIDE_INSERT.format(table=wide, first=WIDE_ROWS - 999, last=WIDE_ROWS))
        pg(f"UPDATE {wide} SET code = md5(id::text) WHERE code = 'changed'")


def test_a_connection_cut_mid_extract_commits_nothing_and_the_retry_lands_once(
    local_stack: Any, monkeypatch: pytest.MonkeyPatch, pg: Any
) -> None:
    """The server is cut off while it still streams (300,000 rows): the task fails, nothing is committed,
    the staged part files are gone, and the retry lands every row once."""
    import psycopg

    folder = s3_folder(local_stack)
    series = "SELECT g AS id FROM generate_series(1, 300000) AS g"
    original = SourceReader.copy_rows

    def cut(self: SourceReader, sql: str, params: Any, batch_rows: int) -> Any:
        for number, batch in enumerate(original(self, sql, params, batch_rows)):
            yield batch
            if number == 0:
                pg("SELECT pg_terminate_backend(%s)", (self.conn.info.backend_pid,))

    monkeypatch.setattr(SourceReader, "copy_rows", cut)
    with pytest.raises(psycopg.OperationalError):
        extract(local_stack, sql=series, mode="full", destination=folder, max_records_per_file=2000)
    fs = s3(local_stack)
    fs.invalidate_cache()
    assert not fs.exists(folder + MANIFEST_NAME) and not fs.exists(folder + "_staging")
    monkeypatch.setattr(SourceReader, "copy_rows", original)
    retry = extract(local_stack, sql=series, mode="full", destination=folder)
    assert retry["records"] == 300000 and len(retry["files"]) == 3
    assert sorted(r["id"] for r in landed(local_stack, retry)) == list(range(1, 300001))


def test_nothing_in_the_window(events: str, local_stack: Any) -> None:
    empty = run_context(START - timedelta(days=30), START - timedelta(days=29))
    manifest = extract(local_stack, empty, table=events, watermark_column="updated_at")
    assert manifest["files"] == [] and manifest["records"] == 0 and manifest["watermark"] is None
    with pytest.raises(AirflowSkipException, match=r"no rows in .*events with updated_at in \[2024-02-09"):
        extract(local_stack, empty, table=events, watermark_column="updated_at", if_empty="skip")
    folder = s3_folder(local_stack)
    with pytest.raises(AirflowFailException, match="no rows in"):
        extract(local_stack, empty, table=events, watermark_column="updated_at", if_empty="fail", destination=folder)
    assert not s3(local_stack).exists(folder + MANIFEST_NAME)


def test_the_password_reaches_neither_log_nor_manifest(
    events: str, pg: Any, local_stack: Any, caplog: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = "s3cr3t-" + uuid.uuid4().hex
    role = f"reader_{uuid.uuid4().hex[:8]}"
    pg(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    pg(f"GRANT USAGE ON SCHEMA {pg.schema} TO {role}")
    pg(f"GRANT SELECT ON {events} TO {role}")
    params = pg_params()
    monkeypatch.setenv("AIRFLOW_CONN_PG_READER", json.dumps({
        "conn_type": "postgres", "host": params["host"], "port": params["port"], "schema": params["dbname"],
        "login": role, "password": password}))
    with caplog.at_level("DEBUG"):
        manifest = extract(local_stack, run_context(), sql_conn_id="pg_reader", table=events,
                           watermark_column="updated_at")
    assert manifest["records"] == 3
    assert password not in json.dumps(manifest)
    assert password not in caplog.text
