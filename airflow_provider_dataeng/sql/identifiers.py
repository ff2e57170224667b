"""Snowflake identifiers, literals and user-supplied SQL expressions: validate, normalize, quote.

Every identifier a user gives (table, stage, stream, column, ...) goes through here before it reaches SQL.
Unquoted identifiers follow Snowflake's rules (letter or underscore, then letters, digits, ``_`` or ``$``;
at most 255 characters) and are normalized to upper case, as Snowflake resolves them; double-quoted
identifiers keep their exact text. The output is always double-quoted, so it cannot change the meaning of
the statement around it. Anything else is refused with an error naming the parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_IDENTIFIER_LENGTH = 255
_UNQUOTED = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EXPRESSION_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab, CR and LF are fine in SQL


class IdentifierError(ValueError):
    """An identifier or expression given by the user is not valid or not safe."""


@dataclass(frozen=True)
class ObjectName:
    """A possibly qualified Snowflake object name (``db.schema.name``), parts already normalized."""

    parts: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.parts[-1]

    @property
    def sql(self) -> str:
        """The name as SQL, every part double-quoted."""
        return ".".join(quote_identifier(part) for part in self.parts)

    def with_name(self, name: str) -> ObjectName:
        """The same database and schema with another object name (e.g. a table's default stream)."""
        return ObjectName((*self.parts[:-1], name))

    def __str__(self) -> str:
        return self.sql


def parse_object_name(text: str, *, param: str, max_parts: int = 3) -> ObjectName:
    """Parse ``name``, ``schema.name`` or ``db.schema.name`` (parts quoted or not) into an ObjectName."""
    if not isinstance(text, str):
        raise IdentifierError(
            f"{param} must be a string naming a Snowflake object, got {type(text).__name__}"
        )
    parts = _split_parts(text.strip(), param=param)
    if len(parts) > max_parts:
        raise IdentifierError(
            f"{param}={text!r} has {len(parts)} parts; at most {max_parts} are allowed "
            f"({'database.schema.name' if max_parts == 3 else 'name'})"
        )
    return ObjectName(tuple(parts))


def parse_column_name(text: str, *, param: str) -> str:
    """Parse one column name (quoted or not) and return it normalized (unquoted -> upper case)."""
    return parse_object_name(text, param=param, max_parts=1).name


def quote_identifier(name: str) -> str:
    """Double-quote a normalized identifier, doubling embedded quotes."""
    if not name or len(name) > MAX_IDENTIFIER_LENGTH or _CONTROL.search(name):
        raise IdentifierError(f"cannot quote identifier {name!r}: empty, too long or has control characters")
    return '"' + name.replace('"', '""') + '"'


def quote_string(value: str) -> str:
    """A Snowflake single-quoted string literal (backslash and quote escaped).

    Only for places where Snowflake cannot take a bind variable (DDL options, ``FILES = (...)``).
    """
    if _CONTROL.search(value):
        raise IdentifierError(f"string literal {value!r} contains control characters")
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _split_parts(text: str, *, param: str) -> list[str]:
    if not text:
        raise IdentifierError(
            f"{param} is empty: give a Snowflake identifier such as MY_TABLE or RAW.MY_TABLE"
        )
    parts: list[str] = []
    pos = 0
    while True:
        if pos < len(text) and text[pos] == '"':
            end = pos + 1
            chars: list[str] = []
            while True:
                close = text.find('"', end)
                if close == -1:
                    raise IdentifierError(f"{param}={text!r}: unterminated quoted identifier")
                chars.append(text[end:close])
                if text.startswith('""', close):
                    chars.append('"')
                    end = close + 2
                    continue
                pos = close + 1
                break
            part = "".join(chars)
            if not part or _CONTROL.search(part):
                raise IdentifierError(
                    f"{param}={text!r}: quoted identifier is empty or has control characters"
                )
        else:
            match = _UNQUOTED.match(text, pos)
            if match is None:
                raise IdentifierError(
                    f"{param}={text!r} is not a valid Snowflake identifier: use letters, digits, _ and $ "
                    f"(starting with a letter or _), or double-quote the name"
                )
            part = match.group().upper()
            pos = match.end()
        if len(part) > MAX_IDENTIFIER_LENGTH:
            raise IdentifierError(
                f"{param}={text!r}: identifiers are limited to {MAX_IDENTIFIER_LENGTH} characters"
            )
        parts.append(part)
        if pos == len(text):
            return parts
        if text[pos] != ".":
            raise IdentifierError(
                f"{param}={text!r} is not a valid Snowflake identifier: unexpected {text[pos]!r} at position {pos}"
            )
        pos += 1


def validate_sql_expression(text: str, *, param: str) -> str:
    """Check that ``text`` is one Snowflake SQL scalar expression and return it stripped.

    Used where the API takes SQL by design (a projection, a filter, a check expression). Refused:
    several statements, subqueries, comments (they could swallow the rest of the statement) and anything
    sqlglot's Snowflake dialect cannot parse. Callers embed the result in parentheses.
    """
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    if not isinstance(text, str) or not text.strip():
        raise IdentifierError(f"{param} must be a non-empty SQL expression")
    text = text.strip()
    if _EXPRESSION_CONTROL.search(text):  # NUL and friends: drivers and logs may cut the statement there
        raise IdentifierError(f"{param}={text!r}: control characters are not allowed in SQL expressions")
    if ";" in _strip_string_literals(text):
        raise IdentifierError(f"{param}={text!r}: a single expression cannot contain ';'")
    try:
        statements = sqlglot.parse(f"SELECT ({text})", read="snowflake")
    except (ParseError, TokenError) as err:  # TokenError: an unterminated quote or string
        raise IdentifierError(f"{param}={text!r} is not a valid Snowflake SQL expression: {err}") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Select):
        raise IdentifierError(f"{param}={text!r} must be one SQL expression")
    select = statements[0]
    for node in select.walk():
        if node.comments:
            raise IdentifierError(f"{param}={text!r}: comments are not allowed in expressions")
        if node is not select and isinstance(node, (exp.Select, exp.Subquery, exp.Command, exp.DDL, exp.DML)):
            raise IdentifierError(f"{param}={text!r}: subqueries and statements are not allowed here")
    if (
        len(select.expressions) != 1
        or not isinstance(select.expressions[0], exp.Paren)  # "1) OR (1=1" parses, but not as one Paren
        or any(select.args.get(k) for k in ("from", "where", "group", "having"))
    ):
        raise IdentifierError(f"{param}={text!r} must be one SQL expression")
    return text


# Outside literals and quoted identifiers: what check_sql_expression_shape looks at. A lone quote or $$ is an
# unterminated literal (a terminated one matches first).
_SHAPE_TOKEN = re.compile(
    r"""'(?:[^'\\]|\\.|'')*'|"(?:[^"]|"")*"|\$\$.*?\$\$|(?P<open>['"]|\$\$)"""
    r"""|(?P<comment>--|//|/\*)|(?P<paren>[()])|(?P<word>[A-Za-z_][A-Za-z0-9_$]*)""",
    re.DOTALL,
)


def check_sql_expression_shape(text: Any, *, param: str) -> str:
    """The checks of :func:`validate_sql_expression` that need no SQL parser; returns ``text`` stripped.

    For DAG-parse time, where importing sqlglot would cost about 0.4 s on every parse of the file: refuses
    blanks, control characters, ``;``, comments, unbalanced parentheses and ``SELECT`` (a subquery) outside
    literals and quoted identifiers, with the same messages. It does not prove that the text parses: run
    :func:`validate_sql_expression` before the text goes into a statement.
    """
    if not isinstance(text, str) or not text.strip():
        raise IdentifierError(f"{param} must be a non-empty SQL expression")
    text = text.strip()
    if _EXPRESSION_CONTROL.search(text):
        raise IdentifierError(f"{param}={text!r}: control characters are not allowed in SQL expressions")
    if ";" in _strip_string_literals(text):
        raise IdentifierError(f"{param}={text!r}: a single expression cannot contain ';'")
    depth = 0
    for token in _SHAPE_TOKEN.finditer(text):
        if token["open"]:
            raise IdentifierError(
                f"{param}={text!r} is not a valid Snowflake SQL expression: unterminated quote"
            )
        if token["comment"]:
            raise IdentifierError(f"{param}={text!r}: comments are not allowed in expressions")
        if token["word"] and token["word"].upper() == "SELECT":
            raise IdentifierError(f"{param}={text!r}: subqueries and statements are not allowed here")
        if token["paren"]:
            depth += 1 if token["paren"] == "(" else -1
            if depth < 0:  # "1) OR (1=1" would close the caller's parenthesis
                raise IdentifierError(f"{param}={text!r} must be one SQL expression")
    if depth:
        raise IdentifierError(
            f"{param}={text!r} is not a valid Snowflake SQL expression: unbalanced parentheses"
        )
    return text


def _strip_string_literals(text: str) -> str:
    """``text`` with the contents of single-quoted literals removed (for a cheap ';' check)."""
    return re.sub(r"'(?:[^'\\]|\\.|'')*'", "''", text)
