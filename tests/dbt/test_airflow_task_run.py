"""DbtRunOperator in a real Airflow task run (dag.test): templating, connection lookup, XCom, task states."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.dbt.conftest import copy_project, create_staging

pytestmark = pytest.mark.integration
DAGS = Path(__file__).parent / "dags"


@pytest.fixture(scope="module")
def dag(airflow_db, local_stack, warehouse, tmp_path_factory):
    from airflow.dag_processing.dagbag import DagBag

    from tests.conftest import DAGS_FOLDER

    create_staging(warehouse)
    warehouse.run(
        "insert into DEMO.STAGING.CUSTOMERS values (7, 'Eve@X.com', 'Eve', 'nl', 'active', '2026-02-01',"
        " '2026-02-01', null)"
    )
    work = tmp_path_factory.mktemp("airflow_dbt")
    bundles = [
        {
            "name": "dags-folder",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(DAGS_FOLDER)},
        },
        {
            "name": "dbt-tests",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(DAGS)},
        },
    ]
    mp = pytest.MonkeyPatch()
    mp.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))
    mp.setenv("DATAENG_TEST_DBT_PROJECT", str(copy_project(work / "project")))
    mp.setenv("DATAENG_TEST_DBT_RESULT", str(work / "result.json"))
    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    yield bag.get_dag("dbt_run_in_airflow"), work / "result.json"
    mp.undo()


def test_operator_runs_as_an_airflow_task_and_returns_its_summary(dag, warehouse) -> None:
    the_dag, result_file = dag
    run = the_dag.test(
        logical_date=datetime(2026, 2, 2, tzinfo=timezone.utc), run_conf={"select": "stg_customers"}
    )
    assert str(run.state) == "success"
    assert {ti.task_id: str(ti.state) for ti in run.get_task_instances()} == {
        "dbt_build": "success",
        "record": "success",
    }
    result = json.loads(result_file.read_text())
    assert result["success"] is True
    assert sorted((n["unique_id"], n["status"]) for n in result["nodes"]) == [
        ("model.dataeng_demo.stg_customers", "success"),
        (
            "test.dataeng_demo.accepted_values_stg_customers_status__active__inactive__churned.450c74cb41",
            "pass",
        ),
        ("test.dataeng_demo.not_null_stg_customers_customer_id.e2cfb1f9aa", "pass"),
        ("test.dataeng_demo.not_null_stg_customers_email.d7cf761533", "pass"),
        ("test.dataeng_demo.not_null_stg_customers_status.711ded1450", "pass"),
        ("test.dataeng_demo.unique_stg_customers_customer_id.c7614daada", "pass"),
    ]
    assert warehouse.rows("select CUSTOMER_ID, EMAIL, COUNTRY from DEMO.ANALYTICS.STG_CUSTOMERS") == [
        (7, "eve@x.com", "NL"),
    ]


def test_a_failing_model_fails_the_task_and_blocks_downstream(dag, warehouse) -> None:
    the_dag, result_file = dag
    result_file.unlink()
    warehouse.run("drop table DEMO.STAGING.ORDERS")  # stg_orders now fails
    run = the_dag.test(
        logical_date=datetime(2026, 2, 3, tzinfo=timezone.utc), run_conf={"select": "stg_orders"}
    )
    assert str(run.state) == "failed"
    assert {ti.task_id: str(ti.state) for ti in run.get_task_instances()} == {
        "dbt_build": "failed",
        "record": "upstream_failed",
    }
    assert not result_file.exists()
