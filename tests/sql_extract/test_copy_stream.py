"""The COPY framing: one JSON text per line; rows come out whole however the stream is cut into pieces."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_dataeng.sql_source.copy_stream import COPY_OPTIONS, CopyFormatError, JsonLines

# what a JSON text can hold: anything but raw newlines (and raw control characters, JSON escapes them)
JSON_TEXT = st.binary(min_size=1, max_size=40).map(lambda b: b.replace(b"\n", b"n").replace(b"\x02", b"q"))


def read(pieces: list[bytes], batch: int = 1) -> list[bytes]:
    lines, out = JsonLines(), []
    for i in range(0, len(pieces), batch):
        out.extend(lines.feed([memoryview(p) for p in pieces[i : i + batch]]))
    lines.close()
    return out


def test_pieces_as_postgresql_sends_them() -> None:
    """One row per piece, each with its newline."""
    values = [b'{"id":1}', b'{"s":"\\\\ \\n \\"q\\""}', "{\"é\":\"☃\"}".encode()]
    assert read([v + b"\n" for v in values], batch=2) == values


def test_no_rows() -> None:
    assert read([]) == []


@given(st.lists(JSON_TEXT, max_size=20), st.lists(st.integers(min_value=1, max_value=30), min_size=1),
       st.integers(min_value=1, max_value=5))
def test_any_cut_of_the_stream_gives_the_same_rows(values: list[bytes], cuts: list[int], batch: int) -> None:
    stream = b"".join(v + b"\n" for v in values)
    pieces, pos, i = [], 0, 0
    while pos < len(stream):
        size = cuts[i % len(cuts)]
        pieces.append(stream[pos : pos + size])
        pos, i = pos + size, i + 1
    assert read(pieces, batch) == values


@pytest.mark.parametrize(("pieces", "message"), [
    ([b'{"a":1}\n', b'\x02{"a":\x01}\x02\n'], "quoted a row"),
    ([b'{"a":1}\n', b'{"a":'], "ended inside a row"),
])
def test_broken_streams(pieces: list[bytes], message: str) -> None:
    with pytest.raises(CopyFormatError, match=message):
        read(pieces)


def test_the_delimiter_and_quote_are_characters_json_escapes() -> None:
    assert COPY_OPTIONS == "FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02'"
