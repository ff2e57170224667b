"""The loader inside a real Airflow run: mapped upstream tasks hand their manifests over XCom."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.snowflake_load.conftest import jsonl_zst

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAGS = Path(__file__).parent / "dags"
DAG_ID = "dataeng_load_from_mapped_extract"


@pytest.fixture()
def test_bundle(monkeypatch: pytest.MonkeyPatch, airflow_db: Path) -> None:
    """Add this folder's DAGs as a bundle next to the project's dags folder (dag.test needs a bundle)."""
    from airflow.configuration import conf

    bundles = [
        {"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle", "kwargs": {}},
        {"name": "dataeng-load-tests", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
         "kwargs": {"path": str(DAGS)}},
    ]
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))
    assert json.loads(conf.get("dag_processor", "dag_bundle_config_list"))[1]["name"] == "dataeng-load-tests"


def test_mapped_extract_manifests_load_through_xcom(
    test_bundle: None, monkeypatch: pytest.MonkeyPatch, put_parts: Any, stage_url: str, sf: Any
) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    parts = [[{"id": i, "day": day} for i in range(day + 1)] for day in range(3)]
    manifests = [put_parts(f"dag/day={day}", [jsonl_zst(parts[day])], [day + 1]) for day in range(3)]
    monkeypatch.setenv("DATAENG_LOAD_TEST_MANIFESTS", json.dumps(manifests))
    monkeypatch.setenv("DATAENG_LOAD_TEST_STAGE_URL", stage_url)

    dag = DagBag(dag_folder=str(DAGS)).get_dag(DAG_ID)
    run = dag.test()
    assert run.state == "success"
    with create_session() as session:
        summary = session.query(XComModel.value).filter_by(dag_id=DAG_ID, run_id=run.run_id, task_id="load",
                                                            key="return_value").scalar()
    summary = json.loads(summary) if isinstance(summary, str) else summary
    assert summary == {"table": '"PUBLIC"."EVENTS_FROM_DAG"', "files_loaded": 3, "files_skipped": 0,
                       "rows_loaded": 6, "rows_parsed": 6, "errors": [],
                       # SHOW STAGES, CREATE STAGE, BEGIN, COPY (no table yet), ROLLBACK, table lookup, CREATE
                       # TABLE, BEGIN, COPY, COMMIT; a steady run sends 4 (test_statement_budget.py)
                       "statements": 10}
    assert sf("SELECT RECORD:day::int, COUNT(*) FROM PUBLIC.EVENTS_FROM_DAG GROUP BY 1 ORDER BY 1") == [
        (0, 1), (1, 2), (2, 3),
    ]

    # The same run again (a cleared task): every file is skipped, the task succeeds, the table is unchanged.
    again = dag.test(logical_date=run.logical_date)
    assert again.state == "success"
    assert sf("SELECT COUNT(*) FROM PUBLIC.EVENTS_FROM_DAG") == [(6,)]
