"""The local Snowflake server: fakesnow's ASGI app, our session class, persistence and /healthz."""

from __future__ import annotations

import atexit
import contextlib
import importlib
import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fakesnow.instance import FakeSnow
from sqlglot import exp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from dataeng_local.snowflake import arrow_nulls
from dataeng_local.snowflake._sql import strip_leading_comments
from dataeng_local.snowflake.catalog import CatalogStore
from dataeng_local.snowflake.cursor import Extensions, LocalConnection
from dataeng_local.snowflake.session_state import (
    HISTORY_PATH,
    QueryHistory,
    history_endpoint,
    login_endpoint,
)
from dataeng_local.snowflake.storage import Storage
from dataeng_local.snowflake.streams import DESCRIBE_RE, StreamRegistry

# fakesnow's package attribute ``server`` is a function until the submodule is imported, then the
# module: always go through sys.modules.
fs_server: Any = importlib.import_module("fakesnow.server")
fs_stage: Any = importlib.import_module("fakesnow.transforms.stage")

HEALTH_PATH = "/healthz"


def _remove_if_empty(path: str) -> None:
    with contextlib.suppress(OSError):
        os.rmdir(path)


# importing fakesnow creates an empty /tmp/fakesnow_bucket_* directory; we keep stages under the data dir
atexit.register(_remove_if_empty, fs_stage.LOCAL_BUCKET_PATH)
logger = logging.getLogger("dataeng_local.snowflake")


class LocalFakeSnow(FakeSnow):
    """fakesnow's instance with persistent databases under ``data_dir`` and our session class."""

    def __init__(self, data_dir: Path, s3_endpoint: str | None) -> None:
        self.data_dir = data_dir
        (data_dir / "databases").mkdir(parents=True, exist_ok=True)
        super().__init__(db_path=data_dir / "databases")
        # rowids identify rows for streams: keep them stable (no vacuum of deleted rows at checkpoints)
        self.duck_conn.execute("SET GLOBAL max_vacuum_tasks = 0")
        storage = Storage(s3_endpoint)
        if s3_endpoint:
            with contextlib.suppress(Exception):  # lets DuckDB read s3:// directly (read_parquet etc.)
                self.duck_conn.register_filesystem(storage.s3())
        self.extensions = Extensions(
            storage=storage,
            catalog=CatalogStore(data_dir / "catalog"),
            streams=StreamRegistry(),
            history=QueryHistory(),
        )
        self._login_lock = threading.Lock()
        self._attach_existing()
        self.extensions.catalog.restore(self.duck_conn)
        self.extensions.streams.reload(self.duck_conn)

    def _attach_existing(self) -> None:
        for path in sorted((self.data_dir / "databases").glob("*.db")):
            self.connect(database=path.stem).close()

    def connect(
        self,
        database: str | None = None,
        schema: str | None = None,
        nop_regexes: list[str] | None = None,
        **kwargs: Any,
    ) -> LocalConnection:  # type: ignore[override]
        with self._login_lock:  # concurrent first logins would race to ATTACH the same file
            return LocalConnection(
                self.extensions,
                self.duck_conn.cursor(),
                self.results_cache,
                database,
                schema,
                create_database=self.create_database_on_connect,
                create_schema=self.create_schema_on_connect,
                db_path=self.db_path,
                nop_regexes=nop_regexes or self.nop_regexes,
                **kwargs,
            )


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def build_app(data_dir: str | os.PathLike[str], s3_endpoint: str | None = None) -> Starlette:
    """Point fakesnow's server at a persistent instance and return the ASGI app (with /healthz)."""
    data = Path(data_dir).resolve()
    stages = data / "stages"
    stages.mkdir(parents=True, exist_ok=True)
    _use_stage_dir(str(stages))
    fs_server.shared_fs = LocalFakeSnow(data, s3_endpoint)
    fs_server.sessions.clear()
    login = "/session/v1/login-request"  # ours records the session's warehouse, role and query tag
    routes = [r for r in fs_server.routes if getattr(r, "path", None) != login]
    return Starlette(
        routes=[
            Route(HEALTH_PATH, healthz, methods=["GET"]),
            Route(HISTORY_PATH, history_endpoint, methods=["GET"]),
            Route(login, login_endpoint, methods=["POST"]),
            *routes,
        ]
    )


def _lenient_parse_one(sql: str, *args: Any, **kwargs: Any) -> Any:
    """fakesnow's server parses each statement before running it; let through the ones only we know."""
    try:
        return _fs_parse_one(sql, *args, **kwargs)
    except Exception:
        if DESCRIBE_RE.match(strip_leading_comments(sql).strip()):
            return exp.Command(this="DESCRIBE", expression=sql)
        raise


_fs_parse_one = fs_server.parse_one
fs_server.parse_one = _lenient_parse_one
arrow_nulls.install()  # NULL timestamps stay NULL over the wire (fakesnow sends epoch 0)


def _use_stage_dir(path: str) -> None:
    """Internal stage files live under the data dir instead of fakesnow's throw-away temp dir."""
    old = fs_stage.LOCAL_BUCKET_PATH
    fs_stage.LOCAL_BUCKET_PATH = path
    if old != path and os.path.basename(old).startswith("fakesnow_bucket_"):
        with contextlib.suppress(OSError):
            os.rmdir(old)


def _config(app: Starlette, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=host, port=port, log_level=log_level, lifespan="off", timeout_graceful_shutdown=5
    )


def serve(
    host: str,
    port: int,
    data_dir: str | os.PathLike[str],
    s3_endpoint: str | None = None,
    log_level: str = "info",
) -> None:
    """Run in the foreground until SIGINT/SIGTERM (uvicorn's handlers give a clean shutdown)."""
    app = build_app(data_dir, s3_endpoint)
    server = uvicorn.Server(_config(app, host, port, log_level))
    if threading.current_thread() is threading.main_thread():
        # uvicorn shuts down gracefully on SIGINT/SIGTERM and then re-raises the signal with the handlers
        # it found installed: make those no-ops so a requested stop exits with status 0
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: None)
    try:
        server.run()
    finally:
        _close()


@dataclass
class RunningServer:
    """A server started by :func:`start_in_thread`."""

    host: str
    port: int
    data_dir: Path
    _server: uvicorn.Server
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def connect_kwargs(self, database: str = "DEMO", schema: str = "PUBLIC") -> dict[str, Any]:
        """Arguments for ``snowflake.connector.connect``."""
        return {
            "host": self.host,
            "port": self.port,
            "protocol": "http",
            "account": "fakesnow",
            "user": "local",
            "password": "local",
            "database": database,
            "schema": schema,
            "network_timeout": 5,
            "session_parameters": {"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False},
        }

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        _close()


def start_in_thread(
    host: str = "127.0.0.1",
    port: int = 0,
    data_dir: str | os.PathLike[str] = ".local/snowflake",
    s3_endpoint: str | None = None,
    log_level: str = "warning",
) -> RunningServer:
    """Start the server in a daemon thread of this process (fast tests); ``port=0`` picks a free one.

    One server per process: fakesnow's session table is module state.
    """
    port = port or free_port(host)
    app = build_app(data_dir, s3_endpoint)
    server = uvicorn.Server(_config(app, host, port, log_level))
    # uvicorn only captures signals in the main thread: in this thread it leaves the host's handlers alone
    thread = threading.Thread(target=server.run, name="local-snowflake", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the local Snowflake did not start on {host}:{port}")
        time.sleep(0.02)
    return RunningServer(host, port, Path(data_dir), server, thread)


def free_port(host: str = "127.0.0.1") -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _close() -> None:
    """Close sessions and the DuckDB instance so database files are checkpointed and unlocked."""
    fs_server.sessions.clear()
    instance = fs_server.shared_fs
    if isinstance(instance, LocalFakeSnow):
        with contextlib.suppress(Exception):
            instance.duck_conn.execute("CHECKPOINT")
        with contextlib.suppress(Exception):
            instance.duck_conn.close()
