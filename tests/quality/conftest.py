"""Fixtures for the quality gate: the same small tables on a real SQLite file and on the local Snowflake stand-in.

GOOD_ORDERS passes every check; BAD_ORDERS fails each one with a known observed value (see test_gate_*).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

NOW = datetime(2026, 1, 2, 0, 0, 0, tzinfo=timezone.utc)

COLUMNS = ("id", "customer_id", "status", "amount", "email", "created_at")
GOOD_ROWS = [
    (1, 10, "placed", 5.0, "a@x", "2026-01-01 23:00:00"),
    (2, 11, "shipped", 7.0, "b@x", "2026-01-01 22:00:00"),
    (3, None, "returned", 0.0, "c@x", "2026-01-01 21:00:00"),
    (4, 12, None, 1.0, "d@x", "2026-01-01 20:00:00"),
]
BAD_ROWS = [
    (1, 10, "placed", 5.0, "a@x", "2025-12-30 00:00:00"),
    (1, 10, "placed", 7.0, "b@x", "2025-12-29 00:00:00"),
    (2, 99, "lost", -3.0, None, "2025-12-29 00:00:00"),
    (3, None, "placed", 1.0, "c@x", "2025-12-29 00:00:00"),
    (4, 98, "bogus", -1.0, None, "2025-12-28 00:00:00"),
]
CUSTOMERS = [(10,), (11,), (12,)]


def create_tables(cursor: Any, timestamp_type: str) -> None:
    for name, rows in (("GOOD_ORDERS", GOOD_ROWS), ("BAD_ORDERS", BAD_ROWS)):
        cursor.execute(
            f"CREATE TABLE {name} (id INTEGER, customer_id INTEGER, status VARCHAR(20), amount FLOAT, "
            f"email VARCHAR(50), created_at {timestamp_type})"
        )
        values = ", ".join(
            "(" + ", ".join("NULL" if v is None else repr(v) if not isinstance(v, str) else f"'{v}'" for v in row) + ")"
            for row in rows
        )
        cursor.execute(f"INSERT INTO {name} VALUES {values}")
    cursor.execute("CREATE TABLE CUSTOMERS (id INTEGER)")
    cursor.execute("INSERT INTO CUSTOMERS VALUES (10), (11), (12)")


@dataclass
class FakeTaskInstance:
    """The few TaskInstance attributes the operator reads, for calling execute() directly."""

    dag_id: str = "quality_dag"
    task_id: str = "gate"
    run_id: str = "manual__1"
    xcom: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


def context(run_id: str = "manual__1", logical_date: datetime | None = NOW) -> dict[str, Any]:
    return {"ti": FakeTaskInstance(run_id=run_id), "logical_date": logical_date}


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real SQLite file with the fixture tables, reachable as Airflow connection ``quality_sqlite``."""
    path = tmp_path_factory.mktemp("quality") / "quality.db"
    conn = sqlite3.connect(path)
    create_tables(conn.cursor(), "TEXT")
    conn.commit()
    conn.close()
    mp = pytest.MonkeyPatch()
    mp.setenv("AIRFLOW_CONN_QUALITY_SQLITE", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    yield path
    mp.undo()


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's clock stopped at NOW, so freshness ages are exact."""
    monkeypatch.setattr("airflow_provider_dataeng.operators.quality_gate._utcnow", lambda: NOW)


@pytest.fixture(scope="module")
def snowflake_stack(local_stack: Any) -> Any:
    """The shared local stack (root conftest registers its plugin)."""
    return local_stack


@pytest.fixture(scope="module")
def snowflake_server(snowflake_stack: Any) -> Iterator[dict[str, Any]]:
    """The local Snowflake stand-in with the fixture tables in DEMO.QUALITY_TESTS, reachable as Airflow
    connection ``quality_snowflake`` through our SnowflakeHook (protocol http)."""
    import snowflake.connector

    connection = json.loads(snowflake_stack.env["AIRFLOW_CONN_SNOWFLAKE_DEFAULT"])
    connection["schema"] = "QUALITY_TESTS"
    extra = connection["extra"]
    kwargs = {"user": connection["login"], "password": connection["password"], "account": extra["account"],
              "host": extra["host"], "port": extra["port"], "protocol": "http", "database": extra["database"]}
    conn = snowflake.connector.connect(**kwargs)
    cursor = conn.cursor()
    cursor.execute("DROP SCHEMA IF EXISTS QUALITY_TESTS CASCADE")  # the stand-in needs CASCADE for REPLACE
    cursor.execute("CREATE SCHEMA QUALITY_TESTS")
    cursor.execute("USE SCHEMA QUALITY_TESTS")
    create_tables(cursor, "TIMESTAMP_NTZ")
    conn.close()
    mp = pytest.MonkeyPatch()
    mp.setenv("AIRFLOW_CONN_QUALITY_SNOWFLAKE", json.dumps(connection))
    yield kwargs
    mp.undo()
