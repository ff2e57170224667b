"""Connection parsing (pure): base URL forms, extras, and errors naming the field."""

from __future__ import annotations

import json

import pytest
from airflow.sdk import Connection

from airflow_provider_dataeng.hooks.rest_settings import DEFAULT_TIMEOUT, settings_from_connection


def conn(**fields) -> Connection:
    extra = fields.pop("extra", None)
    return Connection(conn_id="c", conn_type=fields.pop("conn_type", "rest_api"),
                      extra=json.dumps(extra) if extra is not None else None, **fields)


@pytest.mark.parametrize(
    ("fields", "base_url"),
    [
        ({"host": "api.example.com"}, "https://api.example.com"),
        ({"host": "api.example.com", "schema": "http", "port": 8080}, "http://api.example.com:8080"),
        ({"host": "https://api.example.com/v2"}, "https://api.example.com/v2"),
        ({"host": "https://api.example.com/v2", "port": 8443}, "https://api.example.com:8443/v2"),
    ],
)
def test_base_url_forms(fields: dict, base_url: str) -> None:
    assert settings_from_connection(conn(**fields)).base_url == base_url


def test_defaults() -> None:
    s = settings_from_connection(conn(host="h"))
    assert (s.auth_type, dict(s.headers), s.timeout, s.verify, s.max_requests_per_second) == (
        "none", {}, DEFAULT_TIMEOUT, True, None
    )


def test_extras_are_parsed() -> None:
    s = settings_from_connection(conn(
        host="h", login="u", password="p",
        extra={"headers": '{"X-A": 1}', "timeout": [3, 30], "verify": "false", "max_requests_per_second": "2.5"},
    ))
    assert (s.auth_type, dict(s.headers), s.timeout, s.verify, s.max_requests_per_second) == (
        "basic", {"X-A": "1"}, (3.0, 30.0), False, 2.5
    )


def test_verify_accepts_a_ca_bundle_path() -> None:
    assert settings_from_connection(conn(host="h", extra={"verify": "/etc/ssl/ca.pem"})).verify == "/etc/ssl/ca.pem"


@pytest.mark.parametrize("alias", ["oauth2_client_credentials", "OAuth2", "oauth"])
def test_auth_type_aliases(alias: str) -> None:
    assert settings_from_connection(conn(host="h", extra={"auth_type": alias})).auth_type == "oauth2"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"timeout": "soon"}, "connection extra timeout must be seconds or [connect, read], got 'soon'"),
        ({"max_requests_per_second": 0}, "connection extra max_requests_per_second must be positive, got 0.0"),
        ({"headers": [1]}, "connection 'c' extra headers must be an object, got [1]"),
    ],
)
def test_bad_extras(extra: dict, message: str) -> None:
    with pytest.raises(ValueError) as err:
        settings_from_connection(conn(host="h", extra=extra))
    assert str(err.value) == message
