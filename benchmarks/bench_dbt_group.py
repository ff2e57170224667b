"""dbt task groups at run time: one DAG run on the local stack, ours against one build and against cosmos.

Every subject is a DAG file for the example project (dags/dbt, target ``local``, the data bench_dbt.py seeds)
run with ``airflow dags test <dag_id>`` in a subprocess with a clean environment: its own AIRFLOW_HOME and
SQLite metadata database (migrated once, copied per subject), only its own file in the DAGs folder, the
local stack's ``AIRFLOW_CONN_SNOWFLAKE_DEFAULT``. Median of REPEATS interleaved rounds after a dropped warm-up
round. The models' tables are built once beforehand by the dbt command line (their row counts are the
reference) and emptied before every run, so every run rebuilds every row (the incremental model inserts all
its rows) while the tables exist, as in a deployment's steady state:

- ours: ``DbtRunOperator(command="build")`` of the whole project (the reference, ratio 1.0);
- ours: ``DbtTaskGroup`` of the same project from a manifest written beforehand (``dataeng-dbt manifest``),
  deferrable (default) and ``deferrable=False``, ``poll_interval`` POLL seconds (the default is 5 s);
- cosmos ``DbtTaskGroup``, ``ExecutionMode.LOCAL`` (a task per model and a test task per model),
  ``LoadMode.DBT_MANIFEST``, the same profile as a profiles.yml (bench_dbt.py writes it);
- cosmos ``ExecutionMode.WATCHER`` (one ``dbt build`` producer, a sensor per model and per model's tests),
  with the producer made upstream of every root task (PRODUCER_FIRST says why).

A run longer than TIMEOUT seconds is stopped and reported. Wall time is the ``airflow dags test`` process's (start-up, DAG parse, run, exit); the DAG run's own
duration (start to end date in the metadata database) is in the note. A run counts only when the command
exits 0, every task instance of the run ended ``success`` and the models' row counts equal the reference's.
Peak RSS is ``ru_maxrss`` of the process tree (``os.wait4``): ``airflow dags test`` runs every task in its
own process, so it is the peak over all tasks of that one process. ``airflow tasks test`` of the heaviest
single task (the one running ``dbt build``, or one cosmos model task) gives the peak of a worker running
one task.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
PROJECT = ROOT / "dags" / "dbt"
REPEATS = int(os.environ.get("BENCH_DBT_GROUP_REPEATS", "3"))
ONLY = [key for key in os.environ.get("BENCH_DBT_GROUP_SUBJECTS", "").split(",") if key]  # keys of SUBJECTS
POLL = 0.5
TIMEOUT = float(os.environ.get("BENCH_DBT_GROUP_TIMEOUT", "180"))  # seconds a DAG run may take
MODELS = ("STG_CUSTOMERS", "STG_ORDERS", "DIM_CUSTOMER", "FCT_SALES")
TABLES = ("STG_ORDERS", "DIM_CUSTOMER", "FCT_SALES")  # STG_CUSTOMERS is a view
BENCHMARK = "dbt task group run"

HEADER = """
from datetime import datetime
from airflow.sdk import DAG
"""

OURS_RUN = """
from airflow_provider_dataeng.operators.dbt_run import DbtRunOperator

with DAG({dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    DbtRunOperator(
        task_id="dbt_build", command="build", project_dir={project!r}, snowflake_conn_id="snowflake_default",
        target="local",
    )
"""

OURS_GROUP = """
from airflow_provider_dataeng import DbtTaskGroup

with DAG({dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    DbtTaskGroup(
        group_id="dbt", project_dir={project!r}, manifest_path={manifest!r}, snowflake_conn_id="snowflake_default",
        target="local", deferrable={deferrable!r}, poll_interval={poll!r},
    )
"""

COSMOS = """
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, LoadMode

with DAG({dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig({project!r}, manifest_path={manifest!r}),
        profile_config=ProfileConfig(
            profile_name="dataeng_demo", target_name="local", profiles_yml_filepath={profiles!r}
        ),
        execution_config=ExecutionConfig(execution_mode=ExecutionMode.{mode}, dbt_executable_path={dbt!r}),
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST),
    )
{after}"""

# `airflow dags test` runs the tasks it may start in an arbitrary (set) order, one at a time, and a deferred
# task's trigger in-line until it fires: a watcher consumer that starts before the producer polls forever.
# The producer before every root task keeps the order the run needs; in one process nothing runs in
# parallel anyway (with a scheduler the consumers would wait in the triggerer while the producer runs).
PRODUCER_FIRST = """
producer = dag.task_dict["dbt.dbt_producer_watcher"]
for task in list(dag.tasks):
    if task is not producer and not task.upstream_task_ids:
        producer >> task
"""

# subject key -> (label, template, extra format arguments, the single task `airflow tasks test` runs)
SUBJECTS: dict[str, tuple[str, str, dict, str]] = {
    "ours_run": ("ours: DbtRunOperator dbt build (reference)", OURS_RUN, {}, "dbt_build"),
    "ours_group": (
        f"ours: DbtTaskGroup, deferrable, poll_interval {POLL} s",
        OURS_GROUP,
        {"deferrable": True},
        "dbt.dbt_build",
    ),
    "ours_group_sync": (
        f"ours: DbtTaskGroup, deferrable=False, poll_interval {POLL} s",
        OURS_GROUP,
        {"deferrable": False},
        "dbt.dbt_build",
    ),
    "cosmos_local": (
        "cosmos {version} DbtTaskGroup, ExecutionMode.LOCAL (peer)",
        COSMOS,
        {"mode": "LOCAL", "after": ""},
        "dbt.fct_sales.run",
    ),
    "cosmos_watcher": (
        "cosmos {version} DbtTaskGroup, ExecutionMode.WATCHER (peer)",
        COSMOS,
        {"mode": "WATCHER", "after": PRODUCER_FIRST},
        "dbt.dbt_producer_watcher",
    ),
}


def _cosmos_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("astronomer-cosmos")
    except PackageNotFoundError:
        return None


def _bench_dbt():
    """bench_dbt.py, for its data seeding and profiles.yml writer (the same data and profile)."""
    sys.path.insert(0, str(HERE))
    try:
        import bench_dbt
    finally:
        sys.path.remove(str(HERE))
    return bench_dbt


def _env(home: Path, conn: dict) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "DATAENG_")) and key != "PYTHONDONTWRITEBYTECODE"
    }
    bin_dir = str(Path(sys.executable).parent)
    return {
        **env,
        "PATH": os.pathsep.join([bin_dir, env.get("PATH", "")]),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "600",
        "AIRFLOW_CONN_SNOWFLAKE_DEFAULT": json.dumps(conn),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "PYTHONPYCACHEPREFIX": str(home.parent / "pycache"),
        "AIRFLOW__COSMOS__CACHE_DIR": str(home / "cosmos-cache"),
    }


def _connect(conn: dict):
    return _bench_dbt()._connect(conn)


def _empty_models(db) -> None:
    cur = db.cursor()
    for table in TABLES:
        cur.execute(f"delete from DEMO.ANALYTICS.{table}")


def _row_counts(db) -> dict[str, int]:
    cur = db.cursor()
    counts = {}
    for table in MODELS:
        cur.execute(f"select count(*) from DEMO.ANALYTICS.{table}")
        counts[table] = cur.fetchone()[0]
    return counts


def _timed(argv: list[str], env: dict[str, str], log: Path) -> tuple[int | None, float, int]:
    """Run argv; return its exit code (None: stopped after TIMEOUT), wall seconds and peak RSS in MB.

    The peak is ``ru_maxrss`` from ``os.wait4``: the largest process of the tree (children included).
    """
    import signal
    import threading

    with log.open("w") as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        timer = threading.Timer(TIMEOUT, os.killpg, (process.pid, signal.SIGKILL))
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timed_out = not timer.is_alive()
            timer.cancel()
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    return None if timed_out else process.returncode, elapsed, usage.ru_maxrss // 1024


def _last_run(home: Path, dag_id: str) -> tuple[str, float, dict[str, str]]:
    """State, duration in seconds and task states of the DAG's latest run in the subject's metadata DB."""
    from datetime import datetime

    db = sqlite3.connect(home / "airflow.db")
    try:
        found = db.execute(
            "select run_id, state, start_date, end_date from dag_run where dag_id = ? order by id desc limit 1",
            (dag_id,),
        ).fetchone()
        if found is None:
            return "no run", -1.0, {}
        run_id, state, start, end = found
        states = dict(
            db.execute(
                "select task_id, state from task_instance where dag_id = ? and run_id = ?", (dag_id, run_id)
            ).fetchall()
        )
    finally:
        db.close()
    duration = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() if end else -1.0
    return state, duration, states


def _failure(log: Path, code: int | None) -> str:
    """The gist of a failed run's output: how it ended, the last task it ran and its last error lines."""
    text = log.read_text(errors="replace")
    lines = text.splitlines()
    started = re.findall(r"\[DAG TEST\] running task <TaskInstance: \S+?\.(\S+) ", text)
    in_line = text.rfind("running trigger in line") > text.rfind("[DAG TEST] running task")
    hits = [line.strip() for line in lines if re.search(r"Error|Exception|error:|not found", line)]
    ended = f"stopped after {TIMEOUT:.0f} s" if code is None else f"exit code {code}"
    if started:
        ended += f" while {'a trigger of ' if in_line else ''}{started[-1]} ran"
    return textwrap.shorten(f"{ended}; last errors: " + " | ".join(hits[-2:] or lines[-2:]), 500)


def _prepare(work: Path, conn: dict, cosmos_version: str | None) -> dict[str, tuple[str, Path]]:
    """Project copy, manifest, profiles.yml, one migrated Airflow home per subject; {key: (dag_id, home)}."""
    bench_dbt = _bench_dbt()
    project = work / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    base = _env(work / "base", conn)
    (work / "base").mkdir()
    subprocess.run(
        [str(Path(sys.executable).with_name("dataeng-dbt")), "manifest", str(project), "--target", "local"],
        env=base,
        check=True,
        capture_output=True,
        timeout=900,
    )
    manifest = project / "target" / "manifest.json"
    profiles = bench_dbt._write_profiles(work / "profiles", base) / "profiles.yml"
    dbt = str(Path(sys.executable).with_name("dbt"))
    build = [
        dbt,
        "build",
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(profiles.parent),
        "--target",
        "local",
    ]
    build += ["--target-path", str(work / "cli_target"), "--log-path", str(work / "cli_logs")]
    built = subprocess.run(build, env=base, capture_output=True, text=True, timeout=900)
    if built.returncode != 0:
        raise RuntimeError(f"dbt build (the reference tables) failed:\n{built.stdout[-3000:]}")
    migrate = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=base,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if migrate.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{migrate.stdout[-2000:]}\n{migrate.stderr[-2000:]}")
    subjects = {}
    for key, (_, template, extra, _) in SUBJECTS.items():
        if key.startswith("cosmos") and not cosmos_version or ONLY and key not in ONLY:
            continue
        home = work / key
        (home / "dags").mkdir(parents=True)
        shutil.copy(work / "base" / "airflow.db", home / "airflow.db")
        dag_id = f"bench_{key}"
        code = template.format(
            dag_id=dag_id,
            project=str(project),
            manifest=str(manifest),
            profiles=str(profiles),
            dbt=dbt,
            poll=POLL,
            **extra,
        )
        (home / "dags" / f"{dag_id}.py").write_text(HEADER + code)
        subjects[key] = (dag_id, home)
    return subjects


def run() -> list[dict]:
    from dataeng_local.stack import LocalStack

    cosmos_version = _cosmos_version()
    work = Path(tempfile.mkdtemp(prefix="bench-dbt-group-"))
    try:
        with LocalStack(services=["snowflake"]) as stack:
            conn = json.loads(stack.env["AIRFLOW_CONN_SNOWFLAKE_DEFAULT"])
            _bench_dbt()._seed(conn)
            subjects = _prepare(work, conn, cosmos_version)
            db = _connect(conn)
            try:
                return _run_subjects(work, subjects, conn, db, cosmos_version)
            finally:
                db.close()
    finally:
        if os.environ.get("BENCH_DBT_GROUP_KEEP"):  # the runs' logs and homes, to look into a failure
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def _run_subjects(work: Path, subjects: dict, conn: dict, db, cosmos_version: str | None) -> list[dict]:
    samples: dict[str, list[tuple[float, float, int]]] = {key: [] for key in subjects}
    facts: dict[str, dict] = {}
    failed: dict[str, str] = {}
    reference_counts = _row_counts(db)  # the command line's build
    python = sys.executable
    for round_ in range(
        REPEATS + 1
    ):  # round 0 warms caches (byte code, dbt's partial parse, OS) and is dropped
        for key, (dag_id, home) in subjects.items():
            if key in failed:
                continue
            _empty_models(db)
            log = work / f"{key}-{round_}.log"
            code, elapsed, rss = _timed(
                [python, "-m", "airflow", "dags", "test", dag_id], _env(home, conn), log
            )
            state, duration, states = _last_run(home, dag_id)
            bad = {task: s for task, s in states.items() if s != "success"}
            if code != 0 or state != "success" or bad:
                failed[key] = f"run {state}, tasks not success {bad or 'none'}; {_failure(log, code)}"
                continue
            counts = _row_counts(db)
            if counts != reference_counts:
                failed[key] = f"row counts {counts} differ from the command line build's {reference_counts}"
                continue
            text = log.read_text(errors="replace")
            facts[key] = {
                "tasks": len(states),
                "dbt": len(re.findall(r"Running with dbt=", text)),
                "counts": counts,
            }
            if round_:
                samples[key].append((elapsed, duration, rss))
    for key, (dag_id, home) in subjects.items():
        if key not in failed:
            task = SUBJECTS[key][3]
            log = work / f"{key}-task.log"  # the models exist (last round): any one task can run
            code, _, rss = _timed(
                [python, "-m", "airflow", "tasks", "test", dag_id, task], _env(home, conn), log
            )
            facts[key]["task_rss"] = (task, rss if code == 0 else None)
    return _rows(subjects, samples, facts, failed, cosmos_version)


def _rows(subjects: dict, samples: dict, facts: dict, failed: dict, cosmos_version: str | None) -> list[dict]:
    rows = []
    reference = statistics.median(s[0] for s in samples["ours_run"]) if samples.get("ours_run") else None
    for key, (label, *_) in SUBJECTS.items():
        subject = label.format(version=cosmos_version or "")
        row = {"benchmark": BENCHMARK, "subject": subject, "metric": "wall s (airflow dags test)"}
        if ONLY and key not in ONLY:
            continue
        if key not in subjects:
            rows.append(
                {**row, "value": "n/a", "note": "astronomer-cosmos not installed (make bench installs it)"}
            )
            continue
        if key in failed or not samples[key]:
            rows.append({**row, "value": "n/a", "note": f"did not run here: {failed.get(key, 'no samples')}"})
            continue
        wall = statistics.median(s[0] for s in samples[key])
        duration = statistics.median(s[1] for s in samples[key])
        rss = max(s[2] for s in samples[key])
        fact = facts[key]
        task, task_rss = fact["task_rss"]
        per_task = f"{task_rss} MB" if task_rss is not None else "n/a (tasks test failed)"
        note = (
            f"{fact['tasks']} tasks, {fact['dbt']} dbt invocation(s); DAG run {duration:.2f} s; "
            f"peak RSS {rss} MB (one process running every task); `airflow tasks test {task}` alone: {per_task}; "
            f"rows {sum(fact['counts'].values())}"
        )
        if key.startswith("ours_group"):
            note += f"; poll_interval {POLL} s (default 5 s)"
        ratio = f"{wall / reference:.2f}x of DbtRunOperator" if reference else ""
        if key.startswith("cosmos") and samples.get("ours_group"):
            ours = statistics.median(s[0] for s in samples["ours_group"])
            ratio += f"; ours (DbtTaskGroup) {wall / ours:.2f}x faster"
        rows.append({**row, "value": f"{wall:.2f}", "ratio": ratio, "note": note})
    return rows


if __name__ == "__main__":
    for row in run():
        print(textwrap.shorten(json.dumps(row), 400))
