"""SQL dialect differences the quality gate needs: quoting, counting, bind style, timestamps.

Identifiers are validated by :mod:`airflow_provider_dataeng.sql.identifiers` (Snowflake's rules, which are
the strictest of the three); this module only decides how a validated name is written for each database:

* Snowflake: unquoted names fold to upper case, every part double-quoted (``"RAW"."ORDERS"``).
* Postgres: unquoted names fold to *lower* case; a name written with quotes keeps its exact text.
* SQLite: names are case-insensitive; parts are double-quoted as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from airflow_provider_dataeng.sql.identifiers import parse_object_name, quote_identifier


@dataclass(frozen=True)
class Dialect:
    """How one database family spells the few things the checks need."""

    name: str
    #: ``pyformat`` (``%(name)s``: Snowflake connector, psycopg) or ``named`` (``:name``: sqlite3).
    paramstyle: str
    #: Column type for timestamps in the results table.
    timestamp_type: str
    text_type: str
    float_type: str

    def table(self, text: str, *, param: str) -> str:
        """A validated, quoted (possibly qualified) table name."""
        parsed = parse_object_name(text, param=param)
        return ".".join(quote_identifier(p) for p in self._fold(text, parsed.parts))

    def column(self, text: str, *, param: str) -> str:
        """A validated, quoted column name."""
        parsed = parse_object_name(text, param=param, max_parts=1)
        return quote_identifier(self._fold(text, parsed.parts)[0])

    def _fold(self, text: str, parts: tuple[str, ...]) -> tuple[str, ...]:
        # identifiers.py folds unquoted parts to upper case (Snowflake). Postgres folds them to lower case:
        # a name given without any quotes is lower-cased; quote every part to keep exact case.
        if self.name == "postgres" and '"' not in text:
            return tuple(p.lower() for p in parts)
        return parts

    def placeholder(self, key: str) -> str:
        return f"%({key})s" if self.paramstyle == "pyformat" else f":{key}"

    def user_sql(self, text: str, *, has_params: bool) -> str:
        """User SQL embedded in a statement: ``%`` doubled where the driver interpolates ``%(name)s``."""
        if has_params and self.paramstyle == "pyformat":
            return text.replace("%", "%%")
        return text

    def count_if(self, condition: str) -> str:
        """Rows where ``condition`` is true. Standard SQL everywhere: as fast as Snowflake's COUNT_IF there,
        and cheaper on the local stand-in (fakesnow rewrites COUNT_IF into a per-row cast and comparison)."""
        return f"COUNT(CASE WHEN {condition} THEN 1 END)"

    def bind_timestamp(self, value: datetime | None) -> Any:
        """A UTC timestamp as the driver binds it (sqlite3 has no timestamp type: ISO text)."""
        if value is None:
            return None
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
        if self.name == "sqlite":
            return value.isoformat(sep=" ")
        return value


SNOWFLAKE = Dialect("snowflake", "pyformat", "TIMESTAMP_NTZ", "VARCHAR", "FLOAT")
POSTGRES = Dialect("postgres", "pyformat", "TIMESTAMP", "TEXT", "DOUBLE PRECISION")
SQLITE = Dialect("sqlite", "named", "TEXT", "TEXT", "REAL")

_BY_CONN_TYPE = {
    "snowflake": SNOWFLAKE,
    "postgres": POSTGRES,
    "postgresql": POSTGRES,
    "redshift": POSTGRES,
    "sqlite": SQLITE,
}


def dialect_for(conn_type: str) -> Dialect:
    """The dialect of an Airflow connection type; unknown types are refused with the supported list."""
    try:
        return _BY_CONN_TYPE[(conn_type or "").lower()]
    except KeyError:
        raise ValueError(
            f"snowflake_conn_id has conn_type {conn_type!r}; the quality gate supports "
            f"{', '.join(sorted(_BY_CONN_TYPE))}"
        ) from None


def to_utc(value: Any) -> datetime | None:
    """A database timestamp (datetime or ISO text from SQLite) as an aware UTC datetime; naive means UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    elif not isinstance(value, datetime):  # a DATE
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
