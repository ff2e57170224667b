"""DbtTaskGroup: the graph rendered from the manifest, and real runs (one dbt build, retry of one node)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
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
    assert sorted(parsed["dags"]) == ["dbt_task_group_after_all", DAG_ID]
    assert _heavy(set(parsed["modules"]), PARSE_HEAVY_MODULES) == []


def test_a_missing_manifest_renders_one_build_task_and_a_dag_warning(tmp_path: Path) -> None:
    """The DAG still parses and runs (one dbt build of the selection); the warning names the command."""
    from airflow.dag_processing.dagbag import DagBag

    from airflow_provider_dataeng import DbtRunOperator, DbtTaskGroup
    from airflow_provider_dataeng.task_groups.dbt_task_group import DbtManifestWarning

    dag_file = tmp_path / "no_manifest.py"
    dag_file.write_text(
        "from datetime import datetime\n"
        "from airflow.sdk import DAG\n"
        "from airflow_provider_dataeng import DbtTaskGroup\n"
        "with DAG('no_manifest', schedule=None, start_date=datetime(2026, 1, 1)):\n"
        f"    DbtTaskGroup('dbt', 'dags/dbt', {str(tmp_path / 'manifest.json')!r}, 'snowflake_default',\n"
        "                 select='+dim_customer', tests='none')\n"
    )
    bag = DagBag(dag_folder=str(dag_file))
    assert bag.import_errors == {}
    dag = bag.dags["no_manifest"]
    assert list(dag.task_dict) == ["dbt.dbt_build"]
    build = dag.task_dict["dbt.dbt_build"]
    assert type(build) is DbtRunOperator
    assert (build.command, build.select, build.dbt_args) == (
        "build",
        "+dim_customer",
        ["--exclude-resource-type", "test", "unit_test"],
    )
    message = (
        f"dbt manifest {tmp_path / 'manifest.json'} not found: the dbt tasks of dags/dbt cannot be rendered "
        f"without it. Write it at deploy time with: dataeng-dbt manifest dags/dbt --out {tmp_path / 'manifest.json'}"
        "\nUntil then this group is a single dbt_build task that builds the whole selection."
    )
    [warning] = bag.captured_warnings[str(dag_file)]
    assert warning == f"{dag_file}:5: {DbtManifestWarning.__module__}.DbtManifestWarning: {message}"
    assert build.doc_md == message
    assert dag.task_group.children["dbt"].tooltip == message
    assert DbtTaskGroup.__module__ == "airflow_provider_dataeng.task_groups.dbt_task_group"


def test_a_stale_manifest_is_reported_with_the_command_that_regenerates_it(tmp_path: Path) -> None:
    import shutil
    from importlib.metadata import version

    from airflow.sdk import DAG

    from airflow_provider_dataeng import DbtTaskGroup
    from airflow_provider_dataeng.task_groups.dbt_task_group import DbtManifestWarning
    from tests.dbt.project_factory import write_project

    project = tmp_path / "project"
    project.mkdir()
    manifest = write_project(project, models=20)
    manifest["metadata"]["dbt_version"] = version("dbt-core")  # as if written by the installed dbt
    manifest_path = project / "target" / "manifest.json"
    manifest_path.parent.mkdir()
    manifest_path.write_text(json.dumps(manifest))
    with DAG("current", schedule=None, start_date=datetime(2026, 1, 1)), warnings.catch_warnings():
        warnings.simplefilter("error")  # a current manifest: no warning at all
        DbtTaskGroup("dbt", str(project), str(manifest_path), "snowflake_default")

    changed = next(n for n in manifest["nodes"].values() if n["resource_type"] == "model")
    (project / changed["original_file_path"]).write_text("select 2 as changed")
    shutil.copy(project / changed["original_file_path"], project / "models" / "added_model.sql")
    with (
        DAG("stale", schedule=None, start_date=datetime(2026, 1, 1)),
        pytest.warns(DbtManifestWarning) as caught,
    ):
        group = DbtTaskGroup("dbt", str(project), str(manifest_path), "snowflake_default")
    assert str(caught[0].message) == (
        f"The dbt manifest {manifest_path} is stale:\n"
        f"{changed['original_file_path']} changed since the manifest was generated.\n"
        "models/added_model.sql is not in the manifest (added since it was generated).\n"
        f"Regenerate the manifest: dataeng-dbt manifest {project}"
    )
    assert len(group.node_tasks) > 20  # still rendered from the manifest it has
    assert group.producer.doc_md == str(caught[0].message)
    with DAG("unchecked", schedule=None, start_date=datetime(2026, 1, 1)), warnings.catch_warnings():
        warnings.simplefilter("error")
        DbtTaskGroup("dbt", str(project), str(manifest_path), "snowflake_default", check_manifest=False)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "{not json",
            "manifest_path .* is not a dbt manifest.json .*regenerate it with `dataeng-dbt manifest",
        ),
        ('{"metadata": {}}', "manifest_path .* is not a dbt manifest.json \\(no nodes\\)"),
    ],
)
def test_an_unreadable_manifest_is_an_error(tmp_path: Path, content: str, message: str) -> None:
    from airflow.sdk import DAG

    from airflow_provider_dataeng import DbtTaskGroup

    path = tmp_path / "manifest.json"
    path.write_text(content)
    with DAG("bad", schedule=None, start_date=datetime(2026, 1, 1)), pytest.raises(ValueError, match=message):
        DbtTaskGroup("dbt", "dags/dbt", str(path), "snowflake_default")


def test_tests_none_leaves_tests_out_of_the_build_and_a_bad_mode_is_refused() -> None:
    from airflow.sdk import DAG

    from airflow_provider_dataeng import DbtTaskGroup

    with DAG("no_tests", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        group = DbtTaskGroup("dbt", "dags/dbt", str(FIXTURE), "snowflake_default", tests="none")
    assert group.producer.dbt_args[-4:] == ["--exclude-resource-type", "test", "unit_test"]
    assert sorted(dag.task_dict) == [
        "dbt.dbt_build",
        "dbt.dim_customer",
        "dbt.fct_sales",
        "dbt.stg_customers",
        "dbt.stg_orders",
    ]
    assert all(len(t.unique_ids) == 1 for t in group.node_tasks.values())
    with (
        DAG("bad_mode", schedule=None, start_date=datetime(2026, 1, 1)),
        pytest.raises(ValueError, match="tests must be one of after_each, after_all, none; got 'each'"),
    ):
        DbtTaskGroup("dbt", "dags/dbt", str(FIXTURE), "snowflake_default", tests="each")


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


def _run_results(work: Path, dag_id: str = DAG_ID) -> dict[str, list[dict]]:
    """dbt's own run_results.json of every dbt invocation of the DAG, by ``<task_id>/try_<n>``."""
    found = {}
    for path in sorted((work / "artifacts" / dag_id).rglob("run_results.json")):
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


def test_tests_after_all_run_in_one_task_after_every_model(group_dag, logs) -> None:
    from airflow.dag_processing.dagbag import DagBag

    _, work, _ = group_dag
    the_dag = DagBag(dag_folder=str(DAGS)).get_dag("dbt_task_group_after_all")
    assert {t.task_id: sorted(t.upstream_task_ids) for t in the_dag.tasks} == {
        "dbt.dbt_build": [],
        "dbt.stg_customers": [],
        "dbt.stg_orders": [],
        "dbt.dim_customer": ["dbt.stg_customers", "dbt.stg_orders"],
        "dbt.fct_sales": ["dbt.dim_customer", "dbt.stg_orders"],
        "dbt.tests": ["dbt.fct_sales"],
    }
    run = the_dag.test(logical_date=datetime(2026, 2, 3, tzinfo=timezone.utc))
    assert str(run.state) == "success"
    assert set(_states(run).values()) == {"success"}
    (build,) = _run_results(work, "dbt_task_group_after_all").values()  # dbt ran exactly once
    tests = the_dag.task_dict["dbt.tests"].unique_ids
    statuses = {r["unique_id"]: r["status"] for r in build}
    assert {uid: statuses[uid] for uid in tests} == dict.fromkeys(tests, "pass")
    assert len(tests) == sum(1 for uid in statuses if uid.startswith("test.")) == 33
    from tests.conftest import run_xcom

    summary = run_xcom(run, "dbt.tests")
    assert sorted(n["unique_id"] for n in summary["nodes"]) == sorted(tests)
    assert {n["status"] for n in summary["nodes"]} == {"pass"}
