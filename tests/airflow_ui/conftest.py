"""`dataeng-local airflow` started as a user starts it, for the tests of this folder.

``start_runner`` runs the command in a subprocess (the repository as working directory, free ports, none of
the test session's AIRFLOW_* variables: its own metadata database), waits until the API server reports every
component healthy, and gives a small REST client (``POST /auth/token``, then ``/api/v2``).

One runner serves the modules of the folder in turn (``local_airflow``; starting one costs about a minute and
a half on 2 cores): test_local_airflow.py runs the pipelines under the scheduler, test_ui.py drives the UI in
Chromium and ends with Ctrl-C. A module that stopped it leaves the next one a fresh runner;
test_run_types.py always takes a fresh one. The browser fixtures (Chromium, one signed-in tab) are here too.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import pytest

from dataeng_local.airflow import HEALTH_PATH, PASSWORD, USERNAME
from dataeng_local.demo_api.config import DEFAULT_TOKEN
from dataeng_local.stack import build_connections, free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 600.0  # the runner's own limit is 300 s for Airflow; the stack and a migration come first
# The load task's Snowsight link needs an account in org-account form (the stack's bare "fakesnow" has no
# Snowsight URL; the stand-in ignores the account): https://app.snowflake.com/dataeng/local/... The example
# DAGs name their assets with the same account (DATAENG_SNOWFLAKE_ACCOUNT), as a deployment does: Airflow
# drops events of assets no DAG declares, and the operators emit the connection's account.
SNOWSIGHT_ACCOUNT = "dataeng-local"


class ApiError(AssertionError):
    def __init__(self, status: int, method: str, path: str, body: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {body[:2000]}")
        self.status = status
        self.body = body


@dataclass
class RunningAirflow:
    """A ``dataeng-local airflow`` subprocess and what it serves."""

    proc: subprocess.Popen[bytes]
    dir: Path
    output: Path
    ports: dict[str, int]
    _token: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['airflow']}"

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    # -- REST ----------------------------------------------------------------------------------------------
    def request(
        self, method: str, path: str, body: Any = None, token: str | None = None, timeout: float = 60.0
    ) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise ApiError(exc.code, method, path, exc.read().decode(errors="replace")) from None
        return json.loads(raw) if raw else None

    def login(self, username: str = USERNAME, password: str = PASSWORD) -> str:
        reply = self.request("POST", "/auth/token", {"username": username, "password": password})
        return str(reply["access_token"])

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """``/api/v2`` with the fixed local login's token."""
        if self._token is None:
            self._token = self.login()
        return self.request(method, f"/api/v2{path}", body, token=self._token)

    def health(self) -> dict[str, Any] | None:
        try:
            return dict(self.request("GET", HEALTH_PATH, timeout=5.0))
        except (OSError, ApiError, ValueError):
            return None

    # -- processes -------------------------------------------------------------------------------------------
    def started_processes(self) -> dict[int, float]:
        """pid -> start time of every process the runner started, and everything those started: its
        descendants and every process in the sessions of its children (orphans included)."""
        root = psutil.Process(self.proc.pid)
        found = {p.pid: p for p in root.children(recursive=True)}
        leaders = {p.pid for p in root.children()}
        for p in psutil.process_iter():
            try:
                if os.getsid(p.pid) in leaders:
                    found[p.pid] = p
            except (ProcessLookupError, PermissionError):
                continue
        started = {}
        for pid, p in found.items():
            try:
                started[pid] = p.create_time()
            except psutil.NoSuchProcess:
                continue
        return started

    def stop(self, sig: int = signal.SIGINT, timeout: float = 120.0) -> int:
        """Send ``sig`` (Ctrl-C by default) and wait for the runner to exit; its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
            raise AssertionError(
                f"dataeng-local airflow did not stop within {timeout:.0f}s:\n{self.text()}"
            ) from None


def survivors(started: dict[int, float]) -> list[str]:
    """The processes of ``started`` still running (same pid and start time, not a zombie)."""
    alive = []
    for pid, created in started.items():
        try:
            p = psutil.Process(pid)
            if abs(p.create_time() - created) < 0.05 and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{pid} {' '.join(p.cmdline())[:150]}")
        except psutil.NoSuchProcess:
            continue
    return alive


def runner_env() -> dict[str, str]:
    """The test session's environment without its Airflow settings (home, database, connections)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DATAENG_"))}
    env["PYTHONUNBUFFERED"] = "1"
    # The DAG files do not change during a test: parse them once, not every 30 s (CPU on a 2-core runner).
    env["AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL"] = "3600"
    return env


def snowsight_connection(dir: Path, snowflake_port: int) -> dict[str, str]:
    """Variables that give every component the stack's ``snowflake_default`` with an org-account identifier.

    The runner sets the stack's connections as ``AIRFLOW_CONN_*``; a secrets backend comes before them in
    Airflow's lookup, so a connections file (Airflow's own local-filesystem backend) carries the same
    connection with ``SNOWSIGHT_ACCOUNT``; the DAGs name their assets with it.
    """
    conn = build_connections({"snowflake": snowflake_port}, DEFAULT_TOKEN)["snowflake_default"]
    conn["extra"]["account"] = SNOWSIGHT_ACCOUNT
    path = dir / "connections.json"
    path.write_text(json.dumps({"snowflake_default": conn}))
    backend = "airflow.secrets.local_filesystem.LocalFilesystemBackend"
    kwargs = json.dumps({"connections_file_path": str(path)})
    return {
        "AIRFLOW__SECRETS__BACKEND": backend,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": kwargs,
        "AIRFLOW__WORKERS__SECRETS_BACKEND": backend,
        "AIRFLOW__WORKERS__SECRETS_BACKEND_KWARGS": kwargs,
        "DATAENG_SNOWFLAKE_ACCOUNT": SNOWSIGHT_ACCOUNT,
    }


def cli_argv(*args: str) -> list[str]:
    """``dataeng-local ARGS`` from this venv."""
    script = Path(sys.executable).with_name("dataeng-local")
    command = (
        [str(script)] if script.exists() else [sys.executable, "-m", "dataeng_local.cli"]
    )
    return [*command, *args]


def runner_argv(*args: str) -> list[str]:
    return cli_argv("airflow", *args)


def start_runner(dir: Path, *extra: str) -> RunningAirflow:
    """``dataeng-local airflow`` on free ports with new DAGs paused; returns once Airflow is healthy."""
    ports = {name: free_port() for name in ("airflow", "snowflake", "s3", "api", "postgres")}
    output = dir / "runner.out"
    dir.mkdir(parents=True, exist_ok=True)
    argv = runner_argv(
        "--dir",
        str(dir / "stack"),
        "--port",
        str(ports["airflow"]),
        "--snowflake-port",
        str(ports["snowflake"]),
        "--s3-port",
        str(ports["s3"]),
        "--api-port",
        str(ports["api"]),
        "--postgres-port",
        str(ports["postgres"]),
        "--dags-paused",  # each test decides what runs
        *extra,
    )
    env = {**runner_env(), **snowsight_connection(dir, ports["snowflake"])}
    with open(output, "wb") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    runner = RunningAirflow(proc=proc, dir=dir / "stack", output=output, ports=ports)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while "Airflow is up:" not in runner.text():
        if proc.poll() is not None:
            raise AssertionError(f"dataeng-local airflow exited with {proc.returncode}:\n{runner.text()}")
        if time.monotonic() > deadline:
            runner.stop()
            raise AssertionError(f"Airflow not up after {STARTUP_TIMEOUT:.0f}s:\n{runner.text()}")
        time.sleep(1.0)
    return runner


class Runners:
    """The runner the modules share: the running one, or a new one when it was stopped (or ``fresh``)."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        self.current: RunningAirflow | None = None

    def get(self, fresh: bool = False) -> RunningAirflow:
        if self.current is not None and (fresh or self.current.proc.poll() is not None):
            self.stop()
        if self.current is None:
            self.current = start_runner(self._factory.mktemp("local-airflow"))
        return self.current

    def stop(self) -> None:
        if self.current is not None:
            runner, self.current = self.current, None
            runner.stop()


@pytest.fixture(scope="session")
def runners(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runners]:
    pool = Runners(tmp_path_factory)
    try:
        yield pool
    finally:
        pool.stop()


@pytest.fixture(scope="module")
def local_airflow(runners: Runners) -> RunningAirflow:
    """The shared running ``dataeng-local airflow`` (started for the first module that needs it)."""
    return runners.get()


# -- the browser --------------------------------------------------------------------------------------------------
CHROMIUM_ENV = "DATAENG_CHROMIUM"
DEBIAN_CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS_ENV = "DATAENG_UI_SCREENSHOTS"
# Chromium as root in a container, without the background traffic of a desktop browser.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 860}
UI_TIMEOUT_MS = 60_000  # per element: the UI's first loads are slow on a busy 2-core machine


def chromium_path() -> str | None:
    """``$DATAENG_CHROMIUM`` (must exist), else Debian's chromium if installed."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured if Path(configured).is_file() else None
    return DEBIAN_CHROMIUM if Path(DEBIAN_CHROMIUM).is_file() else shutil.which("chromium")


@pytest.fixture(scope="module")
def chromium() -> str:
    """Chromium for Playwright: ``$DATAENG_CHROMIUM``, else Debian's (``.ci/run`` installs it). Playwright's
    own browser download is never used. Without one the browser tests skip and say how to get it."""
    pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra: make venv")
    path = chromium_path()
    if path is None:
        configured = os.environ.get(CHROMIUM_ENV)
        pytest.skip(
            f"${CHROMIUM_ENV}={configured} does not exist: point it at a Chrome or Chromium binary"
            if configured
            else "no Chromium for the browser test: on Debian/Ubuntu `sudo apt-get install -y chromium` "
            f"then run make test-ui; elsewhere point {CHROMIUM_ENV} at a Chrome or Chromium binary, e.g. "
            f"{CHROMIUM_ENV}='/Applications/Google Chrome.app/Contents/MacOS/Google Chrome'"
        )
    return path


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``$DATAENG_UI_SCREENSHOTS`` (``make screenshots``: docs/images), else a temporary directory; they are
    for people, nothing compares them pixel by pixel."""
    target = os.environ.get(SCREENSHOTS_ENV)
    folder = Path(target).resolve() if target else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def ui(browser: Browser, local_airflow: RunningAirflow) -> Iterator[Page]:
    """One tab for the module, signed in through the login page as a user does."""
    from playwright.sync_api import expect

    url = local_airflow.url
    expect.set_options(timeout=UI_TIMEOUT_MS)
    context = browser.new_context(base_url=url, viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto("/")
        expect(page).to_have_url(f"{url}/auth/login?next=%2F")  # not signed in: the login page
        page.locator("input[name=username]").fill(USERNAME)
        page.locator("input[name=password]").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{url}/")
        expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
        yield page
    finally:
        context.close()


def screenshot(page: Page, path: Path) -> None:
    """The viewport as it has settled: the pointer parked on the logo, transitions run to their end."""
    page.mouse.move(0, 0)
    page.screenshot(path=path, animations="disabled")


# -- runs -----------------------------------------------------------------------------------------------------------
FINISHED = {"success", "failed"}


def quote(run_id: str) -> str:
    return urllib.parse.quote(run_id, safe="")


def wait_for_run(airflow: RunningAirflow, dag_id: str, run_id: str, timeout: float = 900.0) -> dict[str, Any]:
    """The DAG run once it has finished; a failed run's message lists its task states."""
    deadline = time.monotonic() + timeout
    while True:
        run = airflow.api("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id)}")
        if run["state"] in FINISHED:
            return dict(run)
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{dag_id} {run_id} still {run['state']} after {timeout:.0f}s: {task_states(airflow, dag_id, run_id)}"
            )
        time.sleep(2.0)


def task_states(airflow: RunningAirflow, dag_id: str, run_id: str) -> dict[str, str | None]:
    tis = airflow.api("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id)}/taskInstances?limit=100")[
        "task_instances"
    ]
    return {
        f"{t['task_id']}[{t['map_index']}]" if t["map_index"] >= 0 else t["task_id"]: t["state"] for t in tis
    }


def task_instance(
    airflow: RunningAirflow, dag_id: str, run_id: str, task_id: str, map_index: int = -1
) -> dict[str, Any]:
    suffix = "" if map_index < 0 else f"/{map_index}"
    return dict(airflow.api("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id)}/taskInstances/{task_id}{suffix}"))


def xcom(airflow: RunningAirflow, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> Any:
    path = f"/dags/{dag_id}/dagRuns/{quote(run_id)}/taskInstances/{task_id}/xcomEntries/return_value"
    return airflow.api("GET", path + (f"?map_index={map_index}" if map_index >= 0 else ""))["value"]
