"""The PostgreSQL source of the local stack: a real server, seeded with the demo API's customers and orders.

Against the session's stack (``local_stack``): the ``postgres_default`` connection it exports reaches the
``shop`` database, whose tables hold exactly the records the demo API serves at its clock, typed.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from decimal import Decimal

import psycopg
import pytest
import requests

from dataeng_local.postgres import CUSTOMER_COLUMNS, ORDER_COLUMNS, find_bin_dir

pytestmark = pytest.mark.integration


def _connect() -> psycopg.Connection:
    conn = json.loads(os.environ["AIRFLOW_CONN_POSTGRES_DEFAULT"])
    assert conn["conn_type"] == "postgres" and conn["schema"] == "shop"
    return psycopg.connect(host=conn["host"], port=conn["port"], dbname=conn["schema"], user=conn["login"],
                           password=conn["password"])


def _api(local_stack, resource: str) -> list[dict]:
    token = local_stack.api_token
    from dataeng_local.demo_api.config import DemoApiConfig

    as_of = datetime.fromtimestamp(DemoApiConfig().start_time, tz=timezone.utc)  # the seed's time: the clock may move
    params = {"paginate": "offset", "limit": 10_000, "as_of": _iso(as_of)}
    answer = requests.get(f"{local_stack.api_url}/v1/{resource}", params=params,
                          headers={"Authorization": f"Bearer {token}"}, timeout=60)
    answer.raise_for_status()
    body = answer.json()
    assert body["total"] <= 10_000
    return body["data"]


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_binaries_are_found() -> None:
    assert (find_bin_dir() / "postgres").exists()


@pytest.mark.parametrize(("table", "columns"), [("customers", CUSTOMER_COLUMNS), ("orders", ORDER_COLUMNS)])
def test_tables_hold_the_demo_apis_records(local_stack, table: str, columns: tuple[str, ...]) -> None:
    expected = sorted(_api(local_stack, table), key=lambda r: r["id"])
    with _connect() as conn:
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id").fetchall()
    got = []
    for row in rows:
        record = {}
        for name, value in zip(columns, row):
            if isinstance(value, datetime):
                assert value.utcoffset().total_seconds() == 0  # timestamptz, read in the server's UTC
                value = _iso(value)
            elif isinstance(value, Decimal):
                value = f"{value:.2f}"
            record[name] = value
        got.append(record)
    assert got == [{c: r[c] for c in columns} for r in expected]
    assert len(got) > 1000


def test_columns_are_typed_and_orders_reference_customers(local_stack) -> None:
    with _connect() as conn:
        types = dict(conn.execute(
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name IN ('amount', 'updated_at', 'is_deleted', 'id')"
        ).fetchall())
        orphans = conn.execute(
            "SELECT count(*) FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE c.id IS NULL"
        ).fetchone()
    assert types == {
        "customers.id": "bigint", "customers.updated_at": "timestamp with time zone",
        "customers.is_deleted": "boolean", "orders.id": "bigint", "orders.amount": "numeric",
        "orders.updated_at": "timestamp with time zone", "orders.is_deleted": "boolean",
    }
    assert orphans == (0,)


def test_the_cli_lists_postgres_with_its_database(local_stack) -> None:
    from dataeng_local.cli import _describe

    assert "postgres" in local_stack.services
    line = next(line for line in _describe(local_stack).splitlines() if line.strip().startswith("postgres"))
    assert f"postgresql://127.0.0.1:{local_stack.postgres_port}" in line and "database shop" in line
