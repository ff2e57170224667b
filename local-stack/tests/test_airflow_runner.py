"""`dataeng-local airflow` without starting Airflow: settings, environment, refusals, stopping orphans.

The runner started for real: tests/airflow_ui/test_local_airflow.py.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from dataeng_local import processes
from dataeng_local.airflow import (
    AUTH_MANAGER,
    LocalAirflow,
    airflow_environment,
    cpu_count,
    resolve_settings,
)
from dataeng_local.cli import _redacted, main
from dataeng_local.stack import StackError

ROOT = Path(__file__).resolve().parents[2]


# -- settings --------------------------------------------------------------------------------------------------
def test_defaults_size_the_executor_to_the_machine_and_keep_everything_under_the_stack_dir(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(ROOT)
    settings = resolve_settings(tmp_path, environ={})
    assert settings.home == tmp_path / "airflow"
    assert settings.port == 8080
    assert settings.dags_folder == ROOT / "dags"
    assert settings.sql_alchemy_conn == f"sqlite:///{tmp_path}/airflow/airflow.db"
    assert settings.parallelism == cpu_count() == len(os.sched_getaffinity(0))
    assert settings.dags_paused is False  # as docker-compose.yaml


def test_the_users_environment_then_the_options_win(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    environ = {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://airflow:secret@db/airflow",
        "AIRFLOW__CORE__PARALLELISM": "3",
        "DATAENG_DAGS_PAUSED_AT_CREATION": "true",
    }
    settings = resolve_settings(tmp_path, environ=environ)
    assert (settings.sql_alchemy_conn, settings.parallelism, settings.dags_paused) == (
        "postgresql+psycopg2://airflow:secret@db/airflow",
        3,
        True,
    )
    settings = resolve_settings(
        tmp_path,
        port=9999,
        sql_alchemy_conn="postgresql://other/db",
        parallelism=1,
        dags_paused=False,
        environ=environ,
    )
    assert (settings.port, settings.sql_alchemy_conn, settings.parallelism, settings.dags_paused) == (
        9999,
        "postgresql://other/db",
        1,
        False,
    )


def test_a_missing_dags_folder_names_the_option(tmp_path):
    with pytest.raises(
        StackError, match=r"the DAGs folder .*/nope does not exist; give one with --dags-folder DIR"
    ):
        resolve_settings(tmp_path, dags_folder=tmp_path / "nope", environ={})


def test_environment_of_every_component(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    settings = resolve_settings(tmp_path, port=18080, parallelism=2, environ={})
    conns = {"AIRFLOW_CONN_DEMO_API": '{"conn_type": "http"}'}
    env = airflow_environment(settings, conns, environ={"PATH": "/usr/bin"})
    assert env == {
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__AUTH_MANAGER": AUTH_MANAGER,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(
            tmp_path / "airflow" / "simple_auth_manager_passwords.json"
        ),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path}/airflow/airflow.db",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": "18080",
        # tasks reach the API server where it listens (Airflow assumes port 8080)
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "http://127.0.0.1:18080/execution/",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin",  # `airflow`, `dbt` of this venv
        **conns,
    }


def test_database_password_is_not_printed():
    assert _redacted("postgresql+psycopg2://airflow:secret@db:5432/airflow") == (
        "postgresql+psycopg2://airflow:***@db:5432/airflow"
    )
    assert _redacted("sqlite:////tmp/x/airflow.db") == "sqlite:////tmp/x/airflow.db"


# -- refusals before anything starts ------------------------------------------------------------------------------
def test_a_busy_port_is_named_with_the_option_to_change_it(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["airflow", "--dir", str(tmp_path), "--port", str(port)]) == 1
    assert capsys.readouterr().err == (
        f"dataeng-local: port {port} for the Airflow API server is already in use on 127.0.0.1; "
        "choose another port (dataeng-local airflow --port N)\n"
    )
    assert list(tmp_path.iterdir()) == []  # nothing was started, not even the stack


def fake_component(tmp_path: Path) -> processes.ProcessRecord:
    """A process that passes for an Airflow component (its command line names airflow)."""
    return processes.spawn(
        [sys.executable, "-c", "import time; time.sleep(60)", "airflow", "scheduler"],
        tmp_path / "logs" / "fake.log",
        tmp_path,
        dict(os.environ),
        "airflow",
    )


def test_a_second_runner_on_the_same_dir_is_refused_and_down_stops_the_first(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    record = fake_component(tmp_path)
    state = {"url": "http://127.0.0.1:8080", "components": {"scheduler": record.to_json()}}
    (tmp_path / "airflow.json").write_text(json.dumps(state))
    assert main(["airflow", "--dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        f"dataeng-local: Airflow is already running from {tmp_path} (scheduler) at http://127.0.0.1:8080; "
        "stop it with `dataeng-local down`\n"
    )
    assert not LocalAirflow(tmp_path).stopping()  # a foreground runner would report a crash if it exited
    assert main(["down", "--dir", str(tmp_path)]) == 0
    assert LocalAirflow(tmp_path).stopping()  # ... and reports a stop from elsewhere now
    assert capsys.readouterr().out == "dataeng-local: stopped Airflow (scheduler)\n"
    assert processes.find(record) is None
    assert not (tmp_path / "airflow.json").exists()


# -- stopping follows the session ---------------------------------------------------------------------------------
ORPHAN_MAKER = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(child.pid, flush=True)
time.sleep(120)
"""


def test_stopping_a_component_that_died_ends_the_orphans_it_left(tmp_path):
    """A scheduler killed hard leaves its LocalExecutor workers re-parented to init; they are still ours."""
    record = processes.spawn(
        [sys.executable, "-c", ORPHAN_MAKER, "airflow"],
        tmp_path / "log",
        tmp_path,
        dict(os.environ),
        "airflow",
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "log").read_text().strip():
        assert time.monotonic() < deadline, "the orphan maker did not start its child"
        time.sleep(0.1)
    orphan = int((tmp_path / "log").read_text().split()[0])
    os.kill(record.pid, signal.SIGKILL)
    processes.exit_code(record)  # reaped: the leader is gone
    while psutil.Process(orphan).ppid() == record.pid:
        time.sleep(0.05)
    assert os.getsid(orphan) == record.pid

    stopped = processes.terminate([record], timeout=10)
    assert stopped.running == []  # the leader was already gone
    assert stopped.pids == [orphan]
    assert not psutil.pid_exists(orphan) or psutil.Process(orphan).status() == psutil.STATUS_ZOMBIE


def test_a_recycled_session_id_is_left_alone(tmp_path):
    """Another process now holds the recorded pid (not ours): its session is not searched."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    try:
        record = processes.ProcessRecord(
            pid=other.pid, create_time=psutil.Process(other.pid).create_time() - 100, module="airflow"
        )
        assert processes.terminate([record], timeout=1).pids == []
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_status_lists_the_airflow_components(tmp_path, capsys):
    record = fake_component(tmp_path)
    (tmp_path / "airflow.json").write_text(json.dumps({"components": {"scheduler": record.to_json()}}))
    try:
        assert [(s.name, s.pid, s.running) for s in LocalAirflow(tmp_path).status()] == [
            ("scheduler", record.pid, True)
        ]
        main(["status", "--dir", str(tmp_path)])
        assert f"airflow scheduler     up     {record.pid:>8}" in capsys.readouterr().out
    finally:
        processes.stop(record)
