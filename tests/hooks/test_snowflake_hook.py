"""Our SnowflakeHook forwards the connector options the stock hook drops."""

from __future__ import annotations

import json

import pytest

from airflow_provider_dataeng.hooks.snowflake import (
    SnowflakeHook,
    connector_options_from_extras,
    rows_as_dicts,
)


def test_connector_options_are_typed_and_filtered() -> None:
    extras = {"protocol": "http", "network_timeout": "30", "login_timeout": 5, "account": "x", "port": 1}
    assert connector_options_from_extras(extras) == {"protocol": "http", "network_timeout": 30, "login_timeout": 5}


def test_bad_protocol_is_refused() -> None:
    with pytest.raises(ValueError, match="extra 'protocol' must be 'http' or 'https', got 'ftp'"):
        connector_options_from_extras({"protocol": "ftp"})


def test_bad_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="extra 'network_timeout' must be int, got 'soon'"):
        connector_options_from_extras({"network_timeout": "soon"})


def test_hook_passes_protocol_host_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {
        "conn_type": "snowflake",
        "login": "user",
        "password": "secret",
        "schema": "PUBLIC",
        "extra": {"account": "acme", "database": "DEMO", "host": "127.0.0.1", "port": 8123, "protocol": "http"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SF_TEST", json.dumps(conn))
    params = SnowflakeHook(snowflake_conn_id="sf_test")._get_conn_params()
    assert {k: params[k] for k in ("account", "user", "database", "schema", "host", "port", "protocol")} == {
        "account": "acme",
        "user": "user",
        "database": "DEMO",
        "schema": "PUBLIC",
        "host": "127.0.0.1",
        "port": 8123,
        "protocol": "http",
    }


def test_rows_as_dicts() -> None:
    assert rows_as_dicts([("A",), ("B",)], [(1, 2), (3, 4)]) == [{"A": 1, "B": 2}, {"A": 3, "B": 4}]
