"""The Snowsight extra link: URL forms per account identifier, the XCom push, and a real Airflow run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dataeng.links import (
    SNOWSIGHT_XCOM_KEY,
    SnowsightTableLink,
    push_snowsight_table_link,
    snowsight_account_path,
    snowsight_table_url,
)
from airflow_provider_dataeng.operators.quality_gate import QualityGateOperator
from airflow_provider_dataeng.operators.s3_stage_load import S3StageLoadOperator
from airflow_provider_dataeng.operators.snowflake_stream_merge import SnowflakeStreamMergeOperator

DAGS = Path(__file__).parent / "dags"


@pytest.mark.parametrize(
    ("account", "path"),
    [
        ("MyOrg-MyAcct", "myorg/myacct"),
        ("myorg-my_account", "myorg/my_account"),
        ("xy12345.us-east-2.aws", "us-east-2.aws/xy12345"),
        ("xy12345.eu-west-1", "eu-west-1/xy12345"),
        ("xy12345.us-east-2.aws.privatelink", "us-east-2.aws/xy12345"),
        ("xy12345", None),  # a bare locator: the region is unknown
        ("fakesnow", None),
        ("", None),
    ],
)
def test_account_path(account: str, path: str | None) -> None:
    assert snowsight_account_path(account) == path


def test_table_url_quotes_each_part() -> None:
    assert snowsight_table_url("myorg-myacct", ("DEMO", "STG", "USERS")) == (
        "https://app.snowflake.com/myorg/myacct/#/data/databases/DEMO/schemas/STG/table/USERS"
    )
    assert snowsight_table_url("myorg-myacct", ("DEMO", "My Schema", "a/b")) == (
        "https://app.snowflake.com/myorg/myacct/#/data/databases/DEMO/schemas/My%20Schema/table/a%2Fb"
    )
    assert snowsight_table_url("myorg-myacct", ("STG", "USERS")) is None  # database unknown
    assert snowsight_table_url("xy12345", ("DEMO", "STG", "USERS")) is None


class RecordingTI:
    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


def conn_env(
    monkeypatch: pytest.MonkeyPatch, conn_id: str, account: str, schema: str = "public", **extra: Any
) -> None:
    conn = {
        "conn_type": "snowflake",
        "login": "local",
        "password": "local",
        "schema": schema,
        "extra": {"account": account, "database": "demo", **extra},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def test_push_fills_the_connection_defaults_and_pushes_to_xcom(monkeypatch: pytest.MonkeyPatch) -> None:
    conn_env(monkeypatch, "sf_link", "myorg-myacct")
    op = SnowflakeStreamMergeOperator(
        task_id="m",
        snowflake_conn_id="sf_link",
        target_table="STG.USERS",
        source_table="RAW.USERS",
        key_columns="ID",
    )
    ti = RecordingTI()
    url = push_snowsight_table_link({"ti": ti}, op, "sf_link", ("USERS",))  # type: ignore[arg-type]
    assert url == "https://app.snowflake.com/myorg/myacct/#/data/databases/DEMO/schemas/PUBLIC/table/USERS"
    assert ti.xcom == {SNOWSIGHT_XCOM_KEY: url}


def test_no_link_without_a_known_account_or_without_xcom_push(monkeypatch: pytest.MonkeyPatch) -> None:
    conn_env(monkeypatch, "sf_local", "fakesnow", host="127.0.0.1", port=1, protocol="http")
    conn_env(monkeypatch, "sf_org", "myorg-myacct")
    op = SnowflakeStreamMergeOperator(
        task_id="m",
        snowflake_conn_id="sf_local",
        target_table="STG.USERS",
        source_table="RAW.USERS",
        key_columns="ID",
        do_xcom_push=False,
    )
    ti = RecordingTI()
    assert push_snowsight_table_link({"ti": ti}, op, "sf_local", ("STG", "USERS")) is None  # type: ignore[arg-type]
    url = push_snowsight_table_link({"ti": ti}, op, "sf_org", ("STG", "USERS"))  # type: ignore[arg-type]
    assert url is not None and ti.xcom == {}  # do_xcom_push=False: nothing pushed
    # a missing connection never fails the task
    assert push_snowsight_table_link({"ti": ti}, op, "no_such_conn", ("STG", "USERS")) is None  # type: ignore[arg-type]


def test_the_load_and_merge_operators_declare_the_link() -> None:
    assert [type(link) for link in S3StageLoadOperator.operator_extra_links] == [SnowsightTableLink]
    assert [type(link) for link in SnowflakeStreamMergeOperator.operator_extra_links] == [SnowsightTableLink]
    assert SnowsightTableLink().name == "Snowsight table"
    assert SnowsightTableLink().xcom_key == "_link_SnowsightTableLink"


def test_sql_and_json_fields_render_as_such() -> None:
    from airflow_provider_dataeng.operators.dbt_run import DbtRunOperator
    from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator

    assert RestApiExtractOperator.template_fields_renderers == {
        "query_params": "json",
        "headers": "json",
        "json": "json",
    }
    assert S3StageLoadOperator.template_fields_renderers == {"files": "json"}
    assert SnowflakeStreamMergeOperator.template_fields_renderers == {
        "columns": "json",
        "delete_condition": "sql",
        "dedupe_order_by": "json",
    }
    assert DbtRunOperator.template_fields_renderers == {"vars": "json"}
    assert QualityGateOperator.template_fields_renderers == {"where": "sql"}


@pytest.mark.integration
@pytest.mark.slow
def test_a_real_run_stores_the_link_airflow_shows(
    monkeypatch: pytest.MonkeyPatch,
    airflow_db: Path,
    local_stack: Any,
) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from airflow_provider_dataeng.hooks.snowflake import SnowflakeHook

    bundles = [
        {
            "name": "dags-folder",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {},
        },
        {
            "name": "dataeng-lineage-tests",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(DAGS)},
        },
    ]
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))
    conn_env(
        monkeypatch,
        "snowflake_lineage",
        "myorg-myacct",
        host="127.0.0.1",
        port=local_stack.snowflake_port,
        protocol="http",
        network_timeout=30,
        login_timeout=10,
    )
    hook = SnowflakeHook(snowflake_conn_id="snowflake_lineage")
    for statement in (
        "CREATE SCHEMA IF NOT EXISTS DEMO.LINEAGE",
        "CREATE OR REPLACE TABLE DEMO.LINEAGE.ACCOUNTS_RAW (ID INT, NAME VARCHAR)",
        "CREATE OR REPLACE TABLE DEMO.LINEAGE.ACCOUNTS (ID INT, NAME VARCHAR)",
        "DROP STREAM IF EXISTS DEMO.LINEAGE.ACCOUNTS_RAW_STREAM",
    ):
        hook.run(statement)

    run = DagBag(dag_folder=str(DAGS)).get_dag("dataeng_lineage_link").test()
    assert run.state == "success"
    with create_session() as session:
        rows = dict(
            session.query(XComModel.key, XComModel.value)
            .filter_by(dag_id="dataeng_lineage_link", run_id=run.run_id, task_id="merge_accounts")
            .filter(XComModel.key.in_([SNOWSIGHT_XCOM_KEY, "_link_SnowsightTableLink"]))
            .all()
        )
    url = "https://app.snowflake.com/myorg/myacct/#/data/databases/DEMO/schemas/LINEAGE/table/ACCOUNTS"
    assert rows == {
        SNOWSIGHT_XCOM_KEY: url,
        "_link_SnowsightTableLink": url,
    }
