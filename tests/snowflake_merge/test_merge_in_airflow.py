"""The example DAG in a real Airflow run (dag.test): XCom summary, target table, and a re-run that skips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_xcom
from tests.snowflake_merge.conftest import Db

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAGS = Path(__file__).parent / "dags"
DAG_ID = "dataeng_stream_merge"


@pytest.fixture()
def merge_bundle(monkeypatch: pytest.MonkeyPatch, airflow_db: Path) -> None:
    """This folder's DAGs as a bundle next to the project's dags folder (dag.test needs a bundle)."""
    bundles = [
        {
            "name": "dags-folder",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {},
        },
        {
            "name": "dataeng-merge-tests",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(DAGS)},
        },
    ]
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))


def task_state(run: Any, task_id: str) -> str:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        return (
            session.query(TaskInstance.state)
            .filter_by(dag_id=DAG_ID, run_id=run.run_id, task_id=task_id)
            .scalar()
        )


def test_example_dag_merges_then_skips_an_empty_stream(
    merge_bundle: None, monkeypatch: pytest.MonkeyPatch, db: Db, schemas: tuple[str, str]
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    raw, stg = schemas
    monkeypatch.setenv("DATAENG_MERGE_TEST_RAW", f"DEMO.{raw}")
    monkeypatch.setenv("DATAENG_MERGE_TEST_STAGING", f"DEMO.{stg}")
    db.run(
        f"CREATE TABLE DEMO.{raw}.USERS (RECORD VARIANT)",
        f"CREATE TABLE DEMO.{stg}.USERS (ID INT, EMAIL VARCHAR, UPDATED_AT TIMESTAMP_NTZ)",
        f"INSERT INTO DEMO.{raw}.USERS SELECT PARSE_JSON(column1) FROM VALUES "
        '(\'{"id": 1, "email": "a@x", "updated_at": "2026-01-01T00:00:00"}\'), '
        '(\'{"id": 1, "email": "a2@x", "updated_at": "2026-01-02T00:00:00"}\'), '
        '(\'{"id": 2, "email": "b@x", "updated_at": "2026-01-01T00:00:00"}\'), '
        '(\'{"id": 3, "email": "c@x", "updated_at": "2026-01-01T00:00:00"}\'), '
        '(\'{"id": 3, "deleted": true, "updated_at": "2026-01-03T00:00:00"}\')',
        f"INSERT INTO DEMO.{stg}.USERS VALUES (3, 'c@x', '2026-01-01')",
    )
    dag = DagBag(dag_folder=str(DAGS)).get_dag(DAG_ID)

    run = dag.test()
    assert run.state == "success"
    # statements: HAS_DATA (no stream yet), CREATE STREAM, SHOW STREAMS, HAS_DATA, pre-flight, ALTER TABLE
    # (adds _DELETED_AT), MERGE
    assert run_xcom(run, "merge_users") == {
        "inserted": 2, "updated": 1, "deleted": 0, "empty": False, "statements": 7
    }
    rows = db.run(f"SELECT ID, EMAIL, _DELETED_AT IS NOT NULL FROM DEMO.{stg}.USERS ORDER BY ID")
    assert rows == [(1, "a2@x", False), (2, "b@x", False), (3, "c@x", True)]

    again = dag.test()  # nothing new in the stream: the task is skipped, the run succeeds, nothing changes
    assert again.state == "success"
    assert task_state(again, "merge_users") == "skipped"
    assert db.run(f"SELECT ID, EMAIL, _DELETED_AT IS NOT NULL FROM DEMO.{stg}.USERS ORDER BY ID") == rows
