"""`dataeng-local airflow` started as a user starts it, for the tests of this folder.

``start_runner`` runs the command in a subprocess (the repository as working directory, free ports, none of
the test session's AIRFLOW_* variables), waits until the API server reports every component healthy, and
gives a small REST client (``POST /auth/token``, then ``/api/v2``). ``local_airflow`` is one runner per
test module.
"""

from __future__ import annotations

import json
import os
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
from typing import Any

import psutil
import pytest

from dataeng_local.airflow import HEALTH_PATH, PASSWORD, USERNAME
from dataeng_local.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 600.0  # the runner's own limit is 300 s for Airflow; the stack and a migration come first


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
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["PYTHONUNBUFFERED"] = "1"
    # The DAG files do not change during a test: parse them once, not every 30 s (CPU on a 2-core runner).
    env["AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL"] = "3600"
    return env


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
    ports = {name: free_port() for name in ("airflow", "snowflake", "s3", "api")}
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
        "--dags-paused",  # each test decides what runs
        *extra,
    )
    with open(output, "wb") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=runner_env(), stdout=out, stderr=subprocess.STDOUT)
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


@pytest.fixture(scope="module")
def local_airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAirflow]:
    """One running ``dataeng-local airflow`` for the test module (stopped at its end if a test did not)."""
    runner = start_runner(tmp_path_factory.mktemp("local-airflow"))
    try:
        yield runner
    finally:
        runner.stop()


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
