"""Session state Snowflake keeps per session (query tag, warehouse, role) and a query history.

Snowflake takes the warehouse and role at login (the connector's ``warehouse=``/``role=``, sent as the
login URL's ``warehouse`` and ``roleName``) and session parameters in the login body (``QUERY_TAG``),
and changes them with ``USE WAREHOUSE``/``USE ROLE`` and ``ALTER SESSION SET|UNSET QUERY_TAG``. The
stand-in tracks all of them and records each statement with the session's tag, warehouse and role at
the time it ran, as Snowflake's QUERY_HISTORY does. ``GET /local/query-history?since=N`` serves the
records after sequence number N (tests read it through ``LocalStack.snowflake_query_history()``).
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

HISTORY_PATH = "/local/query-history"
MAX_RECORDS = 20_000

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
USE_RE = re.compile(rf"^USE\s+(?P<kind>WAREHOUSE|ROLE)\s+(?P<name>{_IDENT})\s*;?\s*$", re.IGNORECASE)
SET_TAG_RE = re.compile(
    r"^ALTER\s+SESSION\s+SET\b.*?\bQUERY_TAG\s*=\s*'(?P<tag>(?:[^'\\]|''|\\.)*)'", re.I | re.S
)
UNSET_TAG_RE = re.compile(r"^ALTER\s+SESSION\s+UNSET\b.*\bQUERY_TAG\b", re.IGNORECASE | re.DOTALL)


def identifier(text: str | None) -> str | None:
    """A name as Snowflake resolves it: quoted keeps its case, unquoted is upper-cased."""
    if not text:
        return None
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('""', '"')
    return text.upper()


@dataclass
class SessionState:
    """One session's settings."""

    query_tag: str = ""
    warehouse: str | None = None
    role: str | None = None

    def apply(self, body: str) -> bool:
        """Apply ``USE WAREHOUSE|ROLE`` or ``ALTER SESSION SET|UNSET QUERY_TAG``; True if it was one."""
        if match := USE_RE.match(body):
            setattr(self, match["kind"].lower(), identifier(match["name"]))
            return True
        if match := SET_TAG_RE.match(body):
            self.query_tag = re.sub(r"''|\\(.)", lambda m: m.group(1) or "'", match["tag"])
            return False  # other parameters of the same ALTER SESSION still go through
        if UNSET_TAG_RE.match(body):
            self.query_tag = ""
        return False


@dataclass(frozen=True)
class QueryRecord:
    seq: int
    session: int
    query_id: str | None
    query_text: str
    query_tag: str
    warehouse: str | None
    role: str | None
    error: str | None


class QueryHistory:
    """The last ``MAX_RECORDS`` statements of every session, in order."""

    def __init__(self) -> None:
        self._records: deque[QueryRecord] = deque(maxlen=MAX_RECORDS)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def record(self, session: int, state: SessionState, text: str, query_id: Any, error: str | None) -> None:
        with self._lock:
            self._records.append(
                QueryRecord(
                    next(self._seq),
                    session,
                    str(query_id) if query_id else None,
                    text,
                    state.query_tag,
                    state.warehouse,
                    state.role,
                    error,
                )
            )

    def since(self, seq: int) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(r) for r in self._records if r.seq > seq]


def state_from_login(request: Request, body: dict[str, Any]) -> SessionState:
    """The session's settings from a login request, as the connector sends them."""
    params = body.get("data", {}).get("SESSION_PARAMETERS") or {}
    tag = next((str(v) for k, v in params.items() if k.upper() == "QUERY_TAG"), "")
    return SessionState(
        query_tag=tag,
        warehouse=identifier(request.query_params.get("warehouse")),
        role=identifier(request.query_params.get("roleName")),
    )


async def history_endpoint(request: Request) -> JSONResponse:
    from dataeng_local.snowflake.server import fs_server

    since = int(request.query_params.get("since", "0") or 0)
    extensions = getattr(fs_server.shared_fs, "extensions", None)
    records = extensions.history.since(since) if extensions is not None else []
    return JSONResponse({"records": records})


async def login_endpoint(request: Request) -> Any:
    """fakesnow's login, then the new session's warehouse, role and query tag from the request."""
    import gzip
    import json

    from dataeng_local.snowflake.server import fs_server

    raw = await request.body()  # Starlette keeps the body: fakesnow's handler reads it again
    if request.headers.get("Content-Encoding") == "gzip":
        raw = gzip.decompress(raw)
    response = await fs_server.login_request(request)
    token = (json.loads(bytes(response.body)).get("data") or {}).get("token")
    conn = fs_server.sessions.get(token) if token else None
    if conn is not None:
        conn.session_state = state_from_login(request, json.loads(raw))
    return response
