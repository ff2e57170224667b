"""The binary COPY framing: rows come out whole however the stream is cut into pieces."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_dataeng.sql_source.copy_stream import BinaryCopyRows, CopyFormatError

HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
TRAILER = b"\xff\xff"


def row(value: bytes) -> bytes:
    return (1).to_bytes(2, "big") + len(value).to_bytes(4, "big") + value


def read(pieces: list[bytes]) -> list[bytes]:
    reader, out = BinaryCopyRows(), []
    for piece in pieces:
        reader.feed(memoryview(piece), out)
    reader.close()
    return out


def test_pieces_as_libpq_hands_them_over() -> None:
    """Header with the first row, then one row per piece, then the trailer."""
    values = [b'{"id":1}', b"", b'{"s":"\\\\ \\n"}']
    assert read([HEADER + row(values[0]), row(values[1]), row(values[2]), TRAILER]) == values


@given(st.lists(st.binary(max_size=40), max_size=20), st.lists(st.integers(min_value=1, max_value=30), min_size=1),
       st.binary(max_size=8))
def test_any_cut_of_the_stream_gives_the_same_rows(values: list[bytes], cuts: list[int], extension: bytes) -> None:
    header = HEADER[:-4] + len(extension).to_bytes(4, "big") + extension
    stream = header + b"".join(row(v) for v in values) + TRAILER
    pieces, pos, i = [], 0, 0
    while pos < len(stream):
        size = cuts[i % len(cuts)]
        pieces.append(stream[pos : pos + size])
        pos, i = pos + size, i + 1
    assert read(pieces) == values


@pytest.mark.parametrize(("pieces", "message"), [
    ([b"COPY text\n" + b"x" * 20], "does not start with the binary COPY signature"),
    ([HEADER + (2).to_bytes(2, "big")], "a row has 2 columns"),
    ([HEADER + (1).to_bytes(2, "big") + (-1).to_bytes(4, "big", signed=True)], "a row's JSON is NULL"),
    ([HEADER + row(b"abc")[:-1]], "ended inside a row"),
    ([HEADER + row(b"abc")], "ended inside a row"),
    ([HEADER + TRAILER + row(b"x")], "data after the end"),
])
def test_broken_streams(pieces: list[bytes], message: str) -> None:
    with pytest.raises(CopyFormatError, match=message):
        read(pieces)
