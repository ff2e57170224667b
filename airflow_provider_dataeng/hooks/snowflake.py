"""Snowflake hook: the stock provider hook plus the connector options it drops.

The stock ``SnowflakeHook`` (provider 6.20) forwards ``host`` and ``port`` from the connection extras but not
``protocol``, ``network_timeout`` or ``login_timeout``. Those are ordinary Snowflake connector options
(a proxy, PrivateLink or any Snowflake-compatible endpoint over plain HTTP needs ``protocol``), so this hook
forwards them. Everything else (auth flavours, UI fields, OpenLineage) is the stock hook's.

It also owns the one way operators talk to Snowflake: :meth:`SnowflakeHook.session` (a
:class:`~airflow_provider_dataeng.hooks.session.SqlSession`), opened by :func:`task_hook` with the task's
warehouse, role and JSON query tag set at login, and the stage lookups the load needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook as _StockSnowflakeHook

from airflow_provider_dataeng.hooks.session import SqlSession, rows_as_dicts

if TYPE_CHECKING:
    from airflow_provider_dataeng.sql.identifiers import ObjectName

__all__ = ["SnowflakeHook", "SqlSession", "connector_options_from_extras", "rows_as_dicts", "task_hook"]

# Connector options forwarded from connection extras, with the type each must have.
_EXTRA_CONNECTOR_OPTIONS: dict[str, type] = {
    "protocol": str,
    "network_timeout": int,
    "login_timeout": int,
    "socket_timeout": int,
}


class SnowflakeHook(_StockSnowflakeHook):
    """``SnowflakeHook`` that also forwards ``protocol`` and timeouts from the connection extras.

    Extras (besides the stock ones): ``protocol`` (``https`` by default, ``http`` for a local endpoint),
    ``network_timeout``, ``login_timeout``, ``socket_timeout`` (seconds).
    """

    hook_name = "Snowflake (dataeng)"

    @cached_property
    def _get_static_conn_params(self) -> dict[str, Any]:
        params: dict[str, Any] = dict(super()._get_static_conn_params)
        extras = self.get_connection(self.get_conn_id()).extra_dejson
        params.update(connector_options_from_extras(extras))
        # The stock hook replaces the connection's session parameters with the hook's: merge them instead,
        # so a task's QUERY_TAG keeps e.g. a TIMEZONE set on the connection.
        from_extras = extras.get("session_parameters") or {}
        if self.session_parameters and isinstance(from_extras, Mapping):
            params["session_parameters"] = {**from_extras, **self.session_parameters}
        return params

    @contextmanager
    def session(self, log: Any = None) -> Iterator[SqlSession]:
        """One connection for the block: run/fetch statements, transactions, statement count, query ids."""
        session = SqlSession(self.get_conn(), log or self.log, explicit_transactions=True)
        try:
            yield session
        finally:
            session.close()

    def fetch_dicts(self, sql: str, parameters: Any = None) -> list[dict[str, Any]]:
        """Run one statement in its own session and return its rows as dicts."""
        with self.session() as session:
            return session.fetch(sql, parameters)


def task_hook(
    snowflake_conn_id: str,
    context: Mapping[str, Any],
    *,
    warehouse: str | None = None,
    role: str | None = None,
    query_tag: Mapping[str, Any] | None = None,
) -> SnowflakeHook:
    """The hook for one task: its warehouse and role (else the connection's) and its JSON ``QUERY_TAG``.

    All three are set at login (connector arguments and session parameters), not with ``USE WAREHOUSE`` or
    ``ALTER SESSION``: they cost no statement, and every statement of the session, the first included, runs
    with them. Raises ValueError naming the parameter when a rendered value is bad.
    """
    from airflow_provider_dataeng.sql.session import build_query_tag, session_name, task_ids

    kwargs: dict[str, Any] = {
        "session_parameters": {"QUERY_TAG": build_query_tag(task_ids(context), query_tag)}
    }
    for param, value in (("warehouse", warehouse), ("role", role)):
        name = session_name(value, param=param)
        if name is not None:
            kwargs[param] = name
    return SnowflakeHook(snowflake_conn_id=snowflake_conn_id, **kwargs)


def split_statements(text: str) -> list[str]:
    """A SQL script's statements, split as the Snowflake connector splits them (comments removed)."""
    import io

    from snowflake.connector.util_text import split_statements as connector_split

    return [
        sql.rstrip().rstrip(";").rstrip()
        for sql, _ in connector_split(io.StringIO(text), remove_comments=True)
    ]


def current_database_and_schema(session: SqlSession) -> tuple[str, str]:
    """The session's current database and schema; ValueError when either is unset."""
    row = session.fetch('SELECT CURRENT_DATABASE() AS "D", CURRENT_SCHEMA() AS "S"')[0]
    if not row["D"] or not row["S"]:
        raise ValueError("the session has no current database/schema: qualify the name")
    return row["D"], row["S"]


def stage_url(session: SqlSession, stage: ObjectName, *, missing_ok: bool = False) -> str | None:
    """An external stage's URL (ending in ``/``) from SHOW STAGES; ValueError if internal, or if missing
    (``None`` with ``missing_ok``)."""
    from airflow_provider_dataeng.sql import copy as copy_sql

    if len(stage.parts) < 3:
        try:
            stage = copy_sql.qualify(stage, *current_database_and_schema(session))
        except ValueError:
            raise ValueError(
                f"qualify stage {stage.sql}: the session has no current database/schema"
            ) from None
    rows = session.fetch(copy_sql.build_show_stages_sql(stage))
    urls = [_value(r, "url") for r in rows if _value(r, "name") == stage.name]
    if not urls and missing_ok:
        return None
    if not urls:
        raise ValueError(f"stage {stage.sql} does not exist (or is not visible to this role)")
    url = urls[0] or ""
    if not url:
        raise ValueError(f"stage {stage.sql} is an internal stage: give stage-relative paths, not URIs")
    return url if url.endswith("/") else url + "/"


def _value(row: Mapping[str, Any], key: str) -> Any:
    for k, v in row.items():
        if k.lower() == key:
            return v
    return None


def connector_options_from_extras(extras: dict[str, Any]) -> dict[str, Any]:
    """Pick and type-check the connector options the stock hook does not forward."""
    options: dict[str, Any] = {}
    for name, kind in _EXTRA_CONNECTOR_OPTIONS.items():
        value = extras.get(name, extras.get(f"extra__snowflake__{name}"))
        if value in (None, ""):
            continue
        try:
            options[name] = kind(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"Snowflake connection extra {name!r} must be {kind.__name__}, got {value!r}"
            ) from None
    protocol = options.get("protocol")
    if protocol is not None and protocol not in ("http", "https"):
        raise ValueError(f"Snowflake connection extra 'protocol' must be 'http' or 'https', got {protocol!r}")
    return options
