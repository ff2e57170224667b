"""The framing of ``COPY ... TO STDOUT (FORMAT binary)`` for a one-column result: each row's bytes, as sent.

Binary COPY sends each value as its length and its bytes, so the JSON texts PostgreSQL wrote need no
unescaping (the text format doubles every backslash, and the server spends its time escaping). The reader
takes the stream in whatever pieces the driver hands over (one row per piece with libpq, the header with the
first) and keeps only an unfinished row between pieces.
"""

from __future__ import annotations

import struct

_ROW_HEAD = struct.Struct(">hi").unpack_from  # column count (int16), first value's length (int32)
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_HEADER = len(_SIGNATURE) + 8  # signature, flags (int32), header extension length (int32)


class CopyFormatError(ValueError):
    """The stream is not a one-column binary COPY (or it ended inside a row)."""


class BinaryCopyRows:
    """Feed pieces of a binary COPY stream; get back the values of its one column (bytes each)."""

    def __init__(self) -> None:
        self._pending = b""
        self._header_done = False
        self.finished = False

    def feed(self, piece: bytes | memoryview, out: list[bytes]) -> None:
        """Append the rows completed by ``piece`` to ``out``."""
        if self._header_done and not self._pending and len(piece) >= 6:  # the usual piece: exactly one row
            fields, size = _ROW_HEAD(piece)
            if fields == 1 and size == len(piece) - 6:
                out.append(bytes(piece[6:]))  # one copy (the piece may be a view of libpq's buffer)
                return
        data = bytes(piece)
        if self._pending:
            data, self._pending = self._pending + data, b""
        pos = 0
        if not self._header_done:
            if len(data) < _HEADER:
                self._pending = data
                return
            if not data.startswith(_SIGNATURE):
                raise CopyFormatError("the COPY stream does not start with the binary COPY signature")
            extension = int.from_bytes(data[_HEADER - 4 : _HEADER], "big")
            if len(data) < _HEADER + extension:
                self._pending = data
                return
            pos = _HEADER + extension
            self._header_done = True
        end = len(data)
        while pos < end:
            if self.finished:
                raise CopyFormatError("data after the end of the COPY stream")
            if end - pos < 2:
                break
            fields = int.from_bytes(data[pos : pos + 2], "big", signed=True)
            if fields == -1:
                self.finished = True
                pos += 2
                continue
            if fields != 1:
                raise CopyFormatError(f"a row has {fields} columns; the extract reads one (the row's JSON)")
            if end - pos < 6:
                break
            size = int.from_bytes(data[pos + 2 : pos + 6], "big", signed=True)
            if size < 0:
                raise CopyFormatError("a row's JSON is NULL")
            if end - pos < 6 + size:
                break
            out.append(data[pos + 6 : pos + 6 + size])
            pos += 6 + size
        if pos < end:
            self._pending = data[pos:]

    def close(self) -> None:
        """Raise unless the stream ended where a row ends (with its trailer)."""
        if self._pending or not self.finished:
            raise CopyFormatError("the COPY stream ended inside a row (the connection was cut?)")
