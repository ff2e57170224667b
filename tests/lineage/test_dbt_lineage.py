"""DbtRunOperator lineage: read from the run's own run_results.json and manifest.json (files on disk)."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest

from airflow_provider_dataeng import lineage
from airflow_provider_dataeng.lineage import Dataset, Lineage, OutputStats
from airflow_provider_dataeng.operators.dbt_run import DbtRunOperator
from tests.lineage.test_lineage_builders import MANIFEST

NS = "snowflake://myorg-myacct"


def write_target(path: Path) -> types.SimpleNamespace:
    path.mkdir()
    (path / "manifest.json").write_text(json.dumps(MANIFEST))
    results = [
        {
            "unique_id": "model.shop.stg_customers",
            "status": "success",
            "execution_time": 0.5,
            "adapter_response": {"rows_affected": 7},
        },
        {
            "unique_id": "model.shop.dim_customers",
            "status": "success",
            "execution_time": 0.7,
            "adapter_response": {},
        },
        {
            "unique_id": "test.shop.unique_dim_customers_id",
            "status": "pass",
            "execution_time": 0.1,
            "adapter_response": {},
        },
    ]
    (path / "run_results.json").write_text(json.dumps({"results": results, "elapsed_time": 1.3}))
    return types.SimpleNamespace(target_path=path)


def test_dbt_build_reports_sources_read_and_relations_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = {
        "conn_type": "snowflake",
        "login": "u",
        "password": "p",
        "schema": "PUBLIC",
        "extra": {"account": "myorg-myacct", "database": "DEMO"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SF_DBT_LINEAGE", json.dumps(conn))
    seen: list[Lineage] = []
    monkeypatch.setattr(lineage, "to_operator_lineage", lambda value: seen.append(value))
    op = DbtRunOperator(task_id="dbt", project_dir=str(tmp_path), snowflake_conn_id="sf_dbt_lineage")
    assert op.get_openlineage_facets_on_complete(None) is None  # nothing ran yet
    summary = op._read_results(write_target(tmp_path / "target"))  # type: ignore[arg-type]
    assert [n.unique_id for n in summary.nodes][:2] == [
        "model.shop.stg_customers",
        "model.shop.dim_customers",
    ]
    op.get_openlineage_facets_on_complete(None)
    assert seen == [
        Lineage(
            inputs=(Dataset(NS, "DEMO.SEEDS.COUNTRIES"), Dataset(NS, "DEMO.STG.CUSTOMERS")),
            outputs=(
                Dataset(NS, "DEMO.STAGING.STG_CUSTOMERS", stats=OutputStats(rows=7)),
                Dataset(NS, "DEMO.ANALYTICS.DIM_CUSTOMERS"),
            ),
        )
    ]


def test_dbt_with_its_own_profiles_reports_nothing(tmp_path: Path) -> None:
    op = DbtRunOperator(task_id="dbt", project_dir=str(tmp_path), profiles_dir=str(tmp_path))
    op._read_results(write_target(tmp_path / "target"))  # type: ignore[arg-type]
    assert op.get_openlineage_facets_on_complete(None) is None  # the account is not known
