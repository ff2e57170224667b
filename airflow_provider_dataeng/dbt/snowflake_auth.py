"""The ways a Snowflake connection authenticates, each one small declarative mapping to dbt-snowflake fields.

A method says when it applies (``claims``) and where each profile field comes from: ``login``,
``password``, ``extra.<name>`` (a connection extra), ``access_token`` (fetched by the caller), or
``=<value>`` (a constant). A field whose source is empty is left out; a field named in ``required`` raises
its message instead. Fields in ``secret_fields`` never go into the profile text: they travel as environment
variables. ``convert`` post-processes a value (``None`` leaves the field out). The first method in
:data:`AUTH_METHODS` that claims the connection is used.

Which password goes where (as the Snowflake provider documents it): the user's password; the key pair's
passphrase; the OAuth client secret; the programmatic access token.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

_NO_USER = "{where} has no user: set the connection's Login field"


@dataclass(frozen=True)
class AuthFacts:
    """What a method looks at to claim a connection: its extras and a caller-fetched access token."""

    extras: Mapping[str, Any]
    access_token: str | None = None

    @property
    def authenticator(self) -> str:
        return str(self.extras.get("authenticator", "snowflake")).lower()

    @property
    def has_private_key(self) -> bool:
        return bool(self.extras.get("private_key_file") or self.extras.get("private_key_content"))

    @property
    def is_oauth(self) -> bool:
        return bool(self.extras.get("refresh_token")) or self.authenticator == "oauth"

    @property
    def needs_access_token(self) -> bool:
        """OAuth dbt cannot run itself: dbt-snowflake refreshes tokens only with a refresh token, client id
        and secret against Snowflake's own endpoint; a custom ``token_endpoint``, another ``grant_type`` or
        ``azure_conn_id`` needs the caller to fetch an access token."""
        if not self.is_oauth:
            return False
        grant_type = self.extras.get("grant_type") or (
            "refresh_token" if self.extras.get("refresh_token") else None
        )
        return (
            grant_type != "refresh_token"
            or bool(self.extras.get("token_endpoint"))
            or bool(self.extras.get("azure_conn_id"))
        )


@dataclass(frozen=True)
class AuthMethod:
    """One auth method: when it applies and where each dbt-snowflake profile field comes from.

    ``name`` is the method's name in logs (``None``: the connection's ``authenticator`` itself).
    """

    name: str | None
    claims: Callable[[AuthFacts], bool]
    fields: Mapping[str, str]
    secret_fields: frozenset[str] = frozenset()
    required: Mapping[str, str] = field(default_factory=dict)
    convert: Mapping[str, Callable[[str], str | None]] = field(default_factory=dict)


def private_key_text(content: str) -> str:
    """dbt takes a PEM text or base64 DER; the provider also accepts base64 of a PEM text: decode that."""
    content = content.strip()
    if content.startswith("-----"):
        return content
    try:
        decoded = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is neither PEM text nor base64") from None
    return decoded.decode("ascii").strip() if decoded.startswith(b"-----") else content


def _unless(*defaults: str) -> Callable[[str], str | None]:
    """Keep an authenticator only when it is not one dbt-snowflake picks by itself."""
    return lambda value: None if value.lower() in defaults else value


OAUTH_ACCESS_TOKEN = AuthMethod(
    name="oauth_access_token",
    claims=lambda f: f.is_oauth and (bool(f.access_token) or f.needs_access_token),
    fields={"authenticator": "=oauth", "token": "access_token"},
    secret_fields=frozenset({"token"}),
    required={"token": "{where}: this OAuth flavour needs an access token fetched by the caller"},
)

OAUTH_REFRESH_TOKEN = AuthMethod(
    name="oauth_refresh_token",
    claims=lambda f: f.is_oauth,
    fields={
        "authenticator": "=oauth",
        "oauth_client_id": "login",
        "oauth_client_secret": "password",
        "token": "extra.refresh_token",
    },
    secret_fields=frozenset({"oauth_client_secret", "token"}),
    required={
        "oauth_client_id": "{where}: OAuth needs the client id as Login",
        "oauth_client_secret": "{where}: OAuth needs the client secret as Password",
    },
)

KEY_PAIR = AuthMethod(
    name="key_pair",
    claims=lambda f: f.has_private_key,
    fields={
        "user": "login",
        "private_key_path": "extra.private_key_file",
        "private_key": "extra.private_key_content",
        "private_key_passphrase": "password",
        "authenticator": "extra.authenticator",
    },
    secret_fields=frozenset({"private_key", "private_key_passphrase"}),
    required={"user": _NO_USER},
    convert={"private_key": private_key_text, "authenticator": _unless("snowflake", "snowflake_jwt")},
)

PROGRAMMATIC_ACCESS_TOKEN = AuthMethod(
    name="programmatic_access_token",
    claims=lambda f: f.authenticator == "programmatic_access_token",
    fields={"user": "login", "authenticator": "extra.authenticator", "token": "password"},
    secret_fields=frozenset({"token"}),
    required={"user": _NO_USER, "token": "{where}: put the programmatic access token in Password"},
)

WORKLOAD_IDENTITY = AuthMethod(
    name="workload_identity",
    claims=lambda f: f.authenticator == "workload_identity",
    fields={"authenticator": "extra.authenticator", "token": "extra.token"},
    secret_fields=frozenset({"token"}),
)

PASSWORD = AuthMethod(
    name="password",
    claims=lambda f: f.authenticator == "snowflake",
    fields={"user": "login", "password": "password"},
    secret_fields=frozenset({"password"}),
    required={
        "user": _NO_USER,
        "password": "{where} has no password, private key or OAuth settings: set one auth method",
    },
)

# externalbrowser, username_password_mfa, an Okta URL, ...: dbt-snowflake hands the authenticator on.
OTHER_AUTHENTICATOR = AuthMethod(
    name=None,
    claims=lambda f: True,
    fields={"user": "login", "authenticator": "extra.authenticator", "password": "password"},
    secret_fields=frozenset({"password"}),
    required={"user": _NO_USER},
)

AUTH_METHODS: tuple[AuthMethod, ...] = (
    OAUTH_ACCESS_TOKEN,
    OAUTH_REFRESH_TOKEN,
    KEY_PAIR,
    PROGRAMMATIC_ACCESS_TOKEN,
    WORKLOAD_IDENTITY,
    PASSWORD,
    OTHER_AUTHENTICATOR,
)

# Extras that steer how the caller obtains an OAuth access token (read by the Snowflake hook, not by dbt).
TOKEN_EXTRAS = frozenset(
    {"grant_type", "token_endpoint", "scope", "azure_conn_id", "oauth_username", "oauth_password"}
)
# Every extra some auth method reads.
AUTH_EXTRAS = frozenset(
    {"authenticator"}
    | {src[len("extra.") :] for m in AUTH_METHODS for src in m.fields.values() if src.startswith("extra.")}
    | TOKEN_EXTRAS
)


def choose(facts: AuthFacts) -> AuthMethod:
    """The first method of :data:`AUTH_METHODS` that claims the connection."""
    return next(method for method in AUTH_METHODS if method.claims(facts))
