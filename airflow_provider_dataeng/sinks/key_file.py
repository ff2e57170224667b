"""A snapshot's keys beside its part files (``_keys.jsonl.zst``): one JSON array per line, in the snapshot's
key order, so the next snapshot can tell which keys vanished (:mod:`~airflow_provider_dataeng.sql_source.deletes`).

Written under a temporary name while the keys stream by, and given its final name just before the manifest:
a folder that is also where the previous snapshot's keys are (a destination without a per-run part) is read
to the end before it is replaced.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any

KEYS_NAME = "_keys.jsonl.zst"
_NEXT_NAME = "_keys.next.jsonl.zst"


class KeyFileWriter:
    """Streams key rows into ``<root>/_keys.next.jsonl.zst``; :meth:`publish` renames it to ``_keys.jsonl.zst``."""

    def __init__(self, fs: Any, root: str) -> None:
        import zstandard

        self.fs = fs
        self.root = root
        self.count = 0
        self._raw = fs.open(f"{root}/{_NEXT_NAME}", "wb", block_size=8 * 2**20)
        self._writer = zstandard.ZstdCompressor(level=3).stream_writer(self._raw, closefd=False)

    def tee(self, rows: Iterable[bytes]) -> Iterator[bytes]:
        """Pass ``rows`` through, writing each one."""
        for row in rows:
            self._writer.write(row + b"\n")
            self.count += 1
            yield row

    def publish(self) -> str:
        """Close the file and give it its final name; returns its URL."""
        self._writer.close()
        self._raw.close()
        final = f"{self.root}/{KEYS_NAME}"
        self.fs.mv(f"{self.root}/{_NEXT_NAME}", final)
        return str(self.fs.unstrip_protocol(final))

    def discard(self) -> None:
        try:
            self._writer.close()
            self._raw.close()
            self.fs.rm(f"{self.root}/{_NEXT_NAME}")
        except (OSError, ValueError):  # the original failure matters more
            pass


def read_keys(url: str, storage_options: dict[str, Any] | None = None) -> Iterator[bytes]:
    """The key rows of a published key file, streamed."""
    import zstandard
    from fsspec.core import url_to_fs

    options = dict(storage_options or {})
    if not url.startswith(("s3://", "s3a://")):
        options.pop("skip_instance_cache", None)
    fs, path = url_to_fs(url, **options)
    with fs.open(path, "rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as reader:
        for line in io.BufferedReader(reader, buffer_size=1 << 20):  # type: ignore[arg-type]
            row = line.rstrip(b"\n")
            if row:
                yield row
