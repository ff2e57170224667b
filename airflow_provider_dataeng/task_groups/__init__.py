"""Task groups rendered at DAG-parse time (from files only: no dbt, no warehouse)."""
