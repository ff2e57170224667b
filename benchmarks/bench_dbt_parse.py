"""dbt task groups at DAG-parse time: one task per dbt node rendered from a manifest, ours against cosmos.

Subjects, each a DAG file holding one task group, parsed by ``DagBag`` in a fresh interpreter set up as the
DAG processor sets one up (the ``airflow.*`` modules the file names imported before the clock starts), CPU
time, median of REPEATS interleaved rounds (as bench_parse.py measures):

- ours: ``DbtTaskGroup`` (json.load of the manifest, ``check_manifest`` against the project, selection, plan,
  a producer task and one ``DbtNodeOperator`` per planned task with the plan's edges);
- cosmos ``DbtTaskGroup`` with ``LoadMode.DBT_MANIFEST`` (its cheapest mode) on the same manifest;
- the floor: a DAG file with one ``EmptyOperator``;
- Airflow's cost of the group's shape: a DAG file with an ``EmptyOperator`` per task of ours, in a
  ``TaskGroup``, with the same edges (read from our parsed DAG), so ours minus this is what our operators
  and the manifest work add to what Airflow charges per task and edge anyway.

Each subject is reported as total CPU time and as time over the floor. Projects: the example project
(dags/dbt, manifest written by ``dataeng-dbt manifest``) and a generated 500-model project
(tests/dbt/project_factory.py, written to disk with its manifest). ``check_manifest`` alone is timed too (in
this process, best of 5). cosmos comes with ``make bench`` (extra ``bench``).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "dags" / "dbt"
REPEATS = int(os.environ.get("BENCH_DBT_PARSE_REPEATS", "5"))
MODELS = int(os.environ.get("BENCH_DBT_PARSE_MODELS", "500"))
CONNECTION = {  # dbt parse and cosmos's profile mapping connect to nothing at parse time
    "conn_type": "snowflake",
    "login": "bench",
    "password": "bench-unused-password",
    "schema": "PUBLIC",
    "extra": {"account": "fakesnow", "database": "DEMO", "warehouse": "BENCH_WH"},
}

HEADER = """
from datetime import datetime
from airflow.sdk import DAG
"""

OURS = {
    "label": "ours: DbtTaskGroup",
    "code": """
from airflow_provider_dataeng import DbtTaskGroup

with DAG("dbt_ours", schedule=None, start_date=datetime(2026, 1, 1)):
    DbtTaskGroup(
        group_id="dbt", project_dir={project!r}, manifest_path={manifest!r}, snowflake_conn_id="snowflake_default"
    )
""",
}

# Airflow's own cost for the group's shape: an EmptyOperator per task of ours, in a TaskGroup, same edges
EMPTY_SHAPE = """
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import TaskGroup

TASKS = {tasks!r}
EDGES = {edges!r}
with DAG("dbt_shape", schedule=None, start_date=datetime(2026, 1, 1)):
    with TaskGroup("dbt"):
        tasks = {{task_id: EmptyOperator(task_id=task_id) for task_id in TASKS}}
        for upstream, downstream in EDGES:
            tasks[upstream] >> tasks[downstream]
"""

SHAPE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
(dag,) = bag.dags.values()
prefix = "dbt."
tasks = [t.task_id.removeprefix(prefix) for t in dag.tasks]
edges = sorted((up.removeprefix(prefix), t.task_id.removeprefix(prefix))
               for t in dag.tasks for up in t.upstream_task_ids)
print(json.dumps({"tasks": tasks, "edges": edges}))
"""

COSMOS = """
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import LoadMode
from cosmos.profiles import SnowflakeUserPasswordProfileMapping

profile = ProfileConfig(
    profile_name={profile!r}, target_name="local",
    profile_mapping=SnowflakeUserPasswordProfileMapping(conn_id="snowflake_default"),
)
with DAG("dbt_cosmos", schedule=None, start_date=datetime(2026, 1, 1)):
    DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig({project!r}, manifest_path={manifest!r}),
        profile_config=profile,
        execution_config=ExecutionConfig(dbt_executable_path={dbt!r}),
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST),
    )
"""

FLOOR = """
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG("floor", schedule=None, start_date=datetime(2026, 1, 1)):
    EmptyOperator(task_id="nothing")
"""

PARSE = """
import importlib, json, sys, time
from airflow.dag_processing.dagbag import DagBag
from airflow.dag_processing.processor import iter_airflow_imports
for module in iter_airflow_imports(sys.argv[1]):  # as the DAG processor's manager does before it forks
    importlib.import_module(module)
started = time.process_time()
bag = DagBag(dag_folder=sys.argv[1])
elapsed = time.process_time() - started
print(json.dumps({"seconds": elapsed, "errors": {k: str(v) for k, v in bag.import_errors.items()},
                  "tasks": sum(len(d.tasks) for d in bag.dags.values())}))
"""


def _env(home: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "600",
        "AIRFLOW__COSMOS__ENABLE_CACHE": "False",
        "AIRFLOW_CONN_SNOWFLAKE_DEFAULT": json.dumps(CONNECTION),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "PYTHONPYCACHEPREFIX": str(home / "pycache"),  # byte-compiled once (round 0), as an install leaves it
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _measure(files: list[Path], env: dict[str, str]) -> dict[Path, tuple[float, int]]:
    samples: dict[Path, list[float]] = {f: [] for f in files}
    tasks: dict[Path, int] = {}
    for round_ in range(REPEATS + 1):
        for f in files:
            out = subprocess.run(
                [sys.executable, "-c", PARSE, str(f)], env=env, capture_output=True, text=True, timeout=900
            )
            if out.returncode != 0:
                raise RuntimeError(f"parsing {f.name} failed:\n{out.stderr[-3000:]}")
            result = json.loads(out.stdout.strip().splitlines()[-1])
            if result["errors"]:
                raise RuntimeError(f"parsing {f.name}: {result['errors']}")
            if round_:  # round 0 byte-compiles
                samples[f].append(result["seconds"])
            tasks[f] = result["tasks"]
    return {f: (statistics.median(s), tasks[f]) for f, s in samples.items()}


def _example_manifest(work: Path, env: dict[str, str]) -> tuple[Path, Path]:
    project = work / "example"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    script = Path(sys.executable).with_name("dataeng-dbt")
    subprocess.run(
        [str(script), "manifest", str(project), "--target", "local"],
        env=env,
        check=True,
        capture_output=True,
        timeout=900,
    )
    return project, project / "target" / "manifest.json"


def _generated_manifest(work: Path) -> tuple[Path, Path]:
    sys.path.insert(0, str(ROOT))
    from tests.dbt.project_factory import write_project

    project = work / "generated"
    project.mkdir()
    manifest = write_project(project, models=MODELS)
    path = project / "target" / "manifest.json"
    path.parent.mkdir()
    path.write_text(json.dumps(manifest))
    return project, path


def _check_ms(project: Path, manifest_path: Path) -> float:
    from airflow_provider_dataeng.dbt.manifest_check import check_manifest

    manifest = json.loads(manifest_path.read_text())
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        problems = check_manifest(project, manifest, manifest_path=manifest_path)
        runs.append(time.perf_counter() - started)
        assert not problems, problems
    return min(runs) * 1000


def _cosmos_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("astronomer-cosmos")
    except PackageNotFoundError:
        return None


def _shape(dag_file: Path, env: dict[str, str]) -> dict[str, list]:
    """Task ids and edges of the (single) DAG in ``dag_file``, group prefix removed."""
    out = subprocess.run(
        [sys.executable, "-c", SHAPE, str(dag_file)], env=env, capture_output=True, text=True, timeout=900
    )
    if out.returncode != 0:
        raise RuntimeError(f"parsing {dag_file.name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _row(subject: str, seconds: float, floor: float, tasks: int, **extra: str) -> dict:
    row = {
        "benchmark": "dbt task group parse",
        "subject": subject,
        "metric": "DagBag parse CPU s",
        "value": f"{seconds:.3f}",
        **extra,
    }
    row["note"] = "; ".join(
        x for x in (f"{tasks} tasks", f"{seconds - floor:+.3f} s over the floor", extra.get("note")) if x
    )
    return row


def run() -> list[dict]:
    cosmos_version = _cosmos_version()
    work = Path(tempfile.mkdtemp(prefix="bench-dbt-parse-"))
    try:
        env = _env(work / "airflow")
        dags = work / "dags"
        dags.mkdir()
        projects = {
            "example project": _example_manifest(work, env),
            f"generated {MODELS} models": _generated_manifest(work),
        }
        dbt = str(Path(sys.executable).with_name("dbt"))
        files: dict[tuple[str, str], Path] = {}
        floor = dags / "floor.py"
        floor.write_text(textwrap.dedent(HEADER + FLOOR))
        for index, (name, (project, manifest)) in enumerate(projects.items()):
            ours = dags / f"ours_{index}.py"
            ours.write_text(HEADER + OURS["code"].format(project=str(project), manifest=str(manifest)))
            files[(name, "ours")] = ours
            shape = _shape(ours, env)
            empty = dags / f"shape_{index}.py"
            empty.write_text(HEADER + EMPTY_SHAPE.format(tasks=shape["tasks"], edges=shape["edges"]))
            files[(name, "shape")] = empty
            if cosmos_version:
                profile = json.loads(manifest.read_text())["metadata"]["project_name"]
                peer = dags / f"cosmos_{index}.py"
                peer.write_text(
                    HEADER
                    + COSMOS.format(project=str(project), manifest=str(manifest), dbt=dbt, profile=profile)
                )
                files[(name, "cosmos")] = peer
        times = _measure([floor, *files.values()], env)
        base = times[floor][0]
        rows = [_row("floor: one EmptyOperator", base, base, times[floor][1])]
        for name, (project, manifest) in projects.items():
            ours, our_tasks = times[files[(name, "ours")]]
            shape, shape_tasks = times[files[(name, "shape")]]
            rows.append(_row(f"{OURS['label']}, {name}", ours, base, our_tasks))
            rows.append(
                _row(
                    f"Airflow floor: {shape_tasks} EmptyOperators, the group's edges, {name}",
                    shape,
                    base,
                    shape_tasks,
                    ratio=f"ours {ours / max(shape, 1e-6):.2f}x of it",
                    note=f"ours adds {ours - shape:+.3f} s to it",
                )
            )
            cosmos_subject = f"cosmos {cosmos_version or ''} DbtTaskGroup (DBT_MANIFEST, peer), {name}"
            if (name, "cosmos") in files:
                peer, peer_tasks = times[files[(name, "cosmos")]]
                over = (peer - base) / max(ours - base, 1e-6)
                rows.append(
                    _row(
                        cosmos_subject,
                        peer,
                        base,
                        peer_tasks,
                        ratio=f"ours {peer / max(ours, 1e-6):.1f}x cheaper ({over:.1f}x over the floor)",
                    )
                )
            else:
                rows.append(
                    {
                        "benchmark": "dbt task group parse",
                        "subject": cosmos_subject,
                        "metric": "DagBag parse CPU s",
                        "value": "n/a",
                        "note": "astronomer-cosmos not installed (make bench installs it)",
                    }
                )
            rows.append(
                {
                    "benchmark": "dbt task group parse",
                    "subject": f"check_manifest alone, {name}",
                    "metric": "ms (best of 5)",
                    "value": f"{_check_ms(project, manifest):.1f}",
                    "note": "part of ours above",
                }
            )
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    for row in run():
        print(textwrap.shorten(json.dumps(row), 300))
