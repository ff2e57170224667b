"""JSON text with its number tokens kept: what an API sends, exactly, and a reader that gives it back.

A generated record is a tree of ``None``, ``bool``, ``str``, :class:`Num`, ``list`` and ``dict`` (string keys).
``Num`` holds a number *token* (``"1e2"``, ``"-0.0"``, ``"123.450"``), because Snowflake types a JSON number by
how it is written, not by its value: ``1e2`` becomes a DOUBLE and ``100`` an integer. :func:`dumps` writes the
tree the way one of several real-world encoders would (compact, Python's defaults, pretty-printed, PHP's
escaped slashes); :func:`loads` reads JSON text back into the same kind of tree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

STYLES = ("compact", "python", "pretty", "escaped_slash")
# The characters Python's str.splitlines() breaks on that may appear unescaped inside a JSON string.
UNICODE_LINE_BREAKS = ("\u0085", "\u2028", "\u2029")


@dataclass(frozen=True)
class Num:
    """A JSON number token, exactly as written."""

    token: str

    def __repr__(self) -> str:
        return f"Num({self.token!r})"


def dumps(value: Any, style: str = "compact", *, escape_line_breaks: bool = False) -> str:
    """``value`` as JSON text in one encoder's ``style``.

    - ``compact``: no whitespace, non-ASCII as UTF-8 (orjson, Go, most JavaScript servers)
    - ``python``: ``", "`` and ``": "`` separators, non-ASCII as ``\\uXXXX`` escapes (surrogate pairs for
      astral characters): Python's ``json.dumps`` defaults
    - ``pretty``: indented over many lines, non-ASCII as UTF-8 (APIs that pretty-print their bodies)
    - ``escaped_slash``: compact with ``\\/`` for ``/`` and ASCII escapes (PHP's ``json_encode``)

    ``escape_line_breaks`` writes U+0085, U+2028 and U+2029 as escapes even where the style would not.
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}")
    ascii_only = style in ("python", "escaped_slash")
    item_sep, key_sep = {"compact": (",", ":"), "escaped_slash": (",", ":")}.get(style, (", ", ": "))
    indent = "  " if style == "pretty" else None

    def string(text: str) -> str:
        out = json.dumps(text, ensure_ascii=ascii_only)
        if escape_line_breaks and not ascii_only:
            for char in UNICODE_LINE_BREAKS:
                out = out.replace(char, f"\\u{ord(char):04x}")
        return out.replace("/", "\\/") if style == "escaped_slash" else out

    def write(node: Any, depth: int) -> str:
        if node is None:
            return "null"
        if node is True:
            return "true"
        if node is False:
            return "false"
        if isinstance(node, Num):
            return node.token
        if isinstance(node, str):
            return string(node)
        if isinstance(node, list):
            items = [write(v, depth + 1) for v in node]
            opening, closing = "[", "]"
        elif isinstance(node, dict):
            items = [f"{string(k)}{key_sep}{write(v, depth + 1)}" for k, v in node.items()]
            opening, closing = "{", "}"
        else:
            raise TypeError(f"not a JSON tree node: {node!r}")
        if not items:
            return opening + closing
        if indent is None:
            return opening + item_sep.join(items) + closing
        inner = "\n" + indent * (depth + 1)
        return opening + inner + ("," + inner).join(items) + "\n" + indent * depth + closing

    return write(value, 0)


def loads(text: str | bytes) -> Any:
    """JSON text -> a tree whose numbers are :class:`Num` tokens (as written in ``text``)."""
    return json.loads(text, parse_int=Num, parse_float=Num, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
