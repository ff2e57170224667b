"""One database session for one task: statements run, logged (redacted), timed, counted, with query ids.

Operators talk to the database only through this class (``SnowflakeHook.session()`` opens one; the
quality gate also wraps other DB-API connections in it), so every task logs the same way, returns the
same statement count (``statements`` in its summary) and hands the same statement list to lineage.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Secret values in statements (stage credentials, passwords) are replaced before anything is logged.
_SECRET_RE = re.compile(
    r"\b(AWS_KEY_ID|AWS_SECRET_KEY|AWS_TOKEN|AZURE_SAS_TOKEN|PASSWORD|MASTER_KEY)(\s*=\s*)'(?:[^']|'')*'",
    re.IGNORECASE,
)


def redact_sql(sql: str) -> str:
    """``sql`` with the values of credential options shown as ``'***'``."""
    return _SECRET_RE.sub(r"\1\2'***'", sql)


def rows_as_dicts(description: Any, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Turn DB-API rows into dicts keyed by column name."""
    names = [column[0] for column in description or ()]
    return [dict(zip(names, row)) for row in rows]


class SqlSession:
    """A DB-API connection used by one task.

    :param conn: the open connection (closed by :meth:`close`).
    :param log: the task's logger.
    :param explicit_transactions: ``True`` (Snowflake, autocommit on): :meth:`transaction` sends ``BEGIN``
        and ``COMMIT``/``ROLLBACK``; ``False`` (DB-API drivers with autocommit off): it calls the
        connection's ``commit()``/``rollback()``.
    """

    def __init__(self, conn: Any, log: Any, *, explicit_transactions: bool = True) -> None:
        self.conn = conn
        self.log = log
        self.explicit_transactions = explicit_transactions
        self.statements: list[str] = []  # every statement sent, as logged (redacted)
        self.completed: list[str] = []  # those that succeeded: the SQL facet of lineage
        self.query_ids: list[str] = []
        self.counts: dict[str, int] = {}

    @property
    def count(self) -> int:
        """Statements sent so far (transaction control included)."""
        return len(self.statements)

    def run(
        self, sql: str, params: Any = None, *, log_sql: str | None = None, label: str | None = None
    ) -> None:
        """Run one statement, discarding its rows."""
        self._execute(sql, params, log_sql, label, fetch=False)

    def fetch(
        self, sql: str, params: Any = None, *, log_sql: str | None = None, label: str | None = None
    ) -> list[dict[str, Any]]:
        """Run one statement and return its rows as dicts keyed by the column names the database returns."""
        rows, names = self._execute(sql, params, log_sql, label, fetch=True)
        return [dict(zip(names, row)) for row in rows]

    def fetch_rows(
        self, sql: str, params: Any = None, *, log_sql: str | None = None, label: str | None = None
    ) -> tuple[list[tuple[Any, ...]], list[str]]:
        """Run one statement and return ``(rows as tuples, column names)``."""
        return self._execute(sql, params, log_sql, label, fetch=True)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything in the block commits together; an exception rolls it back and propagates."""
        if self.explicit_transactions:
            self.run("BEGIN")
        try:
            yield
        except BaseException:
            self.rollback()
            raise
        if self.explicit_transactions:
            self.run("COMMIT")
        else:
            self.conn.commit()

    def rollback(self) -> None:
        """Roll back the open transaction; a failure is logged (the database rolls back a lost session)."""
        try:
            if self.explicit_transactions:
                self.run("ROLLBACK")
            else:
                self.conn.rollback()
        except Exception as err:  # noqa: BLE001 - the error that led here is the one to raise
            self.log.warning("ROLLBACK failed: %s", " ".join(str(getattr(err, "msg", None) or err).split()))

    def commit(self) -> None:
        """Commit through the driver (DB-API connections with autocommit off)."""
        self.conn.commit()

    def close(self) -> None:
        """Close the connection (best effort) and log the statement count."""
        self.log.info("Session ran %d statement(s)", self.count)
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001 - the work is done; closing is best effort
            self.log.debug("closing the connection failed", exc_info=True)

    def _execute(
        self, sql: str, params: Any, log_sql: str | None, label: str | None, *, fetch: bool
    ) -> tuple[list[tuple[Any, ...]], list[str]]:
        shown = redact_sql(log_sql or sql)
        self.statements.append(shown)
        if label:
            self.counts[label] = self.counts.get(label, 0) + 1
        self.log.info("Running SQL:\n%s", shown)
        started = time.monotonic()
        cursor = self.conn.cursor()
        try:
            if params:
                cursor.execute(sql, params)
            else:
                cursor.execute(sql)
            query_id = getattr(cursor, "sfqid", None)
            if query_id:
                self.query_ids.append(str(query_id))
            rows: list[tuple[Any, ...]] = []
            names: list[str] = []
            if fetch and cursor.description:
                rows = [tuple(r) for r in cursor.fetchall()]
                names = [d[0] for d in cursor.description]
            self.completed.append(shown)
        finally:
            cursor.close()
        self.log.info(
            "%s%d row(s) in %.3fs",
            f"query id {query_id}: " if query_id else "",
            len(rows),
            time.monotonic() - started,
        )
        return rows, names
