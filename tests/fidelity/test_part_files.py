"""Per-example properties of the pure half of the extract: page body -> records -> part file -> read back.

No server, no storage: the page decoder and the part-file writers the extract operator uses, on bodies
written by several real-world encoders. JSONL must give back every record byte for byte (one line each);
Parquet must give back every value as Arrow typed it (its own documented mapping, ``expected.py``).
"""

from __future__ import annotations

import gzip
import io
import math
from typing import Any

import pyarrow.parquet as pq
import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_dataeng.pagination.decode import PageDecoder
from airflow_provider_dataeng.sinks.formats import JsonlPart, ParquetPart
from airflow_provider_dataeng.sinks.parquet_batch import ParquetTypeError, RecordTypes
from tests.fidelity import strategies
from tests.fidelity.examples import property_settings, reproduce_hint
from tests.fidelity.jsontext import Num, dumps, loads


class _Buffer(io.BytesIO):
    """A BytesIO that keeps its bytes after the part file closes it."""

    def close(self) -> None:
        self.data = self.getvalue()
        super().close()


def page_body(records: list[Any], style: str) -> bytes:
    return dumps({"data": records, "has_more": False}, style).encode()


def decode_page(body: bytes) -> list[Any]:
    records, _ = PageDecoder(("data",), [("has_more",)]).decode(body)
    return records


def write_jsonl(raw: list[Any], compression: str) -> bytes:
    out = _Buffer()
    part = JsonlPart(out, compression)
    part.write(raw)
    part.close()
    if compression == "zstd":
        return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(out.data)).read()
    if compression == "gzip":
        return gzip.decompress(out.data)
    return out.data


@property_settings()
@given(
    records=st.lists(strategies.record_fields(), min_size=1, max_size=4),
    style=strategies.page_styles(),
    compression=st.sampled_from(("zstd", "gzip", "none")),
)
def test_jsonl_part_gives_back_every_record_as_sent(records: list[Any], style: str, compression: str) -> None:
    body = page_body(records, style)
    data = write_jsonl(decode_page(body), compression)
    assert data.endswith(b"\n"), reproduce_hint()
    lines = data[:-1].split(b"\n")
    assert len(lines) == len(records), f"{len(records)} records became {len(lines)} lines {reproduce_hint()}"
    for line, record in zip(lines, records):
        assert loads(line) == record, reproduce_hint()
        if style != "pretty":  # the record's own bytes, unchanged
            assert line == dumps(record, style).encode(), reproduce_hint()


def test_pretty_printed_page_lands_one_line_per_record() -> None:
    """Regression: a record's raw bytes from an indented page kept their line breaks, so one record became
    several JSONL lines (and COPY failed or loaded fragments)."""
    records = [{"a": [Num("1"), {"b": "x\ny"}], "c": {}}, {"d": []}]
    body = b'{"data": [\n  {\n    "a": [1,\r\n {"b": "x\\ny"}],\n    "c": {}\n  },\n  {"d": [\n]}\n]}'
    data = write_jsonl(decode_page(body), "none")
    assert data == b'{     "a": [1,   {"b": "x\\ny"}],     "c": {}   }\n{"d": [ ]}\n'
    assert [loads(line) for line in data.splitlines()] == records


def arrow_value(value: Any, kind: Any) -> Any:
    """What Arrow reads back for a Parquet field written from JSON: int64 int, double float, str, bool, list,
    struct as a dict of every schema field (missing ones null)."""
    if value is None or kind == ("struct", ()):  # {} is written as null (Parquet has no empty struct)
        return None
    if isinstance(kind, tuple) and kind[0] == "struct":
        return {name: arrow_value(value.get(name), sub) for name, sub in kind[1]}
    if isinstance(kind, tuple):
        return [arrow_value(v, kind[1]) for v in value]
    if isinstance(value, Num):
        return int(value.token) if kind == "int64" else float(value.token)
    return value


def canonical(value: Any) -> Any:
    """Floats compared by their exact value and sign (so -0.0 differs from 0.0)."""
    if isinstance(value, float):
        return ("float", value.hex(), math.copysign(1.0, value))
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    return value


@property_settings()
@given(
    batch=st.integers(1, 5).flatmap(strategies.parquet_records),
    style=strategies.page_styles(parquet=True),
    compression=st.sampled_from(("zstd", "snappy")),
)
def test_parquet_part_gives_back_every_value_as_arrow_typed_it(batch: Any, style: str, compression: str) -> None:
    schema, records = batch
    raw = decode_page(page_body(records, style))
    out = _Buffer()
    part = ParquetPart(out, compression, types=RecordTypes())
    part.write(raw, page=1)
    present = [name for name in schema if any(name in r for r in records)]
    if not present:  # records without fields: no Parquet column to write them in
        with pytest.raises(ParquetTypeError, match="have no fields"):
            part.flush()
        return
    part.flush()
    part.close()
    rows = pq.read_table(io.BytesIO(out.data)).to_pylist()
    assert len(rows) == part.records == len(records), reproduce_hint()
    expected = [{name: arrow_value(r.get(name), schema[name]) for name in present} for r in records]
    assert canonical(rows) == canonical(expected), reproduce_hint()
