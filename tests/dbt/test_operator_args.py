"""DbtRunOperator construction: bad arguments fail at DAG-parse time, dbt arguments built exactly."""

from __future__ import annotations

import subprocess
import sys

import pytest

from airflow_provider_dataeng.operators.dbt_run import DbtRunOperator


def make(**kwargs) -> DbtRunOperator:
    kwargs.setdefault("snowflake_conn_id", "snowflake_default")
    return DbtRunOperator(task_id="dbt", project_dir="/nonexistent/project", **kwargs)


def test_default_command_is_build_with_nothing_else() -> None:
    assert make().command_args() == ["build"]


def test_every_option_maps_to_its_dbt_flag() -> None:
    op = make(
        command="run",
        select=["stg_orders+", "tag:daily"],
        exclude="fct_sales",
        selector="nightly",
        vars={"source_schema": "STAGING", "day": "2026-01-01"},
        full_refresh=True,
        threads=8,
        dbt_args=["--fail-fast"],
        target="prod",
    )
    assert op.command_args() == [
        "run",
        "--select",
        "stg_orders+",
        "tag:daily",
        "--exclude",
        "fct_sales",
        "--selector",
        "nightly",
        "--vars",
        '{"source_schema": "STAGING", "day": "2026-01-01"}',
        "--full-refresh",
        "--threads",
        "8",
        "--fail-fast",
    ]  # a generated profile's only target already is `prod`: no --target


def test_own_profiles_dir_passes_target_and_source_freshness_is_two_words() -> None:
    op = DbtRunOperator(
        task_id="t", project_dir="/p", profiles_dir="/home/me/.dbt", target="dev", command="source freshness"
    )
    assert op.command_args() == ["source", "freshness", "--target", "dev"]


def test_templated_vars_string_and_empty_selects() -> None:
    op = make(vars="{day: '2026-01-01', n: 3}", select="", exclude=[])
    assert op.command_args() == ["build", "--vars", '{"day": "2026-01-01", "n": 3}']
    assert set(DbtRunOperator.template_fields) >= {"select", "exclude", "vars", "target"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"command": "compile"}, "command must be one of"),
        ({"snowflake_conn_id": None}, "Give exactly one of snowflake_conn_id"),
        ({"profiles_dir": "/p"}, "Give exactly one of snowflake_conn_id"),
        ({"execution": "docker"}, "execution must be one of"),
        ({"command": "test", "full_refresh": True}, "full_refresh applies to"),
        ({"threads": 0}, "threads must be a positive integer"),
        ({"threads": "4"}, "threads must be a positive integer"),
        ({"dbt_args": "--fail-fast"}, "dbt_args must be a list of strings"),
        ({"dbt_args": ["--profiles-dir=/x"]}, "dbt_args must not contain --profiles-dir"),
        ({"dbt_args": ["--target", "x"]}, "dbt_args must not contain --target"),
        ({"vars": ["a"]}, "vars must be a dict or a JSON/YAML string"),
        ({"selector": ["a"]}, "selector must be a selector name"),
    ],
)
def test_bad_arguments_fail_at_construction(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        make(**kwargs)


def test_vars_template_that_is_not_a_mapping_fails_clearly() -> None:
    from airflow.sdk.exceptions import AirflowException

    with pytest.raises(AirflowException, match="vars must render to a mapping"):
        make(vars="just text").command_args()


def test_missing_project_fails_before_touching_the_connection() -> None:
    from airflow.sdk.exceptions import AirflowException

    with pytest.raises(AirflowException, match="project_dir '/nonexistent/project' has no dbt_project.yml"):
        make().execute({})


def test_importing_the_operator_imports_no_dbt_or_connector() -> None:
    code = (
        "import sys, airflow.sdk; before = set(sys.modules);"
        "import airflow_provider_dataeng.operators.dbt_run, airflow_provider_dataeng.hooks.dbt;"
        "new = sorted(set(sys.modules) - before);"
        "heavy = [m for m in new if m.split('.')[0] in ('dbt', 'snowflake', 'agate', 'sqlglot', 'requests')"
        " or m.startswith('airflow.providers.snowflake.hooks')];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


NO_SERVER = {
    "conn_type": "snowflake",
    "login": "u",
    "password": "pw-never-used-3391",
    "schema": "S",
    "extra": {
        "account": "fakesnow",
        "database": "DEMO",
        "host": "127.0.0.1",
        "port": 9,
        "protocol": "http",
        "dbt_connect_retries": 0,
        "login_timeout": 2,
    },
}


def test_bad_connection_fails_without_retry_naming_the_field(monkeypatch, tmp_path) -> None:
    import json

    from airflow.sdk.exceptions import AirflowFailException

    from tests.dbt.conftest import copy_project

    monkeypatch.setenv("AIRFLOW_CONN_NO_DB", json.dumps({**NO_SERVER, "extra": {"account": "a"}}))
    project = copy_project(tmp_path / "project")
    op = DbtRunOperator(task_id="t", project_dir=str(project), snowflake_conn_id="no_db")
    with pytest.raises(
        AirflowFailException, match="Snowflake connection 'no_db' has no database: set extra 'database'"
    ):
        op.execute({})


def test_project_that_does_not_parse_fails_before_any_node(monkeypatch, tmp_path, logs) -> None:
    import json

    from airflow.sdk.exceptions import AirflowException

    from tests.dbt.conftest import copy_project

    monkeypatch.setenv("AIRFLOW_CONN_NO_SERVER", json.dumps(NO_SERVER))
    project = copy_project(
        tmp_path / "project", {"models/bad.sql": "select * from {{ ref('no_such_model') }}\n"}
    )
    op = DbtRunOperator(task_id="t", project_dir=str(project), snowflake_conn_id="no_server")
    with pytest.raises(AirflowException) as err:
        op.execute({})
    assert str(err.value).startswith("dbt build failed before running any node: ")
    assert "no_such_model" in str(err.value)
    assert "pw-never-used-3391" not in logs() + str(err.value)


def test_unreachable_snowflake_fails_the_task_with_dbts_error(monkeypatch, tmp_path) -> None:
    import json

    from airflow.sdk.exceptions import AirflowException

    from tests.dbt.conftest import copy_project

    monkeypatch.setenv("AIRFLOW_CONN_NO_SERVER", json.dumps(NO_SERVER))
    project = copy_project(tmp_path / "project")
    op = DbtRunOperator(
        task_id="t",
        project_dir=str(project),
        snowflake_conn_id="no_server",
        select="stg_customers",
        command="run",
    )
    with pytest.raises(AirflowException) as err:
        op.execute({})
    assert str(err.value).startswith("dbt run failed before running any node: DbtRuntimeError: Runtime Error")
    assert "Could not connect to Snowflake backend" in str(err.value)
