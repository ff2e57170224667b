"""A JSON document as Snowflake keeps it in a VARIANT: its numbers typed the way PARSE_JSON and COPY type them.

Snowflake keeps a number written without fraction or exponent as an INTEGER when it fits NUMBER(38,0), and one
written with a fraction as a fixed-point DECIMAL when it fits NUMBER(38, s<=37); everything else (exponents,
more digits) becomes a DOUBLE (https://docs.snowflake.com/en/sql-reference/functions/parse_json, usage
notes). Fixed-point numbers have no negative zero. DuckDB's ``json()`` instead reads every number with a
fraction as a double, so ``826561649537.325424`` came back as ``826561649537.3254``; and it keeps integers of
any length, which Snowflake turns into doubles.

``variant_json`` rewrites only the number tokens that Snowflake would store differently from how they are
written (the rest of the text is kept byte for byte), and the COPY stores the result as it is (a cast, not
``json()``). A DOUBLE is written as Python's shortest exact form (``1e+40``, ``100.0``): Snowflake shows
doubles with 16 significant digits (``1.912000000000000e+02``), the stand-in keeps the exact double so that
``v:x::FLOAT`` gives the same value as on Snowflake.
"""

from __future__ import annotations

import re

MAX_PRECISION = 38
MAX_SCALE = 37

# A string token (skipped as a whole, so digits inside strings are never touched) or a number token.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|(-?)(\d+)(?:\.(\d+))?([eE][+-]?\d+)?')
# Cheap pre-check: only texts with a long digit run or a negative zero can hold a number to rewrite.
_MAYBE = re.compile(r"\d{38}|[\d.]{39}|-0(?:\.0+)?(?![\d.eE])")


def variant_json(text: str) -> str:
    """``text`` (valid JSON) with its numbers as a Snowflake VARIANT holds them."""
    if not _MAYBE.search(text):
        return text
    return _TOKENS.sub(_number, text)


def _number(match: re.Match[str]) -> str:
    sign, whole, fraction, exponent = match.groups()
    token = match.group(0)
    if whole is None or exponent:  # a string, or already a DOUBLE
        return token
    digits = len(whole.lstrip("0"))
    scale = len(fraction) if fraction is not None else 0
    if digits + scale > MAX_PRECISION or scale > MAX_SCALE:
        return repr(float(token))
    if sign and not digits and not (fraction or "").strip("0"):
        return token[1:]  # fixed-point zero has no sign
    return token
