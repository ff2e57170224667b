"""The gate in a real Airflow task run: a failed gate fails its task (no retries) and blocks downstream."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

DAGS = Path(__file__).parent / "dags"


@pytest.fixture(scope="module")
def dag(airflow_db, sqlite_db):
    """The test DAG, from its own DAG bundle (dag.test() runs only DAGs that a configured bundle holds)."""
    from airflow.dag_processing.dagbag import DagBag

    from tests.conftest import DAGS_FOLDER

    bundles = [
        {"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
         "kwargs": {"path": str(DAGS_FOLDER)}},
        {"name": "quality-tests", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
         "kwargs": {"path": str(DAGS)}},
    ]
    mp = pytest.MonkeyPatch()
    mp.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))
    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    yield bag.get_dag("quality_gate_blocks_downstream")
    mp.undo()


def states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def test_failed_gate_fails_the_task_and_blocks_downstream(dag) -> None:
    run = dag.test(logical_date=datetime(2026, 1, 5, tzinfo=timezone.utc), run_conf={"table": "BAD_ORDERS"})
    assert str(run.state) == "failed"
    assert states(run) == {"gate": "failed", "publish": "upstream_failed"}
    (gate,) = [ti for ti in run.get_task_instances() if ti.task_id == "gate"]
    assert gate.try_number == 1  # AirflowFailException: retries=2 is not used on bad data


def test_passing_gate_lets_downstream_run(dag) -> None:
    run = dag.test(logical_date=datetime(2026, 1, 6, tzinfo=timezone.utc), run_conf={"table": "GOOD_ORDERS"})
    assert str(run.state) == "success"
    assert states(run) == {"gate": "success", "publish": "success"}


def test_results_of_both_runs_are_in_the_results_table(dag, sqlite_db) -> None:
    import sqlite3

    conn = sqlite3.connect(sqlite_db)
    rows = conn.execute(
        'SELECT "DAG_ID", "TASK_ID", "LOGICAL_DATE", "TABLE_NAME", "STATUS", COUNT(*) FROM "QUALITY_RESULTS_AIRFLOW" '
        'GROUP BY 1, 2, 3, 4, 5 ORDER BY 3, 5'
    ).fetchall()
    conn.close()
    assert rows == [
        ("quality_gate_blocks_downstream", "gate", "2026-01-05 00:00:00", "BAD_ORDERS", "fail", 4),
        ("quality_gate_blocks_downstream", "gate", "2026-01-05 00:00:00", "BAD_ORDERS", "pass", 1),
        ("quality_gate_blocks_downstream", "gate", "2026-01-06 00:00:00", "GOOD_ORDERS", "pass", 5),
    ]


def test_operator_module_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys, airflow_provider_dataeng.operators.quality_gate, airflow_provider_dataeng.quality\n"
        "heavy = [m for m in ('snowflake.connector', 'sqlglot', 'dbt', 'boto3', 'pyarrow', 'requests') "
        "if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
