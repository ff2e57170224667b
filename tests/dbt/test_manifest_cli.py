"""``dataeng-dbt manifest``: the installed console script runs a real ``dbt parse`` of the example project.

The connection comes from the environment as for any Airflow command; dbt parse connects to nothing, so the
connection only has to yield a profile. Its password must not reach the output or the manifest.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dbt.conftest import PROJECT

SCRIPT = Path(sys.executable).with_name("dataeng-dbt")
SECRET = "parse-secret-2b7c91"
FIXTURE = Path(__file__).parent / "fixtures" / "manifest.json"  # dbt parse of dags/dbt, dbt-core 1.11


def _run(*args: str, conns: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
    for conn_id, conn in (conns or {}).items():
        env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)
    return subprocess.run(
        [str(SCRIPT), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
    )


CONNECTION = {
    "conn_type": "snowflake",
    "login": "deployer",
    "password": SECRET,
    "schema": "PUBLIC",
    "extra": {"account": "xy12345", "database": "ANALYTICS_DB", "warehouse": "DEPLOY_WH"},
}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "project"
    shutil.copytree(PROJECT, root, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    return root


@pytest.mark.slow
def test_manifest_from_the_default_connection(project: Path) -> None:
    out = _run("manifest", str(project), "--target", "local", conns={"snowflake_default": CONNECTION})
    assert out.returncode == 0, out.stderr[-3000:]
    written = project / "target" / "manifest.json"
    manifest = json.loads(written.read_text())
    expected = json.loads(FIXTURE.read_text())
    assert manifest["metadata"]["project_name"] == "dataeng_demo"
    assert set(manifest["nodes"]) == set(expected["nodes"])
    assert set(manifest["sources"]) == set(expected["sources"])
    assert sorted(uid for uid in manifest["nodes"] if uid.startswith("model.")) == [
        "model.dataeng_demo.dim_customer",
        "model.dataeng_demo.fct_sales",
        "model.dataeng_demo.stg_customers",
        "model.dataeng_demo.stg_orders",
    ]
    # the generated profile's target and database went into the parse
    assert manifest["nodes"]["model.dataeng_demo.fct_sales"]["database"] == "ANALYTICS_DB"
    assert manifest["nodes"]["model.dataeng_demo.fct_sales"]["config"]["incremental_strategy"] == "delete+insert"
    assert out.stdout.strip() == (
        f"wrote {written} (project dataeng_demo, dbt {manifest['metadata']['dbt_version']}: "
        "4 model, 2 source, 33 test)"
    )
    assert SECRET not in out.stdout + out.stderr + written.read_text()
    assert sorted(p.name for p in written.parent.iterdir()) == ["manifest.json"]  # nothing half-written left


@pytest.mark.slow
def test_manifest_with_conn_id_vars_and_out(project: Path, tmp_path: Path) -> None:
    out_path = tmp_path / "deploy" / "dataeng_demo.json"
    other = {**CONNECTION, "extra": {**CONNECTION["extra"], "database": "PROD"}}
    out = _run(
        "manifest",
        str(project),
        "--conn-id",
        "snowflake_prod",
        "--vars",
        '{"source_schema": "LANDING"}',
        "--out",
        str(out_path),
        conns={"snowflake_prod": other},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    manifest = json.loads(out_path.read_text())
    assert manifest["nodes"]["model.dataeng_demo.fct_sales"]["database"] == "PROD"
    assert manifest["sources"]["source.dataeng_demo.staging.orders"]["schema"] == "LANDING"  # --vars applied


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vars", "[1]"], "dataeng-dbt manifest: error: --vars must be a JSON object, got list"),
        (["--vars", "{"], "dataeng-dbt manifest: error: --vars is not valid JSON"),
        (["--conn-id", "a", "--profiles-dir", "/tmp"], "error: give --conn-id or --profiles-dir, not both"),
    ],
)
def test_bad_arguments_are_refused_before_dbt_runs(args: list[str], message: str) -> None:
    out = _run("manifest", str(PROJECT), *args)
    assert out.returncode == 2
    assert message in out.stderr


def test_a_directory_without_a_project(tmp_path: Path) -> None:
    out = _run("manifest", str(tmp_path))
    assert out.returncode == 2
    assert f"error: PROJECT_DIR {str(tmp_path)!r} has no dbt_project.yml" in out.stderr


def test_a_missing_connection_names_the_variable(tmp_path: Path) -> None:
    out = _run("manifest", str(PROJECT), "--conn-id", "snowflake_ci", "--out", str(tmp_path / "m.json"))
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1] == (
        "dataeng-dbt manifest: Airflow connection 'snowflake_ci' is not defined: set AIRFLOW_CONN_SNOWFLAKE_CI "
        "(or pass --conn-id); dbt parse does not connect, but the profile is generated from it."
    )
    assert not (tmp_path / "m.json").exists()
