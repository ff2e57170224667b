"""Run one example DAG with `airflow dags test` on a fresh local stack (used by `make test-lowest`).

    python scripts/dag_test.py DAG_ID RUN_AFTER

Starts the local stack on free ports under .dataeng-local/dag-test (wiped first), migrates a fresh SQLite
metadata database, runs the DAG for RUN_AFTER with the stack's connections and stops the stack. Exits with
the `airflow dags test` exit code (1 when a task failed).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from airflow_env import airflow_env

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".dataeng-local" / "dag-test"


def main(dag_id: str, run_after: str) -> int:
    from dataeng_local.stack import LocalStack, free_port

    started = time.monotonic()
    shutil.rmtree(WORK, ignore_errors=True)
    home = WORK / "airflow"
    home.mkdir(parents=True)
    ports = {"snowflake": free_port(), "s3": free_port(), "demo_api": free_port()}
    with LocalStack(dir=WORK / "stack", ports=ports) as stack:
        env = airflow_env(home, stack.env)
        airflow = [sys.executable, "-m", "airflow"]
        migrate = subprocess.run([*airflow, "db", "migrate"], env=env, capture_output=True, text=True)
        if migrate.returncode != 0:
            print(migrate.stdout[-3000:], migrate.stderr[-3000:], sep="\n")
            return migrate.returncode
        code = subprocess.call([*airflow, "dags", "test", dag_id, run_after], env=env)
    verdict = "succeeded" if code == 0 else f"failed (exit code {code})"
    print(f"airflow dags test {dag_id} {run_after} {verdict} in {time.monotonic() - started:.0f}s")
    return code


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
