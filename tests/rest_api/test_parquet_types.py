"""Parquet part files keep every JSON value's type: strings stay strings, integers stay exact, and typed
columns come only from ``schema=`` (file:// destinations; values read back from the part files)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_dataeng.sinks import PartFileSink


def write(dest: str, pages: list[list[bytes]], **kwargs) -> dict:
    with PartFileSink(dest, file_format="parquet", **kwargs) as sink:
        for page in pages:
            sink.write(page)
        return sink.commit(pages=len(pages))


def read(path: Path) -> pa.Table:
    return pq.read_table(path)


def test_iso_strings_with_an_offset_stay_the_identical_strings(tmp_path: Path) -> None:
    records = [
        b'{"id": 1, "ts": "2024-01-01T00:00:00Z", "day": "2024-01-01", "local": "2024-01-01T05:00:00+02:00"}',
        b'{"id": 2, "ts": "2024-06-30T23:59:59.123456Z", "day": "2024-02-29", "local": "2024-01-01T00:00:00"}',
    ]
    write(f"file://{tmp_path}/", [records])
    table = read(tmp_path / "part-00000.parquet")
    assert table.schema.field("ts").type == pa.string()
    assert table.schema.field("day").type == pa.string()
    assert table.schema.field("local").type == pa.string()
    assert table.to_pylist() == [json.loads(r) for r in records]


def listing(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def test_each_json_type_keeps_its_type_without_a_schema(tmp_path: Path) -> None:
    records = [
        b'{"s": "x", "i": 9007199254740993, "f": 0.1, "b": true, "n": null, "o": {"a.b": 1, "c d": "q\\"", '
        b'"\xc3\xa9": [1, 2]}, "l": ["a"], "e": []}',
        b'{"s": "", "i": -9223372036854775808, "f": 2, "b": false, "o": {"a.b": null}, "l": [], "e": []}',
    ]
    write(f"file://{tmp_path}/", [records])
    table = read(tmp_path / "part-00000.parquet")
    assert {f.name: str(f.type) for f in table.schema} == {
        "s": "string", "i": "int64", "f": "double", "b": "bool", "n": "null",
        "o": 'struct<a.b: int64, c d: string, é: list<element: int64>>',
        "l": "list<element: string>", "e": "list<element: null>",
    }
    assert table.to_pylist() == [
        {"s": "x", "i": 9007199254740993, "f": 0.1, "b": True, "n": None,
         "o": {"a.b": 1, "c d": 'q"', "é": [1, 2]}, "l": ["a"], "e": []},
        # a missing field and a missing key read back as null: Parquet has no "absent"
        {"s": "", "i": -(2**63), "f": 2.0, "b": False, "n": None, "o": {"a.b": None, "c d": None, "é": None},
         "l": [], "e": []},
    ]


def test_integer_beyond_int64_fails_naming_field_record_and_page(tmp_path: Path) -> None:
    pages = [[b'{"id": 1, "big": 1}'], [b'{"id": 2, "big": 2}', b'{"id": 3, "big": 18446744073709551616}']]
    with pytest.raises(ValueError, match=r"^record 1 of page 2: field 'big': 18446744073709551616 is an integer beyond "
                                         r"the int64 range; declare the field in schema= as 'decimal\(38,0\)' or "
                                         r"'string' to keep every digit\. Nothing was committed\.$"):
        write(f"file://{tmp_path}/", pages, parquet_batch_rows=1)
    assert listing(tmp_path) == []


def test_integer_a_float_column_would_round_fails(tmp_path: Path) -> None:
    page = [b'{"x": 1.5}', b'{"x": 9007199254740993}']
    with pytest.raises(ValueError, match=r"^record 1 of page 1: field 'x': 9007199254740993 is an integer a float64 "
                                         r"cannot hold exactly \(the field has fractional numbers too\)"):
        write(f"file://{tmp_path}/", [page])
    nested = [b'{"o": {"items": [{"p": 0.5}, {"p": 9007199254740993}]}}']
    with pytest.raises(ValueError, match=r"^record 0 of page 1: field 'o' \(at \['o', 'items', '\[\]', 'p'\]\): "
                                         r"9007199254740993 is an integer a float64 cannot hold"):
        write(f"file://{tmp_path}/", [nested])


def test_integers_widen_to_float64_only_when_exact(tmp_path: Path) -> None:
    # int64 on page 1, fractions on page 2: the column widens to float64 in a new part; page 1's part keeps int64
    manifest = write(f"file://{tmp_path}/", [[b'{"x": 9007199254740993}'], [b'{"x": 0.5}']], parquet_batch_rows=1)
    assert [f["records"] for f in manifest["files"]] == [1, 1]
    assert read(tmp_path / "part-00000.parquet").to_pylist() == [{"x": 9007199254740993}]
    assert read(tmp_path / "part-00001.parquet").to_pylist() == [{"x": 0.5}]
    # float64 first, then an integer the float64 column cannot hold: the cast refuses, the record is named
    with pytest.raises(ValueError, match=r"^record 0 of page 2: field 'x': 9007199254740993 is an integer a float64"):
        write(f"file://{tmp_path}/", [[b'{"x": 0.5}'], [b'{"x": 9007199254740993}']], parquet_batch_rows=1)
    manifest = write(f"file://{tmp_path}/", [[b'{"x": 0.5}'], [b'{"x": 9007199254740992}']], parquet_batch_rows=1)
    assert read(tmp_path / "part-00000.parquet").to_pylist() == [{"x": 0.5}, {"x": 9007199254740992.0}]


def test_empty_objects_are_nulls_until_keys_appear(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pages = [[b'{"id": 1, "meta": {}, "deep": {"x": {}}}'], [b'{"id": 2, "meta": {"k": "v"}, "deep": {"x": {}}}']]
    manifest = write(f"file://{tmp_path}/", pages, parquet_batch_rows=1)
    assert [f["records"] for f in manifest["files"]] == [1, 1]
    assert read(tmp_path / "part-00000.parquet").to_pylist() == [{"id": 1, "meta": None, "deep": {"x": None}}]
    assert read(tmp_path / "part-00001.parquet").to_pylist() == [{"id": 2, "meta": {"k": "v"}, "deep": {"x": None}}]
    warnings = [r.getMessage() for r in caplog.records if "objects without keys" in r.getMessage()]
    assert [w.split(" holds")[0] for w in warnings] == ["Field 'meta'", "Field 'deep'"]


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        ([[b'{"a": 1}', b'{"a": "1"}']],
         r"^record 1 of page 1: field 'a' is a string but was a number before \(record 0 of page 1\)"),
        ([[b'{"a": "x"}'], [b'{"a": 2}']], r"^record 0 of page 2: field 'a' is a number but was a string before \(page 1\)"),
        ([[b'{"t": [1, "a"]}']], r"^record 0 of page 1: field 't' \(at \['t', '\[\]'\]\) is a string but was a number before"),
        ([[b'{"o": {"k": [1]}}'], [b'{"o": {"k": {"x": 1}}}']],
         r"^record 0 of page 2: field 'o' \(at \['o', 'k'\]\) is an object but was an array before \(page 1\)"),
        ([[b'{"b": true}', b'{"b": 0}']], r"^record 1 of page 1: field 'b' is a number but was true/false before"),
    ],
)
def test_type_conflicts_fail_naming_field_both_types_and_page(tmp_path: Path, pages, message: str) -> None:
    with pytest.raises(ValueError, match=message) as err:
        write(f"file://{tmp_path}/", pages, parquet_batch_rows=1)
    assert "on_type_conflict='string'" in str(err.value) and str(err.value).endswith("Nothing was committed.")
    assert listing(tmp_path) == []


def test_conflicts_across_rotated_parts_are_still_conflicts(tmp_path: Path) -> None:
    pages = [[b'{"a": 1}', b'{"a": 2}'], [b'{"a": "x"}']]
    with pytest.raises(ValueError, match=r"^record 0 of page 2: field 'a' is a string but was a number before \(page 1\)"):
        write(f"file://{tmp_path}/", pages, max_records_per_file=2)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (b'{"a": 1, "a": 2}', r"^record 1 of page 1 has the key 'a' twice"),
        (b'[1, 2]', r"^record 1 of page 1 is an array, not an object"),
        (b'"text"', r"^record 1 of page 1 is a string, not an object"),
        (b'{}', None),
    ],
)
def test_records_parquet_cannot_hold_are_named(tmp_path: Path, record: bytes, message: str | None) -> None:
    if message is None:  # an empty object next to others is a row of nulls
        write(f"file://{tmp_path}/", [[b'{"a": 1}', record]])
        assert read(tmp_path / "part-00000.parquet").to_pylist() == [{"a": 1}, {"a": None}]
        with pytest.raises(ValueError, match=r"^the records of page 1 have no fields"):
            write(f"file://{tmp_path}/", [[record, record]])
        return
    with pytest.raises(ValueError, match=message):
        write(f"file://{tmp_path}/", [[b'{"a": 1}', record]])
