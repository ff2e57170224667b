"""Pure dbt logic (no dbt, Airflow or I/O imports): profiles, results, manifest reading, node selection."""
