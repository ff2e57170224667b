"""Deferral instead of sleeping: a long server wait defers the extract, which resumes at the refused page
with the part files written so far. Hook and sink pieces in-process; the whole path in a real
``airflow dags test`` run, whose inline triggerer runs the DateTimeTrigger and resumes the task."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zstandard

from airflow_provider_dataeng.hooks.rest_api import ApiAsksToWait, PageCursor, RestApiHook
from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator
from airflow_provider_dataeng.pagination import CursorPaginator, PageRequest
from airflow_provider_dataeng.sinks import PartFileSink
from tests.rest_api.conftest import FAST_RETRIES
from tests.rest_api.server import FixtureServer, Request

RECORDS = [{"id": i, "name": f"r{i}"} for i in range(50)]
PAGINATOR = CursorPaginator(cursor_path="next_cursor", has_more_path="has_more")


def cursor_pages(refuse: Callable[[Request], tuple[int, dict[str, str], Any] | None] = lambda r: None):
    """Pages of 10 records behind a ``cursor`` query parameter; ``refuse`` may answer instead."""

    def handler(request: Request) -> tuple[int, dict[str, str], Any]:
        refusal = refuse(request)
        if refusal is not None:
            return refusal
        start = int(request.query.get("cursor") or 0)
        more = start + 10 < len(RECORDS)
        return 200, {}, {"data": RECORDS[start : start + 10], "has_more": more,
                         "next_cursor": str(start + 10) if more else None}

    return handler


def once_at_cursor(cursor: str, retry_after: str) -> Callable[[Request], Any]:
    """429 with ``Retry-After`` the first time page ``cursor`` is asked for."""
    refused: list[str] = []

    def refuse(request: Request) -> Any:
        if request.query.get("cursor") == cursor and not refused:
            refused.append(cursor)
            return 429, {"Retry-After": retry_after}, {"error": "slow down"}
        return None

    return refuse


# ------------------------------------------------------------------------------------------------ hook


def test_a_long_wait_raises_with_the_cursor_of_the_refused_page(server: FixtureServer, hook: RestApiHook) -> None:
    server.route("GET", "/items", cursor_pages(once_at_cursor("20", "120")))
    seen = []
    with pytest.raises(ApiAsksToWait) as caught:
        for page in hook.iter_pages("/items", paginator=PAGINATOR, records_path="data", raw=False,
                                    pause_longer_than=60):
            seen += page.records
    wait = caught.value
    assert (wait.seconds, wait.source, wait.status) == (120.0, "Retry-After", 429)
    assert seen == RECORDS[:20]
    assert wait.cursor is not None and wait.cursor.pages_done == 2
    assert wait.cursor.request.params == {"cursor": "20"}
    # Round trip through JSON (the deferred task's stored state), then resume: pages 3..5, numbered on.
    cursor = PageCursor.from_dict(json.loads(json.dumps(wait.cursor.to_dict())))
    assert cursor == wait.cursor
    pages = list(hook.iter_pages("/items", paginator=PAGINATOR, records_path="data", raw=False, resume=cursor))
    assert [p.number for p in pages] == [3, 4, 5]
    assert seen + [r for p in pages for r in p.records] == RECORDS
    assert [r.query.get("cursor") for r in server.requests] == [None, "10", "20", "20", "30", "40"]


def test_a_wait_under_the_threshold_is_slept_through(server: FixtureServer, hook: RestApiHook) -> None:
    server.route("GET", "/items", cursor_pages(once_at_cursor("20", "0.1")))
    pages = list(hook.iter_pages("/items", paginator=PAGINATOR, records_path="data", raw=False,
                                 pause_longer_than=60))
    assert [r for p in pages for r in p.records] == RECORDS


def test_a_cursor_holding_a_secret_is_never_handed_out(
    server: FixtureServer, connection: Callable[..., str]
) -> None:
    """A next link echoing the API key (query auth) must not end up in stored task state: sleep instead."""
    hook = RestApiHook(connection("keyed", password="k-secret-123", extra={"auth_type": "api_key",
                                                                            "api_key_name": "api_key",
                                                                            "api_key_in": "query"}),
                       retry_policy=FAST_RETRIES)
    refuse = once_at_cursor("20", "1")
    server.route("GET", "/items", cursor_pages(refuse))
    assert hook.persistable(PageRequest(url=hook.url_for("/items"), params={"cursor": "20"}))
    assert not hook.persistable(PageRequest(url=hook.url_for("/items?api_key=k-secret-123&cursor=20")))
    assert not hook.persistable(PageRequest(url=hook.url_for("/items"), params={"access_token": "abc"}))
    assert not hook.persistable(PageRequest(url=hook.url_for("/items"), json={"q": "k-secret-123"}))
    # The request itself carries no secret (auth adds the key when sending): it defers.
    with pytest.raises(ApiAsksToWait):
        list(hook.iter_pages("/items", paginator=PAGINATOR, records_path="data", pause_longer_than=0.5))


# ------------------------------------------------------------------------------------------------ sink


def read_jsonl(path: Path) -> list[dict]:
    data = zstandard.ZstdDecompressor().stream_reader(path.open("rb")).read()
    return [json.loads(line) for line in data.splitlines()]


def encoded(records: list[dict]) -> list[bytes]:
    return [json.dumps(r).encode() for r in records]


def test_sink_suspends_and_resumes_into_one_committed_set(tmp_path: Path) -> None:
    destination = f"file://{tmp_path}/out/"
    first = PartFileSink(destination, max_records_per_file=15)
    first.start()
    first.write(encoded(RECORDS[:20]))
    state = json.loads(json.dumps(first.suspend()))
    assert (state["records"], [n for _, n in state["staged"]]) == (20, [15, 5])
    assert not (tmp_path / "out/_manifest.json").exists()

    second = PartFileSink(destination, max_records_per_file=15)
    second.resume(state)
    second.write(encoded(RECORDS[20:]))
    manifest = second.commit(pages=5)
    assert [(f["uri"].rsplit("/", 1)[1], f["records"]) for f in manifest["files"]] == [
        ("part-00000.jsonl.zst", 15), ("part-00001.jsonl.zst", 5), ("part-00002.jsonl.zst", 15),
        ("part-00003.jsonl.zst", 15)]
    assert manifest["records"] == 50
    landed = [r for i in range(4) for r in read_jsonl(tmp_path / f"out/part-{i:05d}.jsonl.zst")]
    assert landed == RECORDS
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "_manifest.json", *(f"part-{i:05d}.jsonl.zst" for i in range(4))]


def test_sink_resume_refuses_lost_parts(tmp_path: Path) -> None:
    first = PartFileSink(f"file://{tmp_path}/out/", max_records_per_file=15)
    first.start()
    first.write(encoded(RECORDS[:20]))
    state = first.suspend()
    Path(state["staged"][0][0]).unlink()
    with pytest.raises(FileNotFoundError, match="clear the task to extract from the start"):
        PartFileSink(f"file://{tmp_path}/out/").resume(state)


# -------------------------------------------------------------------------------------------- operator


def test_constructor_checks_the_threshold() -> None:
    common = {"task_id": "t", "endpoint": "/x", "destination": "s3://b/p/"}
    with pytest.raises(ValueError, match="defer_threshold must be non-negative seconds"):
        RestApiExtractOperator(**common, deferrable=True, defer_threshold=-1)
    assert RestApiExtractOperator(**common).deferrable is False  # Airflow's default_deferrable (False)
    op = RestApiExtractOperator(**common, deferrable=True, defer_threshold=90)
    assert (op.deferrable, op.defer_threshold) == (True, 90.0)


DAG_FILE = '''
from __future__ import annotations

import json
import pendulum
from airflow.sdk import DAG, task

from airflow_provider_dataeng.hooks.rest_retry import HttpRetryPolicy
from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator
from airflow_provider_dataeng.pagination import CursorPaginator

with DAG("rest_extract_deferral", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")) as dag:
    extract = RestApiExtractOperator(
        task_id="extract",
        http_conn_id="deferral_api",
        endpoint="/items",
        records_path="data",
        paginator=CursorPaginator(cursor_path="next_cursor", has_more_path="has_more"),
        destination="file://{out}/items/{{{{ ds }}}}/",
        aws_conn_id=None,
        max_records_per_file=15,
        deferrable=True,
        defer_threshold=1,
        http_retry_policy=HttpRetryPolicy(max_attempts=2, backoff_initial=0.01, jitter=0.0,
                                          retry_after_floor=0.01),
    )

    @task
    def keep_manifest(manifest: dict) -> None:
        with open("{out}/xcom.json", "w") as f:
            json.dump(manifest, f)

    keep_manifest(extract.output)
'''


def run_dag(server: FixtureServer, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    dags, out = tmp_path / "dags", tmp_path / "out"
    dags.mkdir()
    out.mkdir()
    (dags / "rest_extract_deferral.py").write_text(DAG_FILE.format(out=out))
    conn = {"conn_type": "rest_api", "host": "127.0.0.1", "port": server.port, "schema": "http"}
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(dags), "AIRFLOW_CONN_DEFERRAL_API": json.dumps(conn)}
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "test", "rest_extract_deferral", "2024-01-05"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    return result, out / "items/2024-01-05"


@pytest.mark.slow
def test_dag_run_defers_and_resumes_at_the_refused_page(airflow_db: Path, server: FixtureServer,
                                                        tmp_path: Path) -> None:
    server.route("GET", "/items", cursor_pages(once_at_cursor("20", "2")))
    result, folder = run_dag(server, tmp_path)
    logs = result.stdout + result.stderr
    assert result.returncode == 0, logs[-5000:]
    assert "deferring until" in logs and "(deferral 1/2 for page 3)" in logs
    assert "running trigger in line" in logs  # the triggerer path of dag.test()
    assert "Resuming the extract into" in logs and "at page 3 (20 records in 2 part files so far)" in logs
    # Pages 1 and 2 were fetched once; page 3 twice (refused, then after the deferral); no page restarted.
    assert [r.query.get("cursor") for r in server.requests] == [None, "10", "20", "20", "30", "40"]
    parts = sorted(folder.glob("part-*"))
    assert [p.name for p in parts] == [f"part-{i:05d}.jsonl.zst" for i in range(4)]
    assert [len(read_jsonl(p)) for p in parts] == [15, 5, 15, 15]
    assert [r for p in parts for r in read_jsonl(p)] == RECORDS
    manifest = json.loads((tmp_path / "out/xcom.json").read_text())
    assert manifest == json.loads((folder / "_manifest.json").read_text())
    assert (manifest["records"], manifest["pages"], len(manifest["files"])) == (50, 5, 4)
    assert not (folder / "_staging").exists()


@pytest.mark.slow
def test_a_page_refused_after_every_deferral_fails_and_commits_nothing(airflow_db: Path, server: FixtureServer,
                                                                       tmp_path: Path) -> None:
    def always(request: Request) -> Any:
        return (429, {"Retry-After": "2"}, {"error": "slow down"}) if request.query.get("cursor") == "20" else None

    server.route("GET", "/items", cursor_pages(always))
    result, folder = run_dag(server, tmp_path)
    logs = result.stdout + result.stderr
    assert "(deferral 2/2 for page 3)" in logs
    assert "page 3 was still refused after 2 deferrals (http_retry_policy.max_attempts); nothing was committed" in logs
    assert [r.query.get("cursor") for r in server.requests] == [None, "10", "20", "20", "20"]
    assert not (folder / "_manifest.json").exists()
    assert not (folder / "_staging").exists()
    assert not (tmp_path / "out/xcom.json").exists()


# --------------------------------------------------------------------------------------------- trigger


def test_trigger_round_trips_and_fires_with_the_state() -> None:
    import asyncio
    from datetime import datetime, timedelta, timezone

    from airflow_provider_dataeng.triggers.resume import ResumeAtTrigger

    moment = (datetime.now(timezone.utc) + timedelta(seconds=0.2)).isoformat()
    state = {"cursor": {"request": {"url": "http://h/x", "method": "GET", "params": {}, "json": None},
                        "pages_done": 2}, "sink": {"records": 20}}
    classpath, kwargs = ResumeAtTrigger(moment, state).serialize()
    assert classpath == "airflow_provider_dataeng.triggers.resume.ResumeAtTrigger"
    trigger = ResumeAtTrigger(**json.loads(json.dumps(kwargs)))

    async def first_event() -> Any:
        async for event in trigger.run():
            return event

    started = datetime.now(timezone.utc)
    event = asyncio.run(first_event())
    assert event.payload == {"resume_at": moment, "state": state}
    assert datetime.now(timezone.utc) >= datetime.fromisoformat(moment) > started
    with pytest.raises(ValueError, match="moment must carry a UTC offset"):
        ResumeAtTrigger("2026-01-01T00:00:00", state)
