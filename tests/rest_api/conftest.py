"""Fixtures for the REST extract tests: one programmable HTTP server per session, connections as env vars."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dataeng.hooks.rest_api import RestApiHook
from airflow_provider_dataeng.hooks.rest_retry import HttpRetryPolicy
from tests.rest_api.server import FixtureServer

FAST_RETRIES = HttpRetryPolicy(max_attempts=3, backoff_initial=0.01, backoff_max=0.05, jitter=0.0,
                           retry_after_floor=0.05, retry_after_cap=2.0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def http_server() -> Iterator[FixtureServer]:
    server = FixtureServer().start()
    yield server
    server.stop()


@pytest.fixture
def server(http_server: FixtureServer) -> Iterator[FixtureServer]:
    """The session's server with no routes and no recorded requests."""
    http_server.reset()
    yield http_server
    http_server.reset()


@pytest.fixture
def connection(monkeypatch: pytest.MonkeyPatch, server: FixtureServer) -> Callable[..., str]:
    """``connection(conn_id, **fields)`` defines an Airflow connection to the fixture server via env var."""

    def define(conn_id: str = "api", *, conn_type: str = "rest_api", extra: dict[str, Any] | None = None,
               **fields: Any) -> str:
        spec = {"conn_type": conn_type, "host": "127.0.0.1", "port": server.port, "schema": "http", **fields,
                "extra": extra or {}}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(spec))
        return conn_id

    return define


@pytest.fixture
def hook(connection: Callable[..., str]) -> RestApiHook:
    """A hook on an unauthenticated connection to the fixture server with fast retries."""
    return RestApiHook(connection("api"), retry_policy=FAST_RETRIES)


def folder_bytes(root: Path) -> dict[str, bytes]:
    """Every file of an extract's folder by name, the folder's own path in them (the manifest's URIs) as ROOT:
    two extracts into two folders compare byte for byte."""
    return {p.name: p.read_bytes().replace(str(root).encode(), b"ROOT") for p in sorted(root.iterdir())}


def json_page(records: list[Any], **extra: Any) -> tuple[int, dict[str, str], Any]:
    return 200, {}, {"data": records, **extra}


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> Callable[[], str]:
    """Everything logged so far: stdlib records (caplog) and Airflow's structlog output (stdout/stderr)."""
    seen: list[str] = []

    def text() -> str:
        captured = capsys.readouterr()
        seen.append(captured.out + captured.err)
        return caplog.text + "".join(seen)

    return text
