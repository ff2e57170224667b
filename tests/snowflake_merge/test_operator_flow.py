"""Operator orchestration for what the local stand-in cannot produce: a stale stream."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_dataeng.operators.snowflake_merge import SnowflakeStreamMergeOperator


class ScriptedSession:
    """Answers SHOW STREAMS with a stale stream and records every statement."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def run(self, sql: str) -> list[dict[str, Any]]:
        self.sent.append(sql)
        if sql.startswith("SHOW STREAMS"):
            return [
                {
                    "name": "USERS_STREAM",
                    "database_name": "DB",
                    "schema_name": "RAW",
                    "table_name": "DB.RAW.USERS",
                    "mode": "DEFAULT",
                    "stale": "true",
                    "stale_after": "2026-11-01 00:00:00",
                    "invalid_reason": "N/A",
                }
            ]
        return []


def test_a_stale_stream_fails_before_any_read_with_the_recovery_steps() -> None:
    op = SnowflakeStreamMergeOperator(
        task_id="m", target_table="DB.STG.USERS", stream="DB.RAW.USERS_STREAM", key_columns="ID"
    )
    session = ScriptedSession()
    with pytest.raises(Exception, match="is stale") as err:
        op._merge(session, op._options())  # type: ignore[arg-type]
    assert "SHOW_INITIAL_ROWS = TRUE" in str(err.value) and "full refresh" in str(err.value)
    assert [sql.split(" ")[0] for sql in session.sent] == ["SHOW"]  # nothing read, nothing merged


def test_execute_turns_configuration_errors_into_failures_without_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow_provider_dataeng.hooks import snowflake as hook_module
    from airflow_provider_dataeng.operators import snowflake_merge

    class Conn:
        closed = False

        def close(self) -> None:
            self.closed = True

    conn = Conn()
    monkeypatch.setattr(hook_module.SnowflakeHook, "get_conn", lambda self: conn)
    monkeypatch.setattr(snowflake_merge, "_Session", lambda c, log: ScriptedSession())
    op = SnowflakeStreamMergeOperator(
        task_id="m", target_table="DB.STG.USERS", stream="DB.RAW.USERS_STREAM", key_columns="ID"
    )
    with pytest.raises(AirflowFailException, match="is stale"):
        op.execute({})
    assert conn.closed
