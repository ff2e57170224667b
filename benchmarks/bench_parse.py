"""DAG-parse cost of the example DAGs, side by side with a file holding one trivial task of ours.

The DAG processor parses every file again and again, each time in a fresh process forked from its manager,
which has Airflow loaded and pre-imports the ``airflow.*`` modules the file names: whatever else a DAG file
imports or builds at its top level is paid on each parse. Each figure is the median of REPEATS ``DagBag``
parses, each in a fresh interpreter set up the same way (DagBag and the file's ``airflow.*`` modules
imported before the clock starts). The clock is the process's CPU time, which other load on the machine
disturbs far less than wall time; rounds are interleaved so that what remains slows every file alike.

The example DAGs should parse within BUDGET_S of a file holding one trivial task of ours and load none of
the heavy libraries (the note names any that were loaded). Airflow's ``@task`` decorator is not among the
pre-imported modules (``from airflow.sdk import task`` resolves it lazily) and costs as much as a DAG file of
ours: a DAG using it is also compared with a file holding one task of ours and one ``@task``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAGS = ROOT / "dags"
REPEATS = int(os.environ.get("BENCH_PARSE_REPEATS", "7"))
BUDGET_S = 0.050
HEAVY = ("boto3", "botocore", "snowflake.connector", "dbt", "pyarrow", "requests", "sqlglot")

# Airflow alone (an EmptyOperator), then one task of ours: the floor every DAG file of ours pays.
REFERENCES = {
    "airflow_empty.py": """
        from datetime import datetime
        from airflow.providers.standard.operators.empty import EmptyOperator
        from airflow.sdk import DAG

        with DAG("airflow_empty", schedule=None, start_date=datetime(2024, 1, 1)):
            EmptyOperator(task_id="nothing")
    """,
    "one_task_of_ours.py": """
        from datetime import datetime
        from airflow.sdk import DAG
        from airflow_provider_dataeng import QualityGateOperator
        from airflow_provider_dataeng.quality import row_count

        with DAG("one_task_of_ours", schedule=None, start_date=datetime(2024, 1, 1)):
            QualityGateOperator(
                task_id="gate", snowflake_conn_id="snowflake_default", table="STAGING.T", checks=[row_count(min=1)]
            )
    """,
    "one_task_of_ours_and_a_python_task.py": """
        from datetime import datetime
        from airflow.sdk import DAG, task
        from airflow_provider_dataeng import QualityGateOperator
        from airflow_provider_dataeng.quality import row_count

        with DAG("one_task_of_ours_and_a_python_task", schedule=None, start_date=datetime(2024, 1, 1)):
            @task
            def noop() -> None:
                pass

            noop() >> QualityGateOperator(
                task_id="gate", snowflake_conn_id="snowflake_default", table="STAGING.T", checks=[row_count(min=1)]
            )
    """,
}
BASELINE = "one_task_of_ours.py"
BASELINE_WITH_TASK = "one_task_of_ours_and_a_python_task.py"

PARSE = """
import importlib, json, sys, time
from airflow.dag_processing.dagbag import DagBag
from airflow.dag_processing.processor import iter_airflow_imports
for module in iter_airflow_imports(sys.argv[1]):  # as the DAG processor's manager does before it forks
    importlib.import_module(module)
started = time.process_time()
bag = DagBag(dag_folder=sys.argv[1])
elapsed = time.process_time() - started
heavy = [h for h in sys.argv[2:] if any(m == h or m.startswith(h + ".") for m in sys.modules)]
print(json.dumps({"seconds": elapsed, "errors": bag.import_errors, "dags": len(bag.dags), "heavy": heavy}))
"""


def measure(files: list[Path], env: dict[str, str]) -> dict[str, tuple[float, list[str]]]:
    """Parse times of ``files``, interleaved (one round over all files per repeat) so that a busy machine
    slows every file alike."""
    samples: dict[str, list[float]] = {f.name: [] for f in files}
    heavy: dict[str, list[str]] = {}
    for round_ in range(REPEATS + 1):
        for f in files:
            out = subprocess.run(
                [sys.executable, "-c", PARSE, str(f), *HEAVY], env=env, capture_output=True, text=True
            )
            if out.returncode != 0:
                raise RuntimeError(f"parsing {f.name} failed:\n{out.stderr[-3000:]}")
            result = json.loads(out.stdout.strip().splitlines()[-1])
            if result["errors"] or result["dags"] != 1:
                raise RuntimeError(f"parsing {f.name}: {result}")
            if round_:  # round 0 byte-compiles
                samples[f.name].append(result["seconds"])
            heavy[f.name] = result["heavy"]
    return {name: (statistics.median(s), heavy[name]) for name, s in samples.items()}


def run() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="dataeng-bench-parse-") as work:
        home = Path(work)
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            # Byte-compiled modules, as a pip install leaves them (the Makefile turns bytecode off), kept
            # out of the venv and the repository; the first round below writes them and is not counted.
            "PYTHONPYCACHEPREFIX": str(home / "pycache"),
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        references = []
        for name, text in REFERENCES.items():
            (home / name).write_text(textwrap.dedent(text))
            references.append(home / name)
        examples = sorted(DAGS.glob("*.py"))
        times = measure([*references, *examples], env)
    base, base_with_task = times[BASELINE][0], times[BASELINE_WITH_TASK][0]
    rows = []
    for name, (seconds, heavy) in times.items():
        row = {
            "benchmark": "dag parse",
            "subject": name if name in REFERENCES else f"dags/{name}",
            "metric": "DagBag parse CPU s",
            "value": f"{seconds:.3f}",
            "note": f"heavy modules loaded: {', '.join(heavy)}" if heavy else "no heavy module loaded",
        }
        if name != BASELINE:
            row["ratio"] = f"{(seconds - base) * 1000:+.0f} ms vs one task of ours"
        if name not in REFERENCES:
            uses_task = "@task" in (DAGS / name).read_text()
            over = seconds - (base_with_task if uses_task else base)
            verdict = "within" if over <= BUDGET_S else "OVER"
            versus = " (+ a @task)" if uses_task else ""
            row["ratio"] += (
                f"; {over * 1000:+.0f} ms vs the same{versus}: {verdict} the {BUDGET_S * 1000:.0f} ms budget"
            )
        rows.append(row)
    return rows
