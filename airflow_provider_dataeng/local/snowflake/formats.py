"""Snowflake file formats for COPY: option parsing, decompression and parsing a file into rows."""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa

from airflow_provider_dataeng.local.snowflake._sql import programming_error


@dataclass
class FileFormat:
    """The FILE_FORMAT options we honour (Snowflake's defaults)."""

    type: str = "CSV"
    compression: str = "AUTO"
    skip_header: int = 0
    parse_header: bool = False
    field_delimiter: str = ","
    enclosed_by: str | None = None
    null_if: list[str] = field(default_factory=lambda: ["\\N"])
    empty_field_as_null: bool = True
    trim_space: bool = False
    strip_outer_array: bool = False
    error_on_column_count_mismatch: bool = True

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> FileFormat:
        ff = cls()
        for name, value in options.items():
            key = name.upper()
            if key == "TYPE":
                ff.type = str(value).upper()
            elif key == "COMPRESSION":
                ff.compression = str(value).upper()
            elif key == "SKIP_HEADER":
                ff.skip_header = int(value)
            elif key == "PARSE_HEADER":
                ff.parse_header = _bool(value)
            elif key == "FIELD_DELIMITER":
                ff.field_delimiter = str(value)
            elif key == "FIELD_OPTIONALLY_ENCLOSED_BY":
                ff.enclosed_by = None if str(value).upper() == "NONE" else str(value)
            elif key == "NULL_IF":
                ff.null_if = [str(v) for v in value] if isinstance(value, list) else [str(value)]
            elif key == "EMPTY_FIELD_AS_NULL":
                ff.empty_field_as_null = _bool(value)
            elif key == "TRIM_SPACE":
                ff.trim_space = _bool(value)
            elif key == "STRIP_OUTER_ARRAY":
                ff.strip_outer_array = _bool(value)
            elif key == "ERROR_ON_COLUMN_COUNT_MISMATCH":
                ff.error_on_column_count_mismatch = _bool(value)
            elif key in {"RECORD_DELIMITER", "DATE_FORMAT", "TIMESTAMP_FORMAT", "ENCODING", "BINARY_FORMAT"}:
                continue  # accepted, defaults only
            else:
                raise programming_error(
                    f"File format option {key} is not supported by the local Snowflake.", 1008, "22023"
                )
        if ff.type not in {"CSV", "JSON", "PARQUET"}:
            raise programming_error(
                f"File format TYPE = {ff.type} is not supported by the local Snowflake.", 1008, "22023"
            )
        return ff


@dataclass
class ParsedFile:
    """A file's rows: ``columns`` holds $1..$n (CSV: text fields; JSON: the record's JSON text)."""

    columns: list[list[Any]]
    num_rows: int
    header: list[str] | None = None
    records: list[Any] | None = None
    table: pa.Table | None = None


def decompress(data: bytes, compression: str, name: str) -> bytes:
    """Undo COMPRESSION (AUTO detects gzip, zstd and bz2 from the bytes, as Snowflake does)."""
    kind = compression.upper()
    if kind in {"AUTO", "AUTO_DETECT"}:
        if data[:2] == b"\x1f\x8b":
            kind = "GZIP"
        elif data[:4] == b"\x28\xb5\x2f\xfd":
            kind = "ZSTD"
        elif data[:3] == b"BZh":
            kind = "BZ2"
        else:
            kind = "NONE"
    try:
        if kind == "GZIP":
            return gzip.decompress(data)
        if kind == "ZSTD":
            import zstandard

            return (
                zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True).read()
            )
        if kind == "BZ2":
            return bz2.decompress(data)
        if kind in {"DEFLATE", "RAW_DEFLATE"}:
            return zlib.decompress(data, wbits=-15 if kind == "RAW_DEFLATE" else 15)
        if kind == "NONE":
            return data
    except (OSError, EOFError, ValueError, zlib.error) as e:
        raise programming_error(f"Error decompressing file '{name}' as {kind}: {e}", 100073, "22000") from e
    raise programming_error(f"COMPRESSION = {kind} is not supported by the local Snowflake.", 1008, "22023")


def parse(data: bytes, ff: FileFormat, name: str, keep_records: bool = False) -> ParsedFile:
    if ff.type == "PARQUET":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(io.BytesIO(data))
        except Exception as e:  # pyarrow raises several error types for corrupt files
            raise programming_error(f"Error parsing the parquet file '{name}': {e}", 100131, "22000") from e
        return ParsedFile(columns=[], num_rows=table.num_rows, header=list(table.column_names), table=table)
    text = decompress(data, ff.compression, name).decode("utf-8")
    if ff.type == "JSON":
        return _parse_json(text, ff, name, keep_records)
    return _parse_csv(text, ff, name)


def _parse_json(text: str, ff: FileFormat, name: str, keep_records: bool) -> ParsedFile:
    values: list[str] = []
    records: list[Any] = []
    if ff.strip_outer_array:
        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError as e:
            raise _json_error(e, name, 1) from e
        for item in doc if isinstance(doc, list) else [doc]:
            values.append(orjson.dumps(item).decode())
            if keep_records:
                records.append(item)
    else:
        for line_no, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            if not stripped:
                continue
            try:
                record = orjson.loads(stripped)
            except orjson.JSONDecodeError as e:
                raise _json_error(e, name, line_no) from e
            values.append(stripped)
            if keep_records:
                records.append(record)
    return ParsedFile(columns=[values], num_rows=len(values), records=records if keep_records else None)


def _json_error(e: orjson.JSONDecodeError, name: str, line: int) -> Exception:
    return programming_error(
        f"Error parsing JSON: {e.msg}\n  File '{name}', line {line}, character {e.colno}", 100069, "22P02"
    )


def _parse_csv(text: str, ff: FileFormat, name: str) -> ParsedFile:
    if ff.enclosed_by:
        reader = csv.reader(
            io.StringIO(text), delimiter=ff.field_delimiter, quotechar=ff.enclosed_by, doublequote=True
        )
    else:
        reader = csv.reader(io.StringIO(text), delimiter=ff.field_delimiter, quoting=csv.QUOTE_NONE)
    rows = [r for r in reader if r]
    header = None
    if ff.parse_header:
        header, rows = (rows[0] if rows else []), rows[1:]
    rows = rows[ff.skip_header :]
    width = max((len(r) for r in rows), default=len(header or []))
    if header is not None:
        width = len(header)
    columns: list[list[Any]] = [[] for _ in range(width)]
    for line_no, row in enumerate(rows, start=1 + ff.skip_header + (1 if ff.parse_header else 0)):
        if len(row) != width and ff.error_on_column_count_mismatch:
            raise programming_error(
                f"Number of columns in file ({len(row)}) does not match that of the corresponding table ({width}), "
                f"use file format option error_on_column_count_mismatch=false to ignore this error\n"
                f"  File '{name}', line {line_no}, character 1",
                100080,
                "22000",
            )
        for i in range(width):
            columns[i].append(_csv_value(row[i] if i < len(row) else None, ff))
    return ParsedFile(columns=columns, num_rows=len(rows), header=header)


def _csv_value(value: str | None, ff: FileFormat) -> str | None:
    if value is None:
        return None
    if ff.trim_space:
        value = value.strip()
    if value in ff.null_if or (value == "" and ff.empty_field_as_null):
        return None
    return value


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).upper() in {"TRUE", "1", "YES"}
