"""The example DAG scheduled on the merged table's asset: its schedule, and what it reads from the events."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag

from tests.conftest import DAGS_FOLDER

CUSTOMERS = ("DEMO.STAGING.CUSTOMERS", "snowflake://fakesnow/DEMO/STAGING/CUSTOMERS")


@pytest.fixture(scope="module")
def dag() -> Any:
    bag = DagBag(dag_folder=str(DAGS_FOLDER / "customer_reporting.py"))
    assert bag.import_errors == {}
    return bag.dags["customer_reporting"]


def event(extra: dict[str, Any], run_id: str) -> Any:
    from airflow.sdk.execution_time.comms import AssetEventDagRunReferenceResult

    name, uri = CUSTOMERS
    return AssetEventDagRunReferenceResult(
        asset={"name": name, "uri": uri, "extra": {}},
        extra=extra,
        source_task_id="merge",
        source_dag_id="customer_data_pipeline",
        source_run_id=run_id,
        source_map_index=0,
        source_aliases=[],
        timestamp=datetime(2024, 1, 8, 4, tzinfo=timezone.utc),
    )


def test_scheduled_on_the_asset_the_pipelines_merge_emits(dag: Any) -> None:
    from airflow_provider_dataeng.assets import snowflake_table_asset

    assert [(a.name, a.uri) for a in dag.timetable.asset_condition.objects] == [CUSTOMERS]
    # the asset SnowflakeStreamMergeOperator emits for STAGING.CUSTOMERS on the local connection
    assert snowflake_table_asset("STAGING.CUSTOMERS", account="fakesnow", database="DEMO").uri == CUSTOMERS[1]
    assert dag.get_task("quality_staging_customers").upstream_task_ids == {"merge_counts"}


def test_merge_counts_sums_the_triggering_events(dag: Any) -> None:
    from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor

    events = TriggeringAssetEventsAccessor.build(
        [
            event({"inserted": 20, "updated": 40, "deleted": 0}, "run_1"),
            event({"inserted": 1, "updated": 2, "deleted": 3}, "run_2"),
        ]
    )
    counts = dag.get_task("merge_counts").python_callable(triggering_asset_events=events)
    assert counts == {"events": 2, "inserted": 21, "updated": 42, "deleted": 3}


def test_a_manual_run_has_no_events(dag: Any) -> None:
    counts = dag.get_task("merge_counts").python_callable(triggering_asset_events=None)
    assert counts == {"events": 0, "inserted": 0, "updated": 0, "deleted": 0}
