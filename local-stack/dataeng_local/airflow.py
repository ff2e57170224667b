"""Airflow 3 on the local stack, as users run it: api-server, scheduler, dag-processor and triggerer.

``LocalAirflow(dir, settings)`` starts ``airflow <component>`` for each of :data:`COMPONENTS` as its own
background process (its own session; output in ``DIR/logs/airflow-<component>.log``), all with the one
environment :func:`airflow_environment` builds:

- the LocalExecutor with ``parallelism`` = the machine's CPUs (Airflow's default of 32 would start 32
  worker processes on a 2-core laptop);
- the metadata database under ``DIR/airflow/`` (SQLite, migrated on first start and after an Airflow
  upgrade), or ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` / ``--db-url`` (e.g. PostgreSQL);
- the example DAGs, the stack's connections (``AIRFLOW_CONN_*``, as ``dataeng-local env`` prints them),
  ``execution_api_server_url`` matching the chosen port (or every task fails with "Connection refused"),
  the venv's ``bin`` on ``PATH`` and a fixed login (SimpleAuthManager, :data:`USERNAME` /
  :data:`PASSWORD`).

``DIR/airflow.json`` records what was started, so ``dataeng-local down`` from another shell stops it, and
stopping ends every process the components started: LocalExecutor workers and task processes included
(:func:`~dataeng_local.processes.terminate` follows each component's session).

The same components, commands and settings run in ``docker-compose.yaml`` (a Celery worker there in place
of the LocalExecutor): ``tests/test_compose.py`` keeps the two in step.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from dataeng_local import processes
from dataeng_local.processes import ProcessRecord
from dataeng_local.stack import HOST, StackError, port_in_use

# `airflow <component>` for each, with the flags it gets here. The log servers are skipped: every component
# shares one log folder on this machine, so the API server reads task logs from disk (no ports 8793/8794).
COMPONENTS: dict[str, tuple[str, ...]] = {
    "api-server": (),
    "scheduler": ("--skip-serve-logs",),
    "dag-processor": (),
    "triggerer": ("--skip-serve-logs",),
}
DEFAULT_PORT = 8080
USERNAME = "admin"
PASSWORD = "admin"
ROLE = "admin"
AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
HEALTH_PATH = "/api/v2/monitor/health"
# The demo API's data follows the wall clock, so scheduled runs see new records (as in docker-compose.yaml).
DEMO_API_CLOCK = "wall"
# The `docker compose` variable that starts new DAGs paused (default false there and here).
PAUSED_ENV = "DATAENG_DAGS_PAUSED_AT_CREATION"
# Health-report keys of the components :meth:`LocalAirflow.wait_healthy` waits for.
_HEALTH_KEYS = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class AirflowSettings:
    """Where and how the components run; :func:`resolve_settings` fills in the defaults."""

    home: Path
    port: int
    dags_folder: Path
    sql_alchemy_conn: str
    parallelism: int
    dags_paused: bool

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def passwords_file(self) -> Path:
        return self.home / "simple_auth_manager_passwords.json"


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    pid: int | None
    running: bool


def cpu_count() -> int:
    """CPUs this process may use (the affinity mask where there is one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def default_dags_folder() -> Path:
    """``./dags`` if there is one, else the repository's example DAGs next to this package."""
    here = Path.cwd() / "dags"
    return here.resolve() if here.is_dir() else _PACKAGE_ROOT / "dags"


def resolve_settings(
    dir: Path,
    *,
    port: int | None = None,
    dags_folder: Path | None = None,
    sql_alchemy_conn: str | None = None,
    parallelism: int | None = None,
    dags_paused: bool | None = None,
    environ: Mapping[str, str] = os.environ,
) -> AirflowSettings:
    """Settings from the options, else the user's environment, else the local defaults."""
    home = Path(dir).resolve() / "airflow"
    folder = Path(dags_folder).resolve() if dags_folder is not None else default_dags_folder()
    if not folder.is_dir():
        raise StackError(f"the DAGs folder {folder} does not exist; give one with --dags-folder DIR")
    conn = (
        sql_alchemy_conn
        or environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
        or f"sqlite:///{home}/airflow.db"
    )
    if parallelism is None:
        text = environ.get("AIRFLOW__CORE__PARALLELISM")
        parallelism = int(text) if text else cpu_count()
    if parallelism < 1:
        raise StackError(f"parallelism must be at least 1, got {parallelism}")
    if dags_paused is None:
        dags_paused = environ.get(PAUSED_ENV, "false").strip().lower() in ("1", "true", "yes")
    return AirflowSettings(
        home=home,
        port=DEFAULT_PORT if port is None else port,
        dags_folder=folder,
        sql_alchemy_conn=conn,
        parallelism=parallelism,
        dags_paused=dags_paused,
    )


def airflow_environment(
    settings: AirflowSettings, connections: Mapping[str, str], environ: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """The variables the runner sets for every component (on top of the caller's environment).

    ``connections`` are the stack's ``AIRFLOW_CONN_*`` variables. No Fernet key or JWT secret here: the
    first ``airflow`` command writes random ones to ``airflow.cfg`` in the shared ``AIRFLOW_HOME``, which
    every component reads (in compose, containers share no home, so they come from the environment).
    """
    bin_dir = str(Path(sys.executable).parent)
    return {
        "AIRFLOW_HOME": str(settings.home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(settings.parallelism),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": str(settings.dags_paused),
        "AIRFLOW__CORE__AUTH_MANAGER": AUTH_MANAGER,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:{ROLE}",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(settings.passwords_file),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": settings.sql_alchemy_conn,
        "AIRFLOW__API__HOST": HOST,
        "AIRFLOW__API__PORT": str(settings.port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{settings.url}/execution/",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        # Components and operators start programs by name (`airflow`, `dbt`): this venv's first.
        "PATH": os.pathsep.join(p for p in (bin_dir, environ.get("PATH", "")) if p),
        **connections,
    }


def airflow_version() -> str:
    try:
        return version("apache-airflow")
    except PackageNotFoundError:
        raise StackError(
            'Airflow is not installed in this environment: pip install "airflow-provider-dataeng[local]"'
        ) from None


class LocalAirflow:
    """Start, inspect and stop the Airflow components for the stack in ``dir``."""

    def __init__(self, dir: str | os.PathLike[str], settings: AirflowSettings | None = None) -> None:
        self.dir = Path(dir).resolve()
        self.settings = settings or resolve_settings(self.dir)

    # -- files ---------------------------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.dir / "airflow.json"

    def log_path(self, component: str) -> Path:
        return self.dir / "logs" / f"airflow-{component}.log"

    def _load_state(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.state_path.read_text()))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise StackError(
                f"cannot read {self.state_path}: {exc}; remove it if Airflow is not running"
            ) from None

    def _save_state(self, state: Mapping[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True, default=str))
        tmp.replace(self.state_path)

    def _records(self) -> dict[str, ProcessRecord]:
        components = self._load_state().get("components", {})
        return {name: ProcessRecord(**components[name]) for name in COMPONENTS if name in components}

    # -- lifecycle -----------------------------------------------------------------------------
    def preflight(self) -> None:
        """Refuse to start a second Airflow from this directory, or on a busy API port, before anything
        starts (the messages say what to do); leftovers of a runner that was killed are stopped."""
        running = self.running()
        if running:
            url = self._load_state().get("url", self.settings.url)
            raise StackError(
                f"Airflow is already running from {self.dir} ({', '.join(running)}) at {url}; "
                "stop it with `dataeng-local down`"
            )
        if self.state_path.exists():
            self.stop()  # its components are gone; orphans they left (workers, tasks) go too
        if port_in_use(self.settings.port):
            raise StackError(
                f"port {self.settings.port} for the Airflow API server is already in use on {HOST}; "
                "choose another port (dataeng-local airflow --port N)"
            )

    def start(self, connections: Mapping[str, str], timeout: float = 300.0) -> dict[str, int]:
        """Migrate if needed, start every component, wait until the health report shows them all healthy.

        Returns the pid of each component. On failure everything started is stopped again and the
        :class:`StackError` carries the end of the failing component's log.
        """
        self.preflight()
        env = {**os.environ, **airflow_environment(self.settings, connections)}
        env["PYTHONUNBUFFERED"] = "1"
        self._prepare_home(env)
        records: dict[str, ProcessRecord] = {}
        state: dict[str, Any] = {
            "url": self.settings.url,
            "settings": asdict(self.settings),
            "components": {},
        }
        try:
            for component, flags in COMPONENTS.items():
                records[component] = processes.spawn(
                    [sys.executable, "-m", "airflow", component, *flags],
                    self.log_path(component),
                    self.dir,
                    env,
                    "airflow",
                )
                state["components"][component] = records[component].to_json()
                self._save_state(state)
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return {name: record.pid for name, record in records.items()}

    def stop(self, timeout: float = 20.0) -> processes.Stopped:
        """Stop every component with all its processes; forget the state.

        The state says "stopping" first, so a runner watching these components from another process
        (`dataeng-local airflow` in the foreground) tells a stop from a crash.
        """
        state = self._load_state()
        if state:
            self._save_state({**state, "stopping": True})
        stopped = processes.terminate(list(self._records().values()), timeout)
        self.state_path.unlink(missing_ok=True)
        return stopped

    def stopping(self) -> bool:
        """Whether the components are being (or were) stopped on purpose."""
        return not self.state_path.exists() or bool(self._load_state().get("stopping"))

    def _prepare_home(self, env: Mapping[str, str]) -> None:
        home = self.settings.home
        home.mkdir(parents=True, exist_ok=True)
        self.settings.passwords_file.write_text(json.dumps({USERNAME: PASSWORD}) + "\n")
        # Migrated once per Airflow version and database; `airflow db migrate` is a no-op otherwise but
        # costs seconds of imports.
        marker = home / ".migrated"
        database = hashlib.sha256(self.settings.sql_alchemy_conn.encode()).hexdigest()[
            :16
        ]  # no password kept
        stamp = f"{airflow_version()} {database}"
        if marker.exists() and marker.read_text() == stamp:
            return
        log = self.log_path("db-migrate")
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            result = subprocess.run(
                [sys.executable, "-m", "airflow", "db", "migrate"],
                env=dict(env),
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if result.returncode != 0:
            raise StackError(f"`airflow db migrate` failed (exit code {result.returncode}){_tail(log)}")
        marker.write_text(stamp)

    # -- inspection ----------------------------------------------------------------------------
    def status(self) -> list[ComponentStatus]:
        return [
            ComponentStatus(name, record.pid, processes.find(record) is not None)
            for name, record in self._records().items()
        ]

    def running(self) -> list[str]:
        return [s.name for s in self.status() if s.running]

    def health(self, timeout: float = 2.0) -> dict[str, Any] | None:
        """The API server's health report, or ``None`` while it does not answer."""
        try:
            with urllib.request.urlopen(f"{self.settings.url}{HEALTH_PATH}", timeout=timeout) as resp:
                return dict(json.loads(resp.read()))
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def unhealthy(self, report: Mapping[str, Any] | None) -> list[str]:
        """Components the health report does not (yet) show healthy."""
        if report is None:
            return ["api-server"]
        down = [] if report.get("metadatabase", {}).get("status") == "healthy" else ["metadatabase"]
        for component, key in _HEALTH_KEYS.items():
            if (report.get(key) or {}).get("status") != "healthy":
                down.append(component)
        return down

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        records = self._records()
        while True:
            for name, record in records.items():
                if processes.find(record) is None:
                    code = processes.exit_code(record)
                    raise StackError(
                        f"Airflow's {name} exited during start-up"
                        f"{'' if code is None else f' (exit code {code})'}{_tail(self.log_path(name))}"
                    )
            pending = self.unhealthy(self.health())
            if not pending:
                return
            if time.monotonic() > deadline:
                name = pending[0] if pending[0] in COMPONENTS else "api-server"
                raise StackError(
                    f"Airflow's {', '.join(pending)} not healthy after {timeout:.0f}s{_tail(self.log_path(name))}"
                )
            time.sleep(0.5)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return f". Last lines of {path}:\n" + "\n".join(text)
