"""Named stages' files: resolving ``@stage/path`` (shared with COPY), LIST and REMOVE.

``LIST @stage[/path] [PATTERN = '<regex>']`` returns Snowflake's columns ``name, size, md5, last_modified``:
for an S3 stage ``name`` is the object's full ``s3://bucket/key`` URL, ``md5`` its ETag (without quotes) and
``last_modified`` text such as ``Sat, 28 Nov 2026 14:17:10 GMT``. ``REMOVE @stage[/path] [PATTERN = ...]``
(also ``RM``) deletes the matching files and returns ``name, result`` with ``result = 'removed'``.

The path is a prefix (``@s/a`` covers ``a.json`` and ``a/b.json``), as in Snowflake. PATTERN must match a
whole path: the object's path inside the bucket (``prefix/sub/a.json``) or its path inside the stage
(``sub/a.json``); COPY's PATTERN matches the same way here. fakesnow keeps LIST for user and table stages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

import sqlglot
from fakesnow.transforms import stage as fs_stage

from dataeng_local.snowflake._sql import programming_error
from dataeng_local.snowflake.storage import StagedFile

if TYPE_CHECKING:
    from dataeng_local.snowflake.cursor import LocalCursor

COMMAND_RE = re.compile(
    r"^(?P<cmd>LIST|LS|REMOVE|RM)\s+(?P<location>'(?:[^'\\]|''|\\.)*'|@\S+)"
    r"(?:\s+PATTERN\s*=\s*(?P<pattern>'(?:[^'\\]|''|\\.)*'))?\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
LIST_COLUMNS = ("name", "size", "md5", "last_modified")
REMOVE_COLUMNS = ("name", "result")


@dataclass(frozen=True)
class StageLocation:
    """A stage reference resolved to storage: ``root`` is the stage's URL or directory (ends with '/')."""

    root: str
    path: str
    credentials: dict[str, str] | None

    @property
    def location(self) -> str:
        return self.root + self.path

    @property
    def external(self) -> bool:
        return self.root.lower().startswith("s3://")

    def staged(self, url: str, modified: Any = None) -> StagedFile:
        if self.external:
            rest = url[len("s3://") :]
            name = rest.split("/", 1)[1] if "/" in rest else ""
            return StagedFile(url=url, name=name, result_name=url, last_modified=modified)
        return StagedFile(
            url=url,
            name=url[len(self.root) :],
            result_name=fs_stage.internal_file_name(url),
            last_modified=modified,
        )

    def matches(self, regex: re.Pattern[str], staged: StagedFile) -> bool:
        return bool(regex.fullmatch(staged.name) or regex.fullmatch(staged.url[len(self.root) :]))


def resolve(cursor: LocalCursor, source: str) -> StageLocation:
    """``@[db.][schema.]stage[/path]`` (a named stage) or an ``s3://`` URL."""
    conn = cursor._conn  # noqa: SLF001
    if not source.startswith("@"):
        root = source if source.endswith("/") else source + "/"
        return StageLocation(root, "", None)
    stage_var, _, path = source[1:].partition("/")
    if not conn.database or (stage_var.count(".") < 1 and not conn.schema):
        raise programming_error(
            "Cannot perform operation. This session does not have a current database. Call 'USE DATABASE', "
            "or use a qualified name.",
            90105,
            "22000",
        )
    database, schema, name = fs_stage.parts_from_var(stage_var, conn.database, conn.schema)
    row = cursor._duck_conn.execute(  # noqa: SLF001
        "SELECT url FROM _fs_global._fs_information_schema._fs_stages "
        "WHERE database_name = ? AND schema_name = ? AND name = ?",
        [database, schema, name],
    ).fetchone()
    if not row:
        raise fs_stage.not_found_error(f"{database}.{schema}.{name}")
    credentials = cursor.extensions.catalog.credentials(f"{database}.{schema}.{name}")
    root = row[0] or fs_stage.internal_dir(f"{database}.{schema}.{name}")
    root = root if root.endswith("/") else root + "/"
    return StageLocation(root, path, credentials)


def handles(sql: str) -> bool:
    """LIST and REMOVE on named stages (user and table stages, ``@~`` and ``@%t``, stay with fakesnow)."""
    m = COMMAND_RE.match(sql)
    if not m:
        return False
    location = _unquote(m["location"])
    return location.startswith("@") and not location.startswith(("@~", "@%"))


def execute(cursor: LocalCursor, sql: str) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    m = COMMAND_RE.match(sql)
    assert m
    loc = resolve(cursor, _unquote(m["location"]))
    storage = cursor.extensions.storage
    regex = re.compile(_unquote(m["pattern"])) if m["pattern"] else None
    files = []
    for info in storage.list_details(loc.location, loc.credentials):
        staged = loc.staged(info.url, info.modified)
        if regex is None or loc.matches(regex, staged):
            files.append((staged, info))
    if m["cmd"].upper() in {"LIST", "LS"}:
        rows = [
            (
                staged.result_name,
                info.size,
                info.md5,
                _http_date(info.modified),
            )
            for staged, info in files
        ]
        return LIST_COLUMNS, rows
    for staged, _ in files:
        storage.remove(staged.url, loc.credentials)
    return REMOVE_COLUMNS, [(staged.result_name, "removed") for staged, _ in files]


def _http_date(value: datetime | None) -> str | None:
    """``Sat, 28 Nov 2026 14:17:10 GMT``, as LIST shows last_modified."""
    return format_datetime(value.astimezone(timezone.utc), usegmt=True) if value else None


def _unquote(text: str) -> str:
    if text.startswith("'"):
        return str(sqlglot.parse_one(text, read="snowflake").name)
    return text
