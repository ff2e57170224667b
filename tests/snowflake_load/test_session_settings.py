"""On the Snowflake stand-in: every statement of a load carries the task's JSON query tag and runs on the
``warehouse=`` given; a steady load sends four statements (SHOW STAGES, BEGIN, COPY, COMMIT)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_dataeng.operators.s3_stage_load import S3StageLoadOperator
from tests.snowflake_load.conftest import jsonl_zst

pytestmark = pytest.mark.integration
TI = SimpleNamespace(dag_id="tags", task_id="load", run_id="manual__tags", try_number=3, map_index=1)


def test_load_statements_carry_the_tag_and_warehouse_and_a_steady_run_sends_four(
    put_parts: Any, ensure_stage: dict[str, str], sf: Any, stack: Any
) -> None:
    sf("CREATE TABLE IF NOT EXISTS PUBLIC.TAGGED_EVENTS (RECORD VARIANT, _SOURCE_FILE VARCHAR, "
       "_SOURCE_ROW NUMBER, _LOADED_AT TIMESTAMP_LTZ)")

    def load(folder: str) -> dict[str, Any]:
        manifest = put_parts(folder, [jsonl_zst([{"id": 1}, {"id": 2}])], [2])
        return S3StageLoadOperator(
            task_id="load", table="PUBLIC.TAGGED_EVENTS", stage="DEMO.PUBLIC.LOAD_TEST_STAGE", files=manifest,
            file_format={"type": "JSON", "compression": "ZSTD"}, ensure_stage=ensure_stage,
            warehouse="DATAENG_ELT_WH", query_tag={"team": "ingest"},
        ).execute({"ti": TI})

    load("tags/first")  # creates the stage if this session has not yet
    since = stack.snowflake_query_history()[-1]["seq"]
    summary = load("tags/second")
    assert summary["rows_loaded"] == 2 and summary["statements"] == 4
    history = stack.snowflake_query_history(since)
    assert [r["query_text"].split()[0] for r in history] == ["SHOW", "BEGIN", "COPY", "COMMIT"]
    assert {r["warehouse"] for r in history} == {"DATAENG_ELT_WH"}
    assert {r["query_tag"] for r in history} == {
        '{"dag_id":"tags","task_id":"load","run_id":"manual__tags","try_number":3,"map_index":1,"team":"ingest"}'
    }
    assert json.loads(history[0]["query_tag"])["try_number"] == 3


def test_bad_warehouse_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="warehouse"):
        S3StageLoadOperator(task_id="t", table="T", stage="S", files=["a.json"], file_format={"type": "JSON"},
                            warehouse="ELT WH")
    with pytest.raises(ValueError, match="query_tag must hold JSON values only"):
        S3StageLoadOperator(task_id="t", table="T", stage="S", files=["a.json"], file_format={"type": "JSON"},
                            query_tag={"at": object()})
