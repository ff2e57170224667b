"""Part-file encoders: records (raw JSON bytes each) in, one open part file out.

``JsonlPart`` writes NDJSON through a zstd/gzip stream (memory: one page). ``ParquetPart`` buffers a batch
of records, converts it with the extract's :class:`~airflow_provider_dataeng.sinks.parquet_batch.RecordTypes`
(Arrow's C++ JSON reader, no Python dict per record) and writes it as a row group (memory: one batch). Both
count what they wrote; neither knows about staging or manifests.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from typing import IO, Any

from airflow_provider_dataeng.sinks.parquet_batch import Origin, RecordTypes
from airflow_provider_dataeng.validation import choice

FORMATS = ("jsonl", "parquet")
JSONL_COMPRESSIONS = ("zstd", "gzip", "none")
PARQUET_COMPRESSIONS = ("zstd", "snappy", "gzip", "none")
# zstd level 1 compresses these records about 6.6x at ~290 MB/s here; level 3 gains 14% size at half the speed.
DEFAULT_LEVELS = {"zstd": 1, "gzip": 6}
_JSONL_SUFFIX = {"zstd": ".jsonl.zst", "gzip": ".jsonl.gz", "none": ".jsonl"}


def validate_format(part_format: str, compression: str) -> None:
    """Raise ``ValueError`` naming the parameter when the format/compression pair is not supported."""
    choice("part_format", part_format, FORMATS)
    allowed = JSONL_COMPRESSIONS if part_format == "jsonl" else PARQUET_COMPRESSIONS
    choice(f"compression for part_format={part_format!r}", compression, allowed)


def validate_level(compression: str, level: int | None) -> None:
    """``compression_level`` must suit the codec: zstd -7..22, gzip 0..9 (``None``: the default)."""
    if level is None:
        return
    ranges = {"zstd": (-7, 22), "gzip": (0, 9)}
    if compression not in ranges or isinstance(level, bool) or not isinstance(level, int):
        raise ValueError(
            f"compression_level applies to jsonl with zstd or gzip as an integer, got {level!r} "
            f"for compression={compression!r}"
        )
    low, high = ranges[compression]
    if not low <= level <= high:
        raise ValueError(f"compression_level for {compression} must be between {low} and {high}, got {level}")


def part_suffix(part_format: str, compression: str) -> str:
    return _JSONL_SUFFIX[compression] if part_format == "jsonl" else ".parquet"


class SchemaChanged(Exception):
    """A Parquet batch has the extract's wider schema (new fields, widened types): start a new part file."""

    def __init__(self, schema: Any, table: Any) -> None:
        super().__init__("schema changed")
        self.schema = schema
        self.table = table


class JsonlPart:
    """NDJSON lines, compressed as a stream."""

    def __init__(self, raw: IO[bytes], compression: str, *, level: int | None = None) -> None:
        self._raw = raw
        self.records = 0
        if compression == "zstd":
            import zstandard

            zstd_level = DEFAULT_LEVELS["zstd"] if level is None else level
            self._out: Any = zstandard.ZstdCompressor(level=zstd_level).stream_writer(raw, closefd=False)
        elif compression == "gzip":
            gzip_level = DEFAULT_LEVELS["gzip"] if level is None else level
            self._out = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=gzip_level, mtime=0)
        else:
            self._out = raw

    def write(self, records: Sequence[Any], *, single_line: bool = False) -> None:
        """Append records as lines; a record with line breaks (pretty-printed JSON) is put on one line first,
        unless the caller knows none has any (``single_line``)."""
        if records:
            data = b"\n".join(records)
            if not single_line and (data.count(b"\n") >= len(records) or b"\r" in data):
                data = b"\n".join(one_line(r) for r in records)
            self._out.write(data)
            self._out.write(b"\n")
            self.records += len(records)

    def flush(self) -> None:
        """Nothing buffered beyond the compressor's own window."""

    def close(self) -> None:
        if self._out is not self._raw:
            self._out.close()
        self._raw.close()


def one_line(record: Any) -> bytes:
    """A record's JSON on one line: pretty-printed APIs put line breaks between tokens, which would split the
    record over several JSONL lines. In valid JSON a raw CR or LF can only be such whitespace (inside strings
    they are escaped), so replacing them with spaces keeps every value byte for byte."""
    return bytes(record).replace(b"\r", b" ").replace(b"\n", b" ")


class ParquetPart:
    """Parquet row groups of up to ``batch_rows`` records, typed by the extract's shared :class:`RecordTypes`.

    Records are buffered (with their page and index, for error messages) until :meth:`flush` converts the
    batch; a batch whose conversion fails stays pending, so the sink can move it to another part.
    """

    def __init__(self, raw: IO[bytes], compression: str, *, types: RecordTypes, schema: Any = None) -> None:
        self._raw = raw
        self._compression = None if compression == "none" else compression
        self._types = types
        self._pending: list[Any] = []
        self._origin = Origin()
        self._writer: Any = None
        self.schema = schema
        self.records = 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    def write(self, records: Sequence[Any], *, page: int, first: int = 0) -> None:
        """Buffer ``records``: record ``i`` is record ``first + i`` of page ``page`` (each on one line, see
        :func:`one_line`: Arrow's JSON reader takes a line break for the end of a record)."""
        if records and any(b"\n" in r or b"\r" in r for r in map(bytes, records)):
            records = [one_line(r) for r in records]
        self._pending.extend(records)
        self._origin.add(len(records), page, first)

    def take_pending(self) -> tuple[list[Any], Origin]:
        """The buffered batch (and where its records came from), removed from this part."""
        pending, origin = self._pending, self._origin
        self._pending, self._origin = [], Origin()
        return pending, origin

    def put_pending(self, records: list[Any], origin: Origin) -> None:
        self._pending, self._origin = records, origin

    def flush(self) -> None:
        """Convert and write the buffered batch (may raise :class:`SchemaChanged` or a type error)."""
        if not self._pending:
            return
        table = self._types.convert(self._pending, self._origin)
        self._pending, self._origin = [], Origin()
        self.write_table(table)

    def write_table(self, table: Any) -> None:
        import pyarrow.parquet as pq

        if self.schema is None:
            self.schema = table.schema
        elif table.schema != self.schema:
            raise SchemaChanged(table.schema, table)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._raw, self.schema, compression=self._compression)
        self._writer.write_table(table)
        self.records += table.num_rows

    def close(self) -> None:
        """Close the file; call ``flush`` first (it may raise :class:`SchemaChanged`)."""
        if self._writer is not None:
            self._writer.close()
        self._raw.close()
