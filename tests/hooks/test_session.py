"""The one session API (hooks/session.py, SnowflakeHook.session): on a real SQLite connection, on the
Snowflake stand-in, and the rule that operators keep no session class of their own."""

from __future__ import annotations

import ast
import logging
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_dataeng.hooks.session import SqlSession, redact_sql

OPERATORS = Path(__file__).resolve().parents[2] / "airflow_provider_dataeng" / "operators"
LOG = logging.getLogger("test-session")


def test_operators_define_no_session_class() -> None:
    """Operators talk to databases only through the hook's session."""
    found = [
        f"{path.name}:{node.name}"
        for path in sorted(OPERATORS.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and node.name.endswith("Session")
    ]
    assert found == []


def sqlite_session(tmp_path: Path) -> SqlSession:
    return SqlSession(sqlite3.connect(tmp_path / "db.sqlite"), LOG, explicit_transactions=False)


def test_fetch_returns_dicts_and_rows_and_counts_every_statement(tmp_path: Path) -> None:
    session = sqlite_session(tmp_path)
    session.run("CREATE TABLE T (A INT, B TEXT)")
    session.run("INSERT INTO T VALUES (?, ?)", (1, "x"), label="write")
    assert session.fetch("SELECT A, B FROM T") == [{"A": 1, "B": "x"}]
    assert session.fetch_rows("SELECT A FROM T", label="read") == ([(1,)], ["A"])
    assert session.count == 4
    assert session.counts == {"write": 1, "read": 1}
    assert session.statements[0] == "CREATE TABLE T (A INT, B TEXT)"
    session.close()


def test_a_transaction_commits_together_or_rolls_back(tmp_path: Path) -> None:
    session = sqlite_session(tmp_path)
    session.run("CREATE TABLE T (A INT)")
    session.commit()
    with session.transaction():
        session.run("INSERT INTO T VALUES (1)")
    with pytest.raises(RuntimeError, match="boom"), session.transaction():
        session.run("INSERT INTO T VALUES (2)")
        raise RuntimeError("boom")
    assert session.fetch("SELECT A FROM T") == [{"A": 1}]


class RecordingConnection:
    """A DB-API connection that records statements (Snowflake's explicit transaction statements)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.description = [("status",)]
        self.sfqid = "01b2-q"

    def cursor(self) -> RecordingConnection:
        return self

    def execute(self, sql: str, params: Any = None) -> None:
        self.sent.append(sql)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return [("ok",)]

    def close(self) -> None:
        return None


def test_snowflake_transactions_are_statements_and_counted() -> None:
    conn = RecordingConnection()
    session = SqlSession(conn, LOG)
    with session.transaction():
        session.run("INSERT INTO T VALUES (1)")
    with pytest.raises(ValueError), session.transaction():
        raise ValueError("no")
    assert conn.sent == ["BEGIN", "INSERT INTO T VALUES (1)", "COMMIT", "BEGIN", "ROLLBACK"]
    assert session.count == 5
    assert session.query_ids == ["01b2-q"] * 5


def test_credentials_are_redacted_in_logs_and_statements(caplog: pytest.LogCaptureFixture) -> None:
    sql = "CREATE STAGE S URL = 's3://b/' CREDENTIALS = (AWS_KEY_ID = 'AKIA1' AWS_SECRET_KEY = 'se''cret')"
    assert (
        redact_sql(sql)
        == "CREATE STAGE S URL = 's3://b/' CREDENTIALS = (AWS_KEY_ID = '***' AWS_SECRET_KEY = '***')"
    )
    conn = RecordingConnection()
    session = SqlSession(conn, LOG)
    with caplog.at_level(logging.INFO, logger="test-session"):
        session.run(sql)
    assert conn.sent == [sql]  # the database gets the real statement
    assert "cret" not in caplog.text and "AKIA1" not in caplog.text
    assert session.statements == [redact_sql(sql)]


def test_hook_merges_the_connections_session_parameters_with_the_tasks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow_provider_dataeng.hooks.snowflake import task_hook

    monkeypatch.setenv(
        "AIRFLOW_CONN_SF_TEST",
        '{"conn_type": "snowflake", "login": "u", "password": "p", "schema": "S", "extra": {"account": "a", '
        '"database": "D", "warehouse": "CONN_WH", "session_parameters": {"TIMEZONE": "UTC"}}}',
    )
    ti = SimpleNamespace(dag_id="d", task_id="t", run_id="r", try_number=1, map_index=-1)
    params = task_hook("sf_test", {"ti": ti}, warehouse="elt_wh", query_tag={"k": "v"})._get_conn_params()
    assert params["warehouse"] == '"ELT_WH"'
    assert params["session_parameters"] == {
        "TIMEZONE": "UTC",
        "QUERY_TAG": '{"dag_id":"d","task_id":"t","run_id":"r","try_number":1,"map_index":-1,"k":"v"}',
    }
    assert task_hook("sf_test", {"ti": ti})._get_conn_params()["warehouse"] == "CONN_WH"


@pytest.mark.integration
def test_the_stand_in_records_tag_warehouse_and_role_per_statement(local_stack: Any) -> None:
    """Set at login (no statement), changed with what Snowflake accepts: USE WAREHOUSE, USE ROLE,
    ALTER SESSION SET/UNSET QUERY_TAG."""
    from airflow_provider_dataeng.hooks.snowflake import task_hook

    ti = SimpleNamespace(dag_id="d", task_id="t", run_id="r", try_number=1, map_index=-1)
    since = local_stack.snowflake_query_history()[-1]["seq"] if local_stack.snowflake_query_history() else 0
    with task_hook(
        "snowflake_default", {"ti": ti}, warehouse="DATAENG_ELT_WH", role="SYSADMIN"
    ).session() as s:
        s.fetch("SELECT 1 AS X")
        s.run('USE WAREHOUSE "DATAENG_TRANSFORM_WH"')
        s.run("USE ROLE analyst")
        s.run("ALTER SESSION SET QUERY_TAG = 'it''s mine'")
        s.fetch("SELECT 2 AS X")
        s.run("ALTER SESSION UNSET QUERY_TAG")
        s.fetch("SELECT 3 AS X")
        assert s.count == 7
    tag = '{"dag_id":"d","task_id":"t","run_id":"r","try_number":1,"map_index":-1}'
    history = [
        (r["query_text"], r["query_tag"], r["warehouse"], r["role"])
        for r in local_stack.snowflake_query_history(since)
    ]
    assert history == [
        ("SELECT 1 AS X", tag, "DATAENG_ELT_WH", "SYSADMIN"),
        ('USE WAREHOUSE "DATAENG_TRANSFORM_WH"', tag, "DATAENG_TRANSFORM_WH", "SYSADMIN"),
        ("USE ROLE analyst", tag, "DATAENG_TRANSFORM_WH", "ANALYST"),
        ("ALTER SESSION SET QUERY_TAG = 'it''s mine'", "it's mine", "DATAENG_TRANSFORM_WH", "ANALYST"),
        ("SELECT 2 AS X", "it's mine", "DATAENG_TRANSFORM_WH", "ANALYST"),
        ("ALTER SESSION UNSET QUERY_TAG", "", "DATAENG_TRANSFORM_WH", "ANALYST"),
        ("SELECT 3 AS X", "", "DATAENG_TRANSFORM_WH", "ANALYST"),
    ]
    import sqlglot

    for statement in (
        'USE WAREHOUSE "DATAENG_TRANSFORM_WH"',
        "USE ROLE analyst",
        "ALTER SESSION SET QUERY_TAG = 'x'",
    ):
        assert len(sqlglot.parse(statement, read="snowflake")) == 1
