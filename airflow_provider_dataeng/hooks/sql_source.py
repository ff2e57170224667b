"""Reading PostgreSQL for ``SqlExtractOperator``: a consistent snapshot, described columns, rows as JSON.

The connection comes from the postgres provider's ``PostgresHook`` (host, credentials, ``sslmode`` and the
other libpq extras, IAM tokens), as psycopg 3. Every read of one extract happens in one
``REPEATABLE READ READ ONLY`` transaction; chunks read side by side join it through an exported snapshot
(``pg_export_snapshot``, as ``pg_dump --jobs`` does), so they see the same rows. Rows arrive as the JSON
texts PostgreSQL writes, in batches, through ``COPY ... TO STDOUT`` (one JSON line per row,
:mod:`~airflow_provider_dataeng.sql_source.copy_stream`): the server streams, the worker holds one batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from airflow_provider_dataeng.sql_source import query
from airflow_provider_dataeng.sql_source.copy_stream import JsonLines
from airflow_provider_dataeng.sql_source.types import Column, SourceType, mapping_for


class SqlSourceError(RuntimeError):
    """The source cannot be read as asked (the message names the parameter or the connection)."""


class SourceReader:
    """One connection inside the extract's snapshot: describe, query and stream rows."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql, dict(params or {}))
            return list(cur.fetchall()) if cur.description else []

    def describe(self, source: query.Source) -> list[Column]:
        """The columns ``source`` returns, with their types and how each is landed."""
        with self.conn.cursor() as cur:
            cur.execute(query.describe(source), {})
            described = [(d.name, d.type_code, d.precision, d.scale) for d in cur.description or ()]
        names = [name for name, *_ in described]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise SqlSourceError(
                f"the query returns the column name {duplicated[0]!r} twice: give each column its own name "
                "(AS ...), since each becomes a field of the landed records"
            )
        catalog = {
            oid: (name, kind, category, display)
            for oid, name, kind, category, display in self.execute(
                query.catalog_types(), {"oids": sorted({oid for _, oid, _, _ in described})}
            )
        }
        columns = []
        for name, oid, precision, scale in described:
            base, kind, category, display = catalog.get(oid, ("unknown", "b", "", "unknown"))
            source_type = SourceType(
                name=base, kind=kind, category=category, precision=precision, scale=scale, display=display
            )
            columns.append(Column(name, source_type, mapping_for(source_type)))
        return columns

    def copy_rows(self, sql: str, params: Mapping[str, Any], batch_rows: int) -> Iterator[list[bytes]]:
        """Run a ``COPY ... TO STDOUT`` of one JSON column; yield its rows in batches.

        The pieces are taken from libpq as they come (``PQgetCopyData``, non-blocking, waiting on the socket
        with the GIL released) and split into rows a batch at a time (:class:`JsonLines`): psycopg's ``Copy``
        object costs about two microseconds of Python per row, more than PostgreSQL spends writing it. The
        parameters are merged into the statement by psycopg itself (``ClientCursor.mogrify``: COPY takes no
        bound parameters)."""
        import select

        import psycopg
        from psycopg import ClientCursor, pq

        statement = ClientCursor(self.conn).mogrify(sql, dict(params))
        pgconn = self.conn.pgconn
        encoding = self.conn.info.encoding
        lines = JsonLines()
        pieces: list[Any] = []
        try:
            pgconn.send_query(statement.encode(encoding))  # psycopg raises when it cannot be sent
            result = _next_result(pgconn)
            if result is None or result.status != pq.ExecStatus.COPY_OUT:
                _raise_result(result, encoding)
            get_copy_data = pgconn.get_copy_data
            while True:
                size, data = get_copy_data(1)
                if size > 0:
                    pieces.append(bytes(data))
                    if len(pieces) >= batch_rows:
                        batch, pieces = lines.feed(pieces), []
                        if batch:
                            yield batch
                elif size == 0:
                    select.select([pgconn.socket], [], [], 1.0)
                    pgconn.consume_input()
                elif size == -1:
                    break
                else:
                    raise psycopg.OperationalError(pgconn.get_error_message())
            # the server's verdict first (a connection cut off ends the COPY too), then the stream's own end
            _raise_result(_next_result(pgconn), encoding, expected=pq.ExecStatus.COMMAND_OK)
            batch = lines.feed(pieces)
            lines.close()
            if batch:
                yield batch
            while _next_result(pgconn) is not None:  # drain, so the connection takes the next statement
                pass
        except BaseException:  # stopped mid-COPY (an error, or the consumer gave up): the connection cannot
            self.conn.close()  # take another statement; closing it ends the read-only transaction
            raise


def _next_result(pgconn: Any) -> Any:
    """The next result of the statement sent, waiting on the socket (GIL released) while libpq is busy."""
    import select

    while True:
        pgconn.consume_input()
        if not pgconn.is_busy():
            return pgconn.get_result()
        select.select([pgconn.socket], [], [], 1.0)


def _raise_result(result: Any, encoding: str, expected: Any = None) -> None:
    """Raise the error a result holds (psycopg's own exception class for its SQLSTATE)."""
    import psycopg
    from psycopg import errors

    if result is not None and expected is not None and result.status == expected:
        return
    if result is not None and result.status == psycopg.pq.ExecStatus.FATAL_ERROR:
        raise errors.error_from_result(result, encoding=encoding)
    status = "no result" if result is None else result.status.name
    raise psycopg.OperationalError(f"unexpected answer to the COPY: {status}")


class DbApiReader:
    """Best-effort reading of a DB-API connection: one query, rows fetched in batches and written as JSON in
    Python (:mod:`~airflow_provider_dataeng.sql_source.dbapi`). No snapshot across statements, no COPY: the
    driver decides how many rows it holds (many buffer the whole result)."""

    def __init__(self, hook: Any, conn: Any) -> None:
        self.hook = hook
        self.conn = conn
        self.placeholder = str(hook.placeholder)
        self.escape_word_format = str(hook.escape_word_format)
        self.columns: dict[str, str] = {}
        self.highest: Any = None

    def rows(
        self, statement: str, params: Sequence[Any], batch_rows: int, watermark: Sequence[str] = ()
    ) -> Iterator[list[bytes]]:
        """Run ``statement``; yield its rows as JSON records in batches. After the last batch, ``columns``
        holds the result's columns and ``highest`` the largest first-non-null ``watermark`` value, as landed."""
        from airflow_provider_dataeng.sql_source.dbapi import RowEncoder

        cursor = self.conn.cursor()
        try:
            cursor.execute(statement, tuple(params))
            described = list(cursor.description or ())
            names = [d[0] for d in described]
            duplicated = sorted({n for n in names if names.count(n) > 1})
            if duplicated:
                raise SqlSourceError(
                    f"the query returns the column name {duplicated[0]!r} twice: give each column its own name"
                )
            self.columns = {d[0]: str(d[1]) if d[1] is not None else "" for d in described}
            encode = RowEncoder(names)
            lowered = {n.lower(): i for i, n in enumerate(names)}
            marks = [lowered[m.lower()] for m in watermark if m.lower() in lowered]
            highest = None
            while True:
                fetched = cursor.fetchmany(batch_rows)
                if not fetched:
                    break
                for row in fetched:
                    mark = next((row[i] for i in marks if row[i] is not None), None)
                    if mark is not None and (highest is None or mark > highest):
                        highest = mark
                yield [encode(row) for row in fetched]
            self.highest = None if highest is None else encode.value(highest)
        finally:
            cursor.close()


class SqlSourceHook:
    """Opens the extract's snapshot on a PostgreSQL connection (``conn_type`` ``postgres``).

    :param sql_conn_id: the Airflow connection of the source database.
    """

    def __init__(self, sql_conn_id: str = "postgres_default") -> None:
        self.sql_conn_id = sql_conn_id

    @property
    def is_postgres(self) -> bool:
        """Whether the connection is PostgreSQL's (read by COPY in a snapshot); any other is read best effort
        through its DB-API hook (:meth:`dbapi`)."""
        from airflow.sdk import BaseHook

        return BaseHook.get_connection(self.sql_conn_id).conn_type in ("postgres", "postgresql")

    @contextmanager
    def dbapi(self) -> Iterator[DbApiReader]:
        """A reader on the connection's own DB-API hook (common-sql: SQLite, MySQL, SQL Server, ...)."""
        from airflow.sdk import BaseHook

        hook = BaseHook.get_connection(self.sql_conn_id).get_hook()
        if not all(hasattr(hook, name) for name in ("get_conn", "placeholder", "escape_word_format")):
            raise SqlSourceError(
                f"sql_conn_id={self.sql_conn_id!r}: its hook ({type(hook).__name__}) is not a DB-API hook of "
                "common-sql; SqlExtractOperator reads PostgreSQL, and other databases through their DbApiHook"
            )
        conn = hook.get_conn()
        try:
            yield DbApiReader(hook, conn)
        finally:
            conn.close()

    def connect(self) -> Any:
        """A new psycopg 3 connection (autocommit: the hook opens its transactions itself)."""
        try:
            from airflow.providers.postgres.hooks.postgres import USE_PSYCOPG3, PostgresHook
        except ImportError as err:
            raise SqlSourceError(
                "reading PostgreSQL needs the postgres provider and psycopg 3: "
                "pip install 'airflow-provider-dataeng[postgres]'"
            ) from err
        if not USE_PSYCOPG3:
            raise SqlSourceError("reading PostgreSQL needs psycopg 3 (pip install 'psycopg[binary]>=3.2')")
        hook = PostgresHook(postgres_conn_id=self.sql_conn_id)
        conn_type = hook.connection.conn_type
        if conn_type not in ("postgres", "postgresql"):
            raise SqlSourceError(
                f"sql_conn_id={self.sql_conn_id!r} is a {conn_type!r} connection; SqlExtractOperator reads "
                "PostgreSQL connections (conn_type 'postgres')"
            )
        conn: Any = hook.get_conn()  # psycopg.Connection (USE_PSYCOPG3)
        conn.autocommit = True
        return conn

    @contextmanager
    def snapshot(self, *, application_name: str = "airflow-provider-dataeng") -> Iterator[SourceReader]:
        """A reader in a new ``REPEATABLE READ READ ONLY`` transaction, in the session the type table
        assumes; rolled back at the end (nothing is written)."""
        with self._session(application_name) as conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield SourceReader(conn)
            finally:
                _end(conn)

    @contextmanager
    def joined(
        self, snapshot_id: str, *, application_name: str = "airflow-provider-dataeng"
    ) -> Iterator[SourceReader]:
        """A reader on another connection that sees exactly the snapshot ``snapshot_id`` exported."""
        with self._session(application_name) as conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                conn.execute(f"SET TRANSACTION SNAPSHOT {_literal(snapshot_id)}")
                yield SourceReader(conn)
            finally:
                _end(conn)

    @contextmanager
    def _session(self, application_name: str) -> Iterator[Any]:
        conn = self.connect()
        try:
            settings = {**query.SESSION_SETTINGS, "application_name": application_name}
            for name, value in settings.items():
                conn.execute("SELECT set_config(%(name)s, %(value)s, false)", {"name": name, "value": value})
            yield conn
        finally:
            conn.close()


def _end(conn: Any) -> None:
    """End the read-only transaction. A connection lost by now has nothing to undo: what was read was read in
    full (a COPY cut short fails where it is read), so only a live connection is rolled back."""
    if not (conn.closed or conn.broken):
        conn.execute("ROLLBACK")


def export_snapshot(reader: SourceReader) -> str:
    """Export the reader's snapshot for :meth:`SqlSourceHook.joined` (valid while its transaction is open)."""
    return str(reader.execute("SELECT pg_export_snapshot()")[0][0])


def _literal(text: str) -> str:
    """A snapshot id as a string literal (``SET TRANSACTION SNAPSHOT`` takes no bound parameter)."""
    if not all(c.isalnum() or c == "-" for c in text):
        raise SqlSourceError(f"unexpected snapshot id {text!r}")
    return f"'{text}'"


def columns_named(columns: Sequence[Column], names: Sequence[str], *, param: str) -> list[Column]:
    """The described columns called ``names`` (refused, listing the columns, when one is not there)."""
    by_name = {c.name: c for c in columns}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise SqlSourceError(
            f"{param}: the source has no column {missing[0]!r}; its columns are {', '.join(by_name)}"
        )
    return [by_name[n] for n in names]
