"""The framing of the extract's ``COPY ... TO STDOUT``: one JSON text per row, and the stream is JSONL as is.

The COPY is written in CSV format with a delimiter and a quote character that no JSON text holds raw
(``\\x01``, ``\\x02``: JSON escapes every control character), so PostgreSQL never quotes nor escapes a row:
each row is its JSON text and a newline (JSON escapes newlines too). The worker hands the pieces libpq gives
it (one row each, from PostgreSQL) to :class:`JsonLines` unread and splits them into rows in C, a batch at a
time: no per-row Python beyond taking the piece. The text and binary formats would need a per-row unescape
or unframe in Python, which cost the worker more than PostgreSQL spends writing the JSON.
"""

from __future__ import annotations

from collections.abc import Sequence

COPY_OPTIONS = "FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02'"
_QUOTE = b"\x02"


class CopyFormatError(ValueError):
    """The stream is not one JSON text per line (a quoted row, or it ended inside a row)."""


class JsonLines:
    """Feed pieces of the COPY stream (cut anywhere); get back its rows (each JSON text, no newline)."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, pieces: Sequence[bytes | memoryview]) -> list[bytes]:
        """The rows completed by ``pieces``; an unfinished last row waits for the next call."""
        data = b"".join(pieces)
        if self._pending:
            data = self._pending + data
        if _QUOTE in data:
            raise CopyFormatError("PostgreSQL quoted a row: the COPY did not return one JSON text per row")
        rows = data.split(b"\n")
        self._pending = rows.pop()
        return rows

    def close(self) -> None:
        """Raise unless the stream ended where a row ends."""
        if self._pending:
            raise CopyFormatError("the COPY stream ended inside a row (the connection was cut?)")
