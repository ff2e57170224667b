"""Streams records into part files under a destination prefix and finalizes them with a manifest.

Layout after a successful run::

    <destination>/part-00000.jsonl.zst ... part-NNNNN.jsonl.zst   (or .jsonl.gz / .jsonl / .parquet)
    <destination>/_manifest.json                                   (written last)

How a re-run stays idempotent and a half-written part is never final: at start the old ``_manifest.json`` is
removed; parts are written under ``<destination>/_staging/<token>/``; on commit they are moved into place,
``part-*`` files from an earlier, longer attempt are deleted, the staging folder is removed, and only then
is the manifest written. On failure the staging folder is removed and no manifest exists.
"""

from __future__ import annotations

import json
import logging
import posixpath
import uuid
from collections.abc import Sequence
from typing import Any

from airflow_provider_dataeng.sinks.formats import (
    JsonlPart,
    ParquetPart,
    SchemaChanged,
    part_suffix,
    validate_format,
    validate_level,
)
from airflow_provider_dataeng.sinks.parquet_batch import ParquetTypeError, RecordTypes, TypeConflict, as_text
from airflow_provider_dataeng.sinks.parquet_types import parse_schema
from airflow_provider_dataeng.sinks.storage import open_filesystem
from airflow_provider_dataeng.validation import choice

MANIFEST_NAME = "_manifest.json"
STAGING_DIR = "_staging"

log = logging.getLogger(__name__)


def validate_types(part_format: str, schema: Any, on_type_conflict: str) -> None:
    """``schema=`` and ``on_type_conflict=`` describe Parquet columns: checked here, refused for jsonl."""
    from airflow_provider_dataeng.sinks.parquet_batch import ON_TYPE_CONFLICT

    choice("on_type_conflict", on_type_conflict, ON_TYPE_CONFLICT)
    if part_format != "parquet" and (schema is not None or on_type_conflict != "fail"):
        raise ValueError(
            "schema= and on_type_conflict= describe Parquet columns: use them with part_format='parquet' "
            "(jsonl part files keep each record's JSON text as sent)"
        )
    if schema is not None:
        parse_schema(schema)


class PartFileSink:
    """Write pages of records (raw JSON bytes each) to rotating part files; ``commit`` returns the manifest.

    :param destination: object-storage URL of the folder (``s3://bucket/prefix/``, ``file:///path/``).
    :param part_format: ``jsonl`` or ``parquet``.
    :param compression: ``zstd``/``gzip``/``none`` for jsonl; ``zstd``/``snappy``/``gzip``/``none`` for parquet.
    :param max_records_per_file: a new part starts after this many records.
    :param storage_options: fsspec options (for S3, see :func:`s3_storage_options`).
    :param parquet_batch_rows: records parsed and written per Parquet row group (bounds memory).
    :param compression_level: zstd (default 1) or gzip (default 6) level for jsonl parts.
    :param schema: Parquet only: ``{"field": "type"}`` for typed columns (see
        :mod:`~airflow_provider_dataeng.sinks.parquet_types`); other fields keep their JSON types.
    :param on_type_conflict: Parquet only: ``fail`` (default) or ``string`` when a field's type changes.
    """

    def __init__(
        self,
        destination: str,
        *,
        part_format: str = "jsonl",
        compression: str = "zstd",
        max_records_per_file: int = 100_000,
        storage_options: dict[str, Any] | None = None,
        parquet_batch_rows: int = 5_000,
        compression_level: int | None = None,
        schema: dict[str, str] | None = None,
        on_type_conflict: str = "fail",
    ) -> None:
        validate_format(part_format, compression)
        validate_types(part_format, schema, on_type_conflict)
        self._types = RecordTypes(parse_schema(schema) if schema else None, on_type_conflict)
        validate_level(compression if part_format == "jsonl" else "", compression_level)
        self.compression_level = compression_level
        if not isinstance(max_records_per_file, int) or max_records_per_file < 1:
            raise ValueError(f"max_records_per_file must be a positive integer, got {max_records_per_file!r}")
        self.destination = destination
        self.part_format = part_format
        self.compression = compression
        self.max_records_per_file = max_records_per_file
        self.parquet_batch_rows = max(1, min(parquet_batch_rows, max_records_per_file))
        self.fs, self.root = open_filesystem(destination, storage_options)
        self.staging = f"{self.root}/{STAGING_DIR}/{uuid.uuid4().hex[:16]}"
        self._suffix = part_suffix(part_format, compression)
        self._staged: list[tuple[str, int]] = []  # (staged path, records)
        self._current: Any = None
        self._current_records = 0
        self._current_path = ""
        self._closed_bytes = 0
        self.records = 0
        self._pages = 0
        self._started = False

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Invalidate the previous manifest and prepare the staging folder."""
        fs = self.fs
        protocols = (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)
        local = bool({"file", "local"} & set(protocols))
        if local:  # object stores have no folders; makedirs on s3fs would even create a missing bucket
            fs.makedirs(self.root, exist_ok=True)
        manifest = f"{self.root}/{MANIFEST_NAME}"
        if fs.exists(manifest):
            fs.rm(manifest)
        if local:
            fs.makedirs(self.staging, exist_ok=True)
        self._started = True

    def suspend(self) -> dict[str, Any]:
        """Close the open part and return the state :meth:`resume` needs (JSON-able). The staged parts stay
        where they are; nothing is committed. Used when the task defers mid-extract."""
        self._close_open_part()
        state = {
            "staging": self.staging,
            "staged": [[path, records] for path, records in self._staged],
            "records": self.records,
            "bytes": self._closed_bytes,
        }
        if self.part_format == "parquet":
            state["types"] = self._types.state()  # a resumed extract keeps its column types
        return state

    def resume(self, state: dict[str, Any]) -> None:
        """Continue a suspended sink (instead of :meth:`start`): new parts follow the staged ones."""
        staging = str(state["staging"])
        if not staging.startswith(f"{self.root}/{STAGING_DIR}/"):
            raise ValueError(f"sink state staging={staging!r} is not under {self.root}/{STAGING_DIR}/")
        self.fs.invalidate_cache(staging)
        missing = [path for path, _ in state["staged"] if not self.fs.exists(path)]
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} part file(s) staged before the task deferred are gone (first: "
                f"{self.fs.unstrip_protocol(missing[0])}); clear the task to extract from the start"
            )
        self.staging = staging
        self._staged = [(str(path), int(records)) for path, records in state["staged"]]
        self.records = int(state["records"])
        self._closed_bytes = int(state["bytes"])
        self._types.restore(state.get("types") or {})
        self._started = True

    def stash(self, name: str, data: bytes) -> str:
        """Keep ``data`` in the staging folder until commit or abort (e.g. a page fetched ahead when the task
        defers); returns its path for :meth:`unstash`."""
        path = f"{self.staging}/held/{name}"
        self.fs.pipe_file(path, data)
        return path

    def unstash(self, path: str) -> bytes:
        """What :meth:`stash` kept (only paths under this sink's staging folder)."""
        if not str(path).startswith(f"{self.staging}/held/"):
            raise ValueError(f"{path!r} is not in this sink's staging folder {self.staging!r}")
        return bytes(self.fs.cat_file(path))

    def __enter__(self) -> PartFileSink:
        self.start()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.abort()

    # -- writing ---------------------------------------------------------------------------------
    def write(self, records: Sequence[Any], *, page: int | None = None, single_line: bool = False) -> None:
        """Append one page of records (each the bytes of one JSON value, no newline). ``page`` numbers the
        page in error messages (default: the count of ``write`` calls); ``single_line=True`` says no record holds
        a line break (JSON that PostgreSQL wrote), so JSONL parts skip looking for one."""
        if not self._started:
            raise RuntimeError("call start() (or use the sink as a context manager) before write()")
        self._pages += 1
        page = self._pages if page is None else page
        offset = 0
        while offset < len(records):
            if self._current is None:
                self._open_part()
            room = self.max_records_per_file - self._current_records
            chunk = records[offset : offset + room]
            self._current_records += len(chunk)
            self._write_chunk(chunk, page, offset, single_line)
            offset += len(chunk)
            self.records += len(chunk)
            if self._current_records >= self.max_records_per_file:
                self._close_part()

    def _write_chunk(self, chunk: Sequence[Any], page: int, first: int, single_line: bool = False) -> None:
        if self.part_format == "jsonl":
            self._current.write(chunk, single_line=single_line)
            return
        self._current.write(chunk, page=page, first=first)
        if self._current.pending >= self.parquet_batch_rows:
            self._flush_parquet()

    def _flush_parquet(self) -> bool:
        """Write the open Parquet part's batch; ``True`` when the batch went on in a new part (its schema
        widened, or a field was turned to text after a type conflict)."""
        moved = False
        while True:
            try:
                self._current.flush()
                return moved
            except SchemaChanged as change:
                self._continue_in_new_part(change)
                return True
            except TypeConflict as conflict:
                if self._types.on_type_conflict != "string":
                    raise ParquetTypeError(conflict.message) from None
                self._store_as_text(conflict)
                moved = True

    def _store_as_text(self, conflict: TypeConflict) -> None:
        """``on_type_conflict="string"``: the field is text for the whole extract, in the parts staged so far
        too; the batch that conflicted goes on in a new part."""
        records, origin = self._current.take_pending()
        self._types.store_as_text(conflict.field)
        self._finish_part()
        rewritten = self._rewrite_as_text(conflict.field)
        log.warning(
            "on_type_conflict='string': field %r is stored as text in every part file of this extract (%d staged "
            "part files rewritten): %s",
            conflict.field,
            rewritten,
            conflict.summary,
        )
        self._open_part()
        self._current.put_pending(records, origin)
        self._current_records = len(records)

    def _rewrite_as_text(self, field: str) -> int:
        """Rewrite the staged Parquet parts that hold ``field`` with it as text (row group by row group)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        rewritten = 0
        compression = None if self.compression == "none" else self.compression
        for path, _ in self._staged:
            temporary = f"{path}.text"
            with self.fs.open(path, "rb") as source:
                reader = pq.ParquetFile(source)
                schema = reader.schema_arrow
                if field not in schema.names:
                    continue
                index = schema.get_field_index(field)
                text_schema = schema.set(index, pa.field(field, pa.string()))
                with (
                    self.fs.open(temporary, "wb", block_size=8 * 2**20) as target,
                    pq.ParquetWriter(target, text_schema, compression=compression) as writer,
                ):
                    for group in range(reader.num_row_groups):
                        table = reader.read_row_group(group)
                        writer.write_table(
                            table.set_column(index, text_schema.field(index), as_text(table.column(index)))
                        )
            self._closed_bytes += self.fs.size(temporary) - self.fs.size(path)
            self.fs.mv(temporary, path)
            rewritten += 1
        return rewritten

    def _continue_in_new_part(self, change: SchemaChanged) -> None:
        """Parquet: a batch has new columns or wider types: finish this part, write the batch to a new one."""
        log.info("Record schema widened; starting a new Parquet part file")
        self._finish_part()
        self._open_part(schema=change.schema)
        self._current.write_table(change.table)
        self._current_records = change.table.num_rows

    def _open_part(self, schema: Any = None) -> None:
        self._current_path = f"{self.staging}/part-{len(self._staged):05d}{self._suffix}"
        self._current_records = 0
        raw = self.fs.open(self._current_path, "wb", block_size=8 * 2**20)
        if self.part_format == "jsonl":
            self._current = JsonlPart(raw, self.compression, level=self.compression_level)
        else:
            self._current = ParquetPart(raw, self.compression, types=self._types, schema=schema)

    def _close_part(self) -> None:
        if self.part_format == "parquet" and self._flush_parquet():
            return  # the last batch went on in a new part, which stays open
        self._finish_part()

    def _close_open_part(self) -> None:
        """Close the part being written (a last batch that widens the Parquet schema opens one more)."""
        while self._current is not None:
            self._close_part()

    def _finish_part(self) -> None:
        part, self._current = self._current, None
        part.close()
        if part.records:
            self._staged.append((self._current_path, part.records))
            self._closed_bytes += self.fs.size(self._current_path)
        else:
            self.fs.rm(self._current_path)

    @property
    def bytes_written(self) -> int:
        """Bytes in closed part files (for progress logs)."""
        return self._closed_bytes

    # -- finishing -------------------------------------------------------------------------------
    def absorb(self, others: Sequence[PartFileSink]) -> list[int]:
        """Take over the staged parts of sinks that wrote the same destination in parallel (the slices of
        one extract): their parts follow this sink's, in the order given, and commit with them. Returns how
        many parts each sink (this one first) contributed."""
        self._close_open_part()
        counts = [len(self._staged)]
        for other in others:
            if other.root != self.root or other.part_format != self.part_format:
                raise ValueError("absorb takes sinks of the same destination and format")
            other._close_open_part()
            counts.append(len(other._staged))
            self._staged.extend(other._staged)
            self.records += other.records
            self._closed_bytes += other._closed_bytes
            other._staged, other.records = [], 0
        return counts

    def commit(self, *, pages: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Move staged parts into place, delete stale parts, write the manifest last; return the manifest
        (``extra``: more keys for it, e.g. the slices of a sliced extract)."""
        self._close_open_part()
        fs = self.fs
        finals = [
            (f"{self.root}/part-{i:05d}{self._suffix}", staged, n)
            for i, (staged, n) in enumerate(self._staged)
        ]
        for final, staged, _ in finals:
            fs.mv(staged, final)
        keep = {final for final, _, _ in finals}
        fs.invalidate_cache(self.root)
        sizes: dict[str, int] = {}
        try:
            entries = fs.ls(self.root, detail=True)
        except FileNotFoundError:  # an object store has no empty folder: nothing landed here yet
            entries = []
        for entry in entries:
            path = entry["name"].rstrip("/")
            if path in keep:
                sizes[path] = int(entry.get("size") or 0)
            elif posixpath.basename(path).startswith("part-"):
                log.info("Removing %s left by an earlier attempt", fs.unstrip_protocol(path))
                fs.rm(path)
        files = [
            {"uri": fs.unstrip_protocol(final), "records": n, "bytes": sizes.get(final) or fs.size(final)}
            for final, _, n in finals
        ]
        self._remove_staging()
        manifest = {
            "destination": self.destination,
            "files": files,
            "records": self.records,
            "pages": pages,
            "format": self.part_format,
            "compression": self.compression,
            **(extra or {}),
        }
        fs.pipe_file(f"{self.root}/{MANIFEST_NAME}", json.dumps(manifest, indent=2).encode())
        return manifest

    def abort(self) -> None:
        """Drop everything this attempt staged; the destination keeps no manifest."""
        if self._current is not None:
            try:
                self._current.close()
            except Exception:  # the original error matters more than a failed close
                log.debug("closing the part file after a failure failed", exc_info=True)
            self._current = None
        self._remove_staging()

    def _remove_staging(self) -> None:
        try:
            if self.fs.exists(f"{self.root}/{STAGING_DIR}"):
                self.fs.rm(f"{self.root}/{STAGING_DIR}", recursive=True)
        except FileNotFoundError:
            pass
