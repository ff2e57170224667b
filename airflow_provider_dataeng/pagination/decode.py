"""Split a page body into its records and the few fields a paginator needs, in one msgspec pass.

For ``records_path=("data", "items")`` and a paginator reading ``("meta", "next")`` this builds, once, the
typed wrapper ``{data: {items: list[Raw]}, meta: {next: Any}}``: msgspec then skips every other key without
building objects, and each record comes back as its raw JSON bytes (``msgspec.Raw``), not a dict. That is
what lets the extract write hundreds of thousands of records a second. ``raw_records=False`` decodes the
records into Python objects instead (for ``transform=`` and ``hook.paginate()``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from airflow_provider_dataeng.pagination.base import MISSING, PaginationError, Path, format_path


class PageShapeError(PaginationError):
    """The body is not JSON, or not shaped as ``records_path`` and the paginator expect."""


_RECORDS = object()  # leaf marker in the path tree


def _build_tree(records_path: Path | None, field_paths: Sequence[Path]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    leaves: list[tuple[Path, Any]] = [(p, p) for p in field_paths]
    if records_path is not None:
        leaves.append((records_path, _RECORDS))
    for path, leaf in leaves:
        node = tree
        for i, key in enumerate(path):
            last = i == len(path) - 1
            existing = node.get(key)
            if last:
                if existing is not None and existing != leaf:
                    raise ValueError(
                        f"body paths overlap at {format_path(path)!r}: records_path and the paginator's fields "
                        "must point at different parts of the page"
                    )
                node[key] = leaf
            else:
                if existing is None:
                    existing = node[key] = {}
                elif not isinstance(existing, dict):
                    raise ValueError(
                        f"body paths overlap at {format_path(path[: i + 1])!r}: records_path and the "
                        "paginator's fields must point at different parts of the page"
                    )
                node = existing
    return tree


class PageDecoder:
    """Decode one page body -> ``(records, fields)``; ``fields`` maps each requested path to its value."""

    def __init__(
        self, records_path: Path | None, field_paths: Sequence[Path] = (), *, raw_records: bool = True
    ) -> None:
        self.records_path = records_path
        self.field_paths = tuple(dict.fromkeys(field_paths))
        record_type: Any = msgspec.Raw if raw_records else Any
        if records_path is None:
            if self.field_paths:
                raise ValueError(
                    "records_path=None means the body is the list of records, so the paginator cannot read "
                    f"body fields {[format_path(p) for p in self.field_paths]}: set records_path"
                )
            self._root_is_list = True
            self._decoder = msgspec.json.Decoder(list[record_type])  # type: ignore[valid-type]
            return
        self._root_is_list = False
        self._counter = 0
        tree = _build_tree(records_path, self.field_paths)
        self._decoder = msgspec.json.Decoder(self._struct_for(tree, record_type))

    def _struct_for(self, tree: dict[str, Any], record_type: Any) -> type:
        fields = []
        rename = {}
        for index, (key, child) in enumerate(tree.items()):
            attr = f"f{index}"
            rename[attr] = key
            if child is _RECORDS:
                kind: Any = list[record_type] | None | msgspec.UnsetType  # type: ignore[valid-type]
            elif isinstance(child, dict):
                kind = self._struct_for(child, record_type) | None | msgspec.UnsetType
            else:
                kind = Any
            fields.append((attr, kind, msgspec.UNSET))
        self._counter += 1
        return msgspec.defstruct(f"Page{self._counter}", fields, rename=rename, forbid_unknown_fields=False)

    def decode(self, body: bytes) -> tuple[list[Any], dict[Path, Any]]:
        if not body.isascii():  # raw records are passed through unchecked: invalid UTF-8 would land as is
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise PageShapeError(
                    f"the body is not valid UTF-8 (byte 0x{body[exc.start]:02x} at offset {exc.start}: {exc.reason}); "
                    "JSON must be UTF-8: check the API's charset"
                ) from None
        try:
            page = self._decoder.decode(body)
        except msgspec.ValidationError as exc:
            raise PageShapeError(self._shape_message(str(exc), body)) from None
        except msgspec.DecodeError as exc:
            raise PageShapeError(f"the body is not valid JSON ({exc})") from None
        except RecursionError:
            raise PageShapeError(
                "the body nests JSON arrays/objects too deeply to decode (a malformed or hostile response)"
            ) from None
        if self._root_is_list:
            return page, {}
        records = self._walk(page, self.records_path)  # type: ignore[arg-type]
        if records is MISSING:
            raise PageShapeError(
                f"records_path={format_path(self.records_path)!r} is not in the body "  # type: ignore[arg-type]
                f"(top-level keys: {_top_keys(body)}); set records_path to the list of records"
            )
        fields = {path: self._walk(page, path) for path in self.field_paths}
        return (records or []), fields

    @staticmethod
    def _walk(page: Any, path: Path) -> Any:
        node = page
        for index in range(len(path)):
            if node is None:  # a null parent: the path does not exist on this page
                return MISSING
            node = getattr(node, f"f{_position(node, path[index])}")
            if node is msgspec.UNSET:
                return MISSING
        return node

    def _shape_message(self, error: str, body: bytes) -> str:
        if self._root_is_list:
            return (
                f"records_path=None expects the body to be a JSON array of records ({error}; top-level keys: "
                f"{_top_keys(body)}); set records_path to the list's dotted path"
            )
        return (
            f"records_path={format_path(self.records_path)!r} must lead to a list of records "  # type: ignore[arg-type]
            f"({error})"
        )


def _position(node: Any, key: str) -> int:
    rename = node.__struct_encode_fields__
    return rename.index(key)


def _top_keys(body: bytes) -> str:
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return "<not JSON>"
    if isinstance(value, dict):
        return repr(sorted(value)[:20])
    return f"<a JSON {type(value).__name__}, not an object>"
