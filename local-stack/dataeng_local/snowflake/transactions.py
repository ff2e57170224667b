"""Statement-level atomicity on top of fakesnow's session transactions.

A statement we run as several DuckDB statements (COPY over many files, a DML that also advances a
stream's offset) must succeed or fail as a whole. In autocommit mode we wrap it in its own DuckDB
transaction; inside a user's transaction (BEGIN, or AUTOCOMMIT = FALSE) we join that one, so COMMIT
and ROLLBACK decide, as in Snowflake.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fakesnow.cursor import FakeSnowflakeCursor


def in_transaction(cursor: FakeSnowflakeCursor) -> bool:
    """Whether the session has an open transaction (BEGIN, or an implicit one with AUTOCOMMIT = FALSE).

    Tracked rather than probed: a failed BEGIN inside a transaction aborts it in DuckDB.
    """
    conn = cursor._conn  # noqa: SLF001
    return bool(
        getattr(conn, "in_explicit_transaction", False)
        or getattr(conn, "in_statement_transaction", False)
        or conn._in_transaction  # noqa: SLF001
    )


@contextmanager
def statement_transaction(cursor: FakeSnowflakeCursor) -> Iterator[bool]:
    """Run the block atomically; yields True when the block runs in a transaction of its own."""
    conn: Any = cursor._conn  # noqa: SLF001
    duck = cursor._duck_conn  # noqa: SLF001
    own = False
    if not in_transaction(cursor):
        duck.begin()
        if conn._autocommit:  # noqa: SLF001
            own = True
        else:
            # AUTOCOMMIT = FALSE: the statement opens the session's implicit transaction (as fakesnow does)
            conn._in_transaction = True  # noqa: SLF001
    if own:
        conn.in_statement_transaction = True
    try:
        yield own
    except BaseException:
        if own:
            conn.in_statement_transaction = False
            duck.rollback()
        raise
    if own:
        conn.in_statement_transaction = False
        try:
            duck.commit()
        except BaseException:
            duck.rollback()
            raise
