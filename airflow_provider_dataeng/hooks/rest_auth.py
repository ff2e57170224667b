"""Auth styles for :class:`RestApiHook`, one ``requests`` auth class each, built from a connection.

Imported by the hook at connection time only (it imports ``requests``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import requests
from requests.auth import AuthBase, HTTPBasicAuth

AUTH_TYPES = ("none", "basic", "bearer", "api_key", "oauth2")
_ALIASES = {
    "oauth2_client_credentials": "oauth2",
    "oauth": "oauth2",
    "token": "bearer",
    "apikey": "api_key",
    "": "none",
    "noauth": "none",
}


class BearerAuth(AuthBase):
    """``Authorization: Bearer <token>``."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


class ApiKeyAuth(AuthBase):
    """An API key in a header (``X-API-Key: <key>``) or a query parameter (``?api_key=<key>``)."""

    def __init__(self, name: str, key: str, location: str = "header") -> None:
        if location not in ("header", "query"):
            raise ValueError(f"api_key_in must be 'header' or 'query', got {location!r}")
        self.name, self.key, self.location = name, key, location

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.location == "header":
            r.headers[self.name] = self.key
        else:
            r.prepare_url(r.url or "", {self.name: self.key})
        return r


@dataclass
class OAuth2ClientCredentials(AuthBase):
    """OAuth2 client credentials grant: the token is fetched once, cached until shortly before it expires,
    and fetched again after ``invalidate()`` (the hook calls it on a 401)."""

    token_url: str
    client_id: str
    client_secret: str
    scope: str | None = None
    audience: str | None = None
    client_auth: str = "basic"  # or "body": client_id/client_secret as form fields
    timeout: Any = 30
    verify: Any = True
    on_token: Callable[[str], None] | None = None  # e.g. register the token with the log masker
    expiry_margin: float = 30.0
    _token: str | None = field(default=None, init=False, repr=False)
    _expires_at: float = field(default=0.0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    fetch_count: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.client_auth not in ("basic", "body"):
            raise ValueError(f"token_client_auth must be 'basic' or 'body', got {self.client_auth!r}")

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                self._token, self._expires_at = self._fetch()
            return self._token

    def _fetch(self) -> tuple[str, float]:
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        if self.audience:
            form["audience"] = self.audience
        auth = None
        if self.client_auth == "basic":
            auth = HTTPBasicAuth(self.client_id, self.client_secret)
        else:
            form.update(client_id=self.client_id, client_secret=self.client_secret)
        response = requests.post(
            self.token_url,
            data=form,
            auth=auth,
            timeout=self.timeout,
            verify=self.verify,
            headers={"Accept": "application/json"},
        )
        self.fetch_count += 1
        if response.status_code != 200:
            raise PermissionError(
                f"OAuth2 token request to {self.token_url} failed with HTTP {response.status_code}: "
                f"{response.text[:200]!r}; check the connection's login (client id), password (client secret) "
                "and extra token_url/scope"
            )
        try:
            payload = response.json()
            token = payload["access_token"]
        except (ValueError, KeyError, TypeError):
            raise PermissionError(
                f"OAuth2 token response from {self.token_url} has no access_token field"
            ) from None
        if self.on_token:
            self.on_token(token)
        expires_in = payload.get("expires_in")
        lifetime = (
            float(expires_in) if isinstance(expires_in, (int, float, str)) and str(expires_in) else 3600.0
        )
        return token, time.monotonic() + max(lifetime - self.expiry_margin, lifetime / 2)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token()}"
        return r


def normalize_auth_type(value: Any) -> str:
    text = str(value or "").strip().lower()
    return _ALIASES.get(text, text)


def build_auth(
    auth_type: str,
    *,
    login: str | None,
    password: str | None,
    extras: Mapping[str, Any],
    base_url: str,
    timeout: Any,
    verify: Any,
    on_token: Callable[[str], None] | None = None,
    conn_id: str = "",
) -> tuple[AuthBase | None, list[str]]:
    """``(auth, secret query parameter names)`` for one auth type; raises ``ValueError`` naming the field."""
    where = f"connection {conn_id!r}"
    if auth_type == "none":
        return None, []
    if auth_type == "basic":
        if not login:
            raise ValueError(f"auth_type 'basic' needs a login (and password) in {where}")
        return HTTPBasicAuth(login, password or ""), []
    if auth_type == "bearer":
        token = password or extras.get("token")
        if not token:
            raise ValueError(f"auth_type 'bearer' needs the token in the password field of {where}")
        return BearerAuth(str(token)), []
    if auth_type == "api_key":
        key = password or extras.get("api_key")
        if not key:
            raise ValueError(f"auth_type 'api_key' needs the key in the password field of {where}")
        name = str(extras.get("api_key_name") or "X-API-Key")
        location = str(extras.get("api_key_in") or "header")
        return ApiKeyAuth(name, str(key), location), ([name] if location == "query" else [])
    if auth_type == "oauth2":
        token_url = extras.get("token_url")
        if not token_url or not login or not password:
            raise ValueError(
                f"auth_type 'oauth2' needs extra token_url, the client id as login and the client secret as "
                f"password in {where}"
            )
        return OAuth2ClientCredentials(
            token_url=urljoin(base_url.rstrip("/") + "/", str(token_url)),
            client_id=login,
            client_secret=password,
            scope=extras.get("scope") or None,
            audience=extras.get("audience") or None,
            client_auth=str(extras.get("token_client_auth") or "basic"),
            timeout=timeout,
            verify=verify,
            on_token=on_token,
        ), []
    raise ValueError(f"unknown auth_type {auth_type!r} in {where}: expected one of {', '.join(AUTH_TYPES)}")
