"""check_manifest: each way a manifest can stop describing its project, with the exact messages.

Unit tests run on a generated project on disk (tests/dbt/project_factory.py) whose checksums are computed as
dbt computes them; the last test checks a real ``dbt parse`` of the example project (dags/dbt) against it.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import time
from pathlib import Path

import pytest

from airflow_provider_dataeng.dbt.manifest_check import (
    ManifestProblem,
    check_manifest,
    format_problems,
    missing_manifest_message,
    regenerate_command,
)
from tests.dbt.conftest import PROJECT
from tests.dbt.project_factory import write_project

# dbt parse connects to nothing: any connection that yields a profile will do
DUMMY_CONNECTION = {
    "conn_type": "snowflake",
    "login": "parse",
    "password": "parse-unused-4d1e",
    "schema": "PUBLIC",
    "extra": {"account": "fakesnow", "database": "DEMO"},
}


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict]:
    root = tmp_path / "bigco"
    root.mkdir()
    return root, write_project(root, models=40)


def _command(root: Path) -> str:
    return f"dataeng-dbt manifest {root}"


def _later(path: Path) -> None:
    """Date a file after the manifest's parse (which write_project puts a second in the future)."""
    stamp = time.time() + 60
    os.utime(path, (stamp, stamp))


def test_a_current_manifest_has_no_problem(project) -> None:
    root, manifest = project
    assert check_manifest(root, manifest) == []
    assert check_manifest(root, manifest, trust_mtimes=True) == []


def test_another_projects_manifest_is_one_problem(project) -> None:
    root, manifest = project
    manifest["metadata"]["project_name"] = "jaffle_shop"
    assert check_manifest(root, manifest) == [
        ManifestProblem(
            "project_name",
            f"The manifest is of dbt project 'jaffle_shop', but {root} holds project 'bigco'.",
            _command(root),
        )
    ]


def test_a_manifest_of_another_dbt_minor_version(project) -> None:
    root, manifest = project
    manifest["metadata"]["dbt_version"] = "1.10.4"
    assert check_manifest(root, manifest, dbt_version="1.10.19") == []  # same minor: same manifest schema
    assert check_manifest(root, manifest) == []  # installed version unknown: not checked
    [problem] = check_manifest(root, manifest, dbt_version="1.11.16")
    assert problem.kind == "dbt_version"
    assert str(problem) == (
        "The manifest was written by dbt 1.10.4, but dbt 1.11.16 is installed. "
        f"Regenerate the manifest: dataeng-dbt manifest {root}"
    )


def test_a_changed_model_file(project) -> None:
    root, manifest = project
    model = root / "models/staging/crm/stg_crm__orders.sql"
    model.write_text(model.read_text() + "\n\n  \n")  # trailing whitespace: dbt strips it, same checksum
    assert check_manifest(root, manifest) == []
    model.write_text(model.read_text().replace("select *", "select id"))
    os.utime(model, (0, 0))  # dated before the manifest: hashing finds it, trusting mtimes does not
    assert check_manifest(root, manifest) == [
        ManifestProblem(
            "changed",
            "models/staging/crm/stg_crm__orders.sql changed since the manifest was generated.",
            _command(root),
            "models/staging/crm/stg_crm__orders.sql",
        )
    ]
    assert check_manifest(root, manifest, trust_mtimes=True) == []
    _later(model)
    assert [p.path for p in check_manifest(root, manifest, trust_mtimes=True)] == [
        "models/staging/crm/stg_crm__orders.sql"
    ]


def test_a_changed_seed_and_snapshot(project) -> None:
    root, manifest = project
    (root / "seeds/ref_codes_3.csv").write_text("code,label\n1,one\n")
    with (root / "snapshots/web_accounts_snapshot.sql").open("a") as handle:
        handle.write("-- new\n")
    assert [(p.kind, p.path) for p in check_manifest(root, manifest)] == [
        ("changed", "seeds/ref_codes_3.csv"),
        ("changed", "snapshots/web_accounts_snapshot.sql"),
    ]


def test_big_seeds_are_compared_by_path_as_dbt_does(project) -> None:
    root, manifest = project
    seed = root / "seeds/ref_codes_0.csv"
    seed.write_text("code\n" + "1234567\n" * 150_000)  # over 1 MiB: dbt keeps the path as checksum
    uid = "seed.bigco.ref_codes_0"
    manifest["nodes"][uid]["checksum"] = {"name": "path", "checksum": "seeds/ref_codes_0.csv"}
    assert check_manifest(root, manifest) == []
    seed.write_text("code\n1\n")  # small again: dbt would hash it now
    assert [(p.kind, p.path) for p in check_manifest(root, manifest)] == [("changed", "seeds/ref_codes_0.csv")]


def test_files_added_and_removed(project) -> None:
    root, manifest = project
    (root / "models/marts/sales/dim_sales_new.sql").write_text("select 1")
    (root / "models/marts/sales/notes.md").write_text("docs are not nodes")
    (root / "analyses").mkdir()
    (root / "analyses/adhoc.sql").write_text("select 2")
    (root / "tests/generic").mkdir(parents=True)
    (root / "tests/generic/is_even.sql").write_text("{% test is_even(model) %}select 1{% endtest %}")
    (root / "models/staging/web/stg_web__events.sql").unlink()
    assert check_manifest(root, manifest) == [
        ManifestProblem(
            "removed",
            "models/staging/web/stg_web__events.sql is in the manifest but no longer in the project.",
            _command(root),
            "models/staging/web/stg_web__events.sql",
        ),
        ManifestProblem(
            "added",
            "analyses/adhoc.sql is not in the manifest (added since it was generated).",
            _command(root),
            "analyses/adhoc.sql",
        ),
        ManifestProblem(
            "added",
            "models/marts/sales/dim_sales_new.sql is not in the manifest (added since it was generated).",
            _command(root),
            "models/marts/sales/dim_sales_new.sql",
        ),
    ]


def test_disabled_nodes_and_dbtignore_are_not_added_files(project) -> None:
    root, manifest = project
    (root / "models/legacy.sql").write_text("{{ config(enabled=false) }} select 1")
    (root / "models/scratch").mkdir()
    (root / "models/scratch/tmp.sql").write_text("select 1")
    (root / ".dbtignore").write_text("models/scratch/\n")
    disabled = copy.deepcopy(manifest["nodes"]["model.bigco.stg_crm__orders"])
    disabled.update(name="legacy", original_file_path="models/legacy.sql", unique_id="model.bigco.legacy")
    manifest["disabled"] = {"model.bigco.legacy": [disabled]}
    pytest.importorskip("pathspec")
    assert [p.path for p in check_manifest(root, manifest)] == ["models/legacy.sql"]  # changed: not its text
    disabled["checksum"] = {"name": "sha256", "checksum": _dbt_checksum(root / "models/legacy.sql")}
    assert check_manifest(root, manifest) == []


def test_yaml_files_by_their_dates(project) -> None:
    """dbt keeps no checksum of YAML files in manifest.json: one dated after the manifest counts as changed."""
    root, manifest = project
    named = root / "models/staging/crm/_crm__sources.yml"
    assert check_manifest(root, manifest) == []
    _later(named)
    new = root / "models/marts/_exposures.yml"
    new.write_text("version: 2\n")
    old = root / "models/marts/_empty.yml"
    old.write_text("version: 2\n")
    os.utime(old, (0, 0))  # there before the parse and naming nothing: not reported
    _later(new)
    assert [str(p) for p in check_manifest(root, manifest)] == [
        "models/staging/crm/_crm__sources.yml was modified after the manifest was generated. "
        f"Regenerate the manifest: dataeng-dbt manifest {root}",
        "models/marts/_exposures.yml was created after the manifest was generated. "
        f"Regenerate the manifest: dataeng-dbt manifest {root}",
    ]
    (root / "models/staging/crm/_crm__sources.yml").unlink()
    assert [(p.kind, p.path) for p in check_manifest(root, manifest)][0] == (
        "removed",
        "models/staging/crm/_crm__sources.yml",
    )


def test_yaml_dates_are_compared_with_generated_at(project) -> None:
    """A partial parse keeps the saved manifest's invocation_started_at: only generated_at is the write time."""
    root, manifest = project
    manifest["metadata"]["invocation_started_at"] = "2000-01-01T00:00:00+00:00"
    assert check_manifest(root, manifest) == []


def test_the_command_names_a_manifest_outside_the_default_place(project, tmp_path: Path) -> None:
    root, manifest = project
    manifest["metadata"]["project_name"] = "other"
    [problem] = check_manifest(root, manifest, manifest_path=tmp_path / "m.json")
    assert problem.command == f"dataeng-dbt manifest {root} --out {tmp_path / 'm.json'}"
    assert regenerate_command(root, root / "target" / "manifest.json") == f"dataeng-dbt manifest {root}"


def test_missing_manifest_message(tmp_path: Path) -> None:
    assert missing_manifest_message("/opt/dbt/shop") == (
        "dbt manifest /opt/dbt/shop/target/manifest.json not found: the dbt tasks of /opt/dbt/shop cannot be "
        "rendered without it. Write it at deploy time with: dataeng-dbt manifest /opt/dbt/shop"
    )
    assert missing_manifest_message("/opt/dbt/shop", "/opt/manifests/shop.json") == (
        "dbt manifest /opt/manifests/shop.json not found: the dbt tasks of /opt/dbt/shop cannot be "
        "rendered without it. Write it at deploy time with: "
        "dataeng-dbt manifest /opt/dbt/shop --out /opt/manifests/shop.json"
    )


def test_format_problems_for_a_dag_warning(project) -> None:
    root, manifest = project
    for name in ("a", "b", "c"):
        (root / f"models/{name}.sql").write_text("select 1")
    text = format_problems(check_manifest(root, manifest), limit=2)
    assert text == (
        "models/a.sql is not in the manifest (added since it was generated).\n"
        "models/b.sql is not in the manifest (added since it was generated).\n"
        "... and 1 more.\n"
        f"Regenerate the manifest: dataeng-dbt manifest {root}"
    )
    assert format_problems([]) == ""


def test_a_project_without_dbt_project_yml(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="has no dbt_project.yml"):
        check_manifest(tmp_path, {})


def test_cheap_on_a_500_model_project(tmp_path: Path) -> None:
    manifest = write_project(tmp_path, models=500)
    assert check_manifest(tmp_path, manifest) == []
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        check_manifest(tmp_path, manifest)
        runs.append(time.perf_counter() - started)
    assert min(runs) < 0.5, runs  # about 0.025 s measured on 2 busy cores; generous for CI


@pytest.mark.slow
def test_the_example_projects_real_manifest_passes(tmp_path: Path, monkeypatch) -> None:
    """``dbt parse`` of dags/dbt (through the CLI's function) passes; a model edited afterwards does not."""
    from importlib.metadata import version

    from airflow_provider_dataeng.cli import write_manifest

    project = tmp_path / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    monkeypatch.setenv("AIRFLOW_CONN_MANIFEST_CHECK", json.dumps(DUMMY_CONNECTION))
    path = write_manifest(project, project / "target" / "manifest.json", conn_id="manifest_check")
    manifest = json.loads(path.read_text())
    assert check_manifest(project, manifest, dbt_version=version("dbt-core")) == []
    model = project / "models/marts/fct_sales.sql"
    model.write_text(model.read_text() + "\n-- a comment changes the checksum\n")
    (project / "models/staging/_sources.yml").touch()
    assert [(p.kind, p.path) for p in check_manifest(project, manifest)] == [
        ("changed", "models/marts/fct_sales.sql"),
        ("changed", "models/staging/_sources.yml"),
    ]
    # written again (dbt's partial parse this time, which keeps the first parse's invocation times): current
    path = write_manifest(project, project / "target" / "manifest.json", conn_id="manifest_check")
    assert check_manifest(project, json.loads(path.read_text())) == []


def _dbt_checksum(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_text().strip().encode()).hexdigest()
