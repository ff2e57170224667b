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
    with PartFileSink(dest, part_format="parquet", **kwargs) as sink:
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
@pytest.mark.parametrize("as_raw", [False, True], ids=["bytes", "msgspec.Raw"])
def test_type_conflicts_fail_naming_field_both_types_and_page(tmp_path: Path, pages, message: str, as_raw: bool) -> None:
    if as_raw:  # what the hook hands the sink without transform=
        import msgspec

        pages = [[msgspec.Raw(r) for r in page] for page in pages]
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


SCHEMA = {
    "id": "int64", "ts": "timestamp_tz", "local": "timestamp_ntz", "day": "date", "amount": "decimal(12,2)",
    "score": "float64", "ok": "bool", "code": "string", "raw": "json",
}


def test_declared_columns_are_converted_exactly(tmp_path: Path) -> None:
    import datetime
    from decimal import Decimal

    records = [
        b'{"id": 1, "ts": "2024-01-01T05:30:00+05:30", "local": "2024-01-01T05:30:00.25", "day": "2024-02-29", '
        b'"amount": "1234567890.10", "score": 1, "ok": true, "code": 7, "raw": {"a": [1, 2.50]}, "other": "2024-01-01"}',
        b'{"id": 2, "ts": "2024-06-30T23:59:59.999999Z", "amount": 0.5, "score": 2.5, "code": "A-1", "raw": "s"}',
        b'{"id": 3, "ts": null, "code": {"x": 1}, "raw": null}',
    ]
    write(f"file://{tmp_path}/", [records], schema=SCHEMA)
    table = read(tmp_path / "part-00000.parquet")
    assert {f.name: str(f.type) for f in table.schema} == {
        "id": "int64", "ts": "timestamp[us, tz=UTC]", "local": "timestamp[us]", "day": "date32[day]",
        "amount": "decimal128(12, 2)", "score": "double", "ok": "bool", "code": "string", "raw": "string",
        "other": "string",
    }
    utc = datetime.timezone.utc
    rows = table.to_pylist()
    assert rows[0] == {
        "id": 1, "ts": datetime.datetime(2024, 1, 1, 0, 0, tzinfo=utc), "local": datetime.datetime(2024, 1, 1, 5, 30, 0, 250000),
        "day": datetime.date(2024, 2, 29), "amount": Decimal("1234567890.10"), "score": 1.0, "ok": True,
        "code": "7", "raw": '{"a": [1, 2.50]}', "other": "2024-01-01",
    }
    assert rows[1]["ts"] == datetime.datetime(2024, 6, 30, 23, 59, 59, 999999, tzinfo=utc)
    assert (rows[1]["amount"], rows[1]["code"], rows[1]["raw"], rows[1]["local"]) == (Decimal("0.50"), "A-1", '"s"', None)
    assert (rows[2]["ts"], rows[2]["code"], rows[2]["raw"], rows[2]["other"]) == (None, '{"x": 1}', None, None)


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("ts", '"2024-01-01T00:00:00"', "is not a string YYYY-MM-DDTHH:MM:SS[.ffffff] with Z or a +HH:MM offset "
                                        "(no offset: declare 'timestamp_ntz', or 'string')"),
        ("ts", '"2024-01-01T00:00:00.1234567Z"', "is not a string YYYY-MM-DDTHH:MM:SS[.ffffff] with Z"),
        ("ts", '"2024-01-01T25:00:00Z"', "is not a valid timestamp_tz"),
        ("local", '"2024-01-01T00:00:00Z"', "(it has an offset: declare 'timestamp_tz')"),
        ("day", '"2024-02-30"', "is not a valid date"),
        ("day", "20240101", "is a number; date takes a string YYYY-MM-DD"),
        ("id", '"1"', "is a string; int64 takes an integer"),
        ("id", "1.0", "is a number; int64 takes an integer"),
        ("id", "9223372036854775808", "is beyond the int64 range; declare 'decimal(38,0)' or 'string'"),
        ("score", "9007199254740993", "is an integer a float64 cannot hold exactly"),
        ("score", "1e400", "is refused (Number out of range); float64 takes a number"),
        ("amount", "0.125", "has 3 decimal places; decimal(12,2) keeps 2 (nothing is rounded)"),
        ("amount", "12345678901", "has 11 integer digits; decimal(12,2) holds 10"),
        ("amount", '"abc"', "is refused (Invalid decimal string); decimal(12,2) takes a number or a string holding one"),
        ("ok", "1", "is a number; bool takes true or false"),
    ],
)
def test_a_value_that_does_not_fit_its_declared_type_fails(tmp_path: Path, column: str, value: str, reason: str) -> None:
    pages = [[b'{"id": 1}'], [b'{"id": 2}', f'{{"id": 3, "{column}": {value}}}'.encode()]]
    if column == "id":
        pages[1][1] = f'{{"id": {value}}}'.encode()
    with pytest.raises(ValueError) as err:
        write(f"file://{tmp_path}/", pages, schema=SCHEMA, parquet_batch_rows=1)
    assert str(err.value).startswith(f"record 1 of page 2: field '{column}' {value} ")
    assert reason in str(err.value)
    assert str(err.value).endswith(f"(schema type {SCHEMA[column]!r}). Nothing was committed.")
    assert listing(tmp_path) == []


def test_on_type_conflict_string_makes_the_field_text_in_every_part(tmp_path: Path, caplog) -> None:
    pages = [
        [b'{"id": 1, "v": 10}', b'{"id": 2, "v": 2.5}'],
        [b'{"id": 3, "v": true}', b'{"id": 4, "v": null}'],
        [b'{"id": 5, "v": "text"}', b'{"id": 6, "v": {"k": [1, "x"]}}', b'{"id": 7, "v": 1.50}'],
    ]
    manifest = write(f"file://{tmp_path}/", pages, on_type_conflict="string", parquet_batch_rows=2,
                     max_records_per_file=3)
    parts = [read(tmp_path / f["uri"].rsplit("/", 1)[1]) for f in manifest["files"]]
    assert [p.schema.field("v").type for p in parts] == [pa.string()] * len(parts)
    assert [r["v"] for p in parts for r in p.to_pylist()] == [
        # stored before the conflict: rewritten from their stored values; after it: the JSON text as sent
        "10.0", "2.5", "true", None, "text", '{"k": [1, "x"]}', "1.50",
    ]
    assert [r["id"] for p in parts for r in p.to_pylist()] == [1, 2, 3, 4, 5, 6, 7]
    assert manifest["records"] == 7 and sum(f["records"] for f in manifest["files"]) == 7
    warned = [r.getMessage() for r in caplog.records if "on_type_conflict='string'" in r.getMessage()]
    assert warned[0].startswith("on_type_conflict='string': field 'v' is stored as text in every part file of this "
                                "extract (1 staged part files rewritten): record 0 of page 2: field 'v' is true/false "
                                "but was a number before (page 1)")
    assert warned[0].endswith("before (page 1)")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"schema": {"ts": "timestamp"}}, "schema['ts']='timestamp' is not a column type; use one of string, int64, "
                                          "float64, bool, decimal(p,s), date, timestamp_tz, timestamp_ntz, json"),
        ({"schema": {"a": "decimal(39,2)"}}, "schema['a']='decimal(39,2)': a decimal needs 1 <= precision <= 38"),
        ({"schema": {"a": "decimal(5,6)"}}, "schema['a']='decimal(5,6)': a decimal needs 1 <= precision <= 38 and "
                                            "0 <= scale <= precision"),
        ({"schema": {"a": 5}}, "schema['a']=5 is not a column type"),
        ({"schema": {"": "string"}}, "schema: field names must be non-empty strings, got ''"),
        ({"schema": {}}, "schema must be a non-empty dict of top-level field name to column type"),
        ({"schema": ["a"]}, "schema must be a non-empty dict"),
        ({"on_type_conflict": "cast"}, "on_type_conflict must be one of fail, string, got 'cast'"),
        ({"schema": {"a": "string"}, "part_format": "jsonl"}, "schema= and on_type_conflict= describe Parquet "
                                                              "columns: use them with part_format='parquet'"),
        ({"on_type_conflict": "string", "part_format": "jsonl"}, "use them with part_format='parquet'"),
    ],
)
def test_schema_and_on_type_conflict_are_checked_at_construction(kwargs: dict, message: str) -> None:
    from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator

    args = {"task_id": "t", "endpoint": "/x", "destination": "s3://b/p/", "part_format": "parquet", **kwargs}
    with pytest.raises(ValueError) as err:
        RestApiExtractOperator(**args)
    assert message in str(err.value)
    with pytest.raises(ValueError) as err:
        PartFileSink("file:///tmp/never/", **{k: v for k, v in args.items() if k in ("schema", "on_type_conflict", "part_format")})
    assert message in str(err.value)


def test_operator_names_the_api_page_and_commits_nothing(server, connection, tmp_path: Path) -> None:
    from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator
    from airflow_provider_dataeng.pagination import PageNumberPaginator
    from tests.rest_api.conftest import FAST_RETRIES

    pages = {1: [{"id": 1, "at": "2024-01-01T00:00:00Z"}], 2: [{"id": 2, "at": "2024-01-02T00:00:00+01:00"}],
             3: [{"id": 3, "at": "2024-01-03T00:00:00Z"}, {"id": 4, "at": "yesterday"}]}
    server.route("GET", "/items", lambda request: (200, {}, {"data": pages.get(int(request.query["page"]), [])}))

    def extract(**kwargs) -> dict:
        return RestApiExtractOperator(
            task_id="t", http_conn_id=connection("api"), endpoint="/items", records_path="data",
            paginator=PageNumberPaginator(), destination=f"file://{tmp_path}/", aws_conn_id=None,
            part_format="parquet", http_retry_policy=FAST_RETRIES, **kwargs,
        ).execute({})

    with pytest.raises(ValueError, match=r"^record 1 of page 3: field 'at' \"yesterday\" is not a string "
                                         r"YYYY-MM-DDTHH:MM:SS\[\.ffffff\] with Z or a \+HH:MM offset"):
        extract(schema={"at": "timestamp_tz"})
    assert listing(tmp_path) == []
    manifest = extract()  # without a schema the strings land as sent
    assert manifest["records"] == 4
    assert read(tmp_path / "part-00000.parquet").column("at").to_pylist() == [
        "2024-01-01T00:00:00Z", "2024-01-02T00:00:00+01:00", "2024-01-03T00:00:00Z", "yesterday"
    ]


def test_types_survive_a_deferral(tmp_path: Path) -> None:
    """A suspended sink's state (JSON) carries the fields turned to text and the types seen so far."""
    dest = f"file://{tmp_path}/"
    sink = PartFileSink(dest, part_format="parquet", on_type_conflict="string", parquet_batch_rows=1)
    sink.start()
    sink.write([b'{"a": 1, "b": "x"}'], page=1)
    sink.write([b'{"a": "one", "b": "y"}'], page=2)
    state = json.loads(json.dumps(sink.suspend()))
    assert state["types"]["text"] == ["a"]

    resumed = PartFileSink(dest, part_format="parquet", parquet_batch_rows=1)  # on_type_conflict="fail"
    resumed.resume(state)
    with pytest.raises(ValueError, match=r"^record 0 of page 3: field 'b' is a number but was a string before \(page 1\)"):
        resumed.write([b'{"a": 2, "b": 3}'], page=3)

    resumed = PartFileSink(dest, part_format="parquet", on_type_conflict="string", parquet_batch_rows=1)
    resumed.resume(state)
    resumed.write([b'{"a": 2, "b": "z"}'], page=3)
    manifest = resumed.commit(pages=3)
    rows = [r for f in manifest["files"] for r in read(Path(f["uri"][len("file://"):])).to_pylist()]
    assert rows == [{"a": "1", "b": "x"}, {"a": "one", "b": "y"}, {"a": "2", "b": "z"}]


def test_parquet_parts_never_import_pandas(tmp_path: Path) -> None:
    """pyarrow imports pandas on the first ``pa.array``/``pa.scalar`` over Python values (seconds, tens of MB in
    a worker): no path of the Parquet sink may do that (default types, schema=, a field turned to text)."""
    import subprocess
    import sys

    code = f"""
import json, sys
from airflow_provider_dataeng.sinks import PartFileSink
pages = [[b'{{"a": 1, "ts": "2024-01-01T00:00:00Z", "m": {{}}, "l": [1.5], "d": "1.25", "j": {{"k": [1]}}, "s": 5}}'],
         [b'{{"a": "x", "ts": "2024-01-02T00:00:00+01:00", "m": {{"k": 1}}, "l": [], "d": 2, "j": null, "s": "t"}}']]
with PartFileSink("file://{tmp_path}/", part_format="parquet", parquet_batch_rows=1, on_type_conflict="string",
                  schema={{"ts": "timestamp_tz", "d": "decimal(10,2)", "j": "json", "s": "string"}}) as sink:
    for page in pages:
        sink.write(page)
    manifest = sink.commit(pages=2)
print(json.dumps([manifest["records"], "pandas" in sys.modules]))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == [2, False]


def test_float64_takes_the_three_strings_a_json_number_cannot_spell() -> None:
    """``"NaN"``, ``"inf"`` and ``"-inf"`` (Snowflake's spellings, what the database extract writes) are
    those doubles; any other string is still refused."""
    import math

    from airflow_provider_dataeng.sinks.parquet_types import ValueDoesNotFit, convert, parse_schema

    column = parse_schema({"x": "float64"})["x"]
    got = convert([b'"NaN"', b"1.5", None, b'"-inf"', b'"inf"', b"-0.0"], column).to_pylist()
    assert math.isnan(got[0]) and got[1:] == [1.5, None, float("-inf"), float("inf"), -0.0]
    with pytest.raises(ValueDoesNotFit, match='"Infinity" is a string; float64 takes a number'):
        convert([b"1", b'"Infinity"'], column)
