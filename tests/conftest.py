"""Test session set-up: an isolated Airflow home (SQLite) created once per session.

The environment is set at import time, before any test module imports Airflow, so Airflow never reads
or writes the developer's own ~/airflow.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The local stack's session fixture `local_stack` comes from dataeng-local's pytest plugin, which its
# `pytest11` entry point registers wherever it is installed (the dev environment).

ROOT = Path(__file__).resolve().parents[1]
DAGS_FOLDER = ROOT / "dags"
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="dataeng-test-airflow-"))

os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME}/airflow.db",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[Path]:
    """An Airflow metadata database (SQLite), migrated once for the whole session."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )
    yield AIRFLOW_HOME


def run_xcom(run: Any, task_id: str) -> Any:
    """A task's return value (XCom) in a DAG run, read from the metadata database."""
    import json

    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        value = (
            session.query(XComModel.value)
            .filter_by(dag_id=run.dag_id, run_id=run.run_id, task_id=task_id, key="return_value")
            .scalar()
        )
    return json.loads(value) if isinstance(value, str) else value
