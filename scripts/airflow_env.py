"""The environment `make demo` and `make test-lowest` run `airflow` with (scripts/demo.py, scripts/dag_test.py):
an Airflow home of their own with a SQLite metadata database, the example DAGs, the local stack's connections."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def airflow_env(home: Path, stack_env: Mapping[str, str]) -> dict[str, str]:
    """This process's environment plus the stack's connections and Airflow settings for ``home``."""
    return {
        **os.environ,
        **stack_env,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
