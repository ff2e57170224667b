"""Snowflake file formats for COPY, from a typed description: never a raw option string from the user.

A file format is either a named format (``"RAW.JSON_ZSTD"`` or ``{"format_name": "RAW.JSON_ZSTD"}``) or a
description such as ``{"type": "JSON", "compression": "ZSTD", "strip_outer_array": True}``. Every option is
checked against the options Snowflake documents for that type, and its value against the option's kind
(boolean, integer, keyword from a fixed list, string, list of strings), then rendered by us. An unknown type
or option is refused with the allowed values listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_dataeng.sql.identifiers import ObjectName, parse_object_name, quote_string

FILE_FORMAT_TYPES = ("CSV", "JSON", "PARQUET")

_COMPRESSION_TEXT = ("AUTO", "GZIP", "BZ2", "BROTLI", "ZSTD", "DEFLATE", "RAW_DEFLATE", "NONE")
_COMPRESSION_PARQUET = ("AUTO", "LZO", "SNAPPY", "NONE")
_BINARY_FORMAT = ("HEX", "BASE64", "UTF8")

# Option kinds: "bool", "int", "str" (string literal; None renders NONE), "list" (of strings), or a tuple of
# allowed keywords.
_COMMON: dict[str, Any] = {
    "TRIM_SPACE": "bool",
    "NULL_IF": "list",
    "REPLACE_INVALID_CHARACTERS": "bool",
}
_OPTIONS: dict[str, dict[str, Any]] = {
    "JSON": {
        **_COMMON,
        "COMPRESSION": _COMPRESSION_TEXT,
        "DATE_FORMAT": "str",
        "TIME_FORMAT": "str",
        "TIMESTAMP_FORMAT": "str",
        "BINARY_FORMAT": _BINARY_FORMAT,
        "MULTI_LINE": "bool",
        "ENABLE_OCTAL": "bool",
        "ALLOW_DUPLICATE": "bool",
        "STRIP_OUTER_ARRAY": "bool",
        "STRIP_NULL_VALUES": "bool",
        "IGNORE_UTF8_ERRORS": "bool",
        "SKIP_BYTE_ORDER_MARK": "bool",
    },
    "PARQUET": {
        **_COMMON,
        "COMPRESSION": _COMPRESSION_PARQUET,
        "BINARY_AS_TEXT": "bool",
        "USE_LOGICAL_TYPE": "bool",
        "USE_VECTORIZED_SCANNER": "bool",
    },
    "CSV": {
        **_COMMON,
        "COMPRESSION": _COMPRESSION_TEXT,
        "RECORD_DELIMITER": "str",
        "FIELD_DELIMITER": "str",
        "MULTI_LINE": "bool",
        "PARSE_HEADER": "bool",
        "SKIP_HEADER": "int",
        "SKIP_BLANK_LINES": "bool",
        "DATE_FORMAT": "str",
        "TIME_FORMAT": "str",
        "TIMESTAMP_FORMAT": "str",
        "BINARY_FORMAT": _BINARY_FORMAT,
        "ESCAPE": "str",
        "ESCAPE_UNENCLOSED_FIELD": "str",
        "FIELD_OPTIONALLY_ENCLOSED_BY": "str",
        "ERROR_ON_COLUMN_COUNT_MISMATCH": "bool",
        "EMPTY_FIELD_AS_NULL": "bool",
        "SKIP_BYTE_ORDER_MARK": "bool",
        "ENCODING": "str",
    },
}
_NAME_KEYS = ("FORMAT_NAME", "NAME")


class FileFormatError(ValueError):
    """A file format description that Snowflake would not accept, or that we cannot render safely."""


@dataclass(frozen=True)
class FileFormat:
    """A validated file format: a named one (``name``) or a type with rendered options."""

    type: str | None = None
    name: ObjectName | None = None
    options: tuple[tuple[str, str], ...] = ()

    @property
    def sql(self) -> str:
        """The value of ``FILE_FORMAT = ...`` in COPY: ``(FORMAT_NAME = '...')`` or ``(TYPE = ... opts)``."""
        if self.name is not None:
            return f"(FORMAT_NAME = {quote_string(self.name.sql)})"
        return "(" + " ".join(self._assignments()) + ")"

    def create_sql(self, name: ObjectName, *, temporary: bool = True) -> str:
        """``CREATE OR REPLACE [TEMPORARY] FILE FORMAT name TYPE = ...`` (INFER_SCHEMA needs a named format)."""
        if self.type is None:
            raise FileFormatError(
                "a named file format already exists; only a typed description can be created"
            )
        kind = "TEMPORARY FILE FORMAT" if temporary else "FILE FORMAT"
        return f"CREATE OR REPLACE {kind} {name.sql} " + " ".join(self._assignments())

    def option(self, key: str) -> str | None:
        """The rendered value of one option, or None when not given."""
        return dict(self.options).get(key.upper())

    def _assignments(self) -> list[str]:
        return [f"TYPE = {self.type}", *(f"{key} = {value}" for key, value in self.options)]


def parse_file_format(value: Any, *, param: str = "file_format") -> FileFormat:
    """Validate a named format or a typed description and return a FileFormat ready to render."""
    if isinstance(value, FileFormat):
        return value
    if isinstance(value, str):
        return FileFormat(name=parse_object_name(value, param=param))
    if not isinstance(value, Mapping):
        raise FileFormatError(
            f"{param} must be a named file format (a string such as 'RAW.JSON_FORMAT') or a description "
            f"such as {{'type': 'JSON', 'compression': 'ZSTD'}}, got {type(value).__name__}"
        )
    options = {_key(k, param): v for k, v in value.items()}
    names = [k for k in _NAME_KEYS if k in options]
    if names:
        if len(options) != 1:
            raise FileFormatError(
                f"{param}: a named file format takes no other options (got {sorted(options)}); put the "
                f"options in the named format or describe the format with 'type' instead"
            )
        return FileFormat(name=parse_object_name(options[names[0]], param=f"{param}[{names[0].lower()!r}]"))
    kind = options.pop("TYPE", None)
    if not isinstance(kind, str) or kind.upper() not in FILE_FORMAT_TYPES:
        raise FileFormatError(
            f"{param}['type'] must be one of {', '.join(FILE_FORMAT_TYPES)} (or give 'format_name'), got {kind!r}"
        )
    kind = kind.upper()
    allowed = _OPTIONS[kind]
    rendered: list[tuple[str, str]] = []
    for key, raw in options.items():
        if key not in allowed:
            raise FileFormatError(
                f"{param}: option {key.lower()!r} is not a {kind} file format option; allowed: "
                f"{', '.join(sorted(k.lower() for k in allowed))}"
            )
        rendered.append((key, _render(raw, allowed[key], f"{param}[{key.lower()!r}]")))
    ff = FileFormat(type=kind, options=tuple(rendered))
    if ff.option("PARSE_HEADER") == "TRUE" and ff.option("SKIP_HEADER") not in (None, "0"):
        raise FileFormatError(f"{param}: parse_header=True reads the header itself; remove skip_header")
    return ff


def _key(key: Any, param: str) -> str:
    if not isinstance(key, str) or not key.replace("_", "").isalnum():
        raise FileFormatError(f"{param}: option names must be words such as 'compression', got {key!r}")
    return key.upper()


def _render(value: Any, kind: Any, param: str) -> str:
    if kind == "bool":
        if not isinstance(value, bool):
            raise FileFormatError(f"{param} must be True or False, got {value!r}")
        return "TRUE" if value else "FALSE"
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise FileFormatError(f"{param} must be a non-negative integer, got {value!r}")
        return str(value)
    if kind == "str":
        if value is None:
            return "NONE"
        if not isinstance(value, str) or not value:
            raise FileFormatError(f"{param} must be a non-empty string (or None for NONE), got {value!r}")
        return option_literal(value)
    if kind == "list":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(v, str) for v in items):
            raise FileFormatError(f"{param} must be a string or a list of strings, got {value!r}")
        return "(" + ", ".join(option_literal(v) for v in items) + ")"
    if not isinstance(value, str) or value.upper() not in kind:
        raise FileFormatError(f"{param} must be one of {', '.join(kind)}, got {value!r}")
    return value.upper()


_ESCAPES = {"\\": "\\\\", "'": "\\'", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\b": "\\b", "\f": "\\f"}


def option_literal(value: str) -> str:
    """A Snowflake string literal for a file format option.

    Unlike ``quote_string`` this accepts control characters (a tab or newline is a legitimate delimiter),
    written as Snowflake escape sequences so the statement stays on its lines.
    """
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "'" + "".join(out) + "'"
