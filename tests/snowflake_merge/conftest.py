"""Fixtures for the stream-merge tests: the shared local stack, a SQL helper, fresh schemas per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

_counter = itertools.count(1)


class Db:
    """A plain connector session on the local Snowflake, for setting up and checking tables."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def run(self, *statements: str) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        with self.conn.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
                rows = cur.fetchall() if cur.description else []
        return rows

    def table(self, name: str, order_by: str = "1") -> list[tuple[Any, ...]]:
        return self.run(f"SELECT * FROM {name} ORDER BY {order_by}")

    def scalar(self, sql: str) -> Any:
        return self.run(sql)[0][0]


@pytest.fixture(scope="module")
def db(local_stack: Any) -> Iterator[Db]:
    import snowflake.connector

    conn = snowflake.connector.connect(
        host="127.0.0.1",
        port=local_stack.snowflake_port,
        protocol="http",
        account="fakesnow",
        user="local",
        password="local",
        database="DEMO",
        schema="PUBLIC",
        network_timeout=30,
    )
    yield Db(conn)
    conn.close()


@pytest.fixture
def schemas(db: Db) -> tuple[str, str]:
    """A fresh RAW_n and STG_n schema for one test (tests never see each other's tables or streams)."""
    n = next(_counter)
    raw, stg = f"RAW_{n}", f"STG_{n}"
    db.run(f"CREATE SCHEMA IF NOT EXISTS DEMO.{raw}", f"CREATE SCHEMA IF NOT EXISTS DEMO.{stg}")
    return raw, stg
