"""The records a DbtTaskGroup's producer publishes: from dbt's events and run results, and what they built/read."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_dataeng.dbt.manifest import Manifest
from airflow_provider_dataeng.dbt.node_results import (
    built_relations,
    check_results,
    read_relations,
    record_from_event,
    record_from_result,
)
from airflow_provider_dataeng.dbt.results import NodeResult

FIXTURE = Path(__file__).parent / "fixtures" / "manifest.json"
FCT = "model.dataeng_demo.fct_sales"


def finished(unique_id: str, status: str = "success", **node_info) -> dict:
    """dbt's NodeFinished event as ``msg_to_dict`` gives it (the fields records use)."""
    return {
        "info": {"name": "NodeFinished", "invocation_id": "inv-1"},
        "data": {
            "node_info": {"unique_id": unique_id, "resource_type": "model", **node_info},
            "run_result": {
                "status": status,
                "execution_time": 1.23456,
                "adapter_response": {"rows_affected": 12},
                "message": "SUCCESS 12",
            },
        },
    }


def test_an_event_record_names_the_relation_the_build_wrote() -> None:
    event = finished(
        FCT,
        materialized="table",
        node_relation={"database": "PROD", "schema": "ANALYTICS", "alias": "FCT_SALES", "relation_name": "x"},
    )
    assert record_from_event(event, producer_try=2) == {
        "unique_id": FCT,
        "status": "success",
        "execution_time": 1.235,
        "rows_affected": 12,
        "message": "SUCCESS 12",
        "failures": None,
        "compiled_path": None,
        "invocation_id": "inv-1",
        "producer_try": 2,
        "relation": ["PROD", "ANALYTICS", "FCT_SALES"],
        "materialized": "table",
    }
    ephemeral = finished(FCT, materialized="ephemeral", node_relation={"database": "P", "schema": "S", "alias": "A"})
    assert record_from_event(ephemeral, producer_try=1)["relation"] is None
    assert record_from_event({"info": {"name": "NodeStart"}}, producer_try=1) is None


def test_a_final_record_takes_relation_and_reads_from_the_runs_manifest() -> None:
    node = NodeResult(FCT, "success", 0.5, 7, "SUCCESS 7", None, "target/run/fct_sales.sql")
    record = record_from_result(node, invocation_id="inv-1", producer_try=1, manifest=Manifest.load(FIXTURE))
    assert (record["relation"], record["materialized"], record["reads"]) == (
        ["DEMO", "ANALYTICS", "FCT_SALES"],
        "table",
        [["DEMO", "ANALYTICS", "STG_ORDERS"], ["DEMO", "ANALYTICS", "DIM_CUSTOMER"]],
    )
    assert "relation" not in record_from_result(node, invocation_id=None, producer_try=1)


def test_built_and_read_relations_of_a_node_tasks_records() -> None:
    records = [
        {"unique_id": FCT, "status": "success", "rows_affected": 7, "materialized": "table",
         "relation": ["PROD", "ANALYTICS", "FCT_SALES"],
         "reads": [["PROD", "ANALYTICS", "STG_ORDERS"], ["PROD", "ANALYTICS", "DIM_CUSTOMER"]]},
        {"unique_id": "test.dataeng_demo.unique_fct_sales_order_id.1", "status": "pass", "relation": None},
    ]
    assert built_relations(records) == [
        (("PROD", "ANALYTICS", "FCT_SALES"),
         {"unique_id": FCT, "status": "success", "rows_affected": 7, "materialized": "table"})
    ]
    assert read_relations(records) == [("PROD", "ANALYTICS", "STG_ORDERS"), ("PROD", "ANALYTICS", "DIM_CUSTOMER")]
    records[0].pop("reads")  # a record from dbt's event: the reads are not known from it
    assert read_relations(records) is None
    records[0]["status"] = "error"
    assert built_relations(records) == [] and read_relations(records) == []


@pytest.mark.parametrize(
    ("records", "producer", "expected"),
    [
        ({"a": {"producer_try": 2}, "b": {"producer_try": 2}}, None, "ready"),
        ({"a": {"producer_try": 2}, "b": {"producer_try": 1}}, {"try_number": 2, "state": "running"}, None),
        ({"a": {"producer_try": 2}, "b": None}, {"try_number": 2, "state": "done"}, "missing"),
        ({"a": None}, {"try_number": 1, "state": "failed"}, None),  # an older try's end: keep waiting
    ],
)
def test_a_node_task_waits_until_its_records_of_this_producer_try_are_in(records, producer, expected) -> None:
    found = check_results(records, producer, 2)
    assert (found and found["state"]) == expected
