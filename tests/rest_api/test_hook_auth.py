"""Every auth mode against a real server: what the client sends, OAuth2 caching and refresh on 401."""

from __future__ import annotations

import base64

import pytest

from airflow_provider_dataeng.hooks.rest_api import RestApiHook, RestApiHTTPError
from tests.rest_api.conftest import FAST_RETRIES
from tests.rest_api.server import FixtureServer, Request


def ok(request: Request):
    return 200, {}, [{"id": 1}]


def fetch_once(conn_id: str) -> list[list[dict]]:
    return list(RestApiHook(conn_id, retry_policy=FAST_RETRIES).paginate("/items"))


def test_no_auth_sends_no_credentials(server: FixtureServer, connection) -> None:
    server.route("GET", "/items", ok)
    assert fetch_once(connection("plain")) == [[{"id": 1}]]
    assert "authorization" not in server.requests[0].headers


def test_basic_auth_from_login_and_password(server, connection) -> None:
    server.route("GET", "/items", ok)
    fetch_once(connection("basic", conn_type="http", login="demo", password="s3cret-pw"))
    assert server.requests[0].headers["authorization"] == "Basic " + base64.b64encode(b"demo:s3cret-pw").decode()


def test_bearer_token_on_a_standard_http_connection(server, connection) -> None:
    server.route("GET", "/items", ok)
    fetch_once(connection("demo", conn_type="http", password="tok-123456", extra={"auth_type": "bearer"}))
    assert server.requests[0].headers["authorization"] == "Bearer tok-123456"


def test_api_key_in_a_named_header(server, connection) -> None:
    server.route("GET", "/items", ok)
    fetch_once(connection("key", password="key-abcdef", extra={"auth_type": "api_key", "api_key_name": "X-Token"}))
    assert server.requests[0].headers["x-token"] == "key-abcdef"


def test_api_key_in_the_query_string_is_redacted_in_errors(server, connection) -> None:
    server.route("GET", "/items", lambda r: (403, {}, {"error": "forbidden"}))
    conn_id = connection("qkey", password="key-abcdef",
                         extra={"auth_type": "api_key", "api_key_in": "query", "api_key_name": "apiKey"})
    with pytest.raises(RestApiHTTPError) as err:
        fetch_once(conn_id)
    assert server.requests[0].query == {"apiKey": "key-abcdef"}
    assert str(err.value) == f"HTTP 403 from GET {server.url}/items?apiKey=***: '{{\"error\": \"forbidden\"}}'"


def test_default_headers_from_extra(server, connection) -> None:
    server.route("GET", "/items", ok)
    fetch_once(connection("hdr", extra={"headers": {"X-Tenant": "acme"}}))
    assert server.requests[0].headers["x-tenant"] == "acme"
    assert server.requests[0].headers["accept"] == "application/json"


def test_full_base_url_in_host(server, connection, monkeypatch) -> None:
    server.route("GET", "/api/v2/items", ok)
    conn_id = connection("full", host=f"{server.url}/api/v2", port=None, schema=None)
    assert fetch_once(conn_id) == [[{"id": 1}]]
    assert server.requests[0].path == "/api/v2/items"


class OAuthServer:
    """Token endpoint issuing tok-1, tok-2, ...; the API accepts only the newest token."""

    def __init__(self, server: FixtureServer, client_auth: str = "basic") -> None:
        self.issued = 0
        self.valid: str | None = None
        self.client_auth = client_auth
        server.route("POST", "/oauth/token", self.token)
        server.route("GET", "/items", self.items)

    def token(self, request: Request):
        form = dict(p.split("=", 1) for p in request.body.decode().split("&"))
        if self.client_auth == "basic":
            expected = "Basic " + base64.b64encode(b"client-1:client-secret-1").decode()
            assert request.headers.get("authorization") == expected
        else:
            assert (form["client_id"], form["client_secret"]) == ("client-1", "client-secret-1")
        assert form["grant_type"] == "client_credentials"
        self.issued += 1
        self.valid = f"tok-{self.issued}-xyz"
        return 200, {}, {"access_token": self.valid, "token_type": "Bearer", "expires_in": 3600}

    def items(self, request: Request):
        if request.headers.get("authorization") != f"Bearer {self.valid}":
            return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, {"error": "invalid_token"}
        return 200, {}, [{"id": 1}]


@pytest.mark.parametrize("client_auth", ["basic", "body"])
def test_oauth2_token_is_fetched_once_and_cached(server, connection, client_auth: str) -> None:
    oauth = OAuthServer(server, client_auth)
    conn_id = connection("oauth", login="client-1", password="client-secret-1",
                         extra={"auth_type": "oauth2", "token_url": "/oauth/token", "scope": "read",
                                "token_client_auth": client_auth})
    hook = RestApiHook(conn_id, retry_policy=FAST_RETRIES)
    assert list(hook.paginate("/items")) == [[{"id": 1}]]
    assert list(hook.paginate("/items")) == [[{"id": 1}]]
    assert oauth.issued == 1
    assert [r.path for r in server.requests] == ["/oauth/token", "/items", "/items"]


def test_oauth2_refreshes_on_401(server, connection, logs) -> None:
    oauth = OAuthServer(server)
    conn_id = connection("oauth", login="client-1", password="client-secret-1",
                         extra={"auth_type": "oauth2", "token_url": "/oauth/token"})
    hook = RestApiHook(conn_id, retry_policy=FAST_RETRIES)
    list(hook.paginate("/items"))
    oauth.valid = "revoked-by-server"  # the cached tok-1 is no longer accepted
    assert list(hook.paginate("/items")) == [[{"id": 1}]]
    assert oauth.issued == 2
    assert [r.path for r in server.requests] == ["/oauth/token", "/items", "/items", "/oauth/token", "/items"]
    text = logs()
    assert "fetching a new OAuth2 token" in text
    assert "tok-1-xyz" not in text and "tok-2-xyz" not in text and "client-secret-1" not in text


def test_oauth2_bad_client_secret_is_a_clear_error(server, connection) -> None:
    server.route("POST", "/oauth/token", lambda r: (401, {}, {"error": "invalid_client"}))
    conn_id = connection("oauth", login="client-1", password="wrong-secret",
                         extra={"auth_type": "oauth2", "token_url": "/oauth/token"})
    with pytest.raises(PermissionError, match="OAuth2 token request to .*/oauth/token failed with HTTP 401"):
        fetch_once(conn_id)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"extra": {"auth_type": "kerberos"}},
         "unknown auth_type 'kerberos' in connection 'bad' extra: expected one of none, basic, bearer, api_key, oauth2"),
        ({"password": "x-secret"},
         "connection 'bad' has a password but no login and no extra auth_type: set extra auth_type to one of"),
        ({"extra": {"auth_type": "bearer"}}, "auth_type 'bearer' needs the token in the password field"),
        ({"extra": {"auth_type": "oauth2"}, "login": "a", "password": "b"}, "auth_type 'oauth2' needs extra token_url"),
        ({"schema": "ftp"}, "schema must be 'http' or 'https'"),
        ({"host": ""}, "has no host"),
    ],
)
def test_bad_connection_settings_name_the_field(server, connection, fields: dict, message: str) -> None:
    conn_id = connection("bad", **fields)
    with pytest.raises(ValueError) as err:
        fetch_once(conn_id)
    assert message in str(err.value)
    assert server.requests == []


def test_ui_form_fields_with_prefixed_extra_keys(server, connection) -> None:
    """The connection form stores conn-fields as ``extra__rest_api__<name>``; both spellings work."""
    server.route("GET", "/items", ok)
    fetch_once(connection("form", password="form-token-1", extra={"extra__rest_api__auth_type": "bearer",
                                                                   "extra__rest_api__timeout": 5}))
    assert server.requests[0].headers["authorization"] == "Bearer form-token-1"
    assert RestApiHook("form").settings.timeout == 5.0


def test_test_connection_reports_status_or_redacted_error(server, connection) -> None:
    server.route("GET", "/health", ok)
    conn_id = connection("tc", password="tc-secret-token", extra={"auth_type": "bearer", "test_path": "/health"})
    assert RestApiHook(conn_id, retry_policy=FAST_RETRIES).test_connection() == (
        True, f"Connected: HTTP 200 from {server.url}/health"
    )
    server.route("GET", "/health", lambda r: (401, {}, {"error": "bad token tc-secret-token"}))
    ok_, message = RestApiHook(conn_id, retry_policy=FAST_RETRIES).test_connection()
    assert not ok_
    assert message == f"HTTP 401 from GET {server.url}/health: '{{\"error\": \"bad token ***\"}}'"
