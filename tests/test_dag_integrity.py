"""Every DAG in dags/ imports cleanly and follows the project's conventions."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from airflow.dag_processing.dagbag import DagBag

from tests.conftest import DAGS_FOLDER


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(DAGS_FOLDER))


def test_no_import_errors(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}
    assert len(dagbag.dags) >= 1


def test_every_dag_has_owner_retries_and_tags(dagbag: DagBag) -> None:
    problems = []
    for dag_id, dag in dagbag.dags.items():
        if not dag.tags:
            problems.append(f"{dag_id}: no tags")
        for t in dag.tasks:
            if not t.owner or t.owner == "airflow":
                problems.append(f"{dag_id}.{t.task_id}: no owner")
            if not t.retries:
                problems.append(f"{dag_id}.{t.task_id}: no retries")
    assert problems == []


def test_no_cycles(dagbag: DagBag) -> None:
    from airflow.sdk.definitions.dag import DAG

    for dag in dagbag.dags.values():
        DAG.check_cycle(dag)  # raises on a cycle


def _airflow_json(*args: str) -> list[dict]:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args, "--output", "json"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # log lines may precede the JSON


def test_cli_lists_dags_and_reports_no_import_errors(airflow_db, dagbag: DagBag) -> None:
    subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "reserialize"], check=True, capture_output=True, env=os.environ.copy()
    )
    # (other tests' DAG runs may have serialized their own test DAGs into the same database)
    assert set(dagbag.dag_ids) <= {d["dag_id"] for d in _airflow_json("dags", "list")}
    assert _airflow_json("dags", "list-import-errors") == []
