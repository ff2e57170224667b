"""The type table: how each PostgreSQL type is written to the part files and which Snowflake type holds it.

PostgreSQL turns each row into JSON itself (``row_to_json``), in a session set to ``TimeZone=UTC``,
``IntervalStyle=iso_8601`` and ``DateStyle=ISO``, over one expression per column from this table. A
``numeric`` lands as a JSON string of its exact decimal text: a JSON number with a fraction is a double to
most readers (Python's ``json``, and Snowflake's own parser beyond 38 digits), a string is cast exactly into
NUMBER(p,s) (or read with ``RECORD:amount::NUMBER(12,2)``). Integers stay JSON numbers (exact in Snowflake up
to 38 digits). Values a JSON number cannot hold are strings Snowflake parses back.

| PostgreSQL | in the part file (JSON) | Parquet (``schema`` type) | Snowflake |
|---|---|---|---|
| smallint, integer, bigint | number, exact (beyond 2^53 too) | int64 | NUMBER(38,0) |
| numeric(p,s) | string holding the exact decimal, ``"1234.50"`` | decimal(p,s) (p <= 38), else string | NUMBER(p,s) |
| numeric | string holding the exact decimal | string | NUMBER(38,s) when the values fit, else VARCHAR |
| numeric NaN / Infinity / -Infinity | ``"NaN"`` / ``"inf"`` / ``"-inf"`` | string | FLOAT or VARCHAR (NUMBER has none) |
| real, double precision | number (shortest exact text); ``"NaN"``, ``"inf"``, ``"-inf"`` | float64 | FLOAT |
| money | string holding the exact decimal (no currency sign) | string | NUMBER(38,2) |
| boolean | true / false | bool | BOOLEAN |
| date | ``"2024-01-31"`` | date | DATE |
| timestamp with time zone | ``"2024-01-31T12:00:00.123456+00:00"`` (the instant, in UTC) | timestamp_tz | TIMESTAMP_TZ |
| timestamp | ``"2024-01-31T12:00:00.123456"`` | timestamp_ntz | TIMESTAMP_NTZ |
| time | ``"12:00:00.5"`` | string | TIME |
| time with time zone | ``"12:00:00+02"`` | string | VARCHAR |
| interval | ISO 8601 duration ``"P1Y2M3DT4H5M6.7S"`` | string | VARCHAR |
| uuid | ``"a0eebc99-..."`` | string | VARCHAR |
| json, jsonb | the value itself (object, array, ...), as jsonb writes it | json | VARIANT |
| arrays | JSON array (nested for several dimensions) | json | ARRAY |
| bytea | hex string ``"00ff0a"`` (no ``\\x``) | string | BINARY (HEX, the default format) |
| enum, text, varchar, char(n) | string (char(n) keeps its padding) | string | VARCHAR |
| anything else | its text form, as a string | string | VARCHAR |

SQL NULL is JSON ``null``; an empty string stays ``""``; an empty array ``[]``. A json value that is JSON
``null`` lands as ``null`` too. ``infinity`` dates and timestamps land as the strings PostgreSQL writes
(``"infinity"``), which Snowflake's DATE and TIMESTAMP types refuse: land such columns as VARCHAR.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_dataeng.sql_source.names import quote_ident

INTEGER_TYPES = ("int2", "int4", "int8")  # integers with arithmetic (partitions' modulo) and numeric order
_FLOATS = ("float4", "float8")
_SPECIAL_FLOATS = "CASE WHEN {c} = 'Infinity' THEN '\"inf\"'::json WHEN {c} = '-Infinity' THEN '\"-inf\"'::json ELSE to_json({c}) END"
_DECIMAL_MAX_PRECISION = 38


@dataclass(frozen=True)
class SourceType:
    """A column's type as the catalog describes it: ``name`` is the base type's ``typname`` (a domain's base),
    ``kind`` its ``typtype`` (``e`` enum), ``category`` its ``typcategory`` (``A`` array); ``precision`` and
    ``scale`` for ``numeric(p,s)``; ``display`` the type as ``format_type`` writes it."""

    name: str
    kind: str = "b"
    category: str = ""
    precision: int | None = None
    scale: int | None = None
    display: str = ""

    @property
    def is_integer(self) -> bool:
        """smallint, integer or bigint: partitioned by modulo, ordered by value."""
        return self.name in INTEGER_TYPES


@dataclass(frozen=True)
class TypeMapping:
    """How one type is landed: the select ``expression`` (``{c}`` is the quoted column), the Parquet
    ``schema`` type and the Snowflake type that holds the values exactly."""

    expression: str
    parquet: str
    snowflake: str


@dataclass(frozen=True)
class Column:
    """One column of what is extracted, with its type and how it is landed."""

    name: str
    type: SourceType
    mapping: TypeMapping

    def select_item(self, relation: str = "src") -> str:
        """``<expression> AS "name"`` for the select list of the extract."""
        ref = f"{relation}.{quote_ident(self.name)}"
        return f"{self.mapping.expression.format(c=ref)} AS {quote_ident(self.name)}"


def mapping_for(source: SourceType) -> TypeMapping:
    """The row of the type table for ``source``."""
    name = source.name
    if source.category == "A":
        return TypeMapping("{c}", "json", "ARRAY")
    if source.kind == "e":
        return TypeMapping("{c}", "string", "VARCHAR")
    if source.is_integer or name == "oid":
        return TypeMapping("{c}", "int64", "NUMBER(38,0)")
    if name == "numeric":  # its text has only digits, sign, point, NaN and (14+) Infinity
        expression = "replace({c}::text, 'Infinity', 'inf')"
        p, s = source.precision, source.scale
        if p is not None and s is not None and 0 < p <= _DECIMAL_MAX_PRECISION:
            return TypeMapping(expression, f"decimal({p},{s})", f"NUMBER({p},{s})")
        return TypeMapping(expression, "string", "NUMBER(38,s) or VARCHAR")
    if name in _FLOATS:
        return TypeMapping(_SPECIAL_FLOATS, "float64", "FLOAT")
    if name == "money":
        return TypeMapping("{c}::numeric::text", "string", "NUMBER(38,2)")
    simple = {
        "bool": ("bool", "BOOLEAN"),
        "date": ("date", "DATE"),
        "timestamptz": ("timestamp_tz", "TIMESTAMP_TZ"),
        "timestamp": ("timestamp_ntz", "TIMESTAMP_NTZ"),
        "time": ("string", "TIME"),
        "uuid": ("string", "VARCHAR"),
        "jsonb": ("json", "VARIANT"),
    }
    if name in simple:
        parquet, snowflake = simple[name]
        return TypeMapping("{c}", parquet, snowflake)
    if name == "json":  # json keeps its text as typed (newlines too): jsonb's form is one line
        return TypeMapping("{c}::jsonb", "json", "VARIANT")
    if name == "bytea":
        return TypeMapping("encode({c}, 'hex')", "string", "BINARY")
    return TypeMapping("{c}", "string", "VARCHAR")


def parquet_schema(columns: list[Column]) -> dict[str, str]:
    """The extract's Parquet ``schema`` (``{"column": "type"}``) from its columns' mappings."""
    return {column.name: column.mapping.parquet for column in columns}
