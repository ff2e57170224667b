"""The session cursor: routes each statement to an extension or to fakesnow.

Routing, in order: no-op session statements; stream DDL/SHOW/DESCRIBE; DROP STAGE/FILE FORMAT;
statements that read streams (rewritten to the change views, and consuming them when DML);
LIST/REMOVE on named stages; COPY INTO from named stages; MERGE (native DuckDB); everything else goes to
fakesnow unchanged.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import snowflake.connector.errors
from fakesnow import transforms as fs_transforms
from fakesnow.conn import FakeSnowflakeConnection
from fakesnow.cursor import FakeSnowflakeCursor
from fakesnow.dialect import parse_one
from snowflake.connector.cursor import SnowflakeCursor
from sqlglot import exp

from dataeng_local.snowflake import catalog as catalog_mod
from dataeng_local.snowflake import copy as copy_mod
from dataeng_local.snowflake import merge as merge_mod
from dataeng_local.snowflake import stage_files as stage_files_mod
from dataeng_local.snowflake import streams as streams_mod
from dataeng_local.snowflake._sql import (
    programming_error,
    set_result,
    strip_leading_comments,
)
from dataeng_local.snowflake.session_state import QueryHistory, SessionState
from dataeng_local.snowflake.transactions import in_transaction, statement_transaction

if TYPE_CHECKING:
    from dataeng_local.snowflake.catalog import CatalogStore
    from dataeng_local.snowflake.storage import Storage
    from dataeng_local.snowflake.streams import Stream, StreamRegistry

logger = logging.getLogger(__name__)

# Session statements with no effect locally that fakesnow rejects (dbt, the Snowflake hook, BI tools).
NOP_PATTERNS = [
    r"ALTER\s+SESSION\s+(UN)?SET\s+(?!AUTOCOMMIT\b|QUOTED_IDENTIFIERS_IGNORE_CASE\b)",
    r"ALTER\s+(WAREHOUSE|ACCOUNT|USER)\b",
    r"USE\s+SECONDARY\s+ROLES\b",
    r"(CREATE|ALTER|DROP)\s+(OR\s+REPLACE\s+)?(RESOURCE\s+MONITOR|WAREHOUSE)\b",
    r"GRANT\b",
    r"REVOKE\b",
]
NOP_RE = re.compile("^(?:" + "|".join(NOP_PATTERNS) + ")", re.IGNORECASE)
DML_TYPES = (exp.Insert, exp.Update, exp.Delete, exp.Merge)
TX_RE = re.compile(r"^(?P<op>BEGIN|START\s+TRANSACTION|COMMIT|ROLLBACK)\b", re.IGNORECASE)
DB_CHANGE_RE = re.compile(r"^(CREATE|DROP)\s+(OR\s+REPLACE\s+)?(DATABASE|SCHEMA)\b", re.IGNORECASE)


@dataclass
class Extensions:
    """State shared by all sessions of one server."""

    storage: Storage
    catalog: CatalogStore
    streams: StreamRegistry
    history: QueryHistory = field(default_factory=QueryHistory)


class LocalConnection(FakeSnowflakeConnection):
    """A fakesnow session whose cursors are :class:`LocalCursor`."""

    def __init__(self, extensions: Extensions, *args: Any, **kwargs: Any) -> None:
        self.extensions = extensions
        # streams in another database than the DML's target: advanced after COMMIT (DuckDB writes one
        # database per transaction)
        self.deferred_streams: list[Stream] = []
        self.in_explicit_transaction = False
        self.session_state = SessionState()  # the login sets it (session_state.login_endpoint)
        super().__init__(*args, **kwargs)

    def cursor(self, cursor_class: type[SnowflakeCursor] = SnowflakeCursor) -> FakeSnowflakeCursor:
        from snowflake.connector.cursor import DictCursor

        return LocalCursor(conn=self, duck_conn=self._duck_conn, use_dict_result=cursor_class == DictCursor)


@dataclass
class _Statement:
    text: str
    params: Any
    kwargs: dict[str, Any] = field(default_factory=dict)


class LocalCursor(FakeSnowflakeCursor):
    _conn: LocalConnection

    @property
    def extensions(self) -> Extensions:
        return self._conn.extensions

    def execute(self, command: str, params: Any = None, *args: Any, **kwargs: Any) -> FakeSnowflakeCursor:
        if not kwargs.get("server"):
            return self._execute_checked(command, params, *args, **kwargs)
        # a client's statement: applied to the session's settings and recorded in the query history
        state = self._conn.session_state
        if state.apply(strip_leading_comments(command).strip()):
            self._execute(fs_transforms.SUCCESS_NOP.copy())
            self.extensions.history.record(id(self._conn), state, command, self.sfqid, None)
            return self
        try:
            result = self._execute_checked(command, params, *args, **kwargs)
        except Exception as e:
            self.extensions.history.record(id(self._conn), state, command, None, str(e))
            raise
        self.extensions.history.record(id(self._conn), state, command, self.sfqid, None)
        return result

    def _execute_checked(
        self, command: str, params: Any = None, *args: Any, **kwargs: Any
    ) -> FakeSnowflakeCursor:
        try:
            return self._dispatch(command, params, *args, **kwargs)
        except (snowflake.connector.errors.Error, NotImplementedError):
            raise
        except Exception as e:
            # a bug or an unsupported feature in our extensions: fail the query (an HTTP 500 would be retried)
            logger.exception("local Snowflake extension failed on %r", command[:500])
            raise programming_error(
                f"Local Snowflake extension error: {type(e).__name__}: {e}", 9999, "99999"
            ) from e

    def _dispatch(self, command: str, params: Any = None, *args: Any, **kwargs: Any) -> FakeSnowflakeCursor:
        body = strip_leading_comments(command).strip()
        conn = self._conn
        ext = self.extensions
        if NOP_RE.match(body):
            self._execute(fs_transforms.SUCCESS_NOP.copy())
            return self
        upper = body[:40].upper()
        if upper.startswith("CREATE") and streams_mod.CREATE_RE.match(body):
            self._commit_open_transaction()
            status = ext.streams.create(self._duck_conn, body, conn.database, conn.schema)
            set_result(self, ["status"], [(status,)])
            return self
        if upper.startswith("DROP") and streams_mod.DROP_RE.match(body):
            self._commit_open_transaction()
            status = ext.streams.drop(self._duck_conn, body, conn.database, conn.schema)
            set_result(self, ["status"], [(status,)])
            return self
        if upper.startswith(("SHOW", "DESC")) and (
            streams_mod.SHOW_RE.match(body) or streams_mod.DESCRIBE_RE.match(body)
        ):
            columns, rows = ext.streams.show_rows(body, conn.database, conn.schema)
            set_result(self, columns, rows)
            return self
        if upper.startswith("DROP") and catalog_mod.DROP_RE.match(body):
            status = ext.catalog.drop(self._duck_conn, body, conn.database, conn.schema)
            ext.catalog.save(self._duck_conn)
            set_result(self, ["status"], [(status,)])
            return self
        if upper.startswith(("LIST", "LS", "REMOVE", "RM")) and stage_files_mod.handles(body):
            columns, rows = stage_files_mod.execute(self, body)
            set_result(self, columns, rows)
            return self
        ext.streams.keep_inserts(self._duck_conn, body)  # before an UPDATE/DELETE/... removes inserted rows
        if tx := TX_RE.match(body):
            super().execute(command, params, *args, **kwargs)
            self._after_transaction_statement(tx["op"].upper())
            return self

        needs_parse = upper.startswith(("MERGE", "COPY")) or ext.streams.mentioned_in(body)
        if not needs_parse:
            super().execute(command, params, *args, **kwargs)
            self._after_plain_statement(body)
            return self
        return self._execute_parsed(command, params, args, kwargs)

    # -- statements we parse ---------------------------------------------------------------------------------
    def _execute_parsed(
        self, original: str, params: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> FakeSnowflakeCursor:
        conn = self._conn
        original_params = params
        command = self._inline_variables(original)
        if kwargs.get("binding_params"):
            params = kwargs["binding_params"]
        else:
            command, params = self._rewrite_with_params(command, params)
        if params is not None and not isinstance(params, (list, dict)):
            params = list(params)
        expression = parse_one(command)
        read, rewritten = self.extensions.streams.rewrite(
            expression, conn.database, conn.schema, self._duck_conn
        )
        consumes = bool(read) and (
            isinstance(expression, DML_TYPES)
            or (isinstance(expression, exp.Create) and expression.expression is not None)
        )
        if not consumes:
            if rewritten or copy_mod.handles(expression) or merge_mod.supported(expression):
                self._route(expression, params, kwargs)
            else:  # nothing of ours after all: fakesnow gets the statement as sent
                super().execute(original, original_params, *args, **kwargs)
            return self

        target = expression.this.this if isinstance(expression.this, exp.Schema) else expression.this
        target_db = (
            target.catalog.upper() if isinstance(target, exp.Table) and target.catalog else None
        ) or conn.database
        here = [s for s in read if s.database == target_db]
        elsewhere = [s for s in read if s.database != target_db]
        with statement_transaction(self) as own:
            self._route(expression, params, kwargs)
            for stream in here:
                self.extensions.streams.advance(self._duck_conn, stream)
        if elsewhere:
            if own or (conn._autocommit and not conn._in_transaction):  # noqa: SLF001
                self._advance_separately(elsewhere)
            else:
                conn.deferred_streams.extend(elsewhere)
        return self

    def _route(self, expression: exp.Expr, params: Any, kwargs: dict[str, Any]) -> None:
        if copy_mod.handles(expression):
            self.check_db_and_schema(expression)
            copy_mod.execute_copy(self, expression, params)  # type: ignore[arg-type]
        elif merge_mod.supported(expression):
            self.check_db_and_schema(expression)
            merge_mod.execute_merge(self, expression, params)  # type: ignore[arg-type]
        else:
            passthrough = {k: v for k, v in kwargs.items() if k != "binding_params"}
            FakeSnowflakeCursor.execute(
                self, expression.sql(dialect="snowflake"), binding_params=params, **passthrough
            )

    # -- bookkeeping -----------------------------------------------------------------------------------------
    def _after_transaction_statement(self, op: str) -> None:
        conn = self._conn
        conn.in_explicit_transaction = op.startswith(("BEGIN", "START"))
        if op == "COMMIT" and conn.deferred_streams:
            pending, conn.deferred_streams = conn.deferred_streams, []
            self._advance_separately(pending)
        elif op == "ROLLBACK":
            conn.deferred_streams = []

    def _commit_open_transaction(self) -> None:
        """DDL commits the open transaction first, as in Snowflake."""
        if in_transaction(self):
            FakeSnowflakeCursor.execute(self, "COMMIT")
            self._after_transaction_statement("COMMIT")
            self._conn._in_transaction = False  # noqa: SLF001

    def _advance_separately(self, streams: list[Stream]) -> None:
        for stream in streams:
            with self._duck_conn.cursor() as other:
                other.begin()
                self.extensions.streams.advance(other, stream)
                other.commit()

    def _after_plain_statement(self, body: str) -> None:
        ext = self.extensions
        if catalog_mod.CHANGES_CATALOG.match(body):
            if body[:6].upper() == "CREATE":
                ext.catalog.remember_stage(parse_one(body), self._conn.database, self._conn.schema)
            ext.catalog.save(self._duck_conn)
        elif DB_CHANGE_RE.match(body) and ext.streams.names:
            ext.streams.reload(self._duck_conn)
