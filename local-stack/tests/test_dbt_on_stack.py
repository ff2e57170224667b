"""dbt-snowflake runs against the Snowflake stand-in with a profile built from `dataeng-local env`.

This is the stand-in's contract with dbt (issue "Local stack"): `dbt debug` and `dbt run` with threads=4
through the real dbt-snowflake adapter and connector over HTTP. The DbtRunOperator has its own tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

DBT = str(Path(sys.executable).parent / "dbt")


def _profile_from_env_output(stack_dir: Path) -> dict:
    """Build the dbt profile from what `dataeng-local env --format json` prints for snowflake_default."""
    out = subprocess.run(
        [sys.executable, "-m", "dataeng_local.cli", "env", "--format", "json", "--dir", str(stack_dir)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    conn = json.loads(json.loads(out)["AIRFLOW_CONN_SNOWFLAKE_DEFAULT"])
    extra = conn["extra"]
    return {
        "type": "snowflake",
        "account": extra["account"],
        "user": conn["login"],
        "password": conn["password"],
        "database": extra["database"],
        "warehouse": extra["warehouse"],
        "role": extra["role"],
        "schema": "DBT_STACK_TEST",
        "host": extra["host"],
        "port": extra["port"],
        "protocol": extra["protocol"],
        "connect_retries": 0,
        "threads": 4,
    }


def test_dbt_debug_and_run_against_the_stand_in(local_stack, tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: stack_check\nversion: '1.0'\nprofile: stack_check\nconfig-version: 2\n"
    )
    (project / "models" / "numbers.sql").write_text(
        "{{ config(materialized='table') }}\nselect 1 as n union all select 2 union all select 3"
    )
    (project / "models" / "doubled.sql").write_text("select n * 2 as n2 from {{ ref('numbers') }}")
    for i in range(4):  # enough independent models for 4 threads to run at once
        (project / "models" / f"leaf_{i}.sql").write_text(f"select n + {i} as v from {{{{ ref('numbers') }}}}")
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    output = _profile_from_env_output(local_stack.dir)
    (profiles / "profiles.yml").write_text(
        yaml.safe_dump({"stack_check": {"target": "local", "outputs": {"local": output}}})
    )
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    common = ["--project-dir", str(project), "--profiles-dir", str(profiles)]

    debug = subprocess.run([DBT, "debug", *common], capture_output=True, text=True, env=env, cwd=project)
    assert debug.returncode == 0, debug.stdout[-3000:]
    assert "All checks passed!" in debug.stdout

    run = subprocess.run([DBT, "run", *common], capture_output=True, text=True, env=env, cwd=project)
    assert run.returncode == 0, run.stdout[-3000:]
    results = json.loads((project / "target" / "run_results.json").read_text())
    assert sorted((r["unique_id"], r["status"]) for r in results["results"]) == [
        ("model.stack_check.doubled", "success"),
        *[(f"model.stack_check.leaf_{i}", "success") for i in range(4)],
        ("model.stack_check.numbers", "success"),
    ]

    import snowflake.connector

    with snowflake.connector.connect(
        host="127.0.0.1", port=local_stack.snowflake_port, protocol="http", account="fakesnow",
        user="local", password="local", database="DEMO", schema="DBT_STACK_TEST",
    ) as conn:
        cur = conn.cursor()
        assert cur.execute("select n2 from doubled order by n2").fetchall() == [(2,), (4,), (6,)]
        assert cur.execute("select sum(v) from leaf_3").fetchall() == [(15,)]
