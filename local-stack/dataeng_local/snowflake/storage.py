"""Where staged files live: S3 (through s3fs, pointed at the local S3 stand-in) or local directories."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlparse

import fsspec


@dataclass(frozen=True)
class StagedFile:
    """One file a COPY reads.

    ``url`` identifies the file in load metadata and in the COPY result for external locations,
    ``name`` is what Snowflake returns as METADATA$FILENAME (the path inside the bucket for S3, the
    path inside the stage for internal stages).
    """

    url: str
    name: str
    result_name: str
    last_modified: datetime | None = None


@dataclass(frozen=True)
class StoredFile:
    """A file as LIST shows it: ``md5`` is the S3 ETag (unquoted), or the content's MD5 for local files."""

    url: str
    size: int
    md5: str | None
    modified: datetime | None


class Storage:
    """Lists and reads files; one s3fs filesystem per credentials, all talking to ``s3_endpoint``."""

    def __init__(self, s3_endpoint: str | None) -> None:
        self.s3_endpoint = s3_endpoint
        self._s3: dict[tuple[str, str], Any] = {}

    def s3(self, key_id: str | None = None, secret: str | None = None) -> Any:
        """An s3fs filesystem for the local endpoint (any credentials work against moto)."""
        creds = (
            key_id or os.environ.get("AWS_ACCESS_KEY_ID", "local"),
            secret or os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
        )
        if creds not in self._s3:
            import s3fs

            client_kwargs: dict[str, Any] = {"region_name": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
            if self.s3_endpoint:
                client_kwargs["endpoint_url"] = self.s3_endpoint
            self._s3[creds] = s3fs.S3FileSystem(
                key=creds[0],
                secret=creds[1],
                client_kwargs=client_kwargs,
                use_listings_cache=False,
                skip_instance_cache=True,
            )
        return self._s3[creds]

    def filesystem(self, url: str, credentials: dict[str, str] | None = None) -> Any:
        scheme = urlparse(url).scheme
        if scheme == "s3":
            creds = credentials or {}
            return self.s3(creds.get("AWS_KEY_ID"), creds.get("AWS_SECRET_KEY"))
        return fsspec.filesystem("file")

    def list(
        self, location: str, credentials: dict[str, str] | None = None
    ) -> list[tuple[str, datetime | None]]:
        """Files whose URL starts with ``location`` (a prefix, as Snowflake matches it), sorted."""
        return [(f.url, f.modified) for f in self.list_details(location, credentials, checksums=False)]

    def list_details(
        self, location: str, credentials: dict[str, str] | None = None, checksums: bool = True
    ) -> Sequence[StoredFile]:
        """Like :meth:`list`, with each file's ``size``, ``md5`` (S3: the ETag, unquoted) and ``modified``."""
        fs = self.filesystem(location, credentials)
        if urlparse(location).scheme == "s3":
            path = location[len("s3://") :]
            base = path if path.endswith("/") else path.rsplit("/", 1)[0] + "/"
            if not fs.exists(base.rstrip("/")) and "/" in base.rstrip("/"):
                return []
            infos = fs.find(base.rstrip("/"), detail=True)
            return sorted(
                (
                    StoredFile(
                        url=f"s3://{p}",
                        size=int(info.get("size") or 0),
                        md5=str(info.get("ETag") or "").strip('"'),
                        modified=_modified(info),
                    )
                    for p, info in infos.items()
                    if p.startswith(path) and info.get("type") != "directory"
                ),
                key=lambda f: f.url,
            )
        path = _local_path(location)
        base = path if path.endswith("/") else os.path.dirname(path)
        if not os.path.isdir(base):
            return []
        found = []
        for root, _dirs, files in os.walk(base):
            for f in files:
                full = os.path.join(root, f)
                if full.startswith(path):
                    md5 = None
                    if checksums:
                        with open(full, "rb") as fh:
                            md5 = hashlib.md5(fh.read()).hexdigest()  # noqa: S324 - a checksum
                    found.append(
                        StoredFile(
                            url=full,
                            size=os.path.getsize(full),
                            md5=md5,
                            modified=datetime.fromtimestamp(os.path.getmtime(full), tz=timezone.utc),
                        )
                    )
        return sorted(found, key=lambda f: f.url)

    def read(self, url: str, credentials: dict[str, str] | None = None) -> bytes:
        fs = self.filesystem(url, credentials)
        path = url[len("s3://") :] if url.startswith("s3://") else _local_path(url)
        with fs.open(path, "rb") as f:
            return f.read()  # type: ignore[no-any-return]

    def exists(self, url: str, credentials: dict[str, str] | None = None) -> bool:
        fs = self.filesystem(url, credentials)
        path = url[len("s3://") :] if url.startswith("s3://") else _local_path(url)
        return bool(fs.isfile(path))

    def remove(self, url: str, credentials: dict[str, str] | None = None) -> None:
        fs = self.filesystem(url, credentials)
        fs.rm(url[len("s3://") :] if url.startswith("s3://") else _local_path(url))


def content_key(data: bytes) -> str:
    """METADATA$FILE_CONTENT_KEY: a checksum of the file."""
    return hashlib.md5(data).hexdigest()  # noqa: S324 - a checksum, not security


def _local_path(url: str) -> str:
    return urlparse(url).path if url.startswith("file://") else url


def _modified(info: dict[str, Any]) -> datetime | None:
    value = info.get("LastModified")
    return value if isinstance(value, datetime) else None
