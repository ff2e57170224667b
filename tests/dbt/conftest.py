"""Fixtures for the dbt tests: the local stack's Snowflake, the STAGING tables of the data contract, project copies."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

PROJECT = ROOT / "dags" / "dbt"
SECRET = "local-secret-pw-7f3a"

CUSTOMERS_DDL = """create or replace table DEMO.STAGING.CUSTOMERS (
    CUSTOMER_ID NUMBER primary key, EMAIL VARCHAR, NAME VARCHAR, COUNTRY VARCHAR, STATUS VARCHAR,
    CREATED_AT TIMESTAMP_NTZ, UPDATED_AT TIMESTAMP_NTZ, _DELETED_AT TIMESTAMP_NTZ)"""
ORDERS_DDL = """create or replace table DEMO.STAGING.ORDERS (
    ORDER_ID NUMBER primary key, CUSTOMER_ID NUMBER, STATUS VARCHAR, AMOUNT NUMBER(12,2), CURRENCY VARCHAR,
    ORDERED_AT TIMESTAMP_NTZ, UPDATED_AT TIMESTAMP_NTZ, _DELETED_AT TIMESTAMP_NTZ)"""


@pytest.fixture(scope="session")
def snowflake_server(local_stack) -> dict:
    """The local stack's Snowflake stand-in (fakesnow server over HTTP)."""
    return {"host": "127.0.0.1", "port": local_stack.snowflake_port}


@pytest.fixture(scope="session")
def snowflake_conn_id(local_stack) -> Iterator[str]:
    """``snowflake_default`` of the local stack, with a password distinctive enough to grep logs for."""
    conn = json.loads(os.environ["AIRFLOW_CONN_SNOWFLAKE_DEFAULT"])
    conn["password"] = SECRET
    key = "AIRFLOW_CONN_DBT_LOCAL"
    os.environ[key] = json.dumps(conn)
    yield "dbt_local"
    os.environ.pop(key, None)


class Warehouse:
    """Runs SQL on the test server and reads tables back as sorted tuples."""

    def __init__(self, server: dict) -> None:
        import snowflake.connector

        self.conn = snowflake.connector.connect(
            account="fakesnow",
            user="local",
            password="local",
            host=server["host"],
            port=server["port"],
            protocol="http",
            database="DEMO",
            schema="PUBLIC",
            network_timeout=30,
        )

    def run(self, *statements: str) -> None:
        cur = self.conn.cursor()
        for statement in statements:
            cur.execute(statement)

    def rows(self, sql: str) -> list[tuple]:
        return [tuple(r) for r in self.conn.cursor().execute(sql).fetchall()]


@pytest.fixture(scope="session")
def warehouse(snowflake_server: dict) -> Iterator[Warehouse]:
    wh = Warehouse(snowflake_server)
    yield wh
    wh.conn.close()


def create_staging(wh: Warehouse) -> None:
    """The tables the merge step produces (data contract), empty."""
    wh.run(
        "create database if not exists DEMO",
        "drop schema if exists DEMO.ANALYTICS cascade",  # what dbt built before: every module starts afresh
        "create schema if not exists DEMO.STAGING",
        CUSTOMERS_DDL,
        ORDERS_DDL,
    )


def copy_project(destination: Path, extra_files: dict[str, str] | None = None) -> Path:
    """A copy of the example project (plus extra models/tests), so runs never write into dags/."""
    shutil.copytree(PROJECT, destination, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    for name, text in (extra_files or {}).items():
        path = destination / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return destination


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]):
    """Everything logged so far: stdlib records (caplog) plus Airflow's structlog and subprocess output (fds)."""
    import logging

    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    def read() -> str:
        out, err = capfd.readouterr()
        seen.extend((out, err))
        return caplog.text + "".join(seen)

    return read


@pytest.fixture(scope="module", autouse=True)
def _private_tempdir(tmp_path_factory) -> Iterator[None]:
    """Run dirs, generated profiles and the partial-parse cache of these tests go to pytest's tmp dir."""
    import tempfile

    saved = tempfile.tempdir
    tempfile.tempdir = str(tmp_path_factory.mktemp("tempdir"))
    yield
    tempfile.tempdir = saved
