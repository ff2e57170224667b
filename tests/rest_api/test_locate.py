"""Locating a byte offset in a JSON body: the record and field an invalid-input error names."""

from __future__ import annotations

import pytest

from airflow_provider_dataeng.pagination.locate import describe, error_offset, path_at

BODY = (
    b'{"meta": {"page": 2}, "data": [{"id": 1, "name": "ok"}, '
    b'{"id": 2, "nested": {"x": [1, "BAD"]}, "a.b": "BAD2"}], "has_more": false}'
)


@pytest.mark.parametrize(
    ("needle", "path", "described"),
    [
        (b'"BAD"', ["data", 1, "nested", "x", 1], "record 1, field 'nested.x[1]'"),
        (b'"BAD2"', ["data", 1, "a.b"], "record 1, field 'a.b'"),
        (b'"ok"', ["data", 0, "name"], "record 0, field 'name'"),
        (b"2}", ["meta", "page"], "at meta.page"),
        (b"false", ["has_more"], "at has_more"),
    ],
)
def test_path_and_description_of_an_offset(needle: bytes, path: list, described: str) -> None:
    offset = BODY.index(needle) + 1
    assert path_at(BODY, offset) == path
    assert describe(BODY, offset, ("data",)) == described


def test_body_that_is_the_list_of_records() -> None:
    body = b'[{"id": 1}, {"id": 2, "s": "caf\xe9"}]'
    assert describe(body, body.index(b"\xe9"), None) == "record 1, field 's'"


def test_escaped_quotes_inside_strings_do_not_end_them() -> None:
    body = b'{"data": [{"q": "a\\"b", "r": "X"}]}'
    assert describe(body, body.index(b'"X"') + 1, ("data",)) == "record 0, field 'r'"


@pytest.mark.parametrize(
    ("message", "offset"),
    [("JSON is malformed: invalid utf-16 surrogate pair (byte 30)", 30), ("Input data was truncated", None)],
)
def test_error_offset_from_a_decoder_message(message: str, offset: int | None) -> None:
    assert error_offset(message) == offset
