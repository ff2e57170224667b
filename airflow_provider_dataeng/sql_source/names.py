"""PostgreSQL identifiers as a DAG author writes them: checked, folded like PostgreSQL folds them, quoted.

``orders``, ``public.orders`` and ``Orders`` name the table ``orders`` (PostgreSQL folds unquoted names to
lower case); ``"Orders"`` keeps its case. Anything else (spaces, semicolons, quotes, comments, control
characters) is refused with the parameter's name, so no name can change a statement's meaning.
"""

from __future__ import annotations

import re

_UNQUOTED = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_LENGTH = 63  # NAMEDATALEN - 1


def quote_ident(name: str) -> str:
    """``name`` as a quoted PostgreSQL identifier (case kept, ``"`` doubled)."""
    return '"' + name.replace('"', '""') + '"'


def _parts(text: str, *, param: str) -> list[str]:
    return [name.lower() if not quoted else name for name, quoted in name_parts(text, param=param)]


def name_parts(text: str, *, param: str) -> list[tuple[str, bool]]:
    """The checked parts of a dotted name as written, each with whether it was double-quoted."""
    if not isinstance(text, str) or not text:
        raise ValueError(
            f"{param} must be a non-empty name such as 'orders' or 'public.orders', got {text!r}"
        )
    parts: list[tuple[str, bool]] = []
    pos = 0
    while True:
        if text.startswith('"', pos):
            end, chars = pos + 1, []
            while True:
                close = text.find('"', end)
                if close == -1:
                    raise ValueError(f"{param}={text!r}: unterminated quoted name")
                chars.append(text[end:close])
                if text.startswith('""', close):
                    chars.append('"')
                    end = close + 2
                    continue
                pos = close + 1
                break
            part, quoted = "".join(chars), True
            if not part or _CONTROL.search(part):
                raise ValueError(
                    f"{param}={text!r}: a quoted name must be non-empty without control characters"
                )
        else:
            match = _UNQUOTED.match(text, pos)
            if match is None:
                raise ValueError(
                    f"{param}={text!r} is not a PostgreSQL name: use letters, digits, _ and $ (starting with a "
                    "letter or _), or double-quote a name that needs other characters or upper case"
                )
            part, quoted, pos = match.group(), False, match.end()
        if len(part) > MAX_LENGTH:
            raise ValueError(f"{param}={text!r}: PostgreSQL names are at most {MAX_LENGTH} characters")
        parts.append((part, quoted))
        if pos == len(text):
            return parts
        if text[pos] != ".":
            raise ValueError(f"{param}={text!r} is not a PostgreSQL name: unexpected {text[pos]!r} at {pos}")
        pos += 1


def parse_table(text: str, *, param: str = "table") -> tuple[str, ...]:
    """``table`` or ``schema.table`` -> its parts, folded (unquoted) or verbatim (quoted)."""
    parts = _parts(text, param=param)
    if len(parts) > 2:
        raise ValueError(
            f"{param}={text!r}: give 'table' or 'schema.table' (the database is the connection's)"
        )
    return tuple(parts)


def parse_column(text: str, *, param: str) -> str:
    """One column name, folded or verbatim as :func:`parse_table` does."""
    parts = _parts(text, param=param)
    if len(parts) != 1:
        raise ValueError(f"{param}={text!r}: give a column name without a table or schema")
    return parts[0]


def qualified(parts: tuple[str, ...]) -> str:
    """Parts from :func:`parse_table` as ``"schema"."table"``."""
    return ".".join(quote_ident(p) for p in parts)
