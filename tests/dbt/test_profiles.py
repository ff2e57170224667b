"""Profile generation from a Snowflake connection: every auth style, field by field, secrets as env vars."""

from __future__ import annotations

import base64

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from airflow_provider_dataeng.dbt.profiles import (
    SnowflakeConnectionFields,
    build_snowflake_profile,
    needs_access_token,
    secret_env_var,
)
from airflow_provider_dataeng.dbt.snowflake_auth import AUTH_METHODS, AuthMethod

BASE_EXTRA = {"account": "xy12345", "database": "DEMO", "warehouse": "WH", "role": "TRANSFORMER"}


def conn(extra: dict | None = None, **fields) -> SnowflakeConnectionFields:
    values = {"conn_id": "sf", "login": "dbt_user", "password": None, "schema": "PUBLIC", **fields}
    return SnowflakeConnectionFields(extra={**BASE_EXTRA, **(extra or {})}, **values)


def build(c: SnowflakeConnectionFields, **kwargs):
    return build_snowflake_profile(c, profile_name="dataeng_demo", target_name="prod", **kwargs)


def ref(field: str) -> str:
    return "{{ env_var('" + secret_env_var(field) + "') }}"


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key, passphrase: str | None = None) -> str:
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


def der(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def resolve(profile) -> dict:
    """The target as dbt sees it once env_var() is rendered."""
    out = {}
    for key, value in profile.output.items():
        for env, secret in profile.secrets.items():
            if value == "{{ env_var('" + env + "') }}":
                value = secret
        out[key] = value
    return out


def test_password_profile_field_by_field() -> None:
    profile = build(conn(password="s3cr3t-pw"))
    assert profile.auth == "password"
    assert profile.output == {
        "type": "snowflake",
        "account": "xy12345",
        "warehouse": "WH",
        "role": "TRANSFORMER",
        "database": "DEMO",
        "schema": "PUBLIC",
        "threads": 4,
        "user": "dbt_user",
        "password": ref("password"),
    }
    assert profile.secrets == {"DBT_ENV_SECRET_DATAENG_PASSWORD": "s3cr3t-pw"}
    assert profile.ignored == {}
    assert profile.as_profiles_yml() == {
        "dataeng_demo": {"target": "prod", "outputs": {"prod": profile.output}}
    }
    assert "s3cr3t-pw" not in yaml.safe_dump(profile.as_profiles_yml())


def test_local_stack_connection_keeps_host_port_protocol_and_timeouts() -> None:
    """The extras cosmos drops (#2740, #2741, #2749) all reach the profile."""
    extra = {
        "account": "fakesnow",
        "warehouse": "LOCAL_WH",
        "role": "SYSADMIN",
        "host": "127.0.0.1",
        "port": "8123",
        "protocol": "HTTP",
        "network_timeout": 30,
        "login_timeout": "10",
        "proxy_host": "proxy.local",
        "proxy_port": "3128",
        "insecure_mode": "true",
    }
    profile = build(conn(extra, login="local", password="local"), threads=2)
    assert profile.output == {
        "type": "snowflake",
        "account": "fakesnow",
        "warehouse": "LOCAL_WH",
        "role": "SYSADMIN",
        "host": "127.0.0.1",
        "port": 8123,
        "protocol": "http",
        "proxy_host": "proxy.local",
        "proxy_port": 3128,
        "insecure_mode": True,
        "connect_timeout": 10,
        "database": "DEMO",
        "schema": "PUBLIC",
        "threads": 2,
        "user": "local",
        "password": ref("password"),
    }
    assert profile.ignored == {"network_timeout": "dbt-snowflake has no network timeout setting"}


def test_legacy_prefixed_extras_region_and_dbt_only_fields() -> None:
    c = SnowflakeConnectionFields(
        conn_id="sf",
        login="u",
        password="p",
        schema="S",
        extra={
            "extra__snowflake__account": "ab123",
            "extra__snowflake__region": "eu-central-1",
            "extra__snowflake__database": "DB",
            "dbt_query_tag": "airflow",
            "dbt_connect_retries": "0",
            "dbt_client_session_keep_alive": "false",
            "dbt_threads": "8",
            "session_parameters": {"A": 1},
        },
    )
    profile = build(c)
    assert profile.output["account"] == "ab123.eu-central-1"
    assert profile.output["database"] == "DB"
    assert (profile.output["query_tag"], profile.output["connect_retries"]) == ("airflow", 0)
    assert profile.output["client_session_keep_alive"] is False
    assert profile.output["threads"] == 8
    assert build(c, threads=3).output["threads"] == 3  # the operator's threads wins
    assert set(profile.ignored) == {"session_parameters"}


def test_key_pair_without_passphrase_loads_in_dbt(rsa_key) -> None:
    from dbt.adapters.snowflake.auth import private_key_from_string

    text = pem(rsa_key)
    profile = build(conn({"private_key_content": text}))
    assert profile.auth == "key_pair"
    assert profile.output["user"] == "dbt_user"
    assert profile.output["private_key"] == ref("private_key")
    assert "password" not in profile.output and "private_key_passphrase" not in profile.output
    assert profile.secrets == {secret_env_var("private_key"): text.strip()}
    loaded = private_key_from_string(profile.secrets[secret_env_var("private_key")], None)
    assert der(loaded) == der(rsa_key)


def test_key_pair_with_passphrase_base64_content_loads_in_dbt(rsa_key) -> None:
    """The provider also accepts base64 of the PEM text: decoded to PEM for dbt."""
    from dbt.adapters.snowflake.auth import private_key_from_string

    encoded = base64.b64encode(pem(rsa_key, "pass phrase").encode()).decode()
    profile = build(conn({"private_key_content": encoded}, password="pass phrase"))
    assert profile.output["private_key"] == ref("private_key")
    assert profile.output["private_key_passphrase"] == ref("private_key_passphrase")
    resolved = resolve(profile)
    assert resolved["private_key"].startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert resolved["private_key_passphrase"] == "pass phrase"
    loaded = private_key_from_string(resolved["private_key"], resolved["private_key_passphrase"])
    assert der(loaded) == der(rsa_key)


def test_key_pair_file_is_a_path_not_a_secret(rsa_key, tmp_path) -> None:
    key_file = tmp_path / "rsa_key.p8"
    key_file.write_text(pem(rsa_key, "pp"))
    profile = build(conn({"private_key_file": str(key_file)}, password="pp"))
    assert profile.output["private_key_path"] == str(key_file)
    assert profile.secrets == {secret_env_var("private_key_passphrase"): "pp"}


def test_both_key_sources_is_an_error(rsa_key) -> None:
    with pytest.raises(ValueError, match="'private_key_file' and 'private_key_content' exclude each other"):
        build(conn({"private_key_file": "/k.p8", "private_key_content": pem(rsa_key)}))


def test_oauth_refresh_token_is_refreshed_by_dbt() -> None:
    c = conn(
        {"authenticator": "oauth", "refresh_token": "rt-123"}, login="client-id", password="client-secret"
    )
    assert not needs_access_token(c)
    profile = build(c)
    assert profile.auth == "oauth_refresh_token"
    assert profile.output == {
        "type": "snowflake",
        "account": "xy12345",
        "warehouse": "WH",
        "role": "TRANSFORMER",
        "database": "DEMO",
        "schema": "PUBLIC",
        "threads": 4,
        "authenticator": "oauth",
        "oauth_client_id": "client-id",
        "oauth_client_secret": ref("oauth_client_secret"),
        "token": ref("token"),
    }
    assert profile.secrets == {
        secret_env_var("oauth_client_secret"): "client-secret",
        secret_env_var("token"): "rt-123",
    }


@pytest.mark.parametrize(
    "extra",
    [
        {"authenticator": "oauth", "grant_type": "client_credentials", "token_endpoint": "https://idp/token"},
        {"refresh_token": "rt", "token_endpoint": "https://idp/token"},
        {"authenticator": "oauth", "azure_conn_id": "azure"},
    ],
)
def test_oauth_flavours_dbt_cannot_refresh_use_an_access_token(extra) -> None:
    c = conn(extra, login="client-id", password="client-secret")
    assert needs_access_token(c)
    with pytest.raises(ValueError, match="needs an access token"):
        build(c)
    profile = build(c, access_token="at-xyz")
    assert profile.auth == "oauth_access_token"
    assert profile.output["authenticator"] == "oauth"
    assert profile.output["token"] == ref("token")
    assert "user" not in profile.output and "oauth_client_id" not in profile.output
    assert profile.secrets == {secret_env_var("token"): "at-xyz"}
    assert set(profile.ignored) == set()


def test_programmatic_access_token_and_external_browser() -> None:
    pat = build(conn({"authenticator": "programmatic_access_token"}, password="pat-1"))
    assert (pat.output["authenticator"], pat.output["token"]) == ("programmatic_access_token", ref("token"))
    assert pat.secrets == {secret_env_var("token"): "pat-1"}
    browser = build(conn({"authenticator": "externalbrowser"}))
    assert browser.output["authenticator"] == "externalbrowser" and "password" not in browser.output
    assert browser.secrets == {}


def test_generated_targets_validate_as_dbt_snowflake_credentials(rsa_key) -> None:
    from dbt.adapters.snowflake.connections import SnowflakeCredentials

    for c in (
        conn(password="pw"),
        conn({"private_key_content": pem(rsa_key, "x")}, password="x"),
        conn({"refresh_token": "rt"}, login="cid", password="cs"),
        conn({"host": "127.0.0.1", "port": 1, "protocol": "http", "login_timeout": 5}, password="pw"),
    ):
        target = resolve(build(c))
        credentials = {k: v for k, v in target.items() if k not in ("type", "threads")}
        SnowflakeCredentials.validate(credentials)
        assert SnowflakeCredentials.from_dict(credentials).account == target["account"]


@pytest.mark.parametrize(
    ("c", "message"),
    [
        (
            SnowflakeConnectionFields("sf", "u", "p", "S", {"database": "D"}),
            "has no account: set extra 'account'",
        ),
        (
            SnowflakeConnectionFields("sf", "u", "p", "S", {"account": "a"}),
            "has no database: set extra 'database'",
        ),
        (
            SnowflakeConnectionFields("sf", "u", "p", None, BASE_EXTRA),
            "has no schema: set the connection's Schema",
        ),
        (
            SnowflakeConnectionFields("sf", None, "p", "S", BASE_EXTRA),
            "has no user: set the connection's Login",
        ),
        (
            SnowflakeConnectionFields("sf", "u", None, "S", BASE_EXTRA),
            "has no password, private key or OAuth",
        ),
        (conn({"port": "http"}, password="p"), "extra 'port': invalid literal"),
        (conn({"protocol": "ftp"}, password="p"), "extra 'protocol': expected 'http' or 'https'"),
        (conn({"insecure_mode": "maybe"}, password="p"), "extra 'insecure_mode': expected a boolean"),
        (conn({"private_key_content": "not base64!"}), "neither PEM text nor base64"),
    ],
)
def test_bad_connections_name_the_field_to_fix(c, message) -> None:
    with pytest.raises(ValueError, match=message) as err:
        build(c)
    assert "Snowflake connection 'sf'" in str(err.value)


def test_workload_identity_needs_no_user_and_passes_the_token_as_a_secret() -> None:
    profile = build(conn({"authenticator": "WORKLOAD_IDENTITY", "token": "jwt-1"}, login=None))
    assert profile.auth == "workload_identity"
    assert (profile.output["authenticator"], profile.output["token"]) == ("WORKLOAD_IDENTITY", ref("token"))
    assert "user" not in profile.output and "password" not in profile.output
    assert profile.secrets == {secret_env_var("token"): "jwt-1"}
    assert profile.ignored == {}


def test_key_pair_keeps_an_authenticator_other_than_the_default_jwt(rsa_key) -> None:
    key = pem(rsa_key)
    jwt = build(conn({"private_key_content": key, "authenticator": "SNOWFLAKE_JWT"}))
    assert jwt.auth == "key_pair" and "authenticator" not in jwt.output
    okta = build(conn({"private_key_content": key, "authenticator": "https://x.okta.com"}))
    assert okta.output["authenticator"] == "https://x.okta.com"


@pytest.mark.parametrize("method", AUTH_METHODS, ids=lambda m: m.name or "other")
def test_every_auth_mapping_is_consistent(method: AuthMethod) -> None:
    """Secret, required and converted fields are fields the method maps; sources are ones the mapping knows."""
    assert method.secret_fields <= set(method.fields)
    assert set(method.required) <= set(method.fields)
    assert set(method.convert) <= set(method.fields)
    for source in method.fields.values():
        assert source in ("login", "password", "access_token") or source.startswith(("extra.", "="))
    assert all("{where}" in message for message in method.required.values())
