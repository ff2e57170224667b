"""The package as users get it: the sdist and wheel ``uv build`` makes, installed (not editable) next to plain
Apache Airflow at the locked versions, discovered by ``airflow providers list`` and running the example DAGs.

Offline from uv's cache: the build backend and every locked wheel are there once ``make venv`` has run.
The fresh environment gets the lock's base dependencies (no extras) with ``uv sync --no-install-project``
(``uv pip install`` would need index pages that a locked sync never cached) and then the wheel alone.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest
import tomllib
from packaging.requirements import Requirement

import airflow_provider_dataeng
from tests.conftest import DAGS_FOLDER, ROOT
from tests.example_dags import EXAMPLE_DAGS
from tests.packaging.conftest import clean_env, run

pytestmark = pytest.mark.slow

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
NAME, DIST = "airflow-provider-dataeng", "airflow_provider_dataeng"
VERSION = airflow_provider_dataeng.__version__


@pytest.fixture(scope="module")
def dist(uv: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel (uv builds the wheel from the sdist, so the sdist is proven complete)."""
    out = tmp_path_factory.mktemp("dist")
    run([uv, "build", "--offline", "--out-dir", str(out), str(ROOT)], cwd=out, env=clean_env())
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


@pytest.fixture(scope="module")
def installed(
    uv: str, dist: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A fresh venv: the lock's base dependencies (plain apache-airflow, no extras), then the wheel."""
    work = tmp_path_factory.mktemp("installed")
    venv = work / "venv"
    run(
        [uv, "sync", "--frozen", "--offline", "--no-install-project", "--python", sys.executable],
        cwd=ROOT,
        env=clean_env(UV_PROJECT_ENVIRONMENT=str(venv)),
    )
    run(
        [uv, "pip", "install", "--offline", "--no-deps", str(dist["wheel"])],
        cwd=work,
        env=clean_env(VIRTUAL_ENV=str(venv)),
    )
    home = work / "airflow"
    env = clean_env(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS_FOLDER),
    )
    yield {"venv": venv, "python": str(venv / "bin" / "python"), "cwd": work, "env": env, "uv": uv}


def _metadata(text: str) -> Any:
    return Parser().parsestr(text)


def _check_core_metadata(meta: Any) -> None:
    assert (meta["Name"], meta["Version"]) == (NAME, VERSION)
    assert meta["Requires-Python"] == PYPROJECT["requires-python"]
    assert meta["License-Expression"] == PYPROJECT["license"]
    assert meta["Description-Content-Type"] == "text/markdown"
    assert meta.get_payload().startswith("# airflow-provider-dataeng\n")  # the README is the long description
    base = {str(Requirement(r)) for r in meta.get_all("Requires-Dist") if "extra ==" not in r}
    assert base == {str(Requirement(r)) for r in PYPROJECT["dependencies"]}
    assert set(meta.get_all("Provides-Extra")) == set(PYPROJECT["optional-dependencies"])


# ------------------------------------------------------------------------------------------ artifacts


def test_wheel_metadata_is_the_projects(dist: dict[str, Path]) -> None:
    assert dist["wheel"].name == f"{DIST}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        info = f"{DIST}-{VERSION}.dist-info"
        _check_core_metadata(_metadata(wheel.read(f"{info}/METADATA").decode()))
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    assert (
        "[apache_airflow_provider]\nprovider_info = airflow_provider_dataeng:get_provider_info\n"
        in entry_points
    )
    # two commands, the deploy-time `dataeng-dbt` and `dataeng-report`; `dataeng-local` comes with the local
    # stack's own distribution (test_local_stack_split.py); the UI plugin by Airflow's plugin entry point
    assert entry_points.count("[console_scripts]") == 1
    assert (
        "[console_scripts]\ndataeng-dbt = airflow_provider_dataeng.cli:main\n"
        "dataeng-report = airflow_provider_dataeng.report_cli:main\n\n"
    ) in entry_points
    assert "[airflow.plugins]\ndataeng_data_health = " in entry_points


def test_wheel_holds_the_package_and_nothing_else(dist: dict[str, Path]) -> None:
    """Exactly the package's source files (no tests, DAGs, caches) plus the four dist-info files, each listed
    in RECORD with its true hash and size."""
    info = f"{DIST}-{VERSION}.dist-info"
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = wheel.namelist()
        contents = {n: wheel.read(n) for n in names}
    package = sorted(n for n in names if not n.startswith(info + "/"))
    on_disk = sorted(
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / DIST).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )
    assert package == on_disk
    assert not [n for n in names if n.startswith(("tests/", "dags/", "benchmarks/")) or "__pycache__" in n]
    assert sorted(set(names) - set(package)) == [
        f"{info}/{f}" for f in ("METADATA", "RECORD", "WHEEL", "entry_points.txt")
    ]
    record = {}
    for line in contents[f"{info}/RECORD"].decode().splitlines():
        path, digest, size = line.rsplit(",", 2)
        record[path] = (digest, size)
    assert set(record) == set(names)
    for name, data in contents.items():
        if name == f"{info}/RECORD":
            assert record[name] == ("", "")
            continue
        expected = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert record[name] == (expected, str(len(data))), name


def test_sdist_metadata_and_sources(dist: dict[str, Path]) -> None:
    assert dist["sdist"].name == f"{DIST}-{VERSION}.tar.gz"
    top = f"{DIST}-{VERSION}"
    with tarfile.open(dist["sdist"]) as sdist:
        names = set(sdist.getnames())
        pkg_info = sdist.extractfile(f"{top}/PKG-INFO")
        assert pkg_info is not None
        _check_core_metadata(_metadata(pkg_info.read().decode()))
    for required in ("pyproject.toml", "README.md", f"{DIST}/__init__.py", f"{DIST}/provider_info.py"):
        assert f"{top}/{required}" in names
    assert not [
        n for n in names if "__pycache__" in n or n.endswith(".pyc") or "/.venv/" in n or "/.tools/" in n
    ]


# ---------------------------------------------------------------------------------- installed wheel


def test_installed_from_the_wheel_with_consistent_dependencies(installed: dict[str, Any]) -> None:
    out = run(
        [
            installed["python"],
            "-c",
            "import airflow_provider_dataeng as p, airflow; print(p.__file__, airflow.__version__)",
        ],
        cwd=installed["cwd"],
        env=installed["env"],
    )
    path, airflow_version = out.split()
    assert Path(path).is_relative_to(installed["venv"])  # the installed copy, not the repository
    locked = {p["name"]: p.get("version") for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"]}
    assert airflow_version == locked["apache-airflow"]
    run(
        [installed["uv"], "pip", "check"],
        cwd=installed["cwd"],
        env={**installed["env"], "VIRTUAL_ENV": str(installed["venv"])},
    )


def test_airflow_lists_the_provider(installed: dict[str, Any]) -> None:
    out = run(
        [str(installed["venv"] / "bin" / "airflow"), "providers", "list", "--output", "json"],
        cwd=installed["cwd"],
        env=installed["env"],
    )
    providers = {p["package_name"]: p for p in json.loads(out.strip().splitlines()[-1])}
    assert providers[NAME]["version"] == VERSION
    description = airflow_provider_dataeng.get_provider_info()["description"]
    assert providers[NAME]["description"] == description.rstrip(".")  # (the CLI drops a final full stop)


def test_example_dags_import_in_the_installed_package(installed: dict[str, Any]) -> None:
    """Without any extra (no dbt, pyarrow or local stack): DAG files need only the base install."""
    code = (
        "import json, sys\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "bag = DagBag(dag_folder=sys.argv[1])\n"
        "print(json.dumps({'errors': bag.import_errors, 'dags': sorted(bag.dag_ids)}))\n"
    )
    out = run([installed["python"], "-c", code, str(DAGS_FOLDER)], cwd=installed["cwd"], env=installed["env"])
    assert json.loads(out.strip().splitlines()[-1]) == {"errors": {}, "dags": sorted(EXAMPLE_DAGS)}
