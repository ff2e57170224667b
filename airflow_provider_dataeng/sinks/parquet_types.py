"""Typed Parquet columns: the ``schema=`` vocabulary and the conversion of JSON values to each type.

A declared column's values arrive as the raw JSON text of that field in each record (``msgspec.Raw``, or
``None`` when the record lacks the field). Each type accepts only the JSON values it can hold exactly; any
other value raises :class:`ValueDoesNotFit` with the value's position, so nothing is rounded, truncated or
reinterpreted silently. A column is parsed by Arrow's JSON reader with the type's reading type (strings for
dates and timestamps, then a vectorized format check and cast); Python decodes the values (msgspec) only to
name the first value that does not fit. (``string`` and ``json`` columns look at each value's first byte.)

| type | JSON values accepted | Parquet (Arrow) type |
|---|---|---|
| ``string`` | a string (its value); a number, true/false, object or array (its JSON text as sent) | string |
| ``int64`` | an integer literal in the int64 range | int64 |
| ``float64`` | a number; an integer only if a float64 holds it exactly; the strings ``"NaN"``, ``"inf"``, ``"-inf"`` | double |
| ``bool`` | true, false | bool |
| ``decimal(p,s)`` | a number or a string holding one, with at most ``s`` decimals and ``p - s`` integer digits | decimal128(p, s) |
| ``date`` | a string ``YYYY-MM-DD`` | date32 |
| ``timestamp_tz`` | a string ``YYYY-MM-DDTHH:MM:SS[.ffffff]`` with ``Z`` or ``+HH:MM``/``-HH:MM`` | timestamp[us, tz=UTC] (the instant, UTC-normalized) |
| ``timestamp_ntz`` | the same without an offset | timestamp[us] |
| ``json`` | any value: its JSON text as sent | string |

JSON ``null`` and a missing field are a null in every type.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

KINDS = ("string", "int64", "float64", "bool", "decimal", "date", "timestamp_tz", "timestamp_ntz", "json")
VOCABULARY = (
    "string",
    "int64",
    "float64",
    "bool",
    "decimal(p,s)",
    "date",
    "timestamp_tz",
    "timestamp_ntz",
    "json",
)
_DECIMAL = re.compile(r"decimal\(\s*(\d{1,2})\s*,\s*(\d{1,2})\s*\)")
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_TIME = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?"
_TIMESTAMP_TZ = rf"^{_TIME}(?:Z|[+-]\d{{2}}:\d{{2}})$"
_TIMESTAMP_NTZ = rf"^{_TIME}$"
_INT64 = (-(2**63), 2**63 - 1)
_READ_AS_STRING = ("string", "json", "date", "timestamp_tz", "timestamp_ntz")
_SHOWN = 60  # characters of a value quoted in an error message


@dataclass(frozen=True)
class ColumnType:
    """One declared column type: ``kind`` from :data:`KINDS` (decimals with precision and scale)."""

    kind: str
    precision: int = 0
    scale: int = 0

    @property
    def name(self) -> str:
        return f"decimal({self.precision},{self.scale})" if self.kind == "decimal" else self.kind

    def arrow(self) -> Any:
        import pyarrow as pa

        return {
            "string": pa.string,
            "json": pa.string,
            "int64": pa.int64,
            "float64": pa.float64,
            "bool": pa.bool_,
            "date": pa.date32,
            "timestamp_ntz": lambda: pa.timestamp("us"),
            "timestamp_tz": lambda: pa.timestamp("us", tz="UTC"),
            "decimal": lambda: pa.decimal128(self.precision, self.scale),
        }[self.kind]()


STRING = ColumnType("string")


def parse_column_type(value: Any, *, where: str) -> ColumnType:
    """``"int64"``, ``"decimal(38,2)"``, ...: a :class:`ColumnType`, or ``ValueError`` naming ``where``."""
    text = value.strip().lower() if isinstance(value, str) else None
    if text in KINDS and text != "decimal":
        return ColumnType(text)
    match = _DECIMAL.fullmatch(text or "")
    if match:
        precision, scale = int(match.group(1)), int(match.group(2))
        if 1 <= precision <= 38 and scale <= precision:
            return ColumnType("decimal", precision, scale)
        raise ValueError(
            f"{where}={value!r}: a decimal needs 1 <= precision <= 38 and 0 <= scale <= precision, "
            "e.g. 'decimal(38,2)'"
        )
    raise ValueError(f"{where}={value!r} is not a column type; use one of {', '.join(VOCABULARY)}")


def parse_schema(schema: Any, *, param: str = "schema") -> dict[str, ColumnType]:
    """Validate ``{"column": "type"}`` (top-level fields of the records) into :class:`ColumnType` values."""
    if not isinstance(schema, Mapping) or not schema:
        raise ValueError(
            f"{param} must be a non-empty dict of top-level field name to column type, e.g. "
            f"{{'created_at': 'timestamp_tz', 'amount': 'decimal(18,2)'}}, got {schema!r}"
        )
    parsed: dict[str, ColumnType] = {}
    for name, value in schema.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"{param}: field names must be non-empty strings, got {name!r}")
        parsed[name] = parse_column_type(value, where=f"{param}[{name!r}]")
    return parsed


class ValueDoesNotFit(ValueError):
    """Value ``index`` of a column cannot be stored in the column's type (``reason`` says why)."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index = index
        self.reason = reason


def show(raw: Any) -> str:
    """A JSON value's text for an error message, cut to a few dozen characters."""
    text = bytes(raw).decode("utf-8", "replace")
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def json_kind(raw: Any) -> str:
    """``a string``/``a number``/... from the first byte of a value's JSON text."""
    first = bytes(raw)[:1] if raw is not None else b"n"
    return {
        b'"': "a string",
        b"{": "an object",
        b"[": "an array",
        b"t": "true/false",
        b"f": "true/false",
        b"n": "null",
    }.get(first, "a number")


def convert(raws: Sequence[Any], column: ColumnType) -> Any:
    """The Arrow array of ``column`` for one batch of raw JSON values (``None``: the field is absent).

    Arrow's JSON reader builds the array (``pa.array`` over Python values would import pandas, seconds and
    tens of MB in a worker): the values are read as one NDJSON column with the type's reading type. Only
    when Arrow refuses a value does Python decode the column to name it.
    """
    import pyarrow as pa

    values: Sequence[Any] = raws
    specials = _float_specials(raws) if column.kind == "float64" else None
    if specials is not None:
        values = [None if i in specials else r for i, r in enumerate(raws)]
    if column.kind == "json":
        values = [None if r is None or bytes(r) == b"null" else _encode(bytes(r).decode()) for r in raws]
    elif column.kind == "string":
        values = [_as_json_string(r) for r in raws]
    reading = pa.string() if column.kind in _READ_AS_STRING else column.arrow()
    try:
        array = read_values(values, reading)
        if column.kind == "decimal":
            array.validate(full=True)  # the JSON reader does not check a decimal's precision
    except pa.ArrowInvalid as exc:
        raise _refused(values, column) or ValueDoesNotFit(
            0, f"cannot be read as {column.name} ({exc})"
        ) from None
    if column.kind in ("date", "timestamp_tz", "timestamp_ntz"):
        return _temporal(array, raws, column)
    if column.kind == "float64" and _beyond_exact(array):
        refused = _refused(values, column)
        if refused is not None:
            raise refused
    if specials:
        import pyarrow.compute as pc

        mask = pa.array([i in specials for i in range(len(raws))])
        array = pc.replace_with_mask(array, mask, pa.array(list(specials.values()), pa.float64()))
    return array


_FLOAT_SPECIALS = {b'"NaN"': float("nan"), b'"inf"': float("inf"), b'"-inf"': float("-inf")}


def _float_specials(raws: Sequence[Any]) -> dict[int, float] | None:
    """Positions of the strings a JSON number cannot spell (``"NaN"``, ``"inf"``, ``"-inf"``, as Snowflake
    spells them) in a float64 column, with their values; ``None`` when there are none."""
    found = {}
    for index, raw in enumerate(raws):
        if raw is not None and memoryview(raw)[:1] == b'"':
            value = _FLOAT_SPECIALS.get(bytes(raw))
            if value is not None:
                found[index] = value
    return found or None


def read_values(values: Sequence[Any], kind: Any) -> Any:
    """One Arrow array of ``kind`` from JSON values (raw JSON bytes, or ``None`` for null), parsed in C++."""
    import io

    import pyarrow as pa
    import pyarrow.json as paj

    if not values:
        return pa.nulls(0, kind)
    parts = [b"null" if v is None else v for v in values]
    data = b'{"v":' + b'}\n{"v":'.join(parts) + b"}"
    largest = max(len(part) for part in parts) + 8
    table = paj.read_json(
        io.BytesIO(data),
        read_options=paj.ReadOptions(block_size=max(1 << 22, 2 * largest)),
        parse_options=paj.ParseOptions(
            explicit_schema=pa.schema([("v", kind)]), unexpected_field_behavior="error"
        ),
    )
    return table.column(0).combine_chunks()


def strings(texts: Sequence[str | None]) -> Any:
    """A string array from Python strings (through the JSON reader, see :func:`convert`)."""
    import pyarrow as pa

    return read_values([None if t is None else _encode(t) for t in texts], pa.string())


def _encode(text: str) -> bytes:
    import msgspec

    return msgspec.json.encode(text)


def _as_json_string(raw: Any) -> Any:
    """A ``string`` column's value: a JSON string as is; any other value as a JSON string of its text."""
    if raw is None:
        return None
    data = bytes(raw)
    if data[:1] == b'"' or data == b"null":
        return raw
    return _encode(data.decode())


def _beyond_exact(array: Any) -> bool:
    """Whether a float64 array holds a value of magnitude 2**53 or more (an integer there may be rounded)."""
    import pyarrow.compute as pc

    low, high = pc.min_max(array).values()
    return bool(high.is_valid and (high.as_py() >= 2.0**53 or low.as_py() <= -(2.0**53)))


def _refused(raws: Sequence[Any], column: ColumnType) -> ValueDoesNotFit | None:
    """The first value of ``raws`` that ``column`` cannot hold, decoded in Python (for the error message)."""
    if column.kind in ("string", "json"):
        return None
    python_type, check = (str, None) if column.kind in _READ_AS_STRING else _numeric(column)
    try:
        values = _decode(raws, python_type, column)
    except ValueDoesNotFit as bad:
        return bad
    for index, value in enumerate(values):
        if value is not None and check is not None and (reason := check(value)):
            return ValueDoesNotFit(index, f"{show(raws[index])} {reason}")
    return None


def _check_float(value: Any) -> str | None:
    import math

    if isinstance(value, int) and float(value) != value:
        return "is an integer a float64 cannot hold exactly; declare 'decimal(38,0)' or 'string'"
    if isinstance(value, float) and math.isinf(value):
        return "is beyond the float64 range; declare 'decimal(p,s)' or 'string'"
    return None


def _check_int(value: Any) -> str | None:
    if not _INT64[0] <= value <= _INT64[1]:
        return "is beyond the int64 range; declare 'decimal(38,0)' or 'string'"
    return None


def _decimal_check(column: ColumnType) -> Callable[[Any], str | None]:
    precision, scale = column.precision, column.scale

    def check(value: Any) -> str | None:
        if not value.is_finite():
            return "is not a finite number"
        _, digits, exponent = value.normalize().as_tuple()
        decimals, integers = max(0, -exponent), max(0, len(digits) + exponent)
        if decimals > scale:
            return f"has {decimals} decimal places; {column.name} keeps {scale} (nothing is rounded)"
        if integers > precision - scale:
            return f"has {integers} integer digits; {column.name} holds {precision - scale}"
        return None

    return check


def _numeric(column: ColumnType) -> tuple[Any, Callable[[Any], str | None] | None]:
    """The Python type msgspec decodes the column to, and the check each decoded value must pass."""
    from decimal import Decimal

    if column.kind == "decimal":
        return Decimal, _decimal_check(column)
    checks = {"int64": (int, _check_int), "float64": (int | float, _check_float), "bool": (bool, None)}
    return checks[column.kind]


_DECODERS: dict[Any, Any] = {}
_EXPECTED = {
    "int64": "an integer",
    "float64": "a number",
    "bool": "true or false",
    "decimal": "a number or a string holding one",
    "date": "a string YYYY-MM-DD",
    "timestamp_tz": "a string YYYY-MM-DDTHH:MM:SS[.ffffff] with Z or a +HH:MM offset",
    "timestamp_ntz": "a string YYYY-MM-DDTHH:MM:SS[.ffffff] without an offset",
}


def _decoder(python_type: Any) -> Any:
    import msgspec

    decoder = _DECODERS.get(python_type)
    if decoder is None:
        decoder = _DECODERS[python_type] = msgspec.json.Decoder(list[python_type | None]).decode  # type: ignore[valid-type]
    return decoder


def _join(raws: Sequence[Any]) -> bytes:
    return b"[" + b",".join(b"null" if r is None else r for r in raws) + b"]"


def _decode(raws: Sequence[Any], python_type: Any, column: ColumnType) -> list[Any]:
    """Decode a column's values as one JSON array (C speed); a refused value is named by its index."""
    import msgspec

    try:
        return list(_decoder(python_type)(_join(raws)))
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).partition(" - at ")
        match = re.match(r"`\$\[(\d+)\]", where)
        index = int(match.group(1)) if match else 0
    raw = raws[index]
    problem = f"is {json_kind(raw)}" if message.startswith("Expected") else f"is refused ({message})"
    raise ValueDoesNotFit(index, f"{show(raw)} {problem}; {column.name} takes {_EXPECTED[column.kind]}")


def _temporal(strings: Any, raws: Sequence[Any], column: ColumnType) -> Any:
    """Dates and timestamps: strings of one exact ISO-8601 form, checked and converted by Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pattern = {"date": _DATE, "timestamp_tz": _TIMESTAMP_TZ, "timestamp_ntz": _TIMESTAMP_NTZ}[column.kind]
    matches = pc.match_substring_regex(strings, pattern)
    bad = pc.and_kleene(pc.invert(matches), pc.is_valid(strings))
    if pc.any(bad).as_py():
        index = bad.to_pylist().index(True)
        raw = raws[index]
        hint = " (no offset: declare 'timestamp_ntz', or 'string')" if column.kind == "timestamp_tz" else ""
        if column.kind == "timestamp_ntz" and re.search(r"(Z|[+-]\d{2}:\d{2})$", strings[index].as_py()):
            hint = " (it has an offset: declare 'timestamp_tz')"
        raise ValueDoesNotFit(index, f"{show(raw)} is not {_EXPECTED[column.kind]}{hint}")
    try:
        return strings.cast(column.arrow())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    for index in range(len(strings)):  # a well-formed but impossible value, e.g. 2024-02-30
        try:
            strings.slice(index, 1).cast(column.arrow())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise ValueDoesNotFit(index, f"{show(raws[index])} is not a valid {column.name}") from None
    raise AssertionError("a column Arrow refused as a whole was accepted value by value")
