"""DbtTaskGroup: the graph rendered from the manifest, and real runs (one dbt build, retry of one node)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.dbt.conftest import copy_project, create_staging

DAGS = Path(__file__).parent / "dags"
FIXTURE = Path(__file__).parent / "fixtures" / "manifest.json"
DAG_ID = "dbt_task_group_in_airflow"
P = "dataeng_demo."
EXPECTED_UPSTREAM = {  # a model's tests run in its own task; sources' tests before the models reading them
    "dbt.dbt_build": [],
    "dbt.staging_customers_test": [],
    "dbt.staging_orders_test": [],
    "dbt.stg_customers": ["dbt.staging_customers_test"],
    "dbt.stg_orders": ["dbt.staging_orders_test"],
    "dbt.dim_customer": ["dbt.stg_customers", "dbt.stg_orders"],
    "dbt.fct_sales": ["dbt.dim_customer", "dbt.stg_orders"],
}
# dim_customer fails while the var is set (a column that does not exist); nothing else changes
BROKEN_DIM = """{% if var('break_dim_customer', false) %}
select no_such_column from {{ ref('stg_customers') }}
{% else %}
"""


def test_rendered_graph_is_the_manifests_plan() -> None:
    from airflow.sdk import DAG

    from airflow_provider_dataeng import DbtTaskGroup
    from airflow_provider_dataeng.dbt.plan import render_plan
    from airflow_provider_dataeng.dbt.selection import SelectionGraph, select_nodes

    with DAG("rendered", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        group = DbtTaskGroup("dbt", "dags/dbt", str(FIXTURE), "snowflake_default")
    assert {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks} == EXPECTED_UPSTREAM
    assert list(dag.task_dict) == list(EXPECTED_UPSTREAM)  # the producer first, then upstream first

    manifest = json.loads(FIXTURE.read_text())
    graph = SelectionGraph.from_manifest(manifest)
    plan = render_plan(graph, select_nodes(graph).unique_ids)
    assert sorted((f"dbt.{a}", f"dbt.{b}") for a, b in plan.edges) == sorted(
        (up, t) for t, ups in EXPECTED_UPSTREAM.items() for up in ups
    )
    dim_tests = sorted(
        uid
        for uid, node in manifest["nodes"].items()
        if uid.startswith("test.") and node["attached_node"] == "model.dataeng_demo.dim_customer"
    )
    assert group.node_tasks["dim_customer"].unique_ids == ["model.dataeng_demo.dim_customer", *dim_tests]
    assert group.node_tasks["dim_customer"].select == [
        "fqn:dataeng_demo.marts.dim_customer",
        *(_fqn(manifest["nodes"][uid]) for uid in dim_tests),
    ]
    assert sorted(group.node_tasks["fct_sales"].unique_ids) == sorted(
        uid
        for uid, node in manifest["nodes"].items()
        if uid == "model.dataeng_demo.fct_sales" or (uid.startswith("test.") and "fct_sales" in node["name"])
    )


def _fqn(node: dict) -> str:
    return "fqn:" + ".".join(node["fqn"])


def test_a_selection_renders_only_its_nodes() -> None:
    from airflow.sdk import DAG

    from airflow_provider_dataeng import DbtTaskGroup

    with DAG("selected", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        DbtTaskGroup(
            "dbt", "dags/dbt", str(FIXTURE), "snowflake_default", select="+dim_customer", tests="none"
        )
    assert {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks} == {
        "dbt.dbt_build": [],
        "dbt.stg_customers": [],
        "dbt.stg_orders": [],
        "dbt.dim_customer": ["dbt.stg_customers", "dbt.stg_orders"],
    }
    assert dag.task_dict["dbt.dbt_build"].select == "+dim_customer"


def test_parsing_the_dag_loads_no_dbt_and_no_snowflake(tmp_path: Path) -> None:
    from tests.test_package import PARSE_DAG_FILE, PARSE_HEAVY_MODULES, _heavy

    out = subprocess.run(
        [sys.executable, "-c", PARSE_DAG_FILE, str(DAGS / "dbt_task_group_dag.py")],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    ).stdout
    parsed = json.loads(out.strip().splitlines()[-1])
    assert parsed["errors"] == {}
    assert parsed["dags"] == [DAG_ID]
    assert _heavy(set(parsed["modules"]), PARSE_HEAVY_MODULES) == []


def test_missing_manifest_names_the_parameter() -> None:
    from airflow.sdk import DAG

    from airflow_provider_dataeng import DbtTaskGroup

    with (
        DAG("missing", schedule=None, start_date=datetime(2026, 1, 1)),
        pytest.raises(FileNotFoundError, match="manifest_path .* `dbt parse`"),
    ):
        DbtTaskGroup("dbt", "dags/dbt", "/nonexistent/manifest.json", "snowflake_default")


# -- real runs -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def group_dag(airflow_db, local_stack, warehouse, tmp_path_factory):
    from airflow.dag_processing.dagbag import DagBag

    from tests.conftest import DAGS_FOLDER

    create_staging(warehouse)
    warehouse.run(
        "insert into DEMO.STAGING.CUSTOMERS values (7, 'eve@x.com', 'Eve', 'nl', 'active', '2026-02-01',"
        " '2026-02-01', null)",
        "insert into DEMO.STAGING.ORDERS values (70, 7, 'placed', 12.50, 'eur', '2026-02-01', '2026-02-01', null)",
    )
    work = tmp_path_factory.mktemp("airflow_dbt_group")
    project = copy_project(work / "project")
    dim = project / "models" / "marts" / "dim_customer.sql"
    dim.write_text(BROKEN_DIM + dim.read_text() + "\n{% endif %}\n")
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
    mp.setenv("DATAENG_TEST_DBT_PROJECT", str(project))
    mp.setenv("DATAENG_TEST_DBT_RESULTS", (work / "results").as_uri())
    mp.setenv("DATAENG_TEST_DBT_ARTIFACTS", (work / "artifacts").as_uri())
    mp.setenv("AIRFLOW_VAR_DBT_GROUP_VARS", json.dumps({"break_dim_customer": True}))
    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    yield bag.get_dag(DAG_ID), work, mp
    mp.undo()


def _states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def _run_results(work: Path) -> dict[str, list[dict]]:
    """dbt's own run_results.json of every dbt invocation, by ``<task_id>/try_<n>``."""
    found = {}
    for path in sorted((work / "artifacts").rglob("run_results.json")):
        task_id, attempt = path.parts[-4], path.parts[-2]
        found[f"{task_id}/{attempt}"] = json.loads(path.read_text())["results"]
    return found


def test_one_build_and_a_failing_model_fails_its_task_only(group_dag, logs) -> None:
    the_dag, work, _ = group_dag
    run = the_dag.test(logical_date=datetime(2026, 2, 2, tzinfo=timezone.utc))
    assert str(run.state) == "failed"
    assert _states(run) == {
        "dbt.dbt_build": "success",
        "dbt.staging_customers_test": "success",
        "dbt.staging_orders_test": "success",
        "dbt.stg_customers": "success",
        "dbt.stg_orders": "success",
        "dbt.dim_customer": "failed",
        "dbt.fct_sales": "upstream_failed",
    }
    invocations = _run_results(work)
    assert list(invocations) == ["dbt.dbt_build/try_1"]  # dbt ran exactly once
    statuses = {r["unique_id"]: r["status"] for r in invocations["dbt.dbt_build/try_1"]}
    assert statuses["model.dataeng_demo.dim_customer"] == "error"
    assert statuses["model.dataeng_demo.fct_sales"] == "skipped"
    text = logs()
    assert "model.dataeng_demo.dim_customer [error]" in text
    assert "no_such_column" in text.lower()
    assert "DbtNodeResultTrigger" in text or "running trigger in line" in text  # waited through the trigger


def test_clearing_the_failed_task_builds_only_that_node(group_dag, monkeypatch) -> None:
    import airflow.models.dagrun as dagrun_module
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import clear_task_instances
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from sqlalchemy import select

    the_dag, work, mp = group_dag
    mp.setenv("AIRFLOW_VAR_DBT_GROUP_VARS", "{}")  # the cause is fixed
    logical_date = datetime(2026, 2, 2, tzinfo=timezone.utc)
    with create_session() as session:
        run = session.scalar(
            select(DagRun).where(DagRun.dag_id == DAG_ID, DagRun.logical_date == logical_date)
        )
        cleared = {"dbt.dim_customer", "dbt.fct_sales"}
        tis = [ti for ti in run.get_task_instances(session=session) if ti.task_id in cleared]
        clear_task_instances(tis, session, dag_run_state=DagRunState.RUNNING)
        run_id = run.run_id

    def same_run(*, dag, session, **_):  # dag.test() resumes the cleared run instead of replacing it
        existing = session.scalar(select(DagRun).where(DagRun.dag_id == dag.dag_id, DagRun.run_id == run_id))
        existing.dag = dag
        return existing

    from airflow.serialization.definitions.dag import SerializedDAG

    monkeypatch.setattr(dagrun_module, "get_or_create_dagrun", same_run)
    # dag.test() first clears every task of the run; clearing is what this test does itself
    monkeypatch.setattr(SerializedDAG, "clear_dags", classmethod(lambda cls, *a, **k: 0))
    run = the_dag.test(logical_date=logical_date)
    assert str(run.state) == "success"
    assert set(_states(run).values()) == {"success"}
    invocations = _run_results(work)
    assert sorted(invocations) == ["dbt.dbt_build/try_1", "dbt.dim_customer/try_2", "dbt.fct_sales/try_1"]
    # each cleared task built its model and ran that model's tests, nothing else
    for model, attempt in (("dim_customer", "try_2"), ("fct_sales", "try_1")):
        ran = {r["unique_id"]: r["status"] for r in invocations[f"dbt.{model}/{attempt}"]}
        assert ran.pop(f"model.dataeng_demo.{model}") == "success"
        assert set(ran.values()) == {"pass"}
        assert sorted(ran) == sorted(the_dag.task_dict[f"dbt.{model}"].unique_ids[1:])
    assert len(invocations["dbt.fct_sales/try_1"]) == 10  # the model and its 9 tests
