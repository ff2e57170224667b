"""Split a page body into its records and the few fields a paginator needs, in one msgspec pass.

For ``records_path=("data", "items")`` and a paginator reading ``("meta", "next")`` this builds, once, the
typed wrapper ``{data: {items: list[Raw]}, meta: {next: Any}}``: msgspec then skips every other key without
building objects, and each record comes back as its raw JSON bytes (``msgspec.Raw``), not a dict. That is
what lets the extract write hundreds of thousands of records a second. ``raw_records=False`` decodes the
records into Python objects instead (for ``transform=`` and ``hook.paginate()``).

A path with list indexes (``data[-1].id``, ``items[2].meta.cursor``) reads one element of a list: the list
is split into raw elements (``list[Raw]``, no objects built) and only the chosen element is decoded, with a
wrapper of just the keys below the index. An index into the records list picks from the records already
split. A step that does not fit the body (an index past the end, a key into a string) reads as ``MISSING``;
the paginator decides whether that matters (it does when the API says there is more).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import msgspec

from airflow_provider_dataeng.pagination.base import MISSING, PaginationError, Path, format_path
from airflow_provider_dataeng.pagination.locate import describe, error_offset


class PageShapeError(PaginationError):
    """The body is not JSON, or not shaped as ``records_path`` and the paginator expect."""


_RECORDS = object()  # leaf marker: the records list
_RECORDS_KEY = ("<records>",)  # where _collect puts the records value


class _Node:
    """One JSON value the decoder looks into: an object (``keys``), a list (``indexes``) or a leaf (a
    paginator field, whose value is decoded as is, or the records list, which may also have ``indexes``)."""

    __slots__ = ("decoder", "indexes", "keys", "leaf")

    def __init__(self) -> None:
        self.keys: dict[str, _Node] = {}
        self.indexes: dict[int, _Node] = {}
        self.leaf: Any = None
        self.decoder: msgspec.json.Decoder | None = None  # for a list element: decodes its raw bytes


def _build_tree(root: _Node, leaves: Sequence[tuple[Path, Any]]) -> _Node:
    for path, leaf in leaves:
        node = root
        for i, step in enumerate(path):
            if node.leaf is not None and not (node.leaf is _RECORDS and isinstance(step, int)):
                raise ValueError(_overlap(path[:i]))
            if isinstance(step, int):
                if node.keys:
                    raise ValueError(_both(path[:i]))
                node = node.indexes.setdefault(step, _Node())
            else:
                if node.indexes:
                    raise ValueError(_both(path[:i]))
                node = node.keys.setdefault(step, _Node())
        if node.leaf is not None or node.keys or (node.indexes and leaf is not _RECORDS):
            raise ValueError(_overlap(path))
        node.leaf = leaf
    return root


def _overlap(path: Path) -> str:
    return (
        f"body paths overlap at {format_path(path)!r}: records_path and the paginator's fields must point at "
        "different parts of the page (read into the records with an index, e.g. data[-1].id)"
    )


def _both(path: Path) -> str:
    return f"body paths disagree at {format_path(path) or 'the body'!r}: one reads it as an object, another as a list"


class PageDecoder:
    """Decode one page body -> ``(records, fields)``; ``fields`` maps each requested path to its value."""

    def __init__(
        self, records_path: Path | None, field_paths: Sequence[Path] = (), *, raw_records: bool = True
    ) -> None:
        self.records_path = records_path
        self.field_paths = tuple(dict.fromkeys(field_paths))
        self._record_type: Any = msgspec.Raw if raw_records else Any
        self._counter = 0
        root = _Node()
        # (path, leaf): the leaf is _RECORDS for the records list, else the field's own path (its key in fields)
        leaves: list[tuple[Path, Any]]
        if records_path is None:
            keyed = [p for p in self.field_paths if not p or not isinstance(p[0], int)]
            if keyed:
                raise ValueError(
                    "records_path=None means the body is the list of records, so the paginator cannot read "
                    f"body fields {[format_path(p) for p in keyed]}: set records_path (or read a record by "
                    "index, e.g. [-1].id)"
                )
            root.leaf = _RECORDS
            leaves = [(p, p) for p in self.field_paths]
        else:
            leaves = [(records_path, _RECORDS), *((p, p) for p in self.field_paths)]
        self._root = _build_tree(root, leaves)
        self._decoder = msgspec.json.Decoder(self._type(self._root, top=True))

    def _type(self, node: _Node, *, top: bool = False) -> Any:
        """The msgspec type of ``node``'s value (nullable and optional below the top); sets element decoders."""
        for child in node.indexes.values():
            child.decoder = msgspec.json.Decoder(self._type(child))
        if node.leaf is _RECORDS:
            kind: Any = list[self._record_type]  # type: ignore[name-defined]
        elif node.leaf is not None:
            return Any
        elif node.keys:
            kind = self._struct(node)
        else:
            kind = list[msgspec.Raw]
        return kind if top else kind | None

    def _struct(self, node: _Node) -> type:
        fields = []
        for index, child in enumerate(node.keys.values()):
            kind = self._type(child)
            fields.append((f"f{index}", kind if kind is Any else kind | msgspec.UnsetType, msgspec.UNSET))
        rename = {f"f{index}": key for index, key in enumerate(node.keys)}
        self._counter += 1
        return msgspec.defstruct(f"Page{self._counter}", fields, rename=rename, forbid_unknown_fields=False)

    def decode(self, body: bytes) -> tuple[list[Any], dict[Path, Any]]:
        if not body.isascii():  # raw records are passed through unchecked: invalid UTF-8 would land as is
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise PageShapeError(
                    f"the body is not valid UTF-8 (byte 0x{body[exc.start]:02x} at offset {exc.start}: {exc.reason}"
                    f"{self._where(body, exc.start)}); JSON must be UTF-8: check the API's charset"
                ) from None
        try:
            page = self._decoder.decode(body)
        except msgspec.ValidationError as exc:
            raise PageShapeError(self._shape_message(str(exc), body)) from None
        except msgspec.DecodeError as exc:
            offset = error_offset(str(exc))
            where = "" if offset is None else self._where(body, offset)
            raise PageShapeError(f"the body is not valid JSON ({exc}{where})") from None
        except RecursionError:
            raise PageShapeError(
                "the body nests JSON arrays/objects too deeply to decode (a malformed or hostile response)"
            ) from None
        found: dict[Path, Any] = {}
        _collect(self._root, page, found)
        records = found.pop(_RECORDS_KEY, MISSING)
        if records is MISSING:
            raise PageShapeError(
                f"records_path={format_path(self.records_path)!r} is not in the body "  # type: ignore[arg-type]
                f"(top-level keys: {_top_keys(body)}); set records_path to the list of records"
            )
        return (records or []), {path: found.get(path, MISSING) for path in self.field_paths}

    def _where(self, body: bytes, offset: int) -> str:
        """``, in record 3, field 'name'`` for an error at ``offset`` (only computed on the error path)."""
        where = describe(body, offset, self.records_path)
        return f", in {where}" if where.startswith("record") else (f", {where}" if where else "")

    def _shape_message(self, error: str, body: bytes) -> str:
        if self.records_path is None:
            return (
                f"records_path=None expects the body to be a JSON array of records ({error}; top-level keys: "
                f"{_top_keys(body)}); set records_path to the list's dotted path"
            )
        where = re.search(r" - at `(\$[^`]*)`$", error)
        if where is None or where.group(1) == _jsonpath(self.records_path):
            return f"records_path={format_path(self.records_path)!r} must lead to a list of records ({error})"
        return (
            f"the body is not shaped as records_path={format_path(self.records_path)!r} and the paginator's "
            f"fields {[format_path(p) for p in self.field_paths]} expect ({error})"
        )


def _collect(node: _Node, value: Any, found: dict[Path, Any]) -> None:
    """Put the leaves under ``node`` (whose decoded value is ``value``) into ``found``; absent ones stay out."""
    if node.leaf is _RECORDS:
        found[_RECORDS_KEY] = value
        if value is not None:
            _pick(node, value, found)
    elif node.leaf is not None:
        found[node.leaf] = value
    elif value is None:  # a null parent: nothing below it exists
        return
    elif node.keys:
        for index, child in enumerate(node.keys.values()):
            child_value = getattr(value, f"f{index}")
            if child_value is not msgspec.UNSET:
                _collect(child, child_value, found)
    else:
        _pick(node, value, found)


def _pick(node: _Node, items: list[Any], found: dict[Path, Any]) -> None:
    """Decode only the list elements the paths index (raw bytes), or walk them when already decoded."""
    for index, child in node.indexes.items():
        try:
            element = items[index]
        except IndexError:
            continue
        if isinstance(element, msgspec.Raw):
            assert child.decoder is not None
            try:
                element = child.decoder.decode(element)
            except msgspec.ValidationError:  # not shaped as the path expects: the path is absent here
                continue
            _collect(child, element, found)
        else:
            _collect_decoded(child, element, found)


def _collect_decoded(node: _Node, value: Any, found: dict[Path, Any]) -> None:
    """``_collect`` over plain Python objects (records decoded with ``raw_records=False``)."""
    if node.leaf is not None:
        found[node.leaf] = value
    elif node.keys and isinstance(value, dict):
        for key, child in node.keys.items():
            if key in value:
                _collect_decoded(child, value[key], found)
    elif node.indexes and isinstance(value, list):
        for index, child in node.indexes.items():
            if -len(value) <= index < len(value):
                _collect_decoded(child, value[index], found)


def _jsonpath(path: Path) -> str:
    """How msgspec names ``path`` in its errors: ``$.data.items``, ``$.data[0]``."""
    return "$" + "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in path)


def describe_path(body: bytes, path: Path) -> str:
    """What ``body`` holds along ``path``, for an error message: where the path stops and what is there.

    Decodes the whole body, so it is for the failure path only."""
    try:
        node: Any = msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return "the body is not JSON"
    for depth, step in enumerate(path):
        where = format_path(path[:depth]) if depth else "the body"
        if isinstance(step, int):
            if not isinstance(node, list):
                return f"{where} is {_kind(node)}, not a list"
            if not -len(node) <= step < len(node):
                return (
                    f"{where} is an empty list"
                    if not node
                    else f"{where} is a list of {len(node)}, no [{step}]"
                )
        else:
            if not isinstance(node, dict):
                return f"{where} is {_kind(node)}, not an object"
            if step not in node:
                return f"{where} has no key {step!r} (its keys: {sorted(node)[:20]})"
        node = node[step]
    return f"{format_path(path)} is {_kind(node)}"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return f"an object (keys: {sorted(value)[:20]})"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    text = msgspec.json.encode(value).decode()
    return text if len(text) <= 80 else text[:80] + "..."


def _top_keys(body: bytes) -> str:
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return "<not JSON>"
    if isinstance(value, dict):
        return repr(sorted(value)[:20])
    return f"<a JSON {type(value).__name__}, not an object>"
