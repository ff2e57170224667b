"""dbt: DAG-parse cost of DbtRunOperator vs cosmos DbtTaskGroup, and run overhead vs the dbt command line.

Parse cost: ``DagBag`` parse time of a DAG file holding one ``DbtRunOperator`` for the example project
(dags/dbt) against the same project rendered by cosmos's ``DbtTaskGroup`` (``LoadMode.DBT_LS``, cosmos's
usual mode, with its dbt-ls cache off, i.e. a cold DAG processor; and ``LoadMode.DBT_MANIFEST`` from a
pre-built manifest, its cheapest mode). Each parse runs in a fresh interpreter with Airflow already imported
(as in the DAG processor); the median of REPEATS is reported.

Run overhead: ``DbtRunOperator.execute`` (in-process ``dbtRunner`` and subprocess) against ``dbt build`` on
the command line, same project, same Snowflake stand-in (the local stack's), alternating runs.

cosmos is installed only by ``make bench`` (extra ``bench``); without it the parse rows say so.
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
PROJECT = ROOT / "dags" / "dbt"
REPEATS = int(os.environ.get("BENCH_DBT_REPEATS", "3"))
CUSTOMERS, ORDERS = 200, 2000

OUR_DAG = """
from datetime import datetime
from airflow.sdk import DAG
from airflow_provider_dataeng.operators.dbt_run import DbtRunOperator

with DAG("dbt_ours", schedule=None, start_date=datetime(2026, 1, 1)):
    DbtRunOperator(task_id="dbt_build", project_dir={project!r}, snowflake_conn_id="snowflake_default")
"""

COSMOS_DAG = """
from datetime import datetime
from airflow.sdk import DAG
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import LoadMode
from cosmos.profiles import SnowflakeUserPasswordProfileMapping

profile = ProfileConfig(
    profile_name="dataeng_demo", target_name="local",
    profile_mapping=SnowflakeUserPasswordProfileMapping(conn_id="snowflake_default"),
)
with DAG("dbt_cosmos", schedule=None, start_date=datetime(2026, 1, 1)):
    DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig({project!r}, manifest_path={manifest!r}),
        profile_config=profile,
        execution_config=ExecutionConfig(dbt_executable_path={dbt!r}),
        render_config=RenderConfig(load_method=LoadMode.{mode}),
    )
"""

PARSE = """
import sys, time
from airflow.dag_processing.dagbag import DagBag
started = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
elapsed = time.perf_counter() - started
assert not bag.import_errors, bag.import_errors
print(elapsed, sum(len(d.tasks) for d in bag.dags.values()))
"""


def _env(airflow_home: Path, conn: dict) -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(airflow_home / "dags"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home}/airflow.db",
        "AIRFLOW__COSMOS__ENABLE_CACHE": "False",
        # cosmos's dbt ls can exceed Airflow's default 30 s DAG import timeout on a busy machine: let it finish
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "600",
        "AIRFLOW_CONN_SNOWFLAKE_DEFAULT": json.dumps(conn),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }


def _parse(dag_file: Path, env: dict[str, str]) -> tuple[float, int]:
    samples, tasks = [], 0
    for _ in range(REPEATS):
        out = subprocess.run(
            [sys.executable, "-c", PARSE, str(dag_file)], env=env, capture_output=True, text=True
        )
        if out.returncode != 0:
            raise RuntimeError(f"parsing {dag_file.name} failed:\n{out.stderr[-3000:]}")
        elapsed, tasks = out.stdout.split()[-2:]
        samples.append(float(elapsed))
    return statistics.median(samples), int(tasks)


def parse_rows(work: Path, project: Path, conn: dict) -> list[dict]:
    env = _env(work / "airflow", conn)
    dags = work / "dags"
    dags.mkdir()
    (dags / "ours.py").write_text(OUR_DAG.format(project=str(project)))
    ours, our_tasks = _parse(dags / "ours.py", env)
    rows = [
        {
            "benchmark": "dbt parse",
            "subject": "DbtRunOperator (1 task)",
            "metric": "DagBag parse s",
            "value": f"{ours:.3f}",
            "note": f"{our_tasks} task(s)",
        }
    ]
    try:
        import cosmos  # noqa: F401
    except ImportError:
        rows.append(
            {
                "benchmark": "dbt parse",
                "subject": "cosmos DbtTaskGroup",
                "metric": "DagBag parse s",
                "value": "n/a",
                "note": "astronomer-cosmos not installed (make bench installs it)",
            }
        )
        return rows
    dbt = str(Path(sys.executable).with_name("dbt"))
    manifest = _manifest(work, project, env, dbt)
    for mode in ("DBT_LS", "DBT_MANIFEST"):
        dag_file = dags / f"cosmos_{mode.lower()}.py"
        dag_file.write_text(
            COSMOS_DAG.format(project=str(project), manifest=str(manifest), dbt=dbt, mode=mode)
        )
        peer, peer_tasks = _parse(dag_file, env)
        rows.append(
            {
                "benchmark": "dbt parse",
                "subject": f"cosmos DbtTaskGroup ({mode}, peer)",
                "metric": "DagBag parse s",
                "value": f"{peer:.3f}",
                "ratio": f"ours {peer / max(ours, 1e-6):.0f}x cheaper",
                "note": f"{peer_tasks} tasks",
            }
        )
    return rows


def _manifest(work: Path, project: Path, env: dict[str, str], dbt: str) -> Path:
    profiles = _write_profiles(work / "parse_profiles", env)
    target = work / "manifest_target"
    subprocess.run(
        [
            dbt,
            "parse",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(profiles),
            "--target-path",
            str(target),
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    return target / "manifest.json"


def _write_profiles(directory: Path, env: dict[str, str]) -> Path:
    import yaml

    from airflow_provider_dataeng.dbt.profiles import SnowflakeConnectionFields, build_snowflake_profile

    conn = json.loads(env["AIRFLOW_CONN_SNOWFLAKE_DEFAULT"])
    fields = SnowflakeConnectionFields(
        "snowflake_default", conn["login"], conn["password"], conn["schema"], conn["extra"]
    )
    profile = build_snowflake_profile(fields, profile_name="dataeng_demo", target_name="local")
    output = {**profile.output, "password": conn["password"]}  # the command line reads a plain profile
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "profiles.yml").write_text(
        yaml.safe_dump({"dataeng_demo": {"target": "local", "outputs": {"local": output}}})
    )
    return directory


def _connect(conn: dict):
    """A connector session to the stand-in of ``conn`` (database DEMO)."""
    import snowflake.connector

    extra = conn["extra"]
    return snowflake.connector.connect(
        account="fakesnow",
        user="bench",
        password="bench",
        host=extra["host"],
        port=extra["port"],
        protocol="http",
        database="DEMO",
        schema="PUBLIC",
    )


def _seed(conn: dict) -> None:
    db = _connect(conn)
    cur = db.cursor()
    cur.execute("create schema if not exists DEMO.STAGING")
    cur.execute(
        "create or replace table DEMO.STAGING.CUSTOMERS (CUSTOMER_ID NUMBER, EMAIL VARCHAR, NAME VARCHAR,"
        " COUNTRY VARCHAR, STATUS VARCHAR, CREATED_AT TIMESTAMP_NTZ, UPDATED_AT TIMESTAMP_NTZ,"
        " _DELETED_AT TIMESTAMP_NTZ)"
    )
    cur.execute(
        "create or replace table DEMO.STAGING.ORDERS (ORDER_ID NUMBER, CUSTOMER_ID NUMBER, STATUS VARCHAR,"
        " AMOUNT NUMBER(12,2), CURRENCY VARCHAR, ORDERED_AT TIMESTAMP_NTZ, UPDATED_AT TIMESTAMP_NTZ,"
        " _DELETED_AT TIMESTAMP_NTZ)"
    )
    statuses = ("active", "inactive", "churned")
    cur.executemany(
        "insert into DEMO.STAGING.CUSTOMERS values (%s, %s, %s, 'de', %s, '2026-01-01', '2026-01-01', null)",
        [(i, f"c{i}@x.com", f"C{i}", statuses[i % 3]) for i in range(CUSTOMERS)],
    )
    order_statuses = ("placed", "shipped", "delivered", "cancelled")
    cur.executemany(
        "insert into DEMO.STAGING.ORDERS values (%s, %s, %s, %s, 'eur', '2026-01-02', '2026-01-02', null)",
        [(i, i % CUSTOMERS, order_statuses[i % 4], i % 100 + 0.5) for i in range(ORDERS)],
    )
    db.close()


RUN_OURS = """
import json, os, sys, time
from airflow_provider_dataeng.operators.dbt_run import DbtRunOperator
op = DbtRunOperator(task_id="b", project_dir=sys.argv[1], snowflake_conn_id="snowflake_default", target="local",
                    execution=sys.argv[2])
started = time.perf_counter()
result = op.execute({})
print(time.perf_counter() - started, result["success"], len(result["nodes"]))
"""


def run_rows(work: Path, project: Path, conn: dict) -> list[dict]:
    env = _env(work / "airflow", conn)
    profiles = _write_profiles(work / "cli_profiles", env)
    dbt = str(Path(sys.executable).with_name("dbt"))
    cli_args = [
        dbt,
        "build",
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(profiles),
        "--target-path",
        str(work / "cli_target"),
        "--log-path",
        str(work / "cli_logs"),
    ]
    timings: dict[str, list[float]] = {"cli": [], "in_process": [], "subprocess": []}
    for round_ in range(REPEATS + 1):  # the first round warms caches (partial parse, OS) and is dropped
        for subject in timings:
            if subject == "cli":
                started = time.perf_counter()
                subprocess.run(cli_args, env=env, check=True, capture_output=True)
                elapsed = time.perf_counter() - started
            else:
                out = subprocess.run(
                    [sys.executable, "-c", RUN_OURS, str(project), subject],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                elapsed, success, _ = out.stdout.split()[-3:]
                assert success == "True", out.stdout[-2000:]
                elapsed = float(elapsed)
            if round_:
                timings[subject].append(elapsed)
    cli = statistics.median(timings["cli"])
    rows = [
        {
            "benchmark": "dbt run",
            "subject": "dbt build (command line, peer)",
            "metric": "seconds",
            "value": f"{cli:.2f}",
        }
    ]
    for subject in ("in_process", "subprocess"):
        ours = statistics.median(timings[subject])
        rows.append(
            {
                "benchmark": "dbt run",
                "subject": f"DbtRunOperator dbt build ({subject})",
                "metric": "seconds",
                "value": f"{ours:.2f}",
                "ratio": f"{(ours / cli - 1) * 100:+.0f}% vs command line",
                "note": "execute() incl. dbt import, profile, results",
            }
        )
    return rows


def run() -> list[dict]:
    from dataeng_local.stack import LocalStack

    work = Path(tempfile.mkdtemp(prefix="bench-dbt-"))
    try:
        project = work / "project"
        shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
        with LocalStack(services=["snowflake"]) as stack:
            conn = json.loads(stack.env["AIRFLOW_CONN_SNOWFLAKE_DEFAULT"])
            _seed(conn)
            rows = parse_rows(work, project, conn)
            rows += run_rows(work, project, conn)
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    for row in run():
        print(textwrap.shorten(json.dumps(row), 300))
