"""A stack started by the real ``dataeng-local`` CLI: every service answers through the connections
it exports (S3Hook, s3fs, the demo API, Snowflake), and ``down`` leaves no process behind.

One stack serves the whole module (starting it is the slow part); the last test stops it.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path

import psutil
import pytest
import requests

from dataeng_local.stack import SERVICES, LocalStack, free_port

HAS_SNOWFLAKE = find_spec("dataeng_local.snowflake") is not None
needs_snowflake = pytest.mark.skipif(
    not HAS_SNOWFLAKE, reason="the Snowflake stand-in module is not in this tree yet"
)
STARTED = SERVICES if HAS_SNOWFLAKE else ("s3", "demo_api")


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``dataeng-local`` script (or the module when no script is installed)."""
    script = Path(sys.executable).with_name("dataeng-local")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "dataeng_local.cli"]
    return subprocess.run([*argv, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("stack")
    ports = {"snowflake": free_port(), "s3": free_port(), "demo_api": free_port(), "postgres": free_port()}
    up = cli(
        "up",
        "--dir",
        str(directory),
        "--services",
        ",".join(STARTED),
        "--snowflake-port",
        str(ports["snowflake"]),
        "--s3-port",
        str(ports["s3"]),
        "--api-port",
        str(ports["demo_api"]),
        "--postgres-port",
        str(ports["postgres"]),
    )
    assert up.returncode == 0, up.stderr
    assert up.stdout.startswith(f"dataeng-local: started {', '.join(STARTED)} in {directory}\n")
    yield directory
    cli("down", "--dir", str(directory))  # no-op when the last test already stopped it


@pytest.fixture(scope="module")
def stack(stack_dir: Path) -> Iterator[LocalStack]:
    """The CLI's stack seen from Python, with ``AIRFLOW_CONN_*`` set from ``dataeng-local env``."""
    env = cli("env", "--dir", str(stack_dir))
    assert env.returncode == 0, env.stderr
    with pytest.MonkeyPatch.context() as patch:
        for line in env.stdout.splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            patch.setenv(key, shlex.split(value)[0])
        yield LocalStack(dir=stack_dir, services=STARTED)


def test_up_again_says_already_up(stack_dir):
    again = cli("up", "--dir", str(stack_dir), "--services", ",".join(STARTED))
    assert again.returncode == 0
    assert again.stdout.startswith(f"dataeng-local: already up in {stack_dir}\n")


def test_status_lists_every_service_up_and_healthy(stack_dir, stack):
    status = cli("status", "--dir", str(stack_dir))
    assert status.returncode == 0
    rows = [line.split() for line in status.stdout.splitlines()[1:]]
    ports = {s.name: s.port for s in stack.status()}
    assert [(r[0], r[1], r[3], r[4]) for r in rows] == [(s, "up", str(ports[s]), "ok") for s in STARTED]


def test_env_exports_exactly_the_stack_connections(stack):
    assert {k: json.loads(v) for k, v in stack.env.items()} == {
        k: json.loads(os.environ[k]) for k in stack.env
    }
    assert sorted(stack.env) == sorted(f"AIRFLOW_CONN_{c.upper()}" for c in stack.connections)


def test_run_passes_the_connections_to_a_command(stack_dir, stack):
    run = cli(
        "run",
        "--dir",
        str(stack_dir),
        "--",
        sys.executable,
        "-c",
        "import os; print(os.environ['AIRFLOW_CONN_DEMO_API'])",
    )
    assert run.returncode == 0
    assert json.loads(run.stdout) == stack.connections["demo_api"]


def test_connections_have_the_documented_shapes(stack):
    conns = stack.connections
    assert conns["aws_default"] == {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"endpoint_url": f"http://127.0.0.1:{stack.s3_port}", "region_name": "us-east-1"},
    }
    assert conns["demo_api"] == {
        "conn_type": "http",
        "host": "127.0.0.1",
        "port": stack.api_port,
        "schema": "http",
        "password": "dataeng-local-token",
        "extra": {"auth_type": "bearer"},
    }
    assert conns["postgres_default"] == {
        "conn_type": "postgres",
        "host": "127.0.0.1",
        "port": stack.postgres_port,
        "login": "dataeng",
        "password": "dataeng-local",
        "schema": "shop",
    }
    if HAS_SNOWFLAKE:
        assert conns["snowflake_default"] == {
            "conn_type": "snowflake",
            "login": "local",
            "password": "local",
            "schema": "PUBLIC",
            "extra": {
                "account": "fakesnow",
                "database": "DEMO",
                "warehouse": "LOCAL_WH",
                "role": "SYSADMIN",
                "host": "127.0.0.1",
                "port": stack.snowflake_port,
                "protocol": "http",
                "network_timeout": 30,
                "login_timeout": 10,
            },
        }
    assert {k: json.loads(v) for k, v in stack.env.items()} == {
        f"AIRFLOW_CONN_{k.upper()}": v for k, v in conns.items()
    }


def test_status_reports_our_live_processes(stack):
    statuses = stack.status()
    assert [s.name for s in statuses] == list(stack.services)
    for s in statuses:
        assert s.running and s.healthy
        assert "dataeng_local." in " ".join(psutil.Process(s.pid).cmdline())


def test_s3hook_round_trip_through_aws_default(stack):
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    hook = S3Hook(aws_conn_id="aws_default")
    key = f"hook/{uuid.uuid4().hex}.json"
    hook.load_string('{"a": 1}', key=key, bucket_name="dataeng-local")
    assert hook.read_key(key, bucket_name="dataeng-local") == '{"a": 1}'
    assert hook.list_keys(bucket_name="dataeng-local", prefix="hook/") == [key]
    hook.create_bucket(bucket_name="made-by-hook")
    assert hook.check_for_bucket("made-by-hook")


def test_s3fs_round_trip_with_the_connection_credentials(stack):
    import s3fs
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection("aws_default")
    fs = s3fs.S3FileSystem(
        key=conn.login,
        secret=conn.password,
        endpoint_url=conn.extra_dejson["endpoint_url"],
        client_kwargs={"region_name": conn.extra_dejson["region_name"]},
        skip_instance_cache=True,
    )
    path = f"dataeng-local/fs/{uuid.uuid4().hex}.ndjson"
    with fs.open(path, "wb") as f:
        f.write(b'{"id": 1}\n{"id": 2}\n')
    assert fs.cat(path) == b'{"id": 1}\n{"id": 2}\n'
    # s3fs sends region_name as LocationConstraint, which us-east-1 rejects (as real S3 does): create
    # buckets with a filesystem that has no region, or with S3Hook.
    plain = s3fs.S3FileSystem(
        key=conn.login,
        secret=conn.password,
        endpoint_url=conn.extra_dejson["endpoint_url"],
        skip_instance_cache=True,
    )
    plain.mkdir("made-by-s3fs")
    assert "made-by-s3fs" in fs.ls("", refresh=True)


def test_demo_api_through_its_connection(stack):
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection("demo_api")
    url = f"{conn.schema}://{conn.host}:{conn.port}/v1/customers"
    assert requests.get(url).status_code == 401
    body = requests.get(url, params={"limit": 2}, headers={"Authorization": f"Bearer {conn.password}"}).json()
    assert len(body["data"]) == 2


@needs_snowflake
def test_snowflake_through_snowflake_default(stack):
    import snowflake.connector
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection("snowflake_default")
    extra = conn.extra_dejson
    with snowflake.connector.connect(
        user=conn.login,
        password=conn.password,
        account=extra["account"],
        host=extra["host"],
        port=extra["port"],
        protocol=extra["protocol"],
        database=extra["database"],
        schema=conn.schema,
        network_timeout=extra["network_timeout"],
    ) as sf:
        cursor = sf.cursor()
        cursor.execute("select 40 + 2")
        assert cursor.fetchall() == [(42,)]


def test_down_stops_every_process_and_leaves_none(stack_dir, stack):
    pids = {s.name: s.pid for s in stack.status()}
    procs = [psutil.Process(pid) for pid in pids.values()]
    assert all(p.is_running() for p in procs)
    down = cli("down", "--dir", str(stack_dir))
    assert down.returncode == 0
    assert down.stdout == f"dataeng-local: stopped {', '.join(STARTED)}\n"
    assert [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    leftovers = [
        p.pid for p in psutil.process_iter(["cmdline"]) if str(stack_dir) in " ".join(p.info["cmdline"] or [])
    ]
    assert leftovers == []
    assert list((stack_dir / "run").iterdir()) == []
    assert not (stack_dir / "state.json").exists()
    assert cli("status", "--dir", str(stack_dir)).returncode == 1
