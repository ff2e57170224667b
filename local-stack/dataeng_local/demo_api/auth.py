"""The four ways a client can authenticate, each on its own URL prefix.

- ``/v1/...``: ``Authorization: Bearer <token>`` (the configured static token)
- ``/apikey/v1/...``: ``<api_key_header>: <api key>`` (``X-API-Key`` by default)
- ``/basic/v1/...``: HTTP Basic with the configured user and password
- ``/oauth/v1/...``: ``Authorization: Bearer <access token>`` from ``POST /oauth/token``
  (client credentials grant; tokens expire after ``oauth_token_ttl`` seconds of real time, then 401
  with ``WWW-Authenticate: Bearer error="invalid_token"``)

OAuth tokens are signed, not stored: they stay valid across server restarts with the same settings.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import time
from collections.abc import Mapping

from starlette.responses import JSONResponse

from dataeng_local.demo_api.config import Credentials

MODES = {"": "bearer", "/apikey": "api_key", "/basic": "basic", "/oauth": "oauth"}


def _unauthorized(message: str, challenge: str) -> JSONResponse:
    return JSONResponse(
        {"error": "unauthorized", "message": message},
        status_code=401,
        headers={"www-authenticate": challenge},
    )


def _basic_pair(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def _bearer(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class Authenticator:
    """Checks requests for one auth mode and issues OAuth access tokens."""

    def __init__(self, credentials: Credentials, signing_key: bytes) -> None:
        self.credentials = credentials
        self._key = signing_key

    def check(self, mode: str, headers: Mapping[str, str]) -> JSONResponse | None:
        """``None`` when the request may proceed, else the 401 response to send."""
        creds = self.credentials
        authorization = headers.get("authorization", "")
        if mode == "bearer":
            token = _bearer(authorization)
            if token is not None and hmac.compare_digest(token, creds.token):
                return None
            return _unauthorized("a valid bearer token is required", 'Bearer realm="demo-api"')
        if mode == "api_key":
            key = headers.get(creds.api_key_header.lower())
            if key is not None and hmac.compare_digest(key, creds.api_key):
                return None
            return _unauthorized(f"a valid {creds.api_key_header} header is required", "ApiKey")
        if mode == "basic":
            pair = _basic_pair(authorization)
            if (
                pair is not None
                and hmac.compare_digest(pair[0], creds.basic_user)
                and hmac.compare_digest(pair[1], creds.basic_password)
            ):
                return None
            return _unauthorized("valid basic credentials are required", 'Basic realm="demo-api"')
        if mode == "oauth":
            token = _bearer(authorization)
            if token is None:
                return _unauthorized("an OAuth access token is required", 'Bearer realm="demo-api"')
            problem = self._token_problem(token)
            if problem is None:
                return None
            return _unauthorized(
                problem, f'Bearer realm="demo-api", error="invalid_token", error_description="{problem}"'
            )
        raise ValueError(f"unknown auth mode {mode!r}")

    def issue(self, form: Mapping[str, str], headers: Mapping[str, str]) -> JSONResponse:
        """RFC 6749 client credentials grant; client auth by form fields or HTTP Basic."""
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        pair = _basic_pair(headers.get("authorization", ""))
        client_id, secret = (
            pair if pair is not None else (form.get("client_id", ""), form.get("client_secret", ""))
        )
        creds = self.credentials
        if not (
            hmac.compare_digest(client_id, creds.client_id)
            and hmac.compare_digest(secret, creds.client_secret)
        ):
            return JSONResponse(
                {"error": "invalid_client"},
                status_code=401,
                headers={"www-authenticate": 'Basic realm="demo-api"'},
            )
        expires = time.time() + creds.oauth_token_ttl
        return JSONResponse(
            {
                "access_token": self._sign(client_id, expires),
                "token_type": "Bearer",
                "expires_in": math.ceil(creds.oauth_token_ttl),
            },
            headers={"cache-control": "no-store"},
        )

    def _sign(self, client_id: str, expires: float) -> str:
        payload = base64.urlsafe_b64encode(f"{client_id}:{expires:.3f}".encode()).decode().rstrip("=")
        signature = hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{payload}.{signature}"

    def _token_problem(self, token: str) -> str | None:
        payload, _, signature = token.partition(".")
        expected = hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()[:32]
        if not hmac.compare_digest(signature, expected):
            return "token is not valid"
        try:
            text = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
            expires = float(text.rpartition(":")[2])
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return "token is not valid"
        return "token expired" if time.time() >= expires else None
