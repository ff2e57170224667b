"""Operator orchestration for what the local stand-in cannot produce: a stale stream."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_dataeng.operators.snowflake_stream_merge import SnowflakeStreamMergeOperator


class ScriptedSession:
    """Answers SHOW STREAMS with a stale stream (SYSTEM$STREAM_HAS_DATA fails, or with ``has_data`` answers
    it) and records every statement."""

    def __init__(self, has_data: str | None = None) -> None:
        self.has_data = has_data
        self.sent: list[str] = []
        self.statements = self.sent
        self.completed: list[str] = []  # none succeeds: the SQL facet of lineage stays empty

    @property
    def count(self) -> int:
        return len(self.sent)

    def run(self, sql: str) -> None:
        self.fetch(sql)

    def fetch(self, sql: str) -> list[dict[str, Any]]:
        import snowflake.connector.errors

        self.sent.append(sql)
        if "SYSTEM$STREAM_HAS_DATA" in sql and self.has_data is not None:
            return [{sql.split(" ", 1)[1]: self.has_data}]
        if "SYSTEM$STREAM_HAS_DATA" in sql:
            raise snowflake.connector.errors.ProgrammingError("Stream 'DB.RAW.USERS_STREAM' is stale")
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


def test_a_stream_that_cannot_be_read_is_inspected_and_its_staleness_named() -> None:
    op = SnowflakeStreamMergeOperator(
        task_id="m", target_table="DB.STG.USERS", source_table="DB.RAW.USERS", key_columns="ID"
    )
    session = ScriptedSession()
    with pytest.raises(Exception, match="is stale"):
        op._merge(session, op._options())  # type: ignore[arg-type]
    # SYSTEM$STREAM_HAS_DATA fails, CREATE STREAM IF NOT EXISTS (a no-op on an existing stream), SHOW STREAMS
    assert [" ".join(sql.split(" ")[:2]) for sql in session.sent] == [
        "SELECT SYSTEM$STREAM_HAS_DATA('\"DB\".\"RAW\".\"USERS_STREAM\"')",
        "CREATE STREAM",
        "SHOW STREAMS",
    ]


def test_a_stale_stream_that_reports_no_changes_fails_instead_of_passing_as_empty() -> None:
    """Snowflake does not document SYSTEM$STREAM_HAS_DATA on a stale stream; a FALSE is checked with SHOW
    STREAMS so a stale stream never skips run after run while its changes are lost."""
    op = SnowflakeStreamMergeOperator(
        task_id="m", target_table="DB.STG.USERS", source_table="DB.RAW.USERS", key_columns="ID"
    )
    session = ScriptedSession(has_data="false")
    with pytest.raises(Exception, match="is stale"):
        op._merge(session, op._options())  # type: ignore[arg-type]
    assert [" ".join(sql.split(" ")[:2]) for sql in session.sent] == [
        "SELECT SYSTEM$STREAM_HAS_DATA('\"DB\".\"RAW\".\"USERS_STREAM\"')",
        "SHOW STREAMS",
    ]


def test_execute_turns_configuration_errors_into_failures_without_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from contextlib import contextmanager

    from airflow_provider_dataeng.hooks import snowflake as hook_module

    closed: list[bool] = []

    @contextmanager
    def session(self: Any, log: Any = None) -> Any:
        try:
            yield ScriptedSession()
        finally:
            closed.append(True)

    monkeypatch.setattr(hook_module.SnowflakeHook, "session", session)
    op = SnowflakeStreamMergeOperator(
        task_id="m", target_table="DB.STG.USERS", stream="DB.RAW.USERS_STREAM", key_columns="ID"
    )
    with pytest.raises(AirflowFailException, match="is stale"):
        op.execute({})
    assert closed == [True]
