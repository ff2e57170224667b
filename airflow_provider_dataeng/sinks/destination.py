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
from airflow_provider_dataeng.sinks.storage import open_filesystem

MANIFEST_NAME = "_manifest.json"
STAGING_DIR = "_staging"

log = logging.getLogger(__name__)


class PartFileSink:
    """Write pages of records (raw JSON bytes each) to rotating part files; ``commit`` returns the manifest.

    :param destination: object-storage URL of the folder (``s3://bucket/prefix/``, ``file:///path/``).
    :param file_format: ``jsonl`` or ``parquet``.
    :param compression: ``zstd``/``gzip``/``none`` for jsonl; ``zstd``/``snappy``/``gzip``/``none`` for parquet.
    :param max_records_per_file: a new part starts after this many records.
    :param storage_options: fsspec options (for S3, see :func:`s3_storage_options`).
    :param parquet_batch_rows: records parsed and written per Parquet row group (bounds memory).
    :param compression_level: zstd (default 1) or gzip (default 6) level for jsonl parts.
    """

    def __init__(
        self,
        destination: str,
        *,
        file_format: str = "jsonl",
        compression: str = "zstd",
        max_records_per_file: int = 100_000,
        storage_options: dict[str, Any] | None = None,
        parquet_batch_rows: int = 5_000,
        compression_level: int | None = None,
    ) -> None:
        validate_format(file_format, compression)
        validate_level(compression if file_format == "jsonl" else "", compression_level)
        self.compression_level = compression_level
        if not isinstance(max_records_per_file, int) or max_records_per_file < 1:
            raise ValueError(f"max_records_per_file must be a positive integer, got {max_records_per_file!r}")
        self.destination = destination
        self.file_format = file_format
        self.compression = compression
        self.max_records_per_file = max_records_per_file
        self.parquet_batch_rows = max(1, min(parquet_batch_rows, max_records_per_file))
        self.fs, self.root = open_filesystem(destination, storage_options)
        self.staging = f"{self.root}/{STAGING_DIR}/{uuid.uuid4().hex[:16]}"
        self._suffix = part_suffix(file_format, compression)
        self._staged: list[tuple[str, int]] = []  # (staged path, records)
        self._current: Any = None
        self._current_records = 0
        self._current_path = ""
        self._closed_bytes = 0
        self.records = 0
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
        return {
            "staging": self.staging,
            "staged": [[path, records] for path, records in self._staged],
            "records": self.records,
            "bytes": self._closed_bytes,
        }

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
        self._started = True

    def __enter__(self) -> PartFileSink:
        self.start()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.abort()

    # -- writing ---------------------------------------------------------------------------------
    def write(self, records: Sequence[Any]) -> None:
        """Append records (each the bytes of one JSON value, no newline)."""
        if not self._started:
            raise RuntimeError("call start() (or use the sink as a context manager) before write()")
        offset = 0
        while offset < len(records):
            if self._current is None:
                self._open_part()
            room = self.max_records_per_file - self._current_records
            chunk = records[offset : offset + room]
            self._current_records += len(chunk)
            self._write_chunk(chunk)
            offset += len(chunk)
            self.records += len(chunk)
            if self._current_records >= self.max_records_per_file:
                self._close_part()

    def _write_chunk(self, chunk: Sequence[Any]) -> None:
        try:
            self._current.write(chunk)
        except SchemaChanged as change:
            self._continue_in_new_part(change)

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
        if self.file_format == "jsonl":
            self._current = JsonlPart(raw, self.compression, level=self.compression_level)
        else:
            self._current = ParquetPart(
                raw, self.compression, batch_rows=self.parquet_batch_rows, schema=schema
            )

    def _close_part(self) -> None:
        try:
            self._current.flush()
        except SchemaChanged as change:  # the last batch does not fit this part's schema: it opens the next
            self._continue_in_new_part(change)
            return
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
    def commit(self, *, pages: int) -> dict[str, Any]:
        """Move staged parts into place, delete stale parts, write the manifest last; return the manifest."""
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
        for entry in fs.ls(self.root, detail=True):
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
            "format": self.file_format,
            "compression": self.compression,
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
