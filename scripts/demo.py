"""`make demo`: run the example pipeline end to end with `airflow dags test`.

Uses an Airflow home under .dataeng-local/airflow (SQLite) so it never touches ~/airflow.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = Path(os.environ.get("DATAENG_LOCAL_DIR", ROOT / ".dataeng-local"))
DAG_ID = "provider_smoke"


def airflow(*args: str, env: dict[str, str]) -> None:
    print(f"$ airflow {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", "airflow", *args], check=True, env=env)


def main() -> int:
    home = STATE_DIR / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
    }
    started = time.monotonic()
    airflow("db", "migrate", env=env)
    airflow("dags", "test", DAG_ID, env=env)
    print(f"demo finished in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
