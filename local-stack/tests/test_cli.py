"""``dataeng-local`` and ``LocalStack`` edge cases, and the pytest plugin run end to end."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from dataeng_local.cli import main
from dataeng_local.stack import LocalStack, StackError


def test_env_when_the_stack_is_not_up(tmp_path, capsys):
    assert main(["env", "--dir", str(tmp_path)]) == 1
    assert (
        capsys.readouterr().err
        == f"dataeng-local: the local stack is not up in {tmp_path} (run `dataeng-local up`)\n"
    )


def test_up_refuses_a_port_in_use(tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["up", "--dir", str(tmp_path), "--services", "demo_api", "--api-port", str(port)]) == 1
    assert capsys.readouterr().err == (
        f"dataeng-local: port {port} for demo_api is already in use on 127.0.0.1; choose another port (dataeng-local up --api-port N)\n"
    )
    assert not (tmp_path / "state.json").exists()


def test_a_service_that_fails_to_start_reports_its_log(tmp_path):
    broken = LocalStack(dir=tmp_path, services=["demo_api"], api_args=["--no-such-flag"])
    with pytest.raises(StackError) as info:
        broken.up()
    message = str(info.value)
    assert message.startswith("demo_api exited during start-up (exit code 2). Last lines of")
    assert "unrecognized arguments: --no-such-flag" in message
    assert not (tmp_path / "run" / "demo_api.pid").exists()


def test_down_never_signals_a_process_that_is_not_ours(tmp_path, capsys):
    """A pid recorded in the state but now used by another process (recycled) is left alone."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        state = {
            "services": {
                "demo_api": {
                    "port": 1,
                    "pid": other.pid,
                    "create_time": psutil.Process(other.pid).create_time() - 100,
                    "module": "dataeng_local.demo_api",
                }
            }
        }
        (tmp_path / "state.json").write_text(json.dumps(state))
        assert main(["down", "--dir", str(tmp_path)]) == 0
        assert capsys.readouterr().out == "dataeng-local: nothing was running\n"
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_run_needs_a_command(tmp_path, capsys):
    assert main(["run", "--dir", str(tmp_path), "--"]) == 1
    assert "give the command after --" in capsys.readouterr().err


def test_unknown_service_is_rejected():
    with pytest.raises(StackError, match="unknown service"):
        LocalStack(services=["mysql"])


def test_pytest_plugin_starts_sets_env_and_stops(tmp_path):
    (tmp_path / "test_uses_stack.py").write_text(
        textwrap.dedent("""
        import json, os, pathlib
        import requests

        def test_stack(local_stack):
            conn = json.loads(os.environ["AIRFLOW_CONN_DEMO_API"])
            assert conn == local_stack.connections["demo_api"]
            resp = requests.get(f"http://127.0.0.1:{conn['port']}/v1/orders",
                                headers={"Authorization": "Bearer " + conn["password"]}, params={"limit": 1})
            assert resp.status_code == 200
            assert requests.head(local_stack.s3_endpoint + "/dataeng-local").status_code == 200
            pids = [s.pid for s in local_stack.status()]
            pathlib.Path("pids.json").write_text(json.dumps(pids))
    """)
    )
    env = {**os.environ, "DATAENG_LOCAL_SERVICES": "s3,demo_api"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "dataeng_local.pytest_plugin",
            "-p",
            "no:cacheprovider",
            "test_uses_stack.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    pids = json.loads((tmp_path / "pids.json").read_text())
    assert len(pids) == 2
    deadline = time.monotonic() + 5
    while any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids):
        assert time.monotonic() < deadline, "the plugin left a process running"
        time.sleep(0.05)
