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

import pytest

# The local stack (Snowflake stand-in, S3 stand-in, demo API) as a session fixture: `local_stack`.
pytest_plugins = ["airflow_provider_dataeng.local.pytest_plugin"]

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
