"""Pure mapping of an Airflow Snowflake connection to a dbt-snowflake profile (no I/O, no Airflow, no dbt).

Every setting the stock ``SnowflakeHook`` reads from a connection is mapped to its dbt-snowflake
profile field; a setting dbt-snowflake cannot express is reported in ``DbtProfile.ignored`` (the hook logs
it) instead of being dropped silently. Secrets never go into the profile text: the profile refers to them
with ``{{ env_var('DBT_ENV_SECRET_...') }}`` and the values travel as environment variables. dbt scrubs the
values of ``DBT_ENV_SECRET_*`` variables from its own logs.

Connection layout (as the Snowflake provider documents it): ``login`` = user (OAuth: client id),
``password`` = password (key pair: passphrase of the key; OAuth: client secret; PAT: the token),
``schema`` = schema, extras ``account``, ``warehouse``, ``database``, ``role``, ``region``,
``authenticator``, ``private_key_file`` / ``private_key_content``, ``refresh_token``, ``host``, ``port``,
``protocol``, ``proxy_host``, ``proxy_port``, ``insecure_mode``, ``login_timeout`` and more. Extras named
``dbt_<field>`` set dbt-only profile fields (``dbt_query_tag``, ``dbt_connect_retries``, ...).

The auth fields come from one declarative mapping per auth method (:mod:`.snowflake_auth`); this module
maps the settings every method shares and applies the chosen method's mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_dataeng.dbt.snowflake_auth import AUTH_EXTRAS, AuthFacts, AuthMethod, choose

SECRET_ENV_PREFIX = "DBT_ENV_SECRET_DATAENG_"
DEFAULT_THREADS = 4
_LEGACY_PREFIX = "extra__snowflake__"
# Snowflake's original region: accounts there have no region in their locator (as the connector assumes).
_DEFAULT_REGION = "us-west-2"


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", ""):
        return False
    raise ValueError(f"expected a boolean, got {value!r}")


def _to_protocol(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in ("http", "https"):
        raise ValueError(f"expected 'http' or 'https', got {value!r}")
    return text


# Connection extra -> (dbt-snowflake profile field, converter). Non-secret settings only.
EXTRA_TO_PROFILE: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "warehouse": ("warehouse", str),
    "role": ("role", str),
    "host": ("host", str),
    "port": ("port", int),
    "protocol": ("protocol", _to_protocol),
    "proxy_host": ("proxy_host", str),
    "proxy_port": ("proxy_port", int),
    "insecure_mode": ("insecure_mode", _to_bool),
    "login_timeout": ("connect_timeout", int),
    "workload_identity_provider": ("workload_identity_provider", str),
}

# dbt-only profile fields a connection may set through an extra named ``dbt_<field>``.
DBT_ONLY_FIELDS: dict[str, Callable[[Any], Any]] = {
    "query_tag": str,
    "connect_retries": int,
    "connect_timeout": int,
    "retry_on_database_errors": _to_bool,
    "retry_all": _to_bool,
    "client_session_keep_alive": _to_bool,
    "reuse_connections": _to_bool,
    "s3_stage_vpce_dns_name": str,
    "workload_identity_entra_resource": str,
    "platform_detection_timeout_seconds": float,
    "threads": int,
}

# Extras the mapping reads itself (identity, auth) or that only steer how a token is obtained.
_CONSUMED_EXTRAS = frozenset({"account", "database", "region"}) | AUTH_EXTRAS

# Snowflake connection settings dbt-snowflake has no field for, with what to do instead.
UNSUPPORTED_EXTRAS: dict[str, str] = {
    "session_parameters": "dbt-snowflake sets no session parameters (only QUERY_TAG: use extra dbt_query_tag)",
    "network_timeout": "dbt-snowflake has no network timeout setting",
    "socket_timeout": "dbt-snowflake has no socket timeout setting",
    "proxy_user": "dbt-snowflake passes no proxy credentials (use HTTPS_PROXY=http://user:pass@host:port)",
    "proxy_password": "dbt-snowflake passes no proxy credentials (use HTTPS_PROXY=http://user:pass@host:port)",
    "ocsp_fail_open": "dbt-snowflake uses the connector's OCSP default",
    "json_result_force_utf8_decoding": "dbt-snowflake has no such setting",
    "client_request_mfa_token": "dbt-snowflake enables it itself whenever an authenticator is set",
    "client_store_temporary_credential": "dbt-snowflake enables it itself whenever an authenticator is set",
    "token_file_path": "dbt-snowflake reads workload identity tokens from the 'token' extra only",
}


@dataclass(frozen=True)
class SnowflakeConnectionFields:
    """The parts of an Airflow connection the mapping reads (kept free of Airflow types)."""

    conn_id: str
    login: str | None = None
    password: str | None = None
    schema: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def extras(self) -> dict[str, Any]:
        """Extras with the legacy ``extra__snowflake__`` prefix removed (the short name wins)."""
        normalized: dict[str, Any] = {}
        for key, value in self.extra.items():
            if key.startswith(_LEGACY_PREFIX):
                normalized.setdefault(key[len(_LEGACY_PREFIX) :], value)
        for key, value in self.extra.items():
            if not key.startswith(_LEGACY_PREFIX):
                normalized[key] = value
        return {k: v for k, v in normalized.items() if v not in (None, "")}


@dataclass(frozen=True)
class DbtProfile:
    """A dbt profile: the target as written to profiles.yml plus the secret values it refers to."""

    profile_name: str
    target_name: str
    output: dict[str, Any]
    secrets: dict[str, str]
    auth: str
    ignored: dict[str, str] = field(default_factory=dict)

    def as_profiles_yml(self) -> dict[str, Any]:
        """The content of profiles.yml (secrets as ``env_var`` references only)."""
        return {self.profile_name: {"target": self.target_name, "outputs": {self.target_name: self.output}}}


def secret_env_var(name: str) -> str:
    """Environment variable carrying one secret profile field."""
    return f"{SECRET_ENV_PREFIX}{name.upper()}"


def needs_access_token(conn: SnowflakeConnectionFields) -> bool:
    """True for OAuth flavours dbt cannot run itself: the caller must fetch an access token first
    (see :attr:`AuthFacts.needs_access_token`)."""
    return AuthFacts(conn.extras()).needs_access_token


def build_snowflake_profile(
    conn: SnowflakeConnectionFields,
    *,
    profile_name: str,
    target_name: str,
    threads: int | None = None,
    access_token: str | None = None,
) -> DbtProfile:
    """Map a Snowflake connection to a dbt-snowflake profile target.

    :param access_token: an OAuth access token fetched by the caller (see ``needs_access_token``).
    :raises ValueError: a required setting is missing or an extra has the wrong type; the message names
        the connection field to fix.
    """
    extras = conn.extras()
    where = f"Snowflake connection {conn.conn_id!r}"
    output: dict[str, Any] = {"type": "snowflake", "account": _account(extras, where)}
    for name, (profile_field, convert) in EXTRA_TO_PROFILE.items():
        if name in extras:
            output[profile_field] = _convert(convert, extras[name], f"{where}: extra {name!r}")
    output["database"] = _required(extras.get("database"), f"{where} has no database: set extra 'database'")
    output["schema"] = _required(conn.schema, f"{where} has no schema: set the connection's Schema field")
    output["threads"] = DEFAULT_THREADS
    for key, value in extras.items():
        if key.startswith("dbt_") and key[4:] in DBT_ONLY_FIELDS:
            output[key[4:]] = _convert(DBT_ONLY_FIELDS[key[4:]], value, f"{where}: extra {key!r}")
    if threads is not None:
        output["threads"] = threads

    if extras.get("private_key_file") and extras.get("private_key_content"):
        raise ValueError(f"{where}: extras 'private_key_file' and 'private_key_content' exclude each other")
    facts = AuthFacts(extras, access_token)
    method = choose(facts)
    secrets = _add_auth(method, conn, facts, where, output)
    auth = method.name or facts.authenticator
    ignored = {
        key: UNSUPPORTED_EXTRAS.get(key, "not a Snowflake connection setting dbt-snowflake knows")
        for key in extras
        if key not in EXTRA_TO_PROFILE
        and key not in _CONSUMED_EXTRAS
        and not (key.startswith("dbt_") and key[4:] in DBT_ONLY_FIELDS)
    }
    return DbtProfile(profile_name, target_name, output, secrets, auth, ignored)


def _add_auth(
    method: AuthMethod,
    conn: SnowflakeConnectionFields,
    facts: AuthFacts,
    where: str,
    output: dict[str, Any],
) -> dict[str, str]:
    """Fill ``output`` with the auth fields ``method`` maps; returns the secrets (env var -> value)."""
    sources = {"login": conn.login, "password": conn.password, "access_token": facts.access_token}
    secrets: dict[str, str] = {}
    for profile_field, source in method.fields.items():
        if source.startswith("="):
            value: Any = source[1:]
        elif source.startswith("extra."):
            value = facts.extras.get(source[len("extra.") :])
        else:
            value = sources[source]
        if value not in (None, "") and profile_field in method.convert:
            what = f"{where}: extra {source[len('extra.') :]!r}" if source.startswith("extra.") else where
            value = _convert(method.convert[profile_field], str(value), what)
        if value in (None, ""):
            if profile_field in method.required:
                raise ValueError(method.required[profile_field].format(where=where))
            continue
        if profile_field in method.secret_fields:
            secrets[secret_env_var(profile_field)] = str(value)
            output[profile_field] = "{{ env_var('" + secret_env_var(profile_field) + "') }}"
        else:
            output[profile_field] = str(value)
    return secrets


def _account(extras: Mapping[str, Any], where: str) -> str:
    account = str(_required(extras.get("account"), f"{where} has no account: set extra 'account'"))
    region = extras.get("region")
    if region and region != _DEFAULT_REGION and "." not in account:
        account = f"{account}.{region}"
    return account


def _required(value: Any, message: str) -> Any:
    if value in (None, ""):
        raise ValueError(message)
    return value


def _convert(convert: Callable[[Any], Any], value: Any, what: str) -> Any:
    try:
        return convert(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what}: {err}") from None
