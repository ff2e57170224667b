"""Fixtures of the browser test: Chromium, the local runner (stack + Airflow) and one signed-in tab.

Chromium is ``$DATAENG_CHROMIUM``, else Debian's ``/usr/bin/chromium`` (``apt-get install -y chromium``);
without one the tests skip and say how to get it. Playwright's own browser download is never used.

The runner is what ``dataeng-local airflow`` starts (:class:`LocalStack` + :class:`LocalAirflow`: api-server,
scheduler, dag-processor, triggerer) on free ports in a temporary directory, once per module. Screenshots go
to ``$DATAENG_UI_SCREENSHOTS`` (``make screenshots``: ``docs/images``), else to a temporary directory; they
are for people, nothing compares them pixel by pixel.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import pytest
import requests

from dataeng_local.airflow import (
    DEMO_API_CLOCK,
    PASSWORD,
    USERNAME,
    LocalAirflow,
    resolve_settings,
)
from dataeng_local.stack import LocalStack, free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
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
START_TIMEOUT = 420.0  # migrating the database and starting four components, on a busy machine
# The load task's extra link needs an account in org-account form (a bare locator, the stack's "fakesnow",
# has no Snowsight URL); the stand-in ignores the account. Gives https://app.snowflake.com/dataeng/local/...
# The example DAGs name their assets with the same account (DATAENG_SNOWFLAKE_ACCOUNT), as a deployment
# does: Airflow drops events of assets no DAG declares, and the operators emit the connection's account.
SNOWSIGHT_ACCOUNT = "dataeng-local"


def chromium_path() -> str | None:
    """``$DATAENG_CHROMIUM`` (must exist), else Debian's chromium if installed."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured if Path(configured).is_file() else None
    return DEBIAN_CHROMIUM if Path(DEBIAN_CHROMIUM).is_file() else shutil.which("chromium")


@pytest.fixture(scope="module")
def chromium() -> str:
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


@dataclass
class Runner:
    """The running stack and Airflow, a REST client for Airflow, and the processes they started."""

    stack: LocalStack
    airflow: LocalAirflow
    leaders: list[psutil.Process] = field(default_factory=list)
    _token: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return self.airflow.settings.url

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """``/api/v2`` with a token from ``POST /auth/token`` (the fixed login)."""
        if self._token is None:
            resp = requests.post(
                f"{self.url}/auth/token", json={"username": USERNAME, "password": PASSWORD}, timeout=30
            )
            resp.raise_for_status()
            self._token = resp.json()["access_token"]
        resp = requests.request(
            method,
            f"{self.url}/api/v2{path}",
            json=body,
            headers={"Authorization": f"Bearer {self._token}"},
            timeout=30,
        )
        assert resp.ok, f"{method} {path}: HTTP {resp.status_code}: {resp.text[:2000]}"
        return resp.json()

    def processes(self) -> list[psutil.Process]:
        """Every live process the runner started: each service and component, and everything in its
        session (each starts its own), re-parented workers and task processes included."""
        found = {p.pid: p for p in self.leaders if alive(p)}
        started = {p.pid: p.create_time() for p in self.leaders}
        for proc in psutil.process_iter(["create_time"]):
            try:
                sid = os.getsid(proc.pid)
            except (ProcessLookupError, PermissionError):
                continue
            if sid in started and proc.info["create_time"] >= started[sid] - 0.05 and alive(proc):
                found.setdefault(proc.pid, proc)
        return list(found.values())

    def stop(self) -> None:
        self.airflow.stop()
        self.stack.down()


def alive(proc: psutil.Process) -> bool:
    """Running and not a zombie (a zombie has exited; its parent reaps it)."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def runner_connections(stack: LocalStack) -> dict[str, str]:
    """The stack's ``AIRFLOW_CONN_*``, Snowflake's with an org-account identifier (for the Snowsight link)."""
    env = dict(stack.env)
    snowflake = json.loads(env["AIRFLOW_CONN_SNOWFLAKE_DEFAULT"])
    snowflake["extra"]["account"] = SNOWSIGHT_ACCOUNT
    env["AIRFLOW_CONN_SNOWFLAKE_DEFAULT"] = json.dumps(snowflake)
    return env


@pytest.fixture(scope="module")
def runner(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """The stack and Airflow on free ports; the example DAGs active, no scheduled runs (only ours)."""
    dir = tmp_path_factory.mktemp("ui-runner")
    stack = LocalStack(dir, api_args=["--clock", DEMO_API_CLOCK])
    settings = resolve_settings(dir, port=free_port(), dags_folder=ROOT / "dags", dags_paused=False)
    runner = Runner(stack, LocalAirflow(dir, settings))
    try:
        stack.up()
        with pytest.MonkeyPatch.context() as env:
            # Active DAGs would start their latest interval at once (and the asset-triggered DAG after it):
            # the scheduler creates only the runs we trigger, so the grid shows exactly the UI's run.
            env.setenv("AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE", "False")
            env.setenv("DATAENG_SNOWFLAKE_ACCOUNT", SNOWSIGHT_ACCOUNT)
            env.setenv("DATAENG_DATABASE", "DEMO")  # the asset names the tests expect
            env.setenv("DATAENG_BUCKET", stack.bucket)
            runner.airflow.start(runner_connections(stack), timeout=START_TIMEOUT)
        pids = [s.pid for s in stack.status()] + [c.pid for c in runner.airflow.status()]
        runner.leaders = [psutil.Process(pid) for pid in pids if pid is not None]
        yield runner
    finally:
        runner.stop()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
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
def ui(browser: Browser, runner: Runner) -> Iterator[Page]:
    """One tab for the module, signed in through the login page as a user does."""
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    context = browser.new_context(base_url=runner.url, viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto("/")
        expect(page).to_have_url(f"{runner.url}/auth/login?next=%2F")  # not signed in: the login page
        page.locator("input[name=username]").fill(USERNAME)
        page.locator("input[name=password]").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{runner.url}/")
        expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
        yield page
    finally:
        context.close()


def screenshot(page: Page, path: Path) -> None:
    """The viewport as it has settled: the pointer parked on the logo, transitions run to their end."""
    page.mouse.move(0, 0)
    page.screenshot(path=path, animations="disabled")


def quote(run_id: str) -> str:
    """A run id in a URL path (manual__2026-...+00:00)."""
    return urllib.parse.quote(run_id, safe="")


def wait_for_run(runner: Runner, dag_id: str, run_id: str, timeout: float) -> dict[str, Any]:
    """Poll the run over REST until it finishes (what the UI would keep polling); its final JSON."""
    deadline = time.monotonic() + timeout
    while True:
        run = runner.api("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id)}")
        if run["state"] in ("success", "failed"):
            return dict(run)
        if time.monotonic() > deadline:
            states = task_states(runner, dag_id, run_id)
            raise AssertionError(f"{dag_id} run {run_id} still {run['state']} after {timeout:.0f}s: {states}")
        time.sleep(2.0)


def task_states(runner: Runner, dag_id: str, run_id: str) -> dict[tuple[str, int], str | None]:
    """(task id, map index) -> state, from REST."""
    body = runner.api("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id)}/taskInstances?limit=100")
    return {(ti["task_id"], ti["map_index"]): ti["state"] for ti in body["task_instances"]}
