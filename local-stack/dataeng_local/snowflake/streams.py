"""Table streams, emulated on DuckDB: a snapshot of the base table as of the stream's offset, and a
view with the net changes since then.

Objects (all hidden in the database's ``_fs_information_schema``, which fakesnow keeps out of
SHOW and INFORMATION_SCHEMA):

- ``_fs_streams``: one row per stream (name, base table, mode, columns at creation);
- ``"_fs_stream_<SCHEMA>_<NAME>"``: the offset: for default streams the base table rows keyed by their
  DuckDB ``rowid`` with a hash of each row, for append-only streams just the high-water rowid
  (see :mod:`stream_changes`, which also builds the change SQL and applies consumption);
- ``"_fs_stream_<SCHEMA>_<NAME>_kept"`` (append-only streams): rows inserted since the offset, kept as
  inserted before an UPDATE, DELETE, MERGE, TRUNCATE or INSERT OVERWRITE on the base table could change
  them (:meth:`StreamRegistry.keep_inserts`, called by the cursor before such statements);
- ``"_fs_stream_<SCHEMA>_<NAME>_changes"``: the view a query of the stream is rewritten to.

A row's identity is its DuckDB ``rowid``. DuckDB keeps rowids stable as long as checkpoints do not
vacuum deleted rows, so the server sets ``max_vacuum_tasks = 0``. An UPDATE keeps the rowid, which
is how an update shows up as a DELETE + INSERT pair with ``METADATA$ISUPDATE = TRUE``, and
``METADATA$ROW_ID`` is an md5 of the base table name and the rowid.

Consuming: a DML statement (INSERT, UPDATE, DELETE, MERGE, CREATE TABLE AS) that reads a stream
applies the net changes to the snapshot in the same transaction, so the offset moves if and only if
the statement commits (at once in autocommit mode, at COMMIT inside a transaction). A SELECT never
moves it. ``SYSTEM$STREAM_HAS_DATA`` is answered before the statement runs: TRUE as soon as a row sits
above the offset's high-water mark, else (default streams) an EXISTS over the change view.
"""

from __future__ import annotations

import datetime
import json
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb
from sqlglot import exp

from dataeng_local.snowflake import stream_changes
from dataeng_local.snowflake._sql import duckdb_errors, normalise, programming_error, quote
from dataeng_local.snowflake.stream_changes import HIDDEN_SCHEMA, LOCAL_ROWIDS, RID

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

__all__ = ["HIDDEN_SCHEMA", "LOCAL_ROWIDS", "RID", "Stream", "StreamRegistry"]
_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
_NAME = rf"{_IDENT}(?:\s*\.\s*{_IDENT}){{0,2}}"
CREATE_RE = re.compile(
    rf"^CREATE\s+(?P<replace>OR\s+REPLACE\s+)?STREAM\s+(?P<ifnot>IF\s+NOT\s+EXISTS\s+)?(?P<name>{_NAME})\s+"
    rf"(?:COPY\s+GRANTS\s+)?ON\s+(?P<kind>TABLE|VIEW|EXTERNAL\s+TABLE|STAGE)\s+(?P<table>{_NAME})(?P<rest>.*?);?\s*$",
    re.IGNORECASE | re.DOTALL,
)
DROP_RE = re.compile(
    rf"^DROP\s+STREAM\s+(?P<ifexists>IF\s+EXISTS\s+)?(?P<name>{_NAME})\s*;?\s*$", re.IGNORECASE
)
SHOW_RE = re.compile(
    r"^SHOW\s+(?P<terse>TERSE\s+)?STREAMS(?:\s+LIKE\s+'(?P<like>(?:[^']|'')*)')?"
    rf"(?:\s+IN\s+(?:(?P<account>ACCOUNT)|(?P<scope>DATABASE|SCHEMA)?\s*(?P<scope_name>{_NAME})?))?\s*;?\s*$",
    re.IGNORECASE,
)
DESCRIBE_RE = re.compile(rf"^DESC(?:RIBE)?\s+STREAM\s+(?P<name>{_NAME})\s*;?\s*$", re.IGNORECASE)
# statements that can update or delete rows of an existing table
_CHANGES_ROWS_RE = re.compile(r"^(?:UPDATE|DELETE|MERGE|TRUNCATE|INSERT\s+OVERWRITE)\b", re.IGNORECASE)
_OPTION_RE = re.compile(r"(\w+)\s*=\s*('(?:[^']|'')*'|\w+)", re.IGNORECASE)

SHOW_COLUMNS = (
    "created_on",
    "name",
    "database_name",
    "schema_name",
    "owner",
    "comment",
    "table_name",
    "source_type",
    "base_tables",
    "type",
    "stale",
    "mode",
    "stale_after",
    "invalid_reason",
    "owner_role_type",
)


@dataclass(frozen=True)
class Stream:
    database: str
    schema: str
    name: str
    table_database: str
    table_schema: str
    table_name: str
    append_only: bool
    columns: tuple[str, ...]
    created_on: datetime.datetime
    comment: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.database, self.schema, self.name)

    @property
    def snapshot(self) -> str:
        return f"{quote(self.database)}.{HIDDEN_SCHEMA}.{quote(f'_fs_stream_{self.schema}_{self.name}')}"

    @property
    def kept(self) -> str:
        return f"{quote(self.database)}.{HIDDEN_SCHEMA}.{quote(f'_fs_stream_{self.schema}_{self.name}_kept')}"

    @property
    def view_name(self) -> str:
        return f"_fs_stream_{self.schema}_{self.name}_changes"

    @property
    def base(self) -> str:
        return f"{quote(self.table_database)}.{quote(self.table_schema)}.{quote(self.table_name)}"

    @property
    def fqname(self) -> str:
        return f"{self.database}.{self.schema}.{self.name}"


def split_name(text: str, database: str | None, schema: str | None) -> tuple[str, str, str]:
    """Resolve ``[db.][schema.]name`` against the session's current database and schema."""
    parts = [normalise(p.strip()) for p in re.findall(_IDENT, text)]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if len(parts) == 2:
        if not database:
            raise programming_error(
                "Cannot perform operation. This session does not have a current database.", 90105, "22000"
            )
        return database, parts[0], parts[1]
    if not database or not schema:
        raise programming_error(
            "Cannot perform operation. This session does not have a current database or schema.",
            90106,
            "22000",
        )
    return database, schema, parts[0]


class StreamRegistry:
    """All streams of the attached databases, cached in memory (the server is their only writer)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._streams: dict[tuple[str, str, str], Stream] = {}
        self.names: frozenset[str] = frozenset()
        self._mention: re.Pattern[str] | None = None
        self._append_only_tables: re.Pattern[str] | None = None
        self._set_names()

    def mentioned_in(self, sql: str) -> bool:
        """Cheap pre-check: could the statement read a stream (or call SYSTEM$STREAM_HAS_DATA)?"""
        return self._mention is not None and self._mention.search(sql) is not None

    def keep_inserts(self, duck: DuckDBPyConnection, sql: str) -> None:
        """Before a statement that may update or delete rows of a table with append-only streams, keep
        the rows inserted since each stream's offset (Snowflake's append-only streams record every
        insert). Statements are matched on their kind and the table's name, so a few more than needed
        are (harmlessly) covered, e.g. a same-named table in another schema."""
        if self._append_only_tables is None or not _CHANGES_ROWS_RE.match(sql):
            return
        mentioned = {m.upper() for m in self._append_only_tables.findall(sql)}
        for stream in self.all():
            if stream.append_only and stream.table_name.upper() in mentioned:
                with duckdb_errors(2003, "42S02"):
                    stream_changes.keep_inserts(duck, stream)

    def _set_names(self) -> None:
        self.names = frozenset(s.name.upper() for s in self._streams.values())
        words = sorted((re.escape(n) for n in self.names), key=len, reverse=True)
        names = r"(?<![\w$])(?:" + "|".join(words) + r")(?![\w$])|" if words else ""
        self._mention = re.compile(names + r"SYSTEM\$STREAM_HAS_DATA", re.IGNORECASE)
        tables = {s.table_name for s in self._streams.values() if s.append_only}
        words = sorted((re.escape(t) for t in tables), key=len, reverse=True)
        self._append_only_tables = (
            re.compile(r"(?<![\w$])(" + "|".join(words) + r")(?![\w$])", re.IGNORECASE) if words else None
        )

    # -- loading ---------------------------------------------------------------------------------------
    def reload(self, duck: DuckDBPyConnection) -> None:
        """Read every attached database's stream table."""
        streams: dict[tuple[str, str, str], Stream] = {}
        for (database,) in duck.execute(
            "SELECT DISTINCT database_name FROM duckdb_tables() WHERE schema_name = ? AND table_name = '_fs_streams'",
            [HIDDEN_SCHEMA],
        ).fetchall():
            for row in duck.execute(
                f"SELECT schema_name, name, table_database, table_schema, table_name, mode, columns, created_on, comment "
                f"FROM {quote(database)}.{HIDDEN_SCHEMA}._fs_streams"
            ).fetchall():
                s = Stream(
                    database,
                    row[0],
                    row[1],
                    row[2],
                    row[3],
                    row[4],
                    row[5] == "APPEND_ONLY",
                    tuple(json.loads(row[6])),
                    row[7],
                    row[8] or "",
                )
                streams[s.key] = s
        for s in streams.values():
            stream_changes.migrate(duck, s)
        with self._lock:
            self._streams = streams
            self._set_names()

    def get(self, key: tuple[str, str, str]) -> Stream | None:
        return self._streams.get(key)

    def all(self) -> list[Stream]:
        return sorted(self._streams.values(), key=lambda s: s.key)

    def _put(self, stream: Stream | None, key: tuple[str, str, str]) -> None:
        with self._lock:
            if stream is None:
                self._streams.pop(key, None)
            else:
                self._streams[key] = stream
            self._set_names()

    # -- DDL ---------------------------------------------------------------------------------------------
    def create(self, duck: DuckDBPyConnection, sql: str, database: str | None, schema: str | None) -> str:
        m = CREATE_RE.match(sql)
        if not m:
            raise programming_error(
                f"SQL compilation error:\nsyntax error in CREATE STREAM: {sql[:200]}", 1003, "42000"
            )
        if m["kind"].upper() != "TABLE":
            raise programming_error(
                f"Streams on {m['kind'].upper()} are not supported by the local Snowflake.", 2, "0A000"
            )
        db, sch, name = split_name(m["name"], database, schema)
        tdb, tsch, tname = split_name(m["table"], database, schema)
        options = {k.upper(): v for k, v in _OPTION_RE.findall(m["rest"] or "")}
        unknown = set(options) - {"APPEND_ONLY", "SHOW_INITIAL_ROWS", "COMMENT", "INSERT_ONLY"}
        if unknown or re.search(r"\b(AT|BEFORE)\s*\(", m["rest"] or "", re.IGNORECASE):
            raise programming_error(
                f"CREATE STREAM options {sorted(unknown) or ['AT/BEFORE']} are not supported by the local Snowflake.",
                2,
                "0A000",
            )
        existing = self.get((db, sch, name))
        if existing and not m["replace"]:
            if m["ifnot"]:
                return f"{name} already exists, statement succeeded."
            raise programming_error(f"SQL compilation error:\nObject '{name}' already exists.", 2002, "42710")
        try:
            described = duck.execute(f"DESCRIBE {quote(tdb)}.{quote(tsch)}.{quote(tname)}").fetchall()
        except duckdb.CatalogException as e:
            raise programming_error(
                f"SQL compilation error:\nTable '{tdb}.{tsch}.{tname}' does not exist or not authorized.",
                2003,
                "42S02",
            ) from e
        comment = options.get("COMMENT", "''")
        stream = Stream(
            database=db,
            schema=sch,
            name=name,
            table_database=tdb,
            table_schema=tsch,
            table_name=tname,
            append_only=options.get("APPEND_ONLY", "FALSE").upper() == "TRUE",
            columns=tuple(r[0] for r in described),
            created_on=datetime.datetime.now(datetime.timezone.utc),
            comment=comment[1:-1].replace("''", "'") if comment.startswith("'") else comment,
        )
        initial = options.get("SHOW_INITIAL_ROWS", "FALSE").upper() == "TRUE"
        self._create_objects(duck, stream, initial)
        return f"Stream {name} successfully created."

    def _create_objects(self, duck: DuckDBPyConnection, stream: Stream, show_initial_rows: bool) -> None:
        hidden = f"{quote(stream.database)}.{HIDDEN_SCHEMA}"
        _begin_ddl(duck)
        try:
            duck.execute(f"CREATE SCHEMA IF NOT EXISTS {hidden}")
            duck.execute(
                f"CREATE TABLE IF NOT EXISTS {hidden}._fs_streams (schema_name VARCHAR, name VARCHAR, "
                "table_database VARCHAR, table_schema VARCHAR, table_name VARCHAR, mode VARCHAR, columns VARCHAR, "
                "created_on TIMESTAMPTZ, comment VARCHAR)"
            )
            self._drop_objects(duck, stream.database, stream.schema, stream.name)
            columns = stream_changes.base_columns(duck, stream)
            stream_changes.create_snapshot(duck, stream, columns, empty=show_initial_rows)
            stream_changes.create_view(duck, stream, columns)
            duck.execute(
                f"INSERT INTO {hidden}._fs_streams VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    stream.schema,
                    stream.name,
                    stream.table_database,
                    stream.table_schema,
                    stream.table_name,
                    "APPEND_ONLY" if stream.append_only else "DEFAULT",
                    json.dumps(list(stream.columns)),
                    stream.created_on,
                    stream.comment,
                ],
            )
            duck.commit()
        except BaseException:
            duck.rollback()
            raise
        self._put(stream, stream.key)

    def _drop_objects(self, duck: DuckDBPyConnection, database: str, schema: str, name: str) -> None:
        hidden = f"{quote(database)}.{HIDDEN_SCHEMA}"
        duck.execute(f"DROP VIEW IF EXISTS {hidden}.{quote(f'_fs_stream_{schema}_{name}_changes')}")
        duck.execute(f"DROP TABLE IF EXISTS {hidden}.{quote(f'_fs_stream_{schema}_{name}')}")
        duck.execute(f"DROP TABLE IF EXISTS {hidden}.{quote(f'_fs_stream_{schema}_{name}_kept')}")
        duck.execute(f"DELETE FROM {hidden}._fs_streams WHERE schema_name = ? AND name = ?", [schema, name])

    def drop(self, duck: DuckDBPyConnection, sql: str, database: str | None, schema: str | None) -> str:
        m = DROP_RE.match(sql)
        assert m
        db, sch, name = split_name(m["name"], database, schema)
        if not self.get((db, sch, name)):
            if m["ifexists"]:
                return "Drop statement executed successfully (" + name + " already dropped)."
            raise programming_error(
                f"SQL compilation error:\nStream '{db}.{sch}.{name}' does not exist or not authorized.",
                2003,
                "02000",
            )
        _begin_ddl(duck)
        try:
            self._drop_objects(duck, db, sch, name)
            duck.commit()
        except BaseException:
            duck.rollback()
            raise
        self._put(None, (db, sch, name))
        return f"{name} successfully dropped."

    # -- SHOW / DESCRIBE -----------------------------------------------------------------------------------
    def show_rows(
        self, sql: str, database: str | None, schema: str | None
    ) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        m = SHOW_RE.match(sql) or DESCRIBE_RE.match(sql)
        assert m
        streams = self.all()
        db: str | None
        sch: str | None
        if "terse" not in m.groupdict():  # DESCRIBE STREAM
            key = split_name(m["name"], database, schema)
            found = self.get(key)
            if not found:
                raise programming_error(
                    f"SQL compilation error:\nStream '{'.'.join(key)}' does not exist or not authorized.",
                    2003,
                    "02000",
                )
            streams = [found]
        else:
            if m["like"] is not None:
                like = re.compile(
                    "".join(
                        ".*" if ch == "%" else "." if ch == "_" else re.escape(ch)
                        for ch in m["like"].replace("''", "'")
                    ),
                    re.IGNORECASE | re.DOTALL,
                )
                streams = [s for s in streams if like.fullmatch(s.name)]
            if not m["account"]:
                scope, scope_name = (m["scope"] or "").upper(), m["scope_name"]
                if scope == "DATABASE":
                    db = normalise(scope_name) if scope_name else database
                    streams = [s for s in streams if s.database == db]
                else:
                    if scope_name:
                        parts = [normalise(p) for p in re.findall(_IDENT, scope_name)]
                        db, sch = (parts[0], parts[1]) if len(parts) == 2 else (database, parts[0])
                    else:
                        db, sch = database, schema
                    if scope == "SCHEMA" or scope_name or db:
                        streams = [
                            s for s in streams if s.database == db and (sch is None or s.schema == sch)
                        ]
        rows = []
        for s in streams:
            created = s.created_on.astimezone(datetime.timezone.utc)
            table = f"{s.table_database}.{s.table_schema}.{s.table_name}"
            rows.append(
                (
                    created,
                    s.name,
                    s.database,
                    s.schema,
                    "SYSADMIN",
                    s.comment,
                    table,
                    "Table",
                    table,
                    "DELTA",
                    "false",
                    "APPEND_ONLY" if s.append_only else "DEFAULT",
                    created + datetime.timedelta(days=14),
                    "N/A",
                    "ROLE",
                )
            )
        if "terse" in m.groupdict() and m["terse"]:
            return ("created_on", "name", "kind", "database_name", "schema_name", "tableOn"), [
                (r[0], r[1], r[9], r[2], r[3], r[6]) for r in rows
            ]
        return SHOW_COLUMNS, rows

    # -- queries -------------------------------------------------------------------------------------------
    def rewrite(
        self,
        expression: exp.Expr,
        database: str | None,
        schema: str | None,
        duck: DuckDBPyConnection | None = None,
    ) -> tuple[list[Stream], bool]:
        """Point references to streams at their change views (in place).

        With ``duck``, a view left behind by ALTER TABLE on the base table is re-created first.

        Returns the streams the statement reads (their offsets move if it is DML) and whether anything
        changed (SYSTEM$STREAM_HAS_DATA reads a stream without consuming it).
        """
        read: dict[tuple[str, str, str], Stream] = {}
        changed = False
        for table in list(expression.find_all(exp.Table)):
            if not isinstance(table.this, exp.Identifier) or table.name.upper() not in self.names:
                continue
            key = (
                _ident(table.args.get("catalog")) or database or "",
                _ident(table.args.get("db")) or schema or "",
                _ident(table.this),
            )
            stream = self.get(key)  # type: ignore[arg-type]
            if not stream:
                continue
            if duck is not None and stream.key not in read:
                stream_changes.refresh_view(duck, stream)
            read[stream.key] = stream
            alias = table.args.get("alias") or exp.TableAlias(
                this=exp.to_identifier(table.name, quoted=table.this.quoted)
            )
            table.replace(
                exp.Table(
                    this=exp.to_identifier(stream.view_name, quoted=True),
                    db=exp.to_identifier(HIDDEN_SCHEMA),
                    catalog=exp.to_identifier(stream.database, quoted=True),
                    alias=alias,
                )
            )
        for func in list(expression.find_all(exp.Anonymous)):
            if str(func.this).upper() != "SYSTEM$STREAM_HAS_DATA":
                continue
            arg = func.expressions[0] if func.expressions else None
            if not isinstance(arg, exp.Literal):
                raise programming_error(
                    "SYSTEM$STREAM_HAS_DATA needs the stream name as a string literal.", 1003, "42000"
                )
            key = split_name(arg.name, database, schema)
            stream = self.get(key)
            if not stream:
                raise programming_error(
                    f"SQL compilation error:\nStream '{'.'.join(key)}' does not exist or not authorized.",
                    2003,
                    "02000",
                )
            # rows above the offset's high-water mark answer it at once (all an append-only stream has)
            if duck is not None:
                with duckdb_errors(2003, "42S02"):  # e.g. the base table was dropped
                    has_new = stream_changes.has_new_rows(duck, stream)
                if has_new or stream.append_only:
                    func.replace(exp.true() if has_new else exp.false())
                    changed = True
                    continue
                stream_changes.refresh_view(duck, stream)
            view = exp.Table(
                this=exp.to_identifier(stream.view_name, quoted=True),
                db=exp.to_identifier(HIDDEN_SCHEMA),
                catalog=exp.to_identifier(stream.database, quoted=True),
            )
            func.replace(exp.Exists(this=exp.select("1").from_(view)))
            changed = True
        return list(read.values()), changed or bool(read)

    def advance(self, duck: DuckDBPyConnection, stream: Stream) -> None:
        """Move the stream's offset to the base table as this transaction sees it (net changes only)."""
        stream_changes.advance(duck, stream)


def _begin_ddl(duck: DuckDBPyConnection) -> None:
    """Stream DDL runs in a transaction of its own (the cursor commits any open one first, as Snowflake does)."""
    duck.begin()


def _ident(node: Any) -> str | None:
    if node is None:
        return None
    if isinstance(node, exp.Identifier):
        return node.this if node.quoted else node.this.upper()
    return str(node.name).upper()
