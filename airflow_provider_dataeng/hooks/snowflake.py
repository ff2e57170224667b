"""Snowflake hook: the stock provider hook plus the connector options it drops.

The stock ``SnowflakeHook`` (provider 6.20) forwards ``host`` and ``port`` from the connection extras but not
``protocol``, ``network_timeout`` or ``login_timeout``. Those are ordinary Snowflake connector options
(a proxy, PrivateLink or any Snowflake-compatible endpoint over plain HTTP needs ``protocol``), so this hook
forwards them. Everything else (auth flavours, UI fields, OpenLineage) is the stock hook's.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook as _StockSnowflakeHook

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
        params = dict(super()._get_static_conn_params)
        extras = self.get_connection(self.get_conn_id()).extra_dejson
        params.update(connector_options_from_extras(extras))
        return params

    def fetch_dicts(self, sql: str, parameters: Any = None) -> list[dict[str, Any]]:
        """Run one statement and return its rows as dicts keyed by the column names Snowflake returns."""
        with self.get_conn() as conn, conn.cursor() as cur:
            cur.execute(sql, parameters)
            self.log.info("Snowflake query id: %s", cur.sfqid)
            return rows_as_dicts(cur.description, cur.fetchall())


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


def rows_as_dicts(description: Any, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Turn DB-API rows into dicts keyed by column name."""
    names = [column[0] for column in description or ()]
    return [dict(zip(names, row)) for row in rows]
