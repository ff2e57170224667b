"""On the Snowflake stand-in: every statement of a merge carries the task's JSON query tag, runs on the
``warehouse=`` and ``role=`` given."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_dataeng.operators.snowflake_stream_merge import SnowflakeStreamMergeOperator
from tests.snowflake_merge.conftest import Db

pytestmark = pytest.mark.integration
TI = SimpleNamespace(dag_id="tags", task_id="merge", run_id="scheduled__1", try_number=1, map_index=-1)


def test_merge_statements_carry_the_tag_warehouse_and_role(db: Db, schemas: tuple[str, str], local_stack: Any) -> None:
    raw, stg = schemas
    db.run(
        f"CREATE TABLE DEMO.{raw}.USERS (ID INT, NAME VARCHAR)",
        f"CREATE TABLE DEMO.{stg}.USERS (ID INT, NAME VARCHAR)",
        f"INSERT INTO DEMO.{raw}.USERS VALUES (1, 'ann')",
    )
    since = local_stack.snowflake_query_history()[-1]["seq"]
    result = SnowflakeStreamMergeOperator(
        task_id="merge", target_table=f"DEMO.{stg}.USERS", source_table=f"DEMO.{raw}.USERS", key_columns="ID",
        warehouse="DATAENG_ELT_WH", role="TRANSFORMER", query_tag={"layer": "staging"},
    ).execute({"ti": TI})
    assert result["inserted"] == 1
    history = local_stack.snowflake_query_history(since)
    assert len(history) == result["statements"] == 6  # first run: the stream is created (see the budget test)
    assert {(r["warehouse"], r["role"]) for r in history} == {("DATAENG_ELT_WH", "TRANSFORMER")}
    assert {r["query_tag"] for r in history} == {
        '{"dag_id":"tags","task_id":"merge","run_id":"scheduled__1","try_number":1,"map_index":-1,"layer":"staging"}'
    }


def test_templated_warehouse_is_checked_after_rendering() -> None:
    from airflow.sdk.exceptions import AirflowFailException

    op = SnowflakeStreamMergeOperator(
        task_id="m", target_table="DB.STG.USERS", source_table="DB.RAW.USERS", key_columns="ID",
        warehouse="{{ params.wh }}",
    )
    op.warehouse = "NOT A NAME"  # as rendered
    with pytest.raises(AirflowFailException, match="warehouse"):
        op.execute({})
