"""Fixtures for the local Snowflake stand-in: one moto S3 server and one in-process Snowflake server
per test session, real ``snowflake.connector`` sessions over http."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


class LocalSnowflake:
    """The running server; ``restart()`` stops it and starts a new one on the same data directory."""

    def __init__(self, data_dir: Path, s3_endpoint: str) -> None:
        from dataeng_local.snowflake import start_in_thread

        self.data_dir = data_dir
        self.s3_endpoint = s3_endpoint
        self._start = start_in_thread
        self.server = start_in_thread(data_dir=str(data_dir), s3_endpoint=s3_endpoint)

    def restart(self) -> None:
        self.server.stop()
        self.server = self._start(
            data_dir=str(self.data_dir), s3_endpoint=self.s3_endpoint, port=self.server.port
        )

    def connect(self, database: str = "DEMO", schema: str = "PUBLIC", **kwargs: Any) -> Any:
        import snowflake.connector

        return snowflake.connector.connect(**{**self.server.connect_kwargs(database, schema), **kwargs})


@pytest.fixture(scope="session")
def local_s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    from dataeng_local.snowflake.server import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def local_s3(local_s3_endpoint: str) -> Any:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=local_s3_endpoint,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket="landing")
    return client


@pytest.fixture(scope="session")
def local_snowflake(
    tmp_path_factory: pytest.TempPathFactory, local_s3_endpoint: str
) -> Iterator[LocalSnowflake]:
    stack = LocalSnowflake(tmp_path_factory.mktemp("local-snowflake"), local_s3_endpoint)
    yield stack
    stack.server.stop()


@pytest.fixture()
def sf(local_snowflake: LocalSnowflake) -> Iterator[Callable[..., list[tuple[Any, ...]]]]:
    """``sf(sql, params=None)`` runs one statement in a fresh session and returns all rows."""
    conn = local_snowflake.connect()
    cur = conn.cursor()

    def run(sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        cur.execute(sql, params)
        return list(cur.fetchall())

    run.cursor = cur  # type: ignore[attr-defined]
    run.connection = conn  # type: ignore[attr-defined]
    yield run
    conn.close()
