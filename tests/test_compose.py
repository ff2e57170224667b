"""docker-compose.yaml, Dockerfile and .dockerignore: valid, shaped like the official Airflow 3 layout, and
consistent with the package (stand-in entry points, connection shapes, ports), with uv.lock, and with
`dataeng-local airflow` (the same components, commands, settings and login without Docker).

No Docker engine is needed: the compose file is checked against the compose specification with
check-jsonschema, the stand-in commands are fed to the stand-ins' own argument parsers, and the Airflow
services are compared with the runner's own list of components and the environment it builds.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dataeng_local import airflow as local_airflow
from dataeng_local.demo_api.config import DEFAULT_TOKEN
from dataeng_local.s3 import DEFAULT_BUCKET
from dataeng_local.stack import DEFAULT_PORTS, MODULES, build_connections

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"

AIRFLOW_COMMANDS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}
# compose service (= host name on the compose network) -> stand-in name in dataeng_local.stack
STAND_INS = {"snowflake": "snowflake", "s3": "s3", "demo-api": "demo_api", "source-db": "postgres"}
CONTAINER_HOST = "0.0.0.0"
_VAR = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def with_defaults(text: str) -> str:
    """What compose makes of ``text`` when no variable is set: ``${VAR:-default}`` -> default, ``$$`` -> ``$``."""
    return _VAR.sub(lambda m: m.group(2) or "", text).replace("$$", "$")


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of an env file (comments and blank lines skipped, values taken verbatim)."""
    env = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
            env[key.strip()] = value
    return env


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def local_connections(services: dict[str, dict[str, Any]]) -> dict[str, str]:
    (env_file,) = services["airflow-worker"]["env_file"]
    return read_env_file(ROOT / with_defaults(env_file))


def dockerfile_lines() -> list[str]:
    """Instructions of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


# -- the compose specification -------------------------------------------------------------------------------
def test_compose_file_is_valid_against_the_compose_specification() -> None:
    script = Path(sys.executable).with_name("check-jsonschema")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "check_jsonschema"]
    result = subprocess.run(
        [*argv, "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


# -- the official Airflow 3 layout -----------------------------------------------------------------------------
def test_all_services_of_the_official_layout_and_the_local_stack_exist(services: dict[str, Any]) -> None:
    assert set(services) == {
        "postgres",
        "redis",
        "airflow-init",
        *AIRFLOW_COMMANDS,
        "airflow-cli",  # profile debug
        "flower",  # profile flower
        *STAND_INS,
    }
    assert services["airflow-cli"]["profiles"] == ["debug"]
    assert services["flower"]["profiles"] == ["flower"]


@pytest.mark.parametrize(("service", "command"), sorted(AIRFLOW_COMMANDS.items()))
def test_airflow_components_run_their_airflow_command(
    services: dict[str, Any], service: str, command: str
) -> None:
    assert services[service]["command"] == command


def test_api_server_on_port_8080_with_its_health_endpoint(services: dict[str, Any]) -> None:
    api = services["airflow-apiserver"]
    assert api["ports"] == ["8080:8080"]
    assert api["healthcheck"]["test"] == [
        "CMD",
        "curl",
        "--fail",
        "http://localhost:8080/api/v2/monitor/health",
    ]
    env = api["environment"]
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"


def test_worker_is_scalable(services: dict[str, Any]) -> None:
    worker = services["airflow-worker"]
    for key in ("container_name", "ports", "hostname"):
        assert key not in worker, (
            f"airflow-worker must not set {key}: `--scale airflow-worker=N` needs N copies"
        )
    assert not [name for name, s in services.items() if "container_name" in s]
    assert worker["environment"]["DUMB_INIT_SETSID"] == "0"  # warm shutdown of Celery workers


def test_every_dependency_waits_for_health_or_completion(services: dict[str, Any]) -> None:
    dependants: dict[str, list[str]] = {}
    for name, service in services.items():
        for dep, spec in service.get("depends_on", {}).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            dependants.setdefault(dep, []).append(name)
            condition = spec["condition"]
            if condition == "service_healthy":
                assert services[dep].get("healthcheck", {}).get("test"), (
                    f"{dep} has no healthcheck ({name} waits for it)"
                )
            else:
                assert condition == "service_completed_successfully", f"{name} -> {dep}: {condition}"
                assert "restart" not in services[dep], f"{dep} is a one-shot job; it must not restart"
    # Every long-running service something waits for has a health check; airflow-init is the one-shot job.
    assert sorted(d for d in dependants if "healthcheck" not in services[d]) == ["airflow-init"]
    assert sorted(dependants) == sorted(
        ["postgres", "redis", "airflow-init", "airflow-apiserver", "snowflake", "s3", "demo-api", "source-db"]
    )


def test_start_order_follows_the_official_file(services: dict[str, Any]) -> None:
    base = {"postgres": "service_healthy", "redis": "service_healthy"}
    after_init = {**base, "airflow-init": "service_completed_successfully"}

    def conditions(name: str) -> dict[str, str]:
        return {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}

    for name in (
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "flower",
    ):
        assert conditions(name) == after_init, name
    assert conditions("airflow-worker") == {
        **after_init,
        "airflow-apiserver": "service_healthy",
        # tasks talk to the stand-ins
        "snowflake": "service_healthy",
        "s3": "service_healthy",
        "demo-api": "service_healthy",
        "source-db": "service_healthy",
    }
    assert conditions("airflow-cli") == base
    assert conditions("snowflake") == {"s3": "service_healthy"}
    init = services["airflow-init"]
    assert init["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"
    assert init["user"] == "0:0"
    assert "airflow providers get airflow-provider-dataeng" in init["command"][1]


def test_airflow_services_share_image_dags_logs_and_connections(services: dict[str, Any]) -> None:
    airflow_services = ["airflow-init", "airflow-cli", "flower", *AIRFLOW_COMMANDS]
    images = {with_defaults(services[name]["image"]) for name in [*airflow_services, *STAND_INS]}
    assert images == {"airflow-provider-dataeng:local"}
    for name in [*airflow_services, *STAND_INS]:
        assert services[name]["build"] == {"context": ".", "dockerfile": "Dockerfile"}, name
    for name in airflow_services:
        service = services[name]
        assert [with_defaults(v) for v in service["volumes"]] == [
            "./dags:/opt/airflow/dags",
            "airflow-logs:/opt/airflow/logs",
        ], name
        assert [with_defaults(f) for f in service["env_file"]] == ["docker/connections.local.env"], name
        assert with_defaults(service["environment"]["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"]) == "false"
        assert service["environment"]["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
    assert (ROOT / "dags").is_dir()


def test_login_of_the_simple_auth_manager(services: dict[str, Any]) -> None:
    env = services["airflow-apiserver"]["environment"]
    assert env["AIRFLOW__CORE__AUTH_MANAGER"].endswith(".simple_auth_manager.SimpleAuthManager")
    users = dict(u.split(":")[:2] for u in env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].split(","))
    assert users == {"admin": "admin"}  # user admin with the admin role
    passwords = json.loads((ROOT / "docker/simple_auth_manager_passwords.json").read_text())
    assert passwords == {"admin": "admin"}
    copy = next(line for line in dockerfile_lines() if "simple_auth_manager_passwords.json" in line)
    assert copy.split()[-1] == env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]


# -- the local stack in containers -------------------------------------------------------------------------------
@pytest.mark.parametrize("service", sorted(STAND_INS))
def test_stand_ins_run_the_entry_points_of_the_local_stack(services: dict[str, Any], service: str) -> None:
    command = services[service]["command"]
    assert command[:3] == ["python", "-m", MODULES[STAND_INS[service]]]
    args = dict(zip(command[3::2], command[4::2]))
    assert args["--host"] == CONTAINER_HOST
    port = DEFAULT_PORTS[STAND_INS[service]]  # the ports of `dataeng-local up`
    assert args["--port"] == str(port)
    assert [with_defaults(p) for p in services[service]["ports"]] == [f"127.0.0.1:{port}:{port}"]
    assert services[service]["environment"]["CONNECTION_CHECK_MAX_COUNT"] == "0"


def test_snowflake_command_parses_into_the_expected_server(
    services: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataeng_local.snowflake.__main__ as snowflake_main

    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(snowflake_main, "serve", lambda *a, **kw: calls.append((a, kw)))
    snowflake_main.main(services["snowflake"]["command"][3:])
    assert calls == [
        (
            (CONTAINER_HOST, DEFAULT_PORTS["snowflake"], "/data/snowflake"),
            {"s3_endpoint": f"http://s3:{DEFAULT_PORTS['s3']}", "log_level": "info"},
        )
    ]
    assert services["snowflake"]["volumes"] == ["snowflake-data:/data/snowflake"]
    assert "install -d -o airflow -g 0 -m 2775 /data/snowflake" in " ".join(dockerfile_lines())


def test_s3_command_parses_into_the_expected_server_and_bucket(
    services: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataeng_local.s3 as s3

    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(s3, "serve", lambda *a: calls.append(a))
    s3.main(services["s3"]["command"][3:])
    assert calls == [(CONTAINER_HOST, DEFAULT_PORTS["s3"], [DEFAULT_BUCKET])]


def test_source_db_command_parses_into_the_expected_server(
    services: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataeng_local.postgres as postgres

    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(postgres, "serve", lambda *a: calls.append(a))
    assert postgres.main(services["source-db"]["command"][3:]) == 0
    assert calls == [(CONTAINER_HOST, DEFAULT_PORTS["postgres"])]


def test_demo_api_command_parses_into_the_expected_server(services: dict[str, Any]) -> None:
    from dataeng_local.demo_api.__main__ import config_from_args, parse_args

    args = parse_args(services["demo-api"]["command"][3:])
    assert (args.host, args.port, args.token, args.clock) == (
        CONTAINER_HOST,
        DEFAULT_PORTS["demo_api"],
        DEFAULT_TOKEN,
        "wall",
    )
    assert config_from_args(args).credentials.token == DEFAULT_TOKEN


def test_stand_in_health_checks(services: dict[str, Any]) -> None:
    from dataeng_local.snowflake import HEALTH_PATH

    curl = ["CMD", "curl", "--fail", "--silent"]
    tests = {name: services[name]["healthcheck"]["test"] for name in STAND_INS}
    assert tests == {
        "snowflake": [*curl, f"http://localhost:{DEFAULT_PORTS['snowflake']}{HEALTH_PATH}"],
        "demo-api": [*curl, f"http://localhost:{DEFAULT_PORTS['demo_api']}/healthz"],
        # healthy = the bucket exists (as LocalStack checks it)
        "s3": [*curl, "--head", f"http://localhost:{DEFAULT_PORTS['s3']}/{DEFAULT_BUCKET}"],
        # healthy = the seeded database answers (as LocalStack checks it)
        "source-db": ["CMD", "python", "-m", "dataeng_local.postgres", "--check", "--host", "localhost", "--port",
                      str(DEFAULT_PORTS["postgres"])],
    }


# -- connections --------------------------------------------------------------------------------------------------
def test_connections_are_the_local_stack_ones_with_container_host_names(
    local_connections: dict[str, str],
) -> None:
    expected = build_connections(DEFAULT_PORTS, DEFAULT_TOKEN)
    expected["snowflake_default"]["extra"]["host"] = "snowflake"
    expected["aws_default"]["extra"]["endpoint_url"] = f"http://s3:{DEFAULT_PORTS['s3']}"
    expected["demo_api"]["host"] = "demo-api"
    expected["postgres_default"]["host"] = "source-db"
    assert set(local_connections) == {
        "AIRFLOW_CONN_SNOWFLAKE_DEFAULT",
        "AIRFLOW_CONN_AWS_DEFAULT",
        "AIRFLOW_CONN_DEMO_API",
        "AIRFLOW_CONN_POSTGRES_DEFAULT",
    }
    parsed = {key: json.loads(value) for key, value in local_connections.items()}
    assert parsed == {f"AIRFLOW_CONN_{conn_id.upper()}": conn for conn_id, conn in expected.items()}
    assert [c["conn_type"] for c in parsed.values()] == ["snowflake", "aws", "http", "postgres"]


def test_connection_hosts_are_compose_services(
    services: dict[str, Any], local_connections: dict[str, str]
) -> None:
    snowflake = json.loads(local_connections["AIRFLOW_CONN_SNOWFLAKE_DEFAULT"])["extra"]
    aws = json.loads(local_connections["AIRFLOW_CONN_AWS_DEFAULT"])["extra"]
    api = json.loads(local_connections["AIRFLOW_CONN_DEMO_API"])

    def listening_port(service: str) -> int:
        command = services[service]["command"]
        return int(command[command.index("--port") + 1])

    assert (snowflake["host"], snowflake["port"]) == ("snowflake", listening_port("snowflake"))
    assert (api["host"], api["port"]) == ("demo-api", listening_port("demo-api"))
    source = json.loads(local_connections["AIRFLOW_CONN_POSTGRES_DEFAULT"])
    assert (source["host"], source["port"]) == ("source-db", listening_port("source-db"))
    assert aws["endpoint_url"] == f"http://s3:{listening_port('s3')}"
    # Airflow's S3 writes and the Snowflake stand-in's external-stage reads go to the same S3.
    sf_command = services["snowflake"]["command"]
    assert sf_command[sf_command.index("--s3-endpoint") + 1] == aws["endpoint_url"]


def test_real_connections_template_differs_only_in_connections() -> None:
    template = read_env_file(ROOT / "docker/connections.real.example.env")
    conns = {key: json.loads(value) for key, value in template.items()}
    assert set(conns) == {
        "AIRFLOW_CONN_SNOWFLAKE_DEFAULT",
        "AIRFLOW_CONN_AWS_DEFAULT",
        "AIRFLOW_CONN_DEMO_API",
        "AIRFLOW_CONN_POSTGRES_DEFAULT",
    }
    snowflake, aws = conns["AIRFLOW_CONN_SNOWFLAKE_DEFAULT"], conns["AIRFLOW_CONN_AWS_DEFAULT"]
    assert snowflake["conn_type"] == "snowflake" and aws["conn_type"] == "aws"
    assert not {"host", "port", "protocol"} & set(snowflake["extra"])  # the real account endpoint, over https
    assert "endpoint_url" not in aws["extra"]  # AWS itself
    assert {"account", "database", "warehouse", "role", "private_key_content"} <= set(snowflake["extra"])


# -- Dockerfile and .dockerignore ---------------------------------------------------------------------------------
def test_dockerfile_builds_from_the_airflow_and_python_versions_of_the_lock() -> None:
    """The image's Python is the lowest the lock covers (requires-python), which every environment includes."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    airflow_version = next(p["version"] for p in lock["package"] if p["name"] == "apache-airflow")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (python_version,) = re.fullmatch(r">=\s*([\d.]+)", project["project"]["requires-python"]).groups()  # type: ignore[union-attr]
    for env in project["tool"]["uv"]["environments"]:
        assert f"python_version >= '{python_version}'" in env, env
    froms = [line.split()[1] for line in dockerfile_lines() if line.startswith("FROM ")]
    airflow_froms = [image for image in froms if image.startswith("apache/airflow:")]
    assert airflow_froms == [f"apache/airflow:{airflow_version}-python{python_version}"] * 2
    assert froms[-1] == airflow_froms[-1]  # the final image


def test_dockerfile_installs_the_locked_dbt_local_and_postgres_extras() -> None:
    lines = dockerfile_lines()
    export = next(line for line in lines if " export " in line)
    flags = ("--frozen", "--no-dev", "--extra dbt", "--extra local", "--extra postgres", "--no-emit-project",
             "--no-emit-workspace")
    for flag in flags:
        assert flag in export
    install = next(line for line in lines if "-r /opt/dataeng/requirements.txt" in line)
    assert "--no-deps" in install and "--require-hashes" in install
    # the provider and the workspace member dataeng-local (local-stack/), from their sources
    assert "RUN pip install --no-cache-dir --no-deps /opt/dataeng/src /opt/dataeng/src/local-stack" in lines
    assert "COPY local-stack/pyproject.toml /tmp/lock/local-stack/" in lines  # uv reads the workspace's members


def test_dockerfile_uv_is_the_makefile_uv() -> None:
    (makefile_uv,) = re.findall(r"^UV_VERSION\s*:=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M)
    (image,) = [
        line.split()[1] for line in dockerfile_lines() if line.startswith("FROM ghcr.io/astral-sh/uv:")
    ]
    assert image == f"ghcr.io/astral-sh/uv:{makefile_uv}"


def test_dockerignore_admits_exactly_what_the_dockerfile_copies() -> None:
    rules = [r for r in (ROOT / ".dockerignore").read_text().splitlines() if r and not r.startswith("#")]
    assert rules[0] == "*"  # everything else (.venv, .git, .env, .dataeng-local, ...) stays out
    admitted = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    copied = set()
    for line in dockerfile_lines():
        if line.startswith("COPY ") and "--from=" not in line:
            copied |= {
                Path(src).as_posix().rstrip("/") for src in line.split()[1:-1] if not src.startswith("--")
            }
    assert copied == admitted
    assert all((ROOT / path).exists() for path in copied)


# -- the same Airflow without Docker: `dataeng-local airflow` ----------------------------------------------------
# Settings only one of the two sets, and why. Anything else either sets must be set by both (the next test).
COMPOSE_ONLY_ENV = {
    "AIRFLOW__CELERY__BROKER_URL": "the CeleryExecutor's broker; the runner's LocalExecutor needs none",
    "AIRFLOW__CELERY__RESULT_BACKEND": "the CeleryExecutor's result backend",
    "AIRFLOW__CORE__FERNET_KEY": "containers share no AIRFLOW_HOME; the runner's components share airflow.cfg, "
    "where the first airflow command writes a generated key",
    "AIRFLOW__API_AUTH__JWT_SECRET": "as the Fernet key: generated into the shared airflow.cfg",
    "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "the scheduler container's health check; the runner waits on the "
    "API server's /api/v2/monitor/health, which reports the scheduler too",
}
RUNNER_ONLY_ENV = {
    "AIRFLOW_HOME": "the image sets /opt/airflow",
    "AIRFLOW__CORE__DAGS_FOLDER": "the image's default, /opt/airflow/dags, where ./dags is mounted",
    "AIRFLOW__CORE__PARALLELISM": "Celery workers size themselves; the LocalExecutor's default (32) is too many",
    "AIRFLOW__API__HOST": "in a container the API server listens on every interface (the default)",
    "AIRFLOW__API__PORT": "8080 inside the container (the default), published as 8080",
    "PATH": "the image's PATH finds its airflow and dbt",
}


@pytest.fixture(scope="module")
def runner_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    settings = local_airflow.resolve_settings(
        tmp_path_factory.mktemp("runner"), port=8080, dags_folder=ROOT / "dags", environ={}
    )
    return local_airflow.airflow_environment(settings, connections={}, environ={})


def test_compose_runs_the_components_the_runner_runs(services: dict[str, Any]) -> None:
    commands = {services[name]["command"] for name in AIRFLOW_COMMANDS}
    # the Celery worker runs tasks in compose; the LocalExecutor runs them in the scheduler
    assert commands - {"celery worker"} == set(local_airflow.COMPONENTS)


def test_compose_and_the_runner_set_the_same_airflow_settings(
    compose: dict[str, Any], runner_env: dict[str, str]
) -> None:
    compose_env = compose["x-airflow-common"]["environment"]
    assert set(COMPOSE_ONLY_ENV) <= set(compose_env) and set(RUNNER_ONLY_ENV) <= set(runner_env)
    assert sorted(set(compose_env) - set(COMPOSE_ONLY_ENV)) == sorted(set(runner_env) - set(RUNNER_ONLY_ENV))


def test_compose_and_the_runner_agree_on_the_values(
    compose: dict[str, Any], services: dict[str, Any], runner_env: dict[str, str]
) -> None:
    compose_env = {k: with_defaults(str(v)) for k, v in compose["x-airflow-common"]["environment"].items()}
    same = (
        "AIRFLOW__CORE__AUTH_MANAGER",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
        "AIRFLOW__CORE__LOAD_EXAMPLES",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION",  # by default: new DAGs active
        "DBT_SEND_ANONYMOUS_USAGE_STATS",
    )
    assert {k: compose_env[k].lower() for k in same} == {k: runner_env[k].lower() for k in same}
    # the same variable starts DAGs paused in both
    paused = compose["x-airflow-common"]["environment"]["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"]
    assert _VAR.fullmatch(paused).group(1) == local_airflow.PAUSED_ENV  # type: ignore[union-attr]
    assert (compose_env["AIRFLOW__CORE__EXECUTOR"], runner_env["AIRFLOW__CORE__EXECUTOR"]) == (
        "CeleryExecutor",
        "LocalExecutor",
    )
    # tasks reach the execution API where the API server listens: its host and port in each world
    (published,) = services["airflow-apiserver"]["ports"]
    container_port = published.split(":")[-1]
    assert compose_env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
        f"http://airflow-apiserver:{container_port}/execution/"
    )
    assert runner_env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
        f"http://{runner_env['AIRFLOW__API__HOST']}:{runner_env['AIRFLOW__API__PORT']}/execution/"
    )


def test_compose_and_the_runner_share_the_login(tmp_path: Path) -> None:
    """docker/simple_auth_manager_passwords.json is what the runner writes for its users."""
    settings = local_airflow.resolve_settings(tmp_path, dags_folder=ROOT / "dags", environ={})
    passwords = json.loads((ROOT / "docker/simple_auth_manager_passwords.json").read_text())
    assert passwords == {local_airflow.USERNAME: local_airflow.PASSWORD}
    assert settings.passwords_file.name == "simple_auth_manager_passwords.json"


def test_compose_and_the_runner_give_airflow_the_same_connections(local_connections: dict[str, str]) -> None:
    runner = build_connections(DEFAULT_PORTS, DEFAULT_TOKEN)  # what `dataeng-local env` gives the runner
    assert sorted(local_connections) == sorted(f"AIRFLOW_CONN_{conn_id.upper()}" for conn_id in runner)


def test_the_demo_api_follows_the_wall_clock_in_both(services: dict[str, Any]) -> None:
    command = services["demo-api"]["command"]
    assert command[command.index("--clock") + 1] == local_airflow.DEMO_API_CLOCK == "wall"
