"""DbtRunOperator on the example project against a Snowflake stand-in (fakesnow server over HTTP).

The tests of this module run in order: first build, second (incremental) build, then failure scenarios on
the tables the builds left.
"""

from __future__ import annotations

import json
import stat
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowException

from airflow_provider_dataeng.hooks.dbt import DbtHook, packages_missing
from airflow_provider_dataeng.operators.dbt_run import DbtRunOperator
from tests.dbt.conftest import SECRET, copy_project, create_staging

pytestmark = pytest.mark.integration

EXTRA_FILES = {
    "models/extra/broken_model.sql": "select no_such_column from {{ ref('stg_customers') }}\n",
    "tests/assert_no_large_orders.sql": "select order_id, amount from {{ ref('fct_sales') }} where amount > 15\n",
    "tests/warn_churned_customers.sql": (
        "{{ config(severity='warn') }}\nselect customer_id from {{ ref('dim_customer') }} where status = 'churned'\n"
    ),
}
T = datetime  # short alias for timestamps in expected rows


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return copy_project(tmp_path_factory.mktemp("dbt") / "project")


@pytest.fixture(scope="module")
def failing_project(tmp_path_factory) -> Path:
    return copy_project(tmp_path_factory.mktemp("dbt") / "failing", EXTRA_FILES)


@pytest.fixture(scope="module")
def staging(warehouse):
    create_staging(warehouse)
    warehouse.run(
        "insert into DEMO.STAGING.CUSTOMERS values "
        "(1, ' Ann@X.com', 'Ann', 'de', 'active', '2026-01-01', '2026-01-01', null),"
        "(2, 'bob@x.com', 'Bob', 'fr', 'churned', '2026-01-02', '2026-01-02', null),"
        "(3, 'cy@x.com', 'Cy', 'us', 'inactive', '2026-01-03', '2026-01-04', '2026-01-04')",
        "insert into DEMO.STAGING.ORDERS values "
        "(10, 1, 'placed', 10.50, 'eur', '2026-01-10', '2026-01-10', null),"
        "(11, 1, 'shipped', 5.00, 'eur', '2026-01-11', '2026-01-11', null),"
        "(12, 2, 'cancelled', 7.25, 'eur', '2026-01-12', '2026-01-12', null),"
        "(13, 3, 'delivered', 3.00, 'usd', '2026-01-13', '2026-01-13', null)",
    )
    return warehouse


def operator(project: Path, conn_id: str, **kwargs) -> DbtRunOperator:
    return DbtRunOperator(
        task_id="dbt", project_dir=str(project), snowflake_conn_id=conn_id, target="local", **kwargs
    )


def by_id(result: dict) -> dict[str, dict]:
    return {n["unique_id"]: n for n in result["nodes"]}


@pytest.fixture
def profile_spy(monkeypatch):
    """Records the profiles dir dbt ran with: its modes and file contents during the run."""
    seen: list[dict] = []
    original = DbtHook.run_dbt

    def spy(self, project_dir, args, *, profiles_dir, env, run_dir, **kwargs):
        seen.append(
            {
                "dir": profiles_dir,
                "dir_mode": stat.S_IMODE(profiles_dir.stat().st_mode),
                "file_mode": stat.S_IMODE((profiles_dir / "profiles.yml").stat().st_mode),
                "text": (profiles_dir / "profiles.yml").read_text(),
                "env": dict(env),
            }
        )
        return original(
            self, project_dir, args, profiles_dir=profiles_dir, env=env, run_dir=run_dir, **kwargs
        )

    monkeypatch.setattr(DbtHook, "run_dbt", spy)
    return seen


def test_first_build_creates_marts_and_keeps_secrets_private(
    project, staging, snowflake_conn_id, profile_spy, logs
) -> None:
    result = operator(project, snowflake_conn_id).execute({})

    assert result["success"] is True
    nodes = by_id(result)
    assert len(nodes) == 4 + 33  # 4 models, 33 data tests (the schema.yml tests of the example project)
    assert {n["status"] for n in nodes.values()} == {"success", "pass"}
    assert (
        nodes["model.dataeng_demo.stg_orders"]["rows_affected"] == 1
    )  # CREATE TABLE AS reports one status row
    assert staging.rows("select * from DEMO.ANALYTICS.STG_ORDERS order by ORDER_ID") == [
        (10, 1, "placed", Decimal("10.50"), "EUR", T(2026, 1, 10), T(2026, 1, 10), False),
        (11, 1, "shipped", Decimal("5.00"), "EUR", T(2026, 1, 11), T(2026, 1, 11), False),
        (12, 2, "cancelled", Decimal("7.25"), "EUR", T(2026, 1, 12), T(2026, 1, 12), False),
        (13, 3, "delivered", Decimal("3.00"), "USD", T(2026, 1, 13), T(2026, 1, 13), False),
    ]
    # NULL timestamps are compared in SQL: the fakesnow server returns them as 1970-01-01 to the connector
    assert staging.rows(
        "select CUSTOMER_ID, EMAIL, NAME, COUNTRY, STATUS, CREATED_AT, ORDER_COUNT, LIFETIME_AMOUNT,"
        " coalesce(to_varchar(FIRST_ORDERED_AT), '-'), coalesce(to_varchar(LAST_ORDERED_AT), '-')"
        " from DEMO.ANALYTICS.DIM_CUSTOMER order by CUSTOMER_ID"
    ) == [
        (
            1,
            "ann@x.com",
            "Ann",
            "DE",
            "active",
            T(2026, 1, 1),
            2,
            Decimal("15.50"),
            "2026-01-10 00:00:00",
            "2026-01-11 00:00:00",
        ),
        (2, "bob@x.com", "Bob", "FR", "churned", T(2026, 1, 2), 0, Decimal("0.00"), "-", "-"),
    ]
    assert staging.rows(
        "select ORDER_ID, CUSTOMER_ID, ORDER_DATE, IS_CANCELLED from DEMO.ANALYTICS.FCT_SALES order by 1"
    ) == [
        (10, 1, date(2026, 1, 10), False),
        (11, 1, date(2026, 1, 11), False),
        (12, 2, date(2026, 1, 12), True),
    ]

    # the generated profile: private directory, secret only as an env var reference, removed afterwards
    [run] = profile_spy
    assert (run["dir_mode"], run["file_mode"]) == (0o700, 0o600)
    assert SECRET not in run["text"]
    assert "password: '{{ env_var(''DBT_ENV_SECRET_DATAENG_PASSWORD'') }}'" in run["text"]
    assert "host: 127.0.0.1" in run["text"] and "protocol: http" in run["text"]
    assert run["env"] == {
        "DBT_ENV_SECRET_DATAENG_PASSWORD": SECRET,
        # the task's query tag (no task instance here): not a secret, read by the profile's query_tag
        "DATAENG_DBT_QUERY_TAG": '{"dag_id":null,"task_id":null,"run_id":null,"try_number":null,"map_index":null}',
    }
    assert not run["dir"].exists()
    assert not (project / "target").exists() and not (project / "logs").exists()

    text = logs()
    assert SECRET not in text
    assert "Completed successfully" in text  # dbt's events, forwarded to the task log
    assert "success  0." in text and "model.dataeng_demo.stg_orders" in text  # the node table


def test_second_build_is_incremental_updates_and_inserts(project, staging, snowflake_conn_id) -> None:
    staging.run(
        "update DEMO.STAGING.ORDERS set STATUS = 'delivered', UPDATED_AT = '2026-01-20' where ORDER_ID = 10",
        "update DEMO.STAGING.ORDERS set _DELETED_AT = '2026-01-22', UPDATED_AT = '2026-01-22' where ORDER_ID = 11",
        "insert into DEMO.STAGING.ORDERS values (14, 2, 'placed', 20.00, 'eur', '2026-01-21', '2026-01-21', null)",
        # gone from staging: an incremental model keeps it (a full rebuild would drop it)
        "delete from DEMO.STAGING.ORDERS where ORDER_ID = 13",
    )
    result = operator(project, snowflake_conn_id).execute({})

    assert result["success"] is True
    assert by_id(result)["model.dataeng_demo.stg_orders"]["rows_affected"] == 3  # only the changed rows
    assert staging.rows("select * from DEMO.ANALYTICS.STG_ORDERS order by ORDER_ID") == [
        (10, 1, "delivered", Decimal("10.50"), "EUR", T(2026, 1, 10), T(2026, 1, 20), False),
        (11, 1, "shipped", Decimal("5.00"), "EUR", T(2026, 1, 11), T(2026, 1, 22), True),
        (12, 2, "cancelled", Decimal("7.25"), "EUR", T(2026, 1, 12), T(2026, 1, 12), False),
        (13, 3, "delivered", Decimal("3.00"), "USD", T(2026, 1, 13), T(2026, 1, 13), False),
        (14, 2, "placed", Decimal("20.00"), "EUR", T(2026, 1, 21), T(2026, 1, 21), False),
    ]
    assert staging.rows(
        "select CUSTOMER_ID, ORDER_COUNT, LIFETIME_AMOUNT from DEMO.ANALYTICS.DIM_CUSTOMER order by 1"
    ) == [
        (1, 1, Decimal("10.50")),
        (2, 1, Decimal("20.00")),
    ]
    assert staging.rows("select ORDER_ID, STATUS, AMOUNT from DEMO.ANALYTICS.FCT_SALES order by 1") == [
        (10, "delivered", Decimal("10.50")),
        (12, "cancelled", Decimal("7.25")),
        (14, "placed", Decimal("20.00")),
    ]


def test_failing_model_fails_the_task_naming_the_model(
    failing_project, staging, snowflake_conn_id, logs
) -> None:
    with pytest.raises(AirflowException) as err:
        operator(failing_project, snowflake_conn_id, command="run", select="broken_model").execute({})
    message = str(err.value)
    assert message.startswith("dbt run failed: 1 node(s) failed\n- model.dataeng_demo.broken_model [error]: ")
    assert "NO_SUCH_COLUMN" in message.upper()
    assert "compiled SQL: " in message and message.rstrip(")").endswith("models/extra/broken_model.sql")
    compiled = Path(message.split("compiled SQL: ")[1].rstrip(")"))
    assert compiled.read_text().strip().startswith("select no_such_column from DEMO.ANALYTICS.stg_customers")
    assert "kept for debugging" in logs()


def test_failing_test_fails_naming_the_test(failing_project, staging, snowflake_conn_id) -> None:
    with pytest.raises(AirflowException) as err:
        operator(failing_project, snowflake_conn_id, command="test", select="assert_no_large_orders").execute(
            {}
        )
    assert str(err.value).startswith(
        "dbt test failed: 1 node(s) failed\n"
        "- test.dataeng_demo.assert_no_large_orders [fail]: Got 1 result, configured to fail if != 0"
    )


def test_warn_severity_test_succeeds_and_reports_the_warning(
    failing_project, staging, snowflake_conn_id, logs
) -> None:
    result = operator(
        failing_project, snowflake_conn_id, command="test", select="warn_churned_customers"
    ).execute({})
    assert result["success"] is True
    [node] = result["nodes"]
    assert (node["unique_id"], node["status"], node["message"]) == (
        "test.dataeng_demo.warn_churned_customers",
        "warn",
        "Got 1 result, configured to warn if != 0",
    )
    assert "dbt reported 1 warning(s):\n- test.dataeng_demo.warn_churned_customers [warn]" in logs()

    with pytest.raises(
        AirflowException,
        match=r"ended with 1 warning\(s\) and fail_on_warning=True\n- test\.dataeng_demo\.warn_churned_customers",
    ):
        operator(
            failing_project,
            snowflake_conn_id,
            command="test",
            select="warn_churned_customers",
            fail_on_warning=True,
        ).execute({})


def test_subprocess_execution_gives_the_same_summary(project, staging, snowflake_conn_id, logs) -> None:
    result = operator(
        project,
        snowflake_conn_id,
        command="run",
        select=["stg_customers"],
        execution="subprocess",
        vars={"source_schema": "STAGING"},
    ).execute({})
    assert result["success"] is True
    assert [(n["unique_id"], n["status"], n["rows_affected"]) for n in result["nodes"]] == [
        ("model.dataeng_demo.stg_customers", "success", 1),
    ]
    text = logs()
    assert "1 of 1 OK created sql view model ANALYTICS.stg_customers" in text  # dbt's output, streamed
    assert SECRET not in text


def test_artifacts_are_copied_for_later_debugging(
    failing_project, staging, snowflake_conn_id, tmp_path
) -> None:
    ti = SimpleNamespace(dag_id="d", task_id="t", run_id="manual__2026-01-01T00:00:00+00:00", try_number=2)
    with pytest.raises(AirflowException) as err:
        operator(
            failing_project,
            snowflake_conn_id,
            command="run",
            select="broken_model",
            artifacts_destination=f"file://{tmp_path}/artifacts",
        ).execute({"ti": ti})
    base = tmp_path / "artifacts/d/t/manual__2026-01-01T00_00_00+00_00/try_2"
    copied = sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())
    assert copied == [
        "compiled/dataeng_demo/models/extra/broken_model.sql",
        "logs/dbt.log",
        "manifest.json",
        "run_results.json",
    ]
    assert json.loads((base / "run_results.json").read_text())["results"][0]["status"] == "error"
    assert f"(compiled SQL: file://{base}/compiled/dataeng_demo/models/extra/broken_model.sql)" in str(
        err.value
    )
    assert SECRET not in (base / "logs/dbt.log").read_text()


def test_artifacts_go_to_s3_through_the_aws_connection(
    failing_project, staging, snowflake_conn_id, local_stack
) -> None:
    from airflow.sdk import ObjectStoragePath

    ti = SimpleNamespace(dag_id="d", task_id="t", run_id="scheduled__2026-01-02", try_number=1)
    destination = f"s3://aws_default@{local_stack.bucket}/dbt-artifacts"
    with pytest.raises(AirflowException, match="compiled SQL: s3://"):
        operator(
            failing_project,
            snowflake_conn_id,
            command="run",
            select="broken_model",
            artifacts_destination=destination,
        ).execute({"ti": ti})
    base = ObjectStoragePath(destination) / "d/t/scheduled__2026-01-02/try_1"
    assert sorted(str(p)[len(str(base)) + 1 :] for p in base.rglob("*") if p.is_file()) == [
        "compiled/dataeng_demo/models/extra/broken_model.sql",
        "logs/dbt.log",
        "manifest.json",
        "run_results.json",
    ]
    assert json.loads((base / "run_results.json").read_text())["results"][0]["unique_id"] == (
        "model.dataeng_demo.broken_model"
    )


def test_missing_packages_are_installed_with_deps_first(tmp_path, staging, snowflake_conn_id, logs) -> None:
    package = tmp_path / "localpkg"
    (package / "macros").mkdir(parents=True)
    (package / "dbt_project.yml").write_text("name: localpkg\nversion: '1.0.0'\nconfig-version: 2\n")
    (package / "macros" / "cents.sql").write_text(
        "{% macro to_cents(col) %}cast({{ col }} * 100 as integer){% endmacro %}\n"
    )
    project = copy_project(
        tmp_path / "project",
        {
            "packages.yml": "packages:\n  - local: ../localpkg\n",
            "models/extra/order_cents.sql": "select order_id, {{ localpkg.to_cents('amount') }} as cents from {{ ref('stg_orders') }}\n",
        },
    )
    assert packages_missing(project)

    result = operator(project, snowflake_conn_id, command="run", select="order_cents").execute({})
    assert [(n["unique_id"], n["status"]) for n in result["nodes"]] == [
        ("model.dataeng_demo.order_cents", "success")
    ]
    assert "are not installed: running dbt deps" in logs()
    assert not packages_missing(project)
    assert staging.rows("select ORDER_ID, CENTS from DEMO.ANALYTICS.ORDER_CENTS order by 1") == [
        (10, 1050),
        (11, 500),
        (12, 725),
        (13, 300),
        (14, 2000),
    ]

    operator(project, snowflake_conn_id, command="run", select="order_cents").execute({})
    assert logs().count("are not installed: running dbt deps") == 1  # installed now: no second deps


def test_source_freshness_reads_sources_json(tmp_path, staging, snowflake_conn_id) -> None:
    project = copy_project(tmp_path / "project")
    sources = (project / "models/staging/_sources.yml").read_text()
    sources = sources.replace(
        "      - name: orders\n",
        "      - name: orders\n        loaded_at_field: updated_at\n"
        "        freshness:\n          warn_after: {count: 1, period: day}\n"
        "          error_after: {count: 36500, period: day}\n",
    )
    (project / "models/staging/_sources.yml").write_text(sources)
    result = operator(project, snowflake_conn_id, command="source freshness").execute({})
    assert result["success"] is True
    assert [(n["unique_id"], n["status"]) for n in result["nodes"]] == [
        ("source.dataeng_demo.staging.orders", "warn"),
    ]


def test_every_dbt_statement_carries_the_task_tag_and_the_warehouse(
    project, staging, snowflake_conn_id, profile_spy, local_stack
) -> None:
    """The generated profile's warehouse and query_tag: dbt sets them at login on every connection it opens."""
    from types import SimpleNamespace

    ti = SimpleNamespace(dag_id="tags", task_id="dbt", run_id="manual__dbt", try_number=2, map_index=-1)
    since = local_stack.snowflake_query_history()[-1]["seq"]
    result = operator(
        project,
        snowflake_conn_id,
        command="run",
        select="stg_customers",
        warehouse="DATAENG_TRANSFORM_WH",
        query_tag={"layer": "marts"},
    ).execute({"ti": ti})
    assert result["success"] is True
    tag = '{"dag_id":"tags","task_id":"dbt","run_id":"manual__dbt","try_number":2,"map_index":-1,"layer":"marts"}'
    history = local_stack.snowflake_query_history(since)
    assert len(history) > 3  # dbt's own metadata queries and the model
    assert {(r["query_tag"], r["warehouse"]) for r in history} == {(tag, "DATAENG_TRANSFORM_WH")}
    profile = profile_spy[-1]
    assert "query_tag: '{{ env_var(''DATAENG_DBT_QUERY_TAG'') | as_text }}'" in profile["text"]
    assert "warehouse: '\"DATAENG_TRANSFORM_WH\"'" in profile["text"]
    assert profile["env"]["DATAENG_DBT_QUERY_TAG"] == tag


def test_runs_with_other_query_tags_keep_partial_parsing(project, staging, snowflake_conn_id, logs, local_stack) -> None:
    """The tag holds the run id, and dbt parses from scratch when the profile changes: the hook parses with a
    steady tag and runs the command on that manifest, so the next run's parse is partial, its queries tagged.
    (The subprocess mode runs the same code in its child: test_subprocess_execution_gives_the_same_summary.)"""
    tags = []
    for run_id in ("scheduled__1", "scheduled__2"):
        ti = SimpleNamespace(dag_id="tags", task_id="dbt", run_id=run_id, try_number=1, map_index=-1)
        since = local_stack.snowflake_query_history()[-1]["seq"]
        before = len(logs())
        result = operator(project, snowflake_conn_id, command="run", select="stg_customers")
        assert result.execute({"ti": ti})["success"] is True
        tags.append({r["query_tag"] for r in local_stack.snowflake_query_history(since)})
        text = logs()[before:]  # this run's
    assert [{json.loads(t)["run_id"] for t in run_tags} for run_tags in tags] == [{"scheduled__1"}, {"scheduled__2"}]
    assert "Unable to do partial parsing" not in text  # the second run: the first one left its parse
    assert "1 of 1 OK created sql view model ANALYTICS.stg_customers" in text


def test_session_settings_need_a_generated_profile(tmp_path) -> None:
    with pytest.raises(ValueError, match="with profiles_dir set them in your profiles.yml"):
        DbtRunOperator(task_id="dbt", project_dir=str(tmp_path), profiles_dir=str(tmp_path), warehouse="WH")
    with pytest.raises(ValueError, match="query_tag must hold JSON values only"):
        DbtRunOperator(
            task_id="dbt", project_dir=str(tmp_path), snowflake_conn_id="c", query_tag={"x": {1, 2}}
        )
