"""What Snowflake holds after the pipeline, as a pure function of what the API sent (docs/how-to/data-fidelity.md).

``expected_variant(value)`` maps a generated JSON tree (numbers as ``Num`` tokens) to the VARIANT Snowflake
stores for it, following Snowflake's documented rules:

- PARSE_JSON / COPY of JSON keep a number written without fraction or exponent as an INTEGER when it fits
  NUMBER(38,0), and one written with a fraction as a fixed-point DECIMAL when it fits NUMBER(38, s<=37);
  anything written with an exponent, and anything beyond those limits, becomes a DOUBLE
  (https://docs.snowflake.com/en/sql-reference/functions/parse_json, usage notes).
- A DOUBLE in a VARIANT is rendered as text with 16 significant digits (``1.912000000000000e+02`` in the
  same page's example), so reading the VARIANT as JSON text gives the double rounded to 16 digits.
- NUMBER is fixed-point: it has no negative zero, so ``-0.0`` and ``-0`` come back as zero.
- Strings, booleans, JSON null, arrays, objects and their keys are kept as sent.

Parquet part files are typed by Arrow first (``part_format="parquet"``): every field is int64, double,
string, bool, list or struct, so a fraction becomes a DOUBLE even where JSON would have kept a DECIMAL, and a
missing field is a null like a sent null.

:func:`differences` compares a VARIANT read back as JSON text (parsed with ``jsontext.loads``) with the
expectation and lists every place they differ.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

from tests.fidelity.jsontext import Num

NUMBER_TOKEN = re.compile(r"(-?)(\d+)(?:\.(\d+))?([eE][+-]?\d+)?")
MAX_PRECISION = 38  # NUMBER(38, s)
MAX_SCALE = 37
DOUBLE_DIGITS = 16  # significant digits of a DOUBLE rendered inside a VARIANT


@dataclass(frozen=True)
class Int:
    """An INTEGER (NUMBER(p,0)) inside the VARIANT."""

    value: int


@dataclass(frozen=True)
class Dec:
    """A fixed-point DECIMAL (NUMBER(p,s)) inside the VARIANT: the exact value, no negative zero."""

    value: Decimal


@dataclass(frozen=True)
class Dbl:
    """A DOUBLE inside the VARIANT (read back rounded to 16 significant digits; the sign of zero is kept)."""

    value: float


def number_type(token: str) -> str:
    """``"integer"``, ``"decimal"`` or ``"double"``: what PARSE_JSON makes of a JSON number token."""
    match = NUMBER_TOKEN.fullmatch(token)
    if match is None:
        raise ValueError(f"not a JSON number token: {token!r}")
    _, whole, fraction, exponent = match.groups()
    if exponent:
        return "double"
    digits = len(whole.lstrip("0"))
    if fraction is None:
        return "integer" if digits <= MAX_PRECISION else "double"
    scale = len(fraction)
    return "decimal" if scale <= MAX_SCALE and digits + scale <= MAX_PRECISION else "double"


def variant_number(token: str, part_format: str = "jsonl", kind: str | None = None) -> Int | Dec | Dbl:
    """The VARIANT number for a token: by PARSE_JSON's rules (JSON), or by the Parquet column's type."""
    if part_format == "parquet":
        if kind == "int64":
            return Int(int(token))
        return Dbl(float(token))
    kind = number_type(token)
    if kind == "integer":
        return Int(int(token))
    if kind == "decimal":
        value = Decimal(token)
        return Dec(abs(value) if value == 0 else value)
    return Dbl(float(token))


def expected_variant(value: Any, *, part_format: str = "jsonl", schema: Any = None) -> Any:
    """The VARIANT Snowflake holds for a generated JSON value landed through ``part_format`` part files.

    For Parquet, ``schema`` is the record's ``{field: kind}`` (``strategies.parquet_schemas``): the column
    types decide numbers, and fields missing from a record are nulls.
    """
    if part_format == "parquet":
        return _parquet(value, ("struct", tuple(schema.items())))
    if part_format != "jsonl":
        raise ValueError(f"part_format must be jsonl or parquet, got {part_format!r}")
    return _jsonl(value)


def _jsonl(value: Any) -> Any:
    if isinstance(value, Num):
        return variant_number(value.token)
    if isinstance(value, list):
        return [_jsonl(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonl(v) for k, v in value.items()}
    return value


def _parquet(value: Any, kind: Any) -> Any:
    if value is None or kind == ("struct", ()):  # {} is written as null: Parquet has no struct without fields
        return None
    if isinstance(kind, tuple) and kind[0] == "struct":
        return {name: _parquet(value.get(name), sub) for name, sub in kind[1]}
    if isinstance(kind, tuple):  # list
        return [_parquet(v, kind[1]) for v in value]
    if isinstance(value, Num):
        return variant_number(value.token, "parquet", kind)
    return value


def expected_column(value: Any, kind: Any) -> Any:
    """What a typed column (``load_as="columns"``) holds for a Parquet field, as the connector returns it:
    VARCHAR str, NUMBER int, FLOAT float, BOOLEAN bool, and VARIANT (lists, structs) as its expected tree."""
    if value is None:
        return None
    if kind == "int64":
        return int(value.token)
    if kind == "double":
        return float(value.token)
    if isinstance(kind, tuple):
        return _parquet(value, kind)
    return value


def _rounded(value: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = DOUBLE_DIGITS
        return +value


def differences(actual: Any, expected: Any, path: str = "$") -> list[str]:
    """Every place the read-back tree (``jsontext.loads`` of the VARIANT text) differs from the expectation."""
    if isinstance(expected, (Int, Dec, Dbl)):
        if not isinstance(actual, Num):
            return [f"{path}: expected a number {expected}, got {actual!r}"]
        token = actual.token
        if isinstance(expected, Int):
            ok = re.fullmatch(r"-?\d+", token) is not None and int(token) == expected.value
            ok = ok and not (expected.value == 0 and token.startswith("-"))
        elif isinstance(expected, Dec):
            ok = "e" not in token.lower() and Decimal(token) == expected.value
            ok = ok and not (expected.value == 0 and token.startswith("-"))
        else:
            ok = any(c in token for c in ".eE") and same_double(token, expected.value)
        return [] if ok else [f"{path}: expected {expected}, got the token {token!r}"]
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected an array, got {_short(actual)}"]
        if len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} elements, got {len(actual)}"]
        return [d for i, (a, e) in enumerate(zip(actual, expected)) for d in differences(a, e, f"{path}[{i}]")]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {_short(actual)}"]
        if set(actual) != set(expected):
            return [f"{path}: keys differ: missing {sorted(set(expected) - set(actual))!r}, "
                    f"extra {sorted(set(actual) - set(expected))!r}"]
        return [d for k, e in expected.items() for d in differences(actual[k], e, f"{path}[{k!r}]")]
    same = _kind(actual) == _kind(expected) and actual == expected
    return [] if same else [f"{path}: expected {_short(expected)}, got {_short(actual)}"]


def same_double(token: str, value: float) -> bool:
    """Does a number read back from a VARIANT's text show the double ``value``? Either as any text of that very
    double (the stand-in keeps the exact value), or as Snowflake renders it: rounded to 16 significant digits
    (which can lie beyond the double range: the largest double shows as 1.797693134862316e+308). The sign of
    zero must match."""
    if token.startswith("-") != (math.copysign(1.0, value) < 0):
        return False
    return float(token) == value or _rounded(Decimal(token)) == _rounded(Decimal(value))


def _kind(value: Any) -> str:
    """JSON kind: bool before number (bool is an int in Python), str subclasses as str."""
    for kind in (bool, str, Num, list, dict):
        if isinstance(value, kind):
            return kind.__name__
    return "null" if value is None else type(value).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else f"{text[:100]}... ({len(text)} chars)"
