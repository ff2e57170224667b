"""Delete detection for snapshots: the keys of the previous snapshot that the current one lacks.

Both snapshots' keys are read in one order, PostgreSQL's ``ORDER BY`` of each key column: integers by value,
every other type by the byte order (``COLLATE "C"``) of the key's JSON text as it lands. Python compares
integers by value and JSON texts as bytes, the very same order, so the two sorted streams are merge-joined
in one pass with nothing held but the current key of each: memory does not grow with the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

DELETED_FIELD = "_deleted"
"""The field a tombstone carries (``true``), next to the key columns: the merge's ``delete_condition``."""


class KeyOrderError(ValueError):
    """A key stream is not in the order the merge-join needs (or holds a NULL key)."""


class KeyCodec:
    """Key rows as PostgreSQL writes them (``json_build_array`` texts) -> sort keys and tombstones."""

    def __init__(self, names: Sequence[str], integer: Sequence[bool]) -> None:
        import msgspec

        self.names = tuple(names)
        self.integer = tuple(integer)
        self._decode = msgspec.json.Decoder(list[msgspec.Raw]).decode
        self._encode = msgspec.json.encode

    def sort_key(self, row: bytes) -> tuple[Any, ...]:
        """The key's position in the snapshot's order."""
        values = self._decode(row)
        if len(values) != len(self.names):
            raise KeyOrderError(
                f"a key row has {len(values)} values for {len(self.names)} key columns: {row!r}"
            )
        key = []
        for raw, is_int in zip(values, self.integer):
            text = bytes(raw)
            if text == b"null":
                raise KeyOrderError(
                    f"a key column is NULL in {row.decode(errors='replace')}: key_columns must "
                    "identify every row (a primary key)"
                )
            key.append(int(text) if is_int else text)
        return tuple(key)

    def tombstone(self, row: bytes) -> bytes:
        """The record that says the key was deleted: the key columns as landed, and ``_deleted: true``."""
        import msgspec

        values = self._decode(row)
        record: dict[str, Any] = {name: msgspec.Raw(bytes(raw)) for name, raw in zip(self.names, values)}
        record[DELETED_FIELD] = True
        return self._encode(record)


def vanished(previous: Iterable[bytes], current: Iterable[bytes], codec: KeyCodec) -> Iterator[bytes]:
    """The rows of ``previous`` whose key is not in ``current`` (both sorted by ``codec.sort_key``, unique).

    ``current`` is consumed whole (the caller may be writing it somewhere as it passes)."""
    current_rows = iter(current)
    current_key: tuple[Any, ...] | None = None
    last_previous: tuple[Any, ...] | None = None
    last_current: tuple[Any, ...] | None = None
    exhausted = False

    def advance() -> None:
        nonlocal current_key, last_current, exhausted
        row = next(current_rows, None)
        if row is None:
            exhausted, current_key = True, None
            return
        key = codec.sort_key(row)
        if last_current is not None and key <= last_current:
            raise KeyOrderError("the current snapshot's keys are not strictly increasing (duplicate keys?)")
        current_key = last_current = key

    advance()
    for row in previous:
        key = codec.sort_key(row)
        if last_previous is not None and key <= last_previous:
            raise KeyOrderError("the previous snapshot's keys are not strictly increasing")
        last_previous = key
        while not exhausted and current_key is not None and current_key < key:
            advance()
        if exhausted or current_key != key:
            yield row
    while not exhausted:
        advance()
