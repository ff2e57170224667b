"""Read a ``rest_api`` or stock ``http`` connection into the settings :class:`RestApiHook` uses.

Pure parsing (no I/O); errors are ``ValueError`` naming the connection field to fix.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

DEFAULT_TIMEOUT = (10.0, 60.0)  # (connect, read) seconds


@dataclass(frozen=True)
class RestApiSettings:
    """What the hook reads from its connection."""

    base_url: str
    auth_type: str
    headers: Mapping[str, str]
    timeout: Any
    verify: Any
    max_requests_per_second: float | None
    max_concurrency: int | None = None
    extras: Mapping[str, Any] = field(repr=False, default_factory=dict)


def extra_value(extras: Mapping[str, Any], name: str, default: Any = None) -> Any:
    for key in (name, f"extra__rest_api__{name}", f"extra__http__{name}"):
        value = extras.get(key)
        if value not in (None, ""):
            return value
    return default


def _as_bool(value: Any, name: str) -> Any:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    return str(value)  # a CA bundle path


def _timeout(value: Any) -> Any:
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return (float(value[0]), float(value[1]))
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"connection extra timeout must be seconds or [connect, read], got {value!r}"
        ) from None


def settings_from_connection(conn: Any) -> RestApiSettings:
    """Parse a ``rest_api`` or ``http`` connection; raises ``ValueError`` naming the field to fix."""
    from airflow_provider_dataeng.hooks.rest_auth import AUTH_TYPES, normalize_auth_type

    extras = conn.extra_dejson or {}
    host = (conn.host or "").strip()
    if not host:
        raise ValueError(f"connection {conn.conn_id!r} has no host: set host to the API's host or base URL")
    if "://" in host:
        parts = urlsplit(host)
        netloc = parts.netloc if parts.port or not conn.port else f"{parts.netloc}:{conn.port}"
        base_url = f"{parts.scheme}://{netloc}{parts.path}"
    else:
        scheme = (conn.schema or "https").strip().lower()
        if scheme not in ("http", "https"):
            raise ValueError(
                f"connection {conn.conn_id!r} schema must be 'http' or 'https' (the URL scheme), got {scheme!r}"
            )
        base_url = f"{scheme}://{host}{f':{conn.port}' if conn.port else ''}"
    auth_type = normalize_auth_type(extra_value(extras, "auth_type"))
    if not auth_type or auth_type == "none":
        if conn.login:
            auth_type = "basic"
        elif conn.password and extra_value(extras, "auth_type") is None:
            raise ValueError(
                f"connection {conn.conn_id!r} has a password but no login and no extra auth_type: set extra "
                f"auth_type to one of {', '.join(AUTH_TYPES)}"
            )
        else:
            auth_type = "none"
    if auth_type not in AUTH_TYPES:
        raise ValueError(
            f"unknown auth_type {extra_value(extras, 'auth_type')!r} in connection {conn.conn_id!r} extra: expected "
            f"one of {', '.join(AUTH_TYPES)}"
        )
    headers = extra_value(extras, "headers", {})
    if isinstance(headers, str):
        headers = jsonlib.loads(headers)
    if not isinstance(headers, dict):
        raise ValueError(f"connection {conn.conn_id!r} extra headers must be an object, got {headers!r}")
    rps = extra_value(extras, "max_requests_per_second")
    if rps is not None:
        rps = float(rps)
        if rps <= 0:
            raise ValueError(f"connection extra max_requests_per_second must be positive, got {rps!r}")
    concurrency = extra_value(extras, "max_concurrency")
    if concurrency is not None:
        try:
            concurrency = int(concurrency)
        except (TypeError, ValueError):
            concurrency = 0
        if concurrency < 1:
            raise ValueError(
                f"connection {conn.conn_id!r} extra max_concurrency must be a positive whole number of "
                f"requests, got {extra_value(extras, 'max_concurrency')!r}"
            )
    return RestApiSettings(
        base_url=base_url,
        auth_type=auth_type,
        headers={str(k): str(v) for k, v in headers.items()},
        timeout=_timeout(extra_value(extras, "timeout")),
        verify=_as_bool(extra_value(extras, "verify", True), "verify"),
        max_requests_per_second=rps,
        max_concurrency=concurrency,
        extras=extras,
    )
