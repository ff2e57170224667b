"""The example DAGs in dags/, by id (sorted, as the UI lists them): one list for every test that expects them."""

from __future__ import annotations

EXAMPLE_DAGS = (
    "customer_data_pipeline", "customer_marts", "customer_reporting", "events_microbatch", "shop_database_pipeline",
)
