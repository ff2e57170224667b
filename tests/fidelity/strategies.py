"""Hypothesis strategies for what real APIs send: records as JSON trees with number tokens (``jsontext.Num``).

Strings cover every Unicode plane plus the characters that break naive line-oriented tools (U+2028, U+2029,
U+0085, U+FEFF, U+000B, U+000C, U+001C-U+001E, NUL), ZWJ emoji sequences, right-to-left text, combining marks,
empty strings and 1 MB strings. Numbers are tokens as encoders write them: integers beyond +-2^63 and at 38
digits and beyond, floats written by Python and by fixed-point formatters, and the edge tokens (-0.0, 1e308,
5e-324, 1E2). Objects have keys with dots, spaces, quotes and non-ASCII characters, null values as well as
missing fields, and nest deep or stay empty.

Parquet part files need one type per field across records (Arrow infers a schema): :func:`parquet_records`
draws a schema first, then records that follow it.

``PARQUET_LIMIT_*`` flags keep generated Parquet data within a documented limit (asserted in
``test_known_defects.py`` as a clear failure). A ``KNOWN_*`` flag, when a defect is found, keeps the strategies
away from it while its strict-xfail test keeps it in view; none is open now.
"""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import strategies as st

from tests.fidelity.jsontext import STYLES, Num

# -- documented limits (not defects) -------------------------------------------------------------------------
# Parquet part files refuse an integer beyond int64 (naming the field: declare it decimal(38,0) or string in
# schema=; test_known_defects.py::test_parquet_integers_beyond_int64_fail_clearly). While True, generated
# Parquet records hold only int64 integers.
PARQUET_LIMIT_INTEGERS_WITHIN_INT64 = True

ID_KEY = "_fid"  # every record's key field: a number, unique in a batch; generated keys never use it


class Big(str):
    """A long string that prints short (failure reports would otherwise print megabytes)."""

    def __repr__(self) -> str:
        return f"<{len(self):,} characters starting {str(self[:12])!r}>"


MEGABYTE_STRINGS = (
    Big("a" * 1_000_000),
    Big(("é😀\u2028\"\\\n" * 100_000)[:1_000_000]),  # multi-byte, astral, line breaks and escapes: ~2 MB UTF-8
)
SPECIAL_CHARS = (
    "\u2028", "\u2029", "\u0085", "\ufeff", "\u000b", "\u000c", "\u001c", "\u001d", "\u001e", "\u0000",
    "\n", "\r", "\t", "\b", "\"", "\\", "/", "\u007f", "\u00a0", "\u200b", "\u200d", "\u0301", "\ufffd",
    "\uffff", "\U0001f600", "\U0010ffff", "\U00020000", "\u05d0", "\u0627", "\u202e",
)
SPECIAL_STRINGS = (
    "",
    " ",
    "👨\u200d👩\u200d👧\u200d👦",  # ZWJ family
    "🏳\ufe0f\u200d🌈",
    "e\u0301",  # combining acute
    "שלום עולם",  # right to left
    "مرحبا بالعالم",
    "\u202eevil\u202c",
    "line1\nline2\r\nline3",
    "tab\there",
    "null",
    "true",
    "0",
    "-0.0",
    "1e308",
    "{\"not\": \"an object\"}",
    "2024-01-05T10:00:00Z",
    "2024-01-05",
    "2024-01-05 10:00:00.123456",
)

INT64 = 2**63
EDGE_INTEGERS = (
    0, 1, -1, "-0", INT64 - 1, -INT64, INT64, -INT64 - 1, 2**64, -(2**64), 2**53 + 1,
    10**37, 10**38 - 1, -(10**38 - 1), 10**38, -(10**38), 10**40 + 7, 2**200,
)
EDGE_FLOAT_TOKENS = (
    "-0.0", "0.0", "-0.0e0", "1e308", "-1e308", "1.7976931348623157e308", "5e-324", "4.9e-324",
    "2.2250738585072014e-308", "1E2", "1e+2", "1.5E-3", "0.1", "0.30000000000000004", "123.450", "1.0",
    "100.0", "1e16", "9007199254740993.0", "0.00000000000000000000000000000000000001",  # scale 38
    "0.0000000000000000000000000000000000001",  # scale 37
    "1234567890123456789012345678.1234567890",  # precision 38
    "12345678901234567890123456789.1234567890",  # precision 39
    "3.141592653589793238462643383279502884197",
)


@functools.cache
def characters() -> st.SearchStrategy[str]:
    """Any code point but lone surrogates (not valid in UTF-8), weighted toward the troublesome ones."""
    return st.one_of(st.sampled_from(SPECIAL_CHARS), st.characters(exclude_categories=("Cs",)))  # no lone surrogates


@functools.cache
def texts(*, big: bool = True) -> st.SearchStrategy[str]:
    """Strings; with ``big``, one in 1,000 is a 1 MB string (the pipeline batches always carry two more)."""
    small = st.one_of(st.sampled_from(SPECIAL_STRINGS), st.text(characters(), max_size=40))
    if not big:
        return small
    return _rarely(small, st.sampled_from(MEGABYTE_STRINGS))


@st.composite
def _rarely(draw: Any, usual: st.SearchStrategy[Any], rare: st.SearchStrategy[Any]) -> Any:
    """``rare`` one time in 1,000, else ``usual``."""
    return draw(rare) if draw(st.integers(0, 999)) == 0 else draw(usual)


@functools.cache
def keys() -> st.SearchStrategy[str]:
    odd = st.sampled_from(("a.b", "a b", "\"quoted\"", "it's", "é", "ключ", "キー", "", " ", "$1", "a:b",
                           "{}", "[0]", "\U0001f511", "null", "A", "a"))
    return st.one_of(odd, st.text(characters(), max_size=12)).filter(_not_id_key)


@functools.cache
def integer_tokens() -> st.SearchStrategy[Num]:
    return st.one_of(
        st.sampled_from(EDGE_INTEGERS),
        st.integers(),
        st.integers(min_value=-(10**45), max_value=10**45),
    ).map(_int_token)


@functools.cache
def float_tokens() -> st.SearchStrategy[Num]:
    """Floats as real encoders write them: Python's repr, C's %.17g, fixed-point, and the edge tokens."""
    finite = st.floats(allow_nan=False, allow_infinity=False)
    return st.one_of(
        st.sampled_from(EDGE_FLOAT_TOKENS).map(Num),
        finite.map(_repr_token),
        finite.map(_g17_token),
        st.decimals(allow_nan=False, allow_infinity=False)
        .filter(_moderate_exponent)
        .map(_fixed_token),
    )


def _not_id_key(key: str) -> bool:
    return key != ID_KEY


def _int_token(value: Any) -> Num:
    return Num(str(value))


def _repr_token(value: float) -> Num:
    return Num(repr(value))


def _g17_token(value: float) -> Num:
    """C's %.17g; it writes 1.0 as "1": keep it a float token, as the encoder's own type says."""
    token = f"{value:.17g}"
    return Num(token if any(c in token for c in ".eE") else token + ".0")


def _moderate_exponent(value: Any) -> bool:
    return abs(value.adjusted()) < 60


def _fixed_token(value: Any) -> Num:
    text = format(value, "f")
    return Num(text if "." in text else text + ".0")


@functools.cache
def scalars(*, big_strings: bool = True) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(), st.booleans(), texts(big=big_strings), integer_tokens(), float_tokens(),
    )


def deep(depth: int, leaf: Any) -> Any:
    """``depth`` nested containers, alternating arrays and objects, around ``leaf``."""
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@functools.cache
def json_values(*, max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON value: scalars, and nested arrays/objects (empty ones too); sometimes 100 levels deep."""
    nested = st.recursive(scalars(), _containers, max_leaves=max_leaves)
    very_deep = st.builds(deep, st.integers(1, 100), st.sampled_from([None, [], {}, Num("1"), "x"]))
    return st.one_of(nested, very_deep)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.lists(inner, max_size=5), st.dictionaries(keys(), inner, max_size=5))


def record_fields() -> st.SearchStrategy[dict[str, Any]]:
    """A record's fields (without its key): some null, some absent, any value."""
    return st.dictionaries(keys(), json_values(), max_size=6)


@functools.cache
def page_styles(*, parquet: bool = False) -> st.SearchStrategy[str]:
    return st.sampled_from(STYLES)


# -- Parquet: one schema per batch ---------------------------------------------------------------------------

# Kinds of Parquet columns the writer produces from JSON: Arrow's JSON reader types each field by its values.
PARQUET_KINDS = ("string", "int64", "double", "bool", "list", "struct")


def _nested_kinds(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    fields = st.dictionaries(keys(), inner, min_size=0, max_size=3)
    return st.one_of(st.tuples(st.just("list"), inner), st.tuples(st.just("struct"), fields.map(_items)))


def _items(mapping: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(mapping.items())


@functools.cache
def parquet_schemas() -> st.SearchStrategy[dict[str, Any]]:
    """``{field: kind}``; nested kinds are ``("list", kind)`` and ``("struct", ((field, kind), ...))``."""
    scalar_kind = st.sampled_from(("string", "int64", "double", "bool"))
    kind = st.recursive(scalar_kind, _nested_kinds, max_leaves=4)
    return st.dictionaries(keys(), kind, min_size=1, max_size=6)


@functools.cache
def parquet_value(kind: Any, *, big_strings: bool = True) -> st.SearchStrategy[Any]:
    """A non-null value of ``kind`` (``parquet_field`` adds nulls where the known defects allow them)."""
    if kind == "string":
        return texts(big=big_strings)
    if kind == "int64":
        bound = INT64 if PARQUET_LIMIT_INTEGERS_WITHIN_INT64 else 10**45
        return st.integers(-bound, bound - 1).map(_int_token)
    if kind == "double":
        return float_tokens()
    if kind == "bool":
        return st.booleans()
    tag, inner = kind
    if tag == "list":
        item = nullable(parquet_value(inner, big_strings=False))
        return st.lists(item, max_size=4)
    return st.fixed_dictionaries({k: parquet_field(v) for k, v in inner})


@functools.cache
def parquet_field(kind: Any, *, big_strings: bool = False) -> st.SearchStrategy[Any]:
    """A field's value, or null."""
    return nullable(parquet_value(kind, big_strings=big_strings))


def nullable(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


@functools.cache
def parquet_records_of(schema: tuple[tuple[str, Any], ...]) -> st.SearchStrategy[dict[str, Any]]:
    """One record following ``schema``: each field present with a value, null, or absent."""
    fields = {name: parquet_field(kind, big_strings=True) for name, kind in schema}
    return st.fixed_dictionaries({}, optional=fields)


@st.composite
def parquet_records(draw: Any, count: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A schema and ``count`` records following it."""
    schema = draw(parquet_schemas())
    records = [draw(parquet_records_of(tuple(schema.items()))) for _ in range(count)]
    return schema, records
