"""DbtHook without a warehouse: profile from a real Airflow connection, OAuth token fetch, profiles dir life."""

from __future__ import annotations

import json
import stat
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import yaml

from airflow_provider_dataeng.hooks.dbt import DbtHook, packages_missing, read_profile_name
from tests.dbt.conftest import PROJECT

SECRET = "hook-test-secret-91c2"


@pytest.fixture
def connection(monkeypatch):
    def set_conn(conn_id: str, **conn) -> str:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "snowflake", **conn}))
        return conn_id

    return set_conn


@pytest.fixture(scope="module")
def token_server():
    """A real OAuth token endpoint on 127.0.0.1 that records the requests it gets."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            seen.append({"form": parse_qs(body), "auth": self.headers.get("Authorization")})
            payload = json.dumps({"access_token": "at-from-idp-5521", "expires_in": 600}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/oauth/token", seen
    server.shutdown()


def test_profile_from_an_airflow_connection_warns_about_extras_dbt_cannot_take(connection, logs) -> None:
    conn_id = connection(
        "sf_pw",
        login="etl",
        password=SECRET,
        schema="RAW",
        extra={
            "account": "ab12",
            "database": "DB",
            "warehouse": "WH",
            "session_parameters": {"QUERY_TAG": "x"},
            "ocsp_fail_open": False,
        },
    )
    profile = DbtHook(conn_id).build_profile("proj", "prod")
    assert profile.output["user"] == "etl" and profile.secrets == {"DBT_ENV_SECRET_DATAENG_PASSWORD": SECRET}
    text = logs()
    assert "Connection extra 'session_parameters' is not passed to dbt: dbt-snowflake sets no session" in text
    assert "Connection extra 'ocsp_fail_open' is not passed to dbt" in text
    assert "auth: password" in text and SECRET not in text


def test_oauth_client_credentials_token_is_fetched_by_the_snowflake_hook(
    connection, token_server, logs
) -> None:
    url, seen = token_server
    conn_id = connection(
        "sf_oauth",
        login="client-id",
        password=SECRET,
        schema="S",
        extra={
            "account": "ab12",
            "database": "DB",
            "authenticator": "oauth",
            "grant_type": "client_credentials",
            "token_endpoint": url,
            "scope": "session:role:ANALYST",
        },
    )
    profile = DbtHook(conn_id).build_profile("proj", "prod")
    assert profile.auth == "oauth_access_token"
    assert profile.output["authenticator"] == "oauth"
    assert profile.secrets == {"DBT_ENV_SECRET_DATAENG_TOKEN": "at-from-idp-5521"}
    assert seen[-1]["form"]["grant_type"] == ["client_credentials"]
    text = logs()
    assert SECRET not in text and "at-from-idp-5521" not in text


def test_generated_profiles_dir_is_private_and_removed_even_on_error(connection, tmp_path) -> None:
    conn_id = connection(
        "sf_dir", login="u", password=SECRET, schema="S", extra={"account": "a", "database": "D"}
    )
    hook = DbtHook(conn_id)
    with pytest.raises(RuntimeError, match="boom"), hook.profiles(PROJECT, "local") as (directory, env):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        assert stat.S_IMODE((directory / "profiles.yml").stat().st_mode) == 0o600
        written = yaml.safe_load((directory / "profiles.yml").read_text())
        assert written["dataeng_demo"]["target"] == "local"
        assert written["dataeng_demo"]["outputs"]["local"]["password"] == (
            "{{ env_var('DBT_ENV_SECRET_DATAENG_PASSWORD') }}"
        )
        assert env == {"DBT_ENV_SECRET_DATAENG_PASSWORD": SECRET}
        raise RuntimeError("boom")
    assert not directory.exists()


def test_own_profiles_dir_is_used_as_is_and_must_hold_profiles_yml(tmp_path) -> None:
    with (
        pytest.raises(FileNotFoundError, match="has no profiles.yml"),
        DbtHook(profiles_dir=tmp_path).profiles(PROJECT, None),
    ):
        pass
    (tmp_path / "profiles.yml").write_text("dataeng_demo: {}\n")
    with DbtHook(profiles_dir=tmp_path).profiles(PROJECT, None) as (directory, env):
        assert (directory, env) == (tmp_path, {})
    assert (tmp_path / "profiles.yml").exists()


def test_hook_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="Give exactly one of snowflake_conn_id"):
        DbtHook()
    with pytest.raises(ValueError, match="execution must be one of"):
        DbtHook("c", execution="thread")


def test_profile_name_and_package_detection(tmp_path: Path) -> None:
    assert read_profile_name(PROJECT) == "dataeng_demo"
    assert packages_missing(PROJECT) is False
    (tmp_path / "dbt_project.yml").write_text("name: p\nconfig-version: 2\n")
    with pytest.raises(ValueError, match="sets no 'profile:'"):
        read_profile_name(tmp_path)
    (tmp_path / "packages.yml").write_text("packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n")
    assert packages_missing(tmp_path) is True
    (tmp_path / "dbt_packages" / "dbt_utils").mkdir(parents=True)
    (tmp_path / "dbt_packages" / "dbt_utils" / "dbt_project.yml").write_text("name: dbt_utils\n")
    assert packages_missing(tmp_path) is False
    (tmp_path / "package-lock.yml").write_text(
        "packages:\n  - package: dbt-labs/dbt_utils\n    name: dbt_utils\n  - package: x/y\n    name: other\n"
    )
    assert packages_missing(tmp_path) is True  # the lock names one that is not installed


def test_partial_parse_file_is_cached_per_user_and_never_read_from_an_open_dir(
    monkeypatch, tmp_path, logs
) -> None:
    import os
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    hook = DbtHook(profiles_dir=tmp_path)
    first, second = tmp_path / "run1" / "target", tmp_path / "run2" / "target"
    with hook.partial_parse_cache(PROJECT, first):
        (first / "partial_parse.msgpack").write_bytes(b"parsed-1")
    with hook.partial_parse_cache(PROJECT, second):
        assert (second / "partial_parse.msgpack").read_bytes() == b"parsed-1"  # reused by the next run
    [cache] = (tmp_path / f"dataeng-dbt-cache-{os.getuid()}").iterdir()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700

    cache.chmod(0o777)  # someone could plant a parse file here: it must not be used
    third = tmp_path / "run3" / "target"
    with hook.partial_parse_cache(PROJECT, third):
        assert not (third / "partial_parse.msgpack").exists()
    assert "is not private to this user: not used" in logs()
