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

from dataeng_local.snowflake import json_text
from dataeng_local.snowflake._sql import programming_error


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
    skip_byte_order_mark: bool = True
    skip_blank_lines: bool = False
    # Parquet: the stand-in always reads logical types (timestamps with their UTC flag, dates, decimals),
    # i.e. as Snowflake does with USE_LOGICAL_TYPE = TRUE; FALSE (Snowflake's default) is not emulated.
    use_logical_type: bool = False

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
            elif key == "SKIP_BYTE_ORDER_MARK":
                ff.skip_byte_order_mark = _bool(value)
            elif key == "SKIP_BLANK_LINES":
                ff.skip_blank_lines = _bool(value)
            elif key == "USE_LOGICAL_TYPE":
                ff.use_logical_type = _bool(value)
            elif key in _DEFAULT_ONLY:
                if str(value).upper() not in _DEFAULT_ONLY[key]:
                    raise programming_error(
                        f"File format option {key} = {value!r} is not supported by the local Snowflake "
                        f"(only its default {sorted(_DEFAULT_ONLY[key])[0]} is).",
                        1008,
                        "22023",
                    )
            else:
                raise programming_error(
                    f"File format option {key} is not supported by the local Snowflake.", 1008, "22023"
                )
        if ff.type not in {"CSV", "JSON", "PARQUET"}:
            raise programming_error(
                f"File format TYPE = {ff.type} is not supported by the local Snowflake.", 1008, "22023"
            )
        return ff


# Options the stand-in accepts with Snowflake's default value only: another value is refused rather than
# ignored, so a COPY never loads differently here than on Snowflake without saying so.
_DEFAULT_ONLY: dict[str, set[str]] = {
    "RECORD_DELIMITER": {"\n", "\\N", "NEWLINE"},
    "DATE_FORMAT": {"AUTO"},
    "TIMESTAMP_FORMAT": {"AUTO"},
    "TIME_FORMAT": {"AUTO"},
    "ENCODING": {"UTF8", "UTF-8"},
    "BINARY_FORMAT": {"HEX"},
    "BINARY_AS_TEXT": {"TRUE"},
}


@dataclass
class RowError:
    """A record COPY could not load: where it is and Snowflake's first-error fields for it."""

    row: int  # the record's number in the file (METADATA$FILE_ROW_NUMBER)
    line: int
    character: int
    message: str
    column: str | None = None  # first_error_column_name, e.g. '"T"["C":2]' or '"T"[11]'


@dataclass
class ParsedFile:
    """A file's rows: ``columns`` holds $1..$n (CSV: text fields; JSON: the record's JSON text).

    ``errors`` holds the records that failed to parse (only when parsing leniently, for ON_ERROR other than
    ABORT_STATEMENT); ``row_numbers``/``lines`` give each good row's record number and line in the file.
    """

    columns: list[list[Any]]
    num_rows: int
    header: list[str] | None = None
    records: list[Any] | None = None
    table: pa.Table | None = None
    errors: list[RowError] = field(default_factory=list)
    row_numbers: list[int] | None = None
    lines: list[int] | None = None

    @property
    def rows_parsed(self) -> int:
        return self.num_rows + len(self.errors)


@dataclass(frozen=True)
class CsvTarget:
    """What CSV records are checked against: the table's columns when fields map by position."""

    table: str
    columns: list[str] | None = None  # None: transforms and PARSE_HEADER (no count check against a table)


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
    except Exception as e:  # gzip, zstandard, bz2 and zlib each raise their own errors for corrupt data
        raise programming_error(f"Error decompressing file '{name}' as {kind}: {e}", 100073, "22000") from e
    raise programming_error(f"COMPRESSION = {kind} is not supported by the local Snowflake.", 1008, "22023")


def parse(
    data: bytes,
    ff: FileFormat,
    name: str,
    keep_records: bool = False,
    *,
    strict: bool = True,
    target: CsvTarget | None = None,
) -> ParsedFile:
    """Parse one file. ``strict`` raises on the first bad record (ABORT_STATEMENT); otherwise bad records
    are collected in ``ParsedFile.errors`` and left out of the rows."""
    if ff.type == "PARQUET":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(io.BytesIO(data))
        except Exception as e:  # pyarrow raises several error types for corrupt files
            raise programming_error(f"Error parsing the parquet file '{name}': {e}", 100131, "22000") from e
        return ParsedFile(columns=[], num_rows=table.num_rows, header=list(table.column_names), table=table)
    text = decompress(data, ff.compression, name).decode("utf-8")
    if ff.skip_byte_order_mark and text.startswith("\ufeff"):  # SKIP_BYTE_ORDER_MARK, TRUE by default
        text = text[1:]
    if ff.type == "JSON":
        return _parse_json(text, ff, name, keep_records, strict)
    return _parse_csv(text, ff, name, strict, target or CsvTarget(table=""))


def _parse_json(text: str, ff: FileFormat, name: str, keep_records: bool, strict: bool) -> ParsedFile:
    """Records as Snowflake reads them (see :mod:`json_text`); STRIP_OUTER_ARRAY makes each element one."""
    parsed = ParsedFile(columns=[[]], num_rows=0, row_numbers=[], lines=[])
    values: list[str] = parsed.columns[0]
    records: list[Any] = []
    if ff.strip_outer_array:
        try:
            _, doc = json_text.load(text)
        except orjson.JSONDecodeError as e:
            if strict:
                raise _json_error(e.msg, name, e.lineno, e.colno) from e
            parsed.errors.append(RowError(1, e.lineno, e.colno, _json_message(e.msg, e.colno)))
            return parsed
        items = doc if isinstance(doc, list) else [doc]
        for number, item in enumerate(items, start=1):
            values.append(orjson.dumps(item).decode())
            parsed.row_numbers.append(number)  # type: ignore[union-attr]
            parsed.lines.append(1)  # type: ignore[union-attr]
            if keep_records:
                records.append(item)
    else:
        for number, found in enumerate(json_text.documents(text), start=1):
            if isinstance(found, json_text.BadRecord):
                if strict:
                    raise _json_error(found.reason, name, found.line, found.character)
                message = _json_message(found.reason, found.character)
                parsed.errors.append(RowError(number, found.line, found.character, message))
                continue
            values.append(found.text)
            parsed.row_numbers.append(number)  # type: ignore[union-attr]
            parsed.lines.append(found.line)  # type: ignore[union-attr]
            if keep_records:
                records.append(found.value)
    parsed.num_rows = len(values)
    parsed.records = records if keep_records else None
    return parsed


def _json_message(reason: str, character: int) -> str:
    return f"Error parsing JSON: {reason}, pos {character}"


def _json_error(reason: str, name: str, line: int, character: int) -> Exception:
    return programming_error(
        f"{_json_message(reason, character)}\n  File '{name}', line {line}, character {character}",
        100069,
        "22P02",
    )


def _parse_csv(text: str, ff: FileFormat, name: str, strict: bool, target: CsvTarget) -> ParsedFile:
    if ff.enclosed_by:
        reader = csv.reader(
            io.StringIO(text), delimiter=ff.field_delimiter, quotechar=ff.enclosed_by, doublequote=True
        )
    else:
        reader = csv.reader(io.StringIO(text), delimiter=ff.field_delimiter, quoting=csv.QUOTE_NONE)
    rows: list[tuple[int, list[str]]] = []
    for row in reader:  # a blank line is a record without fields: an end-of-record error unless skipped
        if row or not ff.skip_blank_lines:
            rows.append((reader.line_num, row))
    header = None
    if ff.parse_header:
        header, rows = (rows[0][1] if rows else []), rows[1:]
    rows = rows[ff.skip_header :]
    if header is not None:
        width = len(header)
    elif target.columns is not None:
        width = len(target.columns)
    else:
        width = max((len(r) for _, r in rows), default=0)
    parsed = ParsedFile(
        columns=[[] for _ in range(width)], num_rows=0, header=header, row_numbers=[], lines=[]
    )
    for number, (line_no, row) in enumerate(rows, start=1):
        if len(row) != width and ff.error_on_column_count_mismatch:
            error = _column_count_error(row, width, line_no, number, target, ff.field_delimiter)
            if strict:
                raise programming_error(
                    f"{error.message}\n  File '{name}', line {line_no}, character {error.character}",
                    100080,
                    "22000",
                )
            parsed.errors.append(error)
            continue
        for i in range(width):
            parsed.columns[i].append(_csv_value(row[i] if i < len(row) else None, ff))
        parsed.row_numbers.append(number)  # type: ignore[union-attr]
        parsed.lines.append(line_no)  # type: ignore[union-attr]
    parsed.num_rows = len(parsed.row_numbers or [])
    return parsed


def _column_count_error(
    row: list[str], width: int, line: int, number: int, target: CsvTarget, delimiter: str
) -> RowError:
    """Snowflake's two messages: too many fields, or the record ended before the table's last column."""
    table = f'"{target.table}"' if target.table else '""'
    if len(row) > width:
        return RowError(
            number,
            line,
            1,
            f"Number of columns in file ({len(row)}) does not match that of the corresponding table ({width}), "
            "use file format option error_on_column_count_mismatch=false to ignore this error",
            f"{table}[{width + 1}]",
        )
    position = len(row) + 1
    column = target.columns[len(row)] if target.columns and len(row) < len(target.columns) else str(position)
    label = f'{table}["{column}":{position}]'
    return RowError(
        number,
        line,
        len(delimiter.join(row)) + 1,
        f"End of record reached while expected to parse column '{label}'",
        label,
    )


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
