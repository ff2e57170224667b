"""customer_data_pipeline: loads and merges on the small ELT warehouse, dbt and quality gates on a bigger one."""

from __future__ import annotations

from pathlib import Path

from airflow.dag_processing.dagbag import DagBag

DAGS_FOLDER = Path(__file__).resolve().parents[1] / "dags"


def test_customer_data_pipeline_uses_a_bigger_warehouse_for_transforms() -> None:
    dag = DagBag(dag_folder=str(DAGS_FOLDER)).dags["customer_data_pipeline"]
    warehouses = {
        task_id: dag.get_task(task_id).partial_kwargs.get("warehouse")
        if hasattr(dag.get_task(task_id), "partial_kwargs")
        else dag.get_task(task_id).warehouse
        for task_id in ("load", "merge", "dbt_build", "quality_dim_customer", "quality_fct_sales")
    }
    assert warehouses == {
        "load": "DATAENG_ELT_WH",
        "merge": "DATAENG_ELT_WH",
        "dbt_build": "DATAENG_TRANSFORM_WH",
        "quality_dim_customer": "DATAENG_TRANSFORM_WH",
        "quality_fct_sales": "DATAENG_TRANSFORM_WH",
    }
