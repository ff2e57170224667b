"""The local stack: Snowflake, S3 and demo-API stand-ins and a PostgreSQL source as background processes on
127.0.0.1.

``LocalStack`` starts each service with ``python -m dataeng_local.<service>``, waits
for its health check, and records what it started under its directory::

    DIR/state.json        ports, pids (with start times), API token, bucket
    DIR/run/<service>.pid DIR/logs/<service>.log   DIR/snowflake/ (Snowflake stand-in data)

so another process (the ``dataeng-local`` CLI) can report, use and stop the same stack. Airflow, the
operators and dbt reach it only through connections (``env`` / ``connections``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from types import TracebackType
from typing import Any

from dataeng_local import processes
from dataeng_local.demo_api.config import DEFAULT_TOKEN
from dataeng_local.processes import ProcessRecord
from dataeng_local.s3 import ACCESS_KEY, DEFAULT_BUCKET, REGION, SECRET_KEY

SERVICES = ("snowflake", "s3", "demo_api", "postgres")
MODULES = {
    "snowflake": "dataeng_local.snowflake",
    "s3": "dataeng_local.s3",
    "demo_api": "dataeng_local.demo_api",
    "postgres": "dataeng_local.postgres",
}
# what the CLI uses unless told (PostgreSQL on 5433: a system server may hold 5432)
DEFAULT_PORTS = {"snowflake": 8085, "s3": 4566, "demo_api": 8086, "postgres": 5433}
_PORT_FLAGS = {
    "snowflake": "--snowflake-port",
    "s3": "--s3-port",
    "demo_api": "--api-port",
    "postgres": "--postgres-port",
}
DIR_ENV = "DATAENG_LOCAL_DIR"
HOST = "127.0.0.1"
_PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # the directory holding dataeng_local


class StackError(RuntimeError):
    """The stack cannot do what was asked; the message says why and what to do."""


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    port: int
    pid: int | None
    running: bool
    healthy: bool


@dataclass(frozen=True)
class UpResult:
    started: tuple[str, ...]
    already_running: tuple[str, ...]


def default_dir() -> Path:
    """``$DATAENG_LOCAL_DIR`` or ``.dataeng-local`` in the current directory (the CLI's default)."""
    return Path(os.environ.get(DIR_ENV) or ".dataeng-local").resolve()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex((HOST, port)) == 0


def build_connections(ports: Mapping[str, int], api_token: str) -> dict[str, dict[str, Any]]:
    """Airflow connections (JSON form) for the services in ``ports``, by connection id."""
    conns: dict[str, dict[str, Any]] = {}
    if "snowflake" in ports:
        conns["snowflake_default"] = {
            "conn_type": "snowflake",
            "login": "local",
            "password": "local",
            "schema": "PUBLIC",
            "extra": {
                "account": "fakesnow",
                "database": "DEMO",
                "warehouse": "LOCAL_WH",
                "role": "SYSADMIN",
                "host": HOST,
                "port": ports["snowflake"],
                "protocol": "http",
                "network_timeout": 30,
                "login_timeout": 10,
            },
        }
    if "s3" in ports:
        conns["aws_default"] = {
            "conn_type": "aws",
            "login": ACCESS_KEY,
            "password": SECRET_KEY,
            "extra": {"endpoint_url": f"http://{HOST}:{ports['s3']}", "region_name": REGION},
        }
    if "demo_api" in ports:
        conns["demo_api"] = {
            "conn_type": "http",
            "host": HOST,
            "port": ports["demo_api"],
            "schema": "http",
            "password": api_token,
            "extra": {"auth_type": "bearer"},
        }
    if "postgres" in ports:
        from dataeng_local.postgres import DATABASE, PASSWORD, USER

        conns["postgres_default"] = {
            "conn_type": "postgres",
            "host": HOST,
            "port": ports["postgres"],
            "login": USER,
            "password": PASSWORD,
            "schema": DATABASE,  # Airflow's postgres connection keeps the database name in "schema"
        }
    return conns


class LocalStack:
    """Start, inspect and stop the local services; a context manager for tests and scripts.

    ``dir=None`` uses a private temporary directory (removed by ``down``), so a test session never
    touches a developer's running stack; pass the CLI's directory to share one. ``ports`` fixes ports
    per service; a running service keeps its port; others use ``default_ports`` or a free port.
    """

    def __init__(
        self,
        dir: str | os.PathLike[str] | None = None,
        ports: Mapping[str, int] | None = None,
        services: Iterable[str] = SERVICES,
        api_token: str = DEFAULT_TOKEN,
        bucket: str = DEFAULT_BUCKET,
        api_args: Iterable[str] = (),
        startup_timeout: float = 60.0,
        default_ports: Mapping[str, int] | None = None,
    ) -> None:
        self.services = tuple(dict.fromkeys(services))
        unknown = set(self.services) - set(SERVICES) | set(ports or {}) - set(SERVICES)
        if unknown:
            raise StackError(
                f"unknown service(s) {', '.join(sorted(unknown))}; choose from {', '.join(SERVICES)}"
            )
        self._owns_dir = dir is None
        self.dir = Path(tempfile.mkdtemp(prefix="dataeng-local-")) if dir is None else Path(dir).resolve()
        self.api_token = api_token
        self.bucket = bucket
        self.api_args = tuple(api_args)
        self.startup_timeout = startup_timeout
        self._requested_ports = dict(ports or {})
        self._default_ports = dict(default_ports or {})
        self._state = self._load_state()
        self.ports: dict[str, int] = {}

    # -- files ---------------------------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.dir / "state.json"

    def log_path(self, service: str) -> Path:
        return self.dir / "logs" / f"{service}.log"

    def pid_path(self, service: str) -> Path:
        return self.dir / "run" / f"{service}.pid"

    def _load_state(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.state_path.read_text()))
        except FileNotFoundError:
            return {"services": {}}
        except (OSError, ValueError) as exc:
            raise StackError(
                f"cannot read {self.state_path}: {exc}; remove it if no stack is running"
            ) from None

    def _save_state(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._state, indent=2, sort_keys=True))
        tmp.replace(self.state_path)

    def _record(self, service: str) -> ProcessRecord | None:
        entry = self._state.get("services", {}).get(service)
        if not entry or "pid" not in entry:
            return None
        return ProcessRecord(pid=entry["pid"], create_time=entry["create_time"], module=entry["module"])

    # -- lifecycle -----------------------------------------------------------------------------
    def up(self) -> UpResult:
        """Start every service that is not running, then wait until all answer their health checks."""
        self._state = self._load_state()
        running = {s for s in self.services if self._is_running(s)}
        self._resolve_ports(running)
        if (
            "snowflake" in self.services
            and "snowflake" not in running
            and find_spec(MODULES["snowflake"]) is None
        ):
            raise StackError(
                f"the Snowflake stand-in ({MODULES['snowflake']}) is not installed; "
                "start the other services with --services s3,demo_api"
            )
        for service in self.services:
            if service not in running and port_in_use(self.ports[service]):
                raise StackError(
                    f"port {self.ports[service]} for {service} is already in use on {HOST}; "
                    f"choose another port (dataeng-local up {_PORT_FLAGS[service]} N)"
                )
        started = [s for s in self.services if s not in running]
        if "demo_api" in running:
            self.api_token = self._state.get("api_token", self.api_token)
        if "s3" in running:
            self.bucket = self._state.get("bucket", self.bucket)
        self._state.update({"api_token": self.api_token, "bucket": self.bucket, "host": HOST})
        services_state = self._state.setdefault("services", {})
        for service in started:
            record = processes.spawn(
                self._argv(service), self.log_path(service), self.dir, self._child_env(), MODULES[service]
            )
            services_state[service] = {"port": self.ports[service], **record.to_json()}
            self.pid_path(service).parent.mkdir(parents=True, exist_ok=True)
            self.pid_path(service).write_text(f"{record.pid}\n")
        self._save_state()
        try:
            self._wait_healthy(started)
        except StackError:
            for service in started:
                self._stop(service)
            self._save_state()
            raise
        return UpResult(
            started=tuple(started), already_running=tuple(s for s in self.services if s in running)
        )

    def down(self, timeout: float = 10.0) -> list[str]:
        """Stop the services this directory's state records; returns the names that were running."""
        self._state = self._load_state()
        recorded = list(self._state.get("services", {}))
        records = {s: r for s in recorded if (r := self._record(s)) is not None}
        running = processes.stop_all(list(records.values()), timeout)
        stopped = [s for s in SERVICES if s in records and records[s] in running]
        for service in recorded:
            self.pid_path(service).unlink(missing_ok=True)
        self._state["services"] = {}
        if self.state_path.exists():
            self.state_path.unlink()
        if self._owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return stopped

    def stop_services(self, services: Iterable[str], timeout: float = 10.0) -> list[str]:
        """Stop some of the services (e.g. those a caller started); returns the names that were running."""
        self._state = self._load_state()
        stopped = [s for s in services if self._stop(s, timeout)]
        self._save_state()
        return stopped

    def _stop(self, service: str, timeout: float = 10.0) -> bool:
        record = self._record(service)
        was_running = record is not None and processes.stop(record, timeout)
        self._state.get("services", {}).pop(service, None)
        self.pid_path(service).unlink(missing_ok=True)
        return was_running

    def __enter__(self) -> LocalStack:
        self.up()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.down()

    # -- inspection ----------------------------------------------------------------------------
    def _is_running(self, service: str) -> bool:
        record = self._record(service)
        return record is not None and processes.find(record) is not None

    def status(self) -> list[ServiceStatus]:
        """Per recorded or requested service: running (our process alive), pid, port, healthy."""
        self._state = self._load_state()
        recorded = self._state.get("services", {})
        out = []
        for service in [s for s in SERVICES if s in (recorded or self.services)]:
            entry = recorded.get(service, {})
            port = (
                entry.get("port")
                or self._requested_ports.get(service)
                or self._default_ports.get(service)
                or DEFAULT_PORTS[service]
            )
            running = self._is_running(service)
            out.append(
                ServiceStatus(
                    service,
                    port,
                    entry.get("pid"),
                    running,
                    running and self._healthy(service, port, timeout=1.0),
                )
            )
        return out

    def is_up(self) -> bool:
        return bool(self._state.get("services")) and all(s.running and s.healthy for s in self.status())

    @property
    def connections(self) -> dict[str, dict[str, Any]]:
        """Airflow connections for the running services (raises if the stack is not up)."""
        self._state = self._load_state()
        recorded = self._state.get("services", {})
        if not recorded:
            raise StackError(f"the local stack is not up in {self.dir} (run `dataeng-local up`)")
        ports = {s: recorded[s]["port"] for s in SERVICES if s in recorded}
        return build_connections(ports, self._state.get("api_token", self.api_token))

    @property
    def env(self) -> dict[str, str]:
        """``AIRFLOW_CONN_<ID>`` environment variables (JSON values) for :attr:`connections`."""
        return {
            f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn) for conn_id, conn in self.connections.items()
        }

    def _port_of(self, service: str) -> int:
        entry = self._load_state().get("services", {}).get(service)
        if not entry:
            raise StackError(f"{service} is not part of the running stack in {self.dir}")
        return int(entry["port"])

    @property
    def snowflake_port(self) -> int:
        return self._port_of("snowflake")

    def snowflake_query_history(self, since: int = 0) -> list[dict[str, Any]]:
        """Statements the Snowflake stand-in ran after sequence number ``since``, each with its session's
        ``query_tag``, ``warehouse`` and ``role`` at the time (``seq``, ``session``, ``query_id``,
        ``query_text``, ``error``)."""
        url = f"http://{HOST}:{self.snowflake_port}/local/query-history?since={int(since)}"
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own local server
            return list(json.loads(response.read())["records"])

    @property
    def s3_port(self) -> int:
        return self._port_of("s3")

    @property
    def api_port(self) -> int:
        return self._port_of("demo_api")

    @property
    def postgres_port(self) -> int:
        return self._port_of("postgres")

    @property
    def s3_endpoint(self) -> str:
        return f"http://{HOST}:{self.s3_port}"

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    # -- helpers -------------------------------------------------------------------------------
    def _resolve_ports(self, running: set[str]) -> None:
        recorded = self._state.get("services", {})
        for service in self.services:
            wanted = self._requested_ports.get(service)
            if service in running:
                port = recorded[service]["port"]
                if wanted is not None and wanted != port:
                    raise StackError(
                        f"{service} is already running on port {port}, not {wanted}; "
                        "run `dataeng-local down` first to change ports"
                    )
                self.ports[service] = port
            else:
                self.ports[service] = wanted or self._default_ports.get(service) or free_port()

    def _argv(self, service: str) -> list[str]:
        argv = [sys.executable, "-m", MODULES[service], "--host", HOST, "--port", str(self.ports[service])]
        if service == "snowflake":
            argv += ["--data-dir", str(self.dir / "snowflake")]
            if "s3" in self.ports:
                argv += ["--s3-endpoint", f"http://{HOST}:{self.ports['s3']}"]
        elif service == "s3":
            argv += ["--bucket", self.bucket]
        elif service == "demo_api":
            argv += ["--token", self.api_token, *self.api_args]
        return argv

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _health_request(self, service: str, port: int) -> urllib.request.Request:
        if service == "s3":
            bucket = self._state.get("bucket", self.bucket)
            return urllib.request.Request(f"http://{HOST}:{port}/{bucket}", method="HEAD")
        return urllib.request.Request(f"http://{HOST}:{port}/healthz")

    def _healthy(self, service: str, port: int, timeout: float) -> bool:
        if service == "postgres":  # the seeded database takes its name last
            from dataeng_local.postgres import DATABASE, connect

            try:
                connect(HOST, port, DATABASE, timeout=timeout).close()
                return True
            except Exception:
                return False
        try:
            with urllib.request.urlopen(self._health_request(service, port), timeout=timeout) as resp:
                return int(resp.status) == 200
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def _wait_healthy(self, services: list[str]) -> None:
        deadline = time.monotonic() + self.startup_timeout
        pending = list(services)
        while pending:
            for service in list(pending):
                record = self._record(service)
                code = None if record is None else processes.exit_code(record)
                if record is not None and (code is not None or processes.find(record) is None):
                    raise StackError(
                        f"{service} exited during start-up"
                        f"{'' if code is None else f' (exit code {code})'}{self._log_tail(service)}"
                    )
                if self._healthy(service, self.ports[service], timeout=1.0):
                    pending.remove(service)
            if pending and time.monotonic() > deadline:
                name = pending[0]
                raise StackError(
                    f"{name} did not answer its health check on port {self.ports[name]} within "
                    f"{self.startup_timeout:.0f}s{self._log_tail(name)}"
                )
            if pending:
                time.sleep(0.05)

    def _log_tail(self, service: str, lines: int = 20) -> str:
        try:
            text = self.log_path(service).read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return f". Last lines of {self.log_path(service)}:\n" + "\n".join(text)
