"""Each auth variant: 401 without (or with wrong) credentials, 200 with; OAuth tokens expire."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from dataeng_local.demo_api import Credentials, DemoApiConfig
from dataeng_local.demo_api.server import ThreadedServer, serve_in_thread

CREDS = Credentials(
    token="tok-123",
    api_key="key-456",
    basic_user="ada",
    basic_password="lovelace",
    client_id="client-1",
    client_secret="secret-1",
    oauth_token_ttl=1.0,
)


@pytest.fixture(scope="module")
def api() -> Iterator[ThreadedServer]:
    with serve_in_thread(DemoApiConfig(credentials=CREDS)) as server:
        yield server


def token(api: ThreadedServer, **form: str) -> requests.Response:
    data = {"grant_type": "client_credentials", "client_id": "client-1", "client_secret": "secret-1", **form}
    return requests.post(f"{api.url}/oauth/token", data=data)


@pytest.mark.parametrize(
    ("path", "good", "bad"),
    [
        ("/v1/customers", {"Authorization": "Bearer tok-123"}, {"Authorization": "Bearer tok-999"}),
        ("/apikey/v1/customers", {"X-API-Key": "key-456"}, {"X-API-Key": "key-000"}),
        (
            "/basic/v1/customers",
            {"Authorization": "Basic YWRhOmxvdmVsYWNl"},
            {"Authorization": "Basic YWRhOmFkYQ=="},
        ),
        ("/graphql", {"Authorization": "Bearer tok-123"}, {"Authorization": "Basic YWRhOmxvdmVsYWNl"}),
    ],
)
def test_missing_or_wrong_credentials_are_401_right_ones_200(api, path, good, bad):
    def call(headers: dict[str, str]) -> requests.Response:
        if path == "/graphql":
            return requests.post(
                api.url + path, json={"query": "{ customers(first: 1) { totalCount } }"}, headers=headers
            )
        return requests.get(api.url + path, params={"limit": 1}, headers=headers)

    assert call({}).status_code == 401
    assert call(bad).status_code == 401
    assert call(good).status_code == 200


def test_401_says_how_to_authenticate(api):
    assert requests.get(f"{api.url}/basic/v1/orders").headers["WWW-Authenticate"] == 'Basic realm="demo-api"'
    assert requests.get(f"{api.url}/v1/orders").headers["WWW-Authenticate"] == 'Bearer realm="demo-api"'


def test_the_static_token_is_not_an_oauth_token(api):
    resp = requests.get(f"{api.url}/oauth/v1/customers", headers={"Authorization": "Bearer tok-123"})
    assert resp.status_code == 401


def test_oauth_client_credentials_token_works_then_expires(api):
    issued = token(api)
    assert issued.status_code == 200
    body = issued.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 1)
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert requests.get(f"{api.url}/oauth/v1/customers", headers=headers).status_code == 200
    time.sleep(1.05)
    expired = requests.get(f"{api.url}/oauth/v1/customers", headers=headers)
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
    assert expired.json()["message"] == "token expired"
    fresh = {"Authorization": f"Bearer {token(api).json()['access_token']}"}
    assert requests.get(f"{api.url}/oauth/v1/customers", headers=fresh).status_code == 200


def test_oauth_client_may_authenticate_with_basic(api):
    resp = requests.post(
        f"{api.url}/oauth/token", data={"grant_type": "client_credentials"}, auth=("client-1", "secret-1")
    )
    assert resp.status_code == 200


def test_oauth_rejects_a_wrong_secret_and_other_grants(api):
    assert token(api, client_secret="nope").json() == {"error": "invalid_client"}
    assert token(api, client_secret="nope").status_code == 401
    wrong_grant = token(api, grant_type="password")
    assert (wrong_grant.status_code, wrong_grant.json()) == (400, {"error": "unsupported_grant_type"})


def test_a_tampered_oauth_token_is_rejected(api):
    access = token(api).json()["access_token"]
    payload, _, signature = access.partition(".")
    resp = requests.get(
        f"{api.url}/oauth/v1/customers", headers={"Authorization": f"Bearer {payload}.{'0' * 32}"}
    )
    assert resp.status_code == 401
    assert resp.json()["message"] == "token is not valid"


def test_health_and_token_endpoints_need_no_credentials(api):
    assert requests.get(f"{api.url}/healthz").json() == {"status": "ok"}
