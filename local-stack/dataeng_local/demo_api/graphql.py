"""A tiny GraphQL reader: enough of the language for relay-style list queries, no library.

Supports an optional ``query Name($var: Type = default, ...)`` header, fields with aliases,
arguments (literals or ``$variables``) and nested selection sets. Fragments, directives and
mutations are not supported and are rejected with a clear message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(
    r'\s*(?:(?P<comment>#[^\n]*)|(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?)'
    r"|(?P<name>[_A-Za-z][_0-9A-Za-z]*)|(?P<punct>\.\.\.|[{}():$!,=\[\]@]))"
)


class GraphQLSyntaxError(ValueError):
    """The query text cannot be read."""


@dataclass
class Field:
    name: str
    alias: str
    args: dict[str, Any] = field(default_factory=dict)
    selections: list[Field] = field(default_factory=list)

    def child(self, name: str) -> Field | None:
        return next((f for f in self.selections if f.name == name), None)


@dataclass
class _Var:
    name: str


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise GraphQLSyntaxError(f"unexpected character at offset {pos}: {text[pos : pos + 10]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind and kind != "comment":
            out.append((kind, m.group(kind)))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value) or (kind is not None and tok[0] != kind):
            want = value or kind
            raise GraphQLSyntaxError(f"expected {want!r}, got {tok[1] if tok else 'end of query'!r}")
        self.i += 1
        return tok[1]

    def accept(self, value: str) -> bool:
        tok = self.peek()
        if tok is not None and tok[1] == value and tok[0] == "punct":
            self.i += 1
            return True
        return False

    def document(self) -> tuple[list[Field], dict[str, Any]]:
        defaults: dict[str, Any] = {}
        tok = self.peek()
        if tok is not None and tok[0] == "name":
            if tok[1] != "query":
                raise GraphQLSyntaxError(f"only queries are supported, got {tok[1]!r}")
            self.i += 1
            if self.peek() is not None and self.peek()[0] == "name":  # type: ignore[index]
                self.i += 1
            if self.accept("("):
                while not self.accept(")"):
                    self.take("$")
                    name = self.take(kind="name")
                    self.take(":")
                    self._type()
                    if self.accept("="):
                        defaults[name] = self.value()
                    self.accept(",")
        selections = self.selection_set()
        if self.peek() is not None:
            raise GraphQLSyntaxError("only one operation per request is supported")
        return selections, defaults

    def _type(self) -> None:
        if self.accept("["):
            self._type()
            self.take("]")
        else:
            self.take(kind="name")
        self.accept("!")

    def selection_set(self) -> list[Field]:
        self.take("{")
        fields: list[Field] = []
        while not self.accept("}"):
            if self.accept("...") or self.accept("@"):
                raise GraphQLSyntaxError("fragments and directives are not supported")
            alias = name = self.take(kind="name")
            if self.accept(":"):
                name = self.take(kind="name")
            f = Field(name=name, alias=alias)
            if self.accept("("):
                while not self.accept(")"):
                    arg = self.take(kind="name")
                    self.take(":")
                    f.args[arg] = self.value()
                    self.accept(",")
            tok = self.peek()
            if tok is not None and tok[1] == "{":
                f.selections = self.selection_set()
            fields.append(f)
            self.accept(",")
        return fields

    def value(self) -> Any:
        tok = self.peek()
        if tok is None:
            raise GraphQLSyntaxError("expected a value, got end of query")
        kind, text = tok
        self.i += 1
        if kind == "punct" and text == "$":
            return _Var(self.take(kind="name"))
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "name":
            return {"null": None, "true": True, "false": False}.get(text, text)
        raise GraphQLSyntaxError(f"unexpected {text!r} where a value belongs")


def parse(query: str, variables: Mapping[str, Any] | None = None) -> list[Field]:
    """Parse ``query`` and substitute ``variables`` into arguments; returns the root fields."""
    roots, defaults = _Parser(query).document()
    values = {**defaults, **(variables or {})}

    def bind(f: Field) -> None:
        for key, val in f.args.items():
            if isinstance(val, _Var):
                f.args[key] = values.get(val.name)
        for child in f.selections:
            bind(child)

    for root in roots:
        bind(root)
    return roots
