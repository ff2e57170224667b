"""Best-effort reading of any other DB-API database (common-sql's ``DbApiHook``): the statement and the rows'
JSON, written in Python.

PostgreSQL writes its rows' JSON itself (:mod:`.query`, :mod:`.types`); another database hands Python
values to the driver, and :class:`RowEncoder` writes them with the type table's conventions where a Python
type says enough: ``Decimal`` as its exact decimal text (a string), ``float`` NaN/infinities as ``"NaN"``,
``"inf"``, ``"-inf"``, aware datetimes as UTC instants (``+00:00``), naive ones, dates and times in ISO 8601,
``timedelta`` as an ISO 8601 duration, ``bytes`` as hex, ``UUID`` as text; other values as the driver
returns them (``dict``/``list`` as JSON).

Names are written as given: an unquoted name is left to the database to fold (as it folds it in any query),
a double-quoted one is quoted with the connection's ``escape_word_format`` (``"{}"``, or a backtick pair for
MySQL).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

from airflow_provider_dataeng.sql_source.query import strip_sql


def render_name(parts: Sequence[tuple[str, bool]], escape_word_format: str) -> str:
    """Dotted name parts (``(name, quoted)``, from :func:`~.names.name_parts`) as SQL for this database."""
    rendered = []
    for name, quoted in parts:
        if quoted:
            opening, closing = escape_word_format.split("{}")
            if opening in name or closing in name:
                raise ValueError(f"the name {name!r} holds this database's quote character")
            name = escape_word_format.format(name)
        rendered.append(name)
    return ".".join(rendered)


def select(
    *,
    table: str | None,
    sql: str | None,
    columns: Sequence[str] = (),
    watermark: Sequence[str] = (),
    placeholder: str = "%s",
) -> str:
    """The one statement of a best-effort extract: the table (or its ``columns``) or the query, with the
    window ``watermark >= ? AND watermark < ?`` (the first non-null of several) when ``watermark`` is given."""
    if table is not None:
        relation = f"SELECT {', '.join(columns) if columns else '*'} FROM {table}"
    else:
        assert sql is not None
        relation = f"SELECT * FROM ({strip_sql(sql)}) src"
    if not watermark:
        return relation
    mark = watermark[0] if len(watermark) == 1 else f"COALESCE({', '.join(watermark)})"
    return f"{relation} WHERE {mark} >= {placeholder} AND {mark} < {placeholder}"


def _float(value: float) -> Any:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _decimal(value: Decimal) -> str:
    if value.is_nan():
        return "NaN"
    if value.is_infinite():
        return "inf" if value > 0 else "-inf"
    return str(value)


def _datetime(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.isoformat()


def _bytes(value: Any) -> str:
    return bytes(value).hex()


_CONVERTERS: dict[type, Callable[[Any], Any]] = {
    float: _float,
    Decimal: _decimal,
    datetime: _datetime,
    date: date.isoformat,
    time: time.isoformat,
    bytes: _bytes,
    bytearray: _bytes,
    memoryview: _bytes,
    UUID: str,
}


class RowEncoder:
    """DB-API rows (tuples in the order of ``names``) -> one JSON record each, as bytes."""

    def __init__(self, names: Sequence[str]) -> None:
        import msgspec

        self.names = tuple(names)
        self._encode = msgspec.json.Encoder(enc_hook=_fallback).encode

    def value(self, value: Any) -> Any:
        convert = _CONVERTERS.get(type(value))
        return value if convert is None else convert(value)

    def __call__(self, row: Sequence[Any]) -> bytes:
        if len(row) != len(self.names):
            raise ValueError(f"a row has {len(row)} values for {len(self.names)} columns")
        return self._encode({name: self.value(v) for name, v in zip(self.names, row)})


def _fallback(value: Any) -> Any:
    """Values msgspec does not know: a subclass of a known type by its base, anything else as text."""
    if isinstance(value, timedelta):
        return value
    for kind, convert in _CONVERTERS.items():
        if isinstance(value, kind):
            return convert(value)
    return str(value)
