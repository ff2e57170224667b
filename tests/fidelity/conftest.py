"""Fixtures for the fidelity round trips: an HTTP server serving generated pages, the session's local stack
(Snowflake stand-in and S3 stand-in), and a Snowflake session for reading back."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.rest_api.server import FixtureServer

API_CONN_ID = "fidelity_api"


@pytest.fixture(scope="module")
def api() -> Iterator[FixtureServer]:
    """A programmable HTTP server on 127.0.0.1, reachable through the ``fidelity_api`` connection."""
    server = FixtureServer().start()
    patch = pytest.MonkeyPatch()
    patch.setenv(f"AIRFLOW_CONN_{API_CONN_ID.upper()}", json.dumps(
        {"conn_type": "rest_api", "host": "127.0.0.1", "port": server.port, "schema": "http"}))
    yield server
    patch.undo()
    server.stop()


@pytest.fixture(scope="module")
def sf(local_stack: Any) -> Iterator[Callable[..., list[tuple[Any, ...]]]]:
    """``sf(sql)``: run one statement on the local Snowflake (database DEMO) and return all rows."""
    import snowflake.connector

    conn = snowflake.connector.connect(
        host="127.0.0.1", port=local_stack.snowflake_port, protocol="http", account="fakesnow",
        user="local", password="local", database="DEMO", schema="PUBLIC", network_timeout=60,
    )
    cur = conn.cursor()

    def run(sql: str) -> list[tuple[Any, ...]]:
        cur.execute(sql)
        return list(cur.fetchall()) if cur.description else []

    run("CREATE SCHEMA IF NOT EXISTS DEMO.FIDELITY")
    yield run
    conn.close()
