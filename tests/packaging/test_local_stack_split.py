"""The provider and the local stack are two distributions: production workers that install the provider get no
stand-in, no fakesnow, moto or DuckDB and no ``dataeng-local`` command; ``dataeng-local`` (local-stack/, a uv
workspace member that the provider's ``local`` extra names) carries all of them.

Both wheels are built as ``uv build --all-packages`` builds them (offline, from uv's cache) and read as files;
then both are installed into a fresh venv holding the lock's ``local`` extra, where the command and the pytest
plugin must work from the installed copies.
"""

from __future__ import annotations

import ast
import sys
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest
import tomllib
from packaging.requirements import Requirement

from tests.conftest import ROOT
from tests.packaging.conftest import clean_env, run

pytestmark = pytest.mark.slow

PROVIDER, LOCAL = "airflow-provider-dataeng", "dataeng-local"
LOCAL_ROOT = ROOT / "local-stack"
LOCAL_PROJECT = tomllib.loads((LOCAL_ROOT / "pyproject.toml").read_text())["project"]
# What only the local stack may need: none of it may reach a worker that installs the provider alone.
STAND_IN_DEPENDENCIES = {"fakesnow", "moto", "duckdb", "uvicorn", "starlette", "psutil"}
STAND_IN_MODULES = {"dataeng_local", "fakesnow", "moto", "duckdb"}


@pytest.fixture(scope="module")
def wheels(uv: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    run(
        [uv, "build", "--offline", "--all-packages", "--wheel", "--out-dir", str(out)],
        cwd=ROOT,
        env=clean_env(),
    )
    provider, local = (next(out.glob(f"{name.replace('-', '_')}-*.whl")) for name in (PROVIDER, LOCAL))
    assert sorted(p.name for p in out.glob("*.whl")) == sorted([provider.name, local.name])
    return {PROVIDER: provider, LOCAL: local}


def _read(wheel: Path) -> dict[str, Any]:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        return {
            "names": names,
            "files": {n: archive.read(n) for n in names},
            "metadata": Parser().parsestr(archive.read(f"{info}/METADATA").decode()),
            "entry_points": archive.read(f"{info}/entry_points.txt").decode(),
        }


def _requirements(metadata: Any) -> list[Requirement]:
    return [Requirement(r) for r in metadata.get_all("Requires-Dist") or []]


def _extras(requirement: Requirement) -> set[str]:
    """The extras whose installation pulls ``requirement`` in (empty: always installed)."""
    marker = requirement.marker
    if marker is None:
        return set()
    candidates = {"bench", "dbt", "dev", "docs", "local", "openlineage", "parquet", "test"}
    return {extra for extra in candidates if marker.evaluate({"extra": extra})}


def _imported_modules(source: bytes) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


# ------------------------------------------------------------------------------------------ the provider


def test_the_provider_wheel_holds_no_stand_in(wheels: dict[str, Path]) -> None:
    provider = _read(wheels[PROVIDER])
    assert not [
        n for n in provider["names"] if n.startswith(("dataeng_local/", "airflow_provider_dataeng/local/"))
    ]
    packages = {n.split("/")[0] for n in provider["names"] if not n.split("/")[0].endswith(".dist-info")}
    assert packages == {"airflow_provider_dataeng"}
    importing = {
        name: sorted(m for m in _imported_modules(data) if m.split(".")[0] in STAND_IN_MODULES)
        for name, data in provider["files"].items()
        if name.endswith(".py")
    }
    assert {name: mods for name, mods in importing.items() if mods} == {}  # not even inside a function


def test_the_provider_requires_no_stand_in_outside_its_local_extra(wheels: dict[str, Path]) -> None:
    requirements = _requirements(_read(wheels[PROVIDER])["metadata"])
    assert not [str(r) for r in requirements if r.name in STAND_IN_DEPENDENCIES]  # only through dataeng-local
    local = [r for r in requirements if r.name == LOCAL]
    assert local and all(_extras(r) and _extras(r) <= {"local", "dev"} for r in local), [
        str(r) for r in local
    ]
    assert {extra for r in local for extra in _extras(r)} == {"local", "dev"}


def test_the_provider_installs_only_its_own_commands(wheels: dict[str, Path]) -> None:
    """`dataeng-dbt` (writes the dbt manifest DAGs render from) and `dataeng-report` (the data-health pages as
    static HTML) are the provider's commands; none of the stack's."""
    entry_points = _read(wheels[PROVIDER])["entry_points"]
    assert "dataeng-local" not in entry_points and "dataeng_local" not in entry_points
    assert (
        "[console_scripts]\ndataeng-dbt = airflow_provider_dataeng.cli:main\n"
        "dataeng-report = airflow_provider_dataeng.report_cli:main\n\n"
    ) in entry_points
    assert "[airflow.plugins]\ndataeng_data_health = airflow_provider_dataeng.plugins.data_health:DataHealthPlugin\n" in entry_points
    assert "[pytest11]" not in entry_points
    assert "[apache_airflow_provider]" in entry_points


# ------------------------------------------------------------------------------------------ the local stack


def test_the_local_stack_wheel_is_the_package_with_its_command_and_plugin(wheels: dict[str, Path]) -> None:
    local = _read(wheels[LOCAL])
    meta = local["metadata"]
    assert (meta["Name"], meta["Version"]) == (LOCAL, LOCAL_PROJECT["version"])
    assert {str(r) for r in _requirements(meta)} == {
        str(Requirement(r)) for r in LOCAL_PROJECT["dependencies"]
    }
    assert {r.name for r in _requirements(meta)} >= {"fakesnow", "moto", "duckdb", "psutil"}
    assert "[console_scripts]\ndataeng-local = dataeng_local.cli:main\n" in local["entry_points"]
    assert "[pytest11]\ndataeng_local.pytest_plugin = dataeng_local.pytest_plugin\n" in local["entry_points"]
    package = sorted(n for n in local["names"] if not n.split("/")[0].endswith(".dist-info"))
    on_disk = sorted(
        p.relative_to(LOCAL_ROOT).as_posix()
        for p in (LOCAL_ROOT / "dataeng_local").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )
    assert package == on_disk  # the demo API's README too; no tests


def test_the_provider_source_never_imports_the_local_stack() -> None:
    """The rule behind the split, on the repository's files (the wheel test above covers what ships)."""
    offenders = {
        path.relative_to(ROOT).as_posix(): sorted(mods)
        for path in (ROOT / "airflow_provider_dataeng").rglob("*.py")
        if (mods := {m for m in _imported_modules(path.read_bytes()) if m.split(".")[0] in STAND_IN_MODULES})
    }
    assert offenders == {}


# ------------------------------------------------------------------------------------------ installed


@pytest.fixture(scope="module")
def installed(
    uv: str, wheels: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A fresh venv: the lock's base, ``local`` and ``test`` dependencies without our projects, then the wheels."""
    work = tmp_path_factory.mktemp("installed-local")
    venv = work / "venv"
    run(
        [
            uv,
            "sync",
            "--frozen",
            "--offline",
            "--extra",
            "local",
            "--extra",
            "test",
            "--no-install-workspace",
            "--python",
            sys.executable,
        ],
        cwd=ROOT,
        env=clean_env(UV_PROJECT_ENVIRONMENT=str(venv)),
    )
    run(
        [uv, "pip", "install", "--offline", "--no-deps", str(wheels[PROVIDER]), str(wheels[LOCAL])],
        cwd=work,
        env=clean_env(VIRTUAL_ENV=str(venv)),
    )
    yield {"venv": venv, "bin": venv / "bin", "cwd": work, "env": clean_env(), "uv": uv}


def test_installed_the_command_and_packages_are_the_installed_copies(installed: dict[str, Any]) -> None:
    out = run([str(installed["bin"] / "dataeng-local"), "--help"], cwd=installed["cwd"], env=installed["env"])
    assert out.startswith("usage: dataeng-local [-h] {up,airflow,down,status,env,run} ...")
    code = "import dataeng_local, airflow_provider_dataeng as p; print(dataeng_local.__file__, p.__file__)"
    paths = run(
        [str(installed["bin"] / "python"), "-c", code], cwd=installed["cwd"], env=installed["env"]
    ).split()
    assert len(paths) == 2 and all(Path(path).is_relative_to(installed["venv"]) for path in paths), paths
    run(
        [installed["uv"], "pip", "check"],
        cwd=installed["cwd"],
        env={**installed["env"], "VIRTUAL_ENV": str(installed["venv"])},
    )


PROBE = """
import dataeng_local
import snowflake.connector


def test_probe(local_stack):
    assert local_stack.services == ("snowflake",)
    conn = snowflake.connector.connect(
        host="127.0.0.1", port=local_stack.snowflake_port, protocol="http", account="fakesnow",
        user="probe", password="probe", database="DEMO", schema="PUBLIC", network_timeout=30,
    )
    assert conn.cursor().execute("select 40 + 2").fetchall() == [(42,)]
    print("stand-in package:", dataeng_local.__file__)
"""


def test_installed_pytest_gets_local_stack_from_the_entry_point(installed: dict[str, Any]) -> None:
    """No conftest names the plugin: ``local_stack`` is there because the package is installed, and it starts the
    installed Snowflake stand-in, which answers the connector."""
    (installed["cwd"] / "test_probe.py").write_text(PROBE)
    out = run(
        [
            str(installed["bin"] / "python"),
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-s",
            "-q",
            "test_probe.py",
            "-o",
            "dataeng_local_services=snowflake",
        ],
        cwd=installed["cwd"],
        env=installed["env"],
    )
    assert "1 passed" in out, out[-3000:]
    (line,) = [line for line in out.splitlines() if line.startswith("stand-in package:")]
    assert Path(line.split(": ", 1)[1]).is_relative_to(installed["venv"])
