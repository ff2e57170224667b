"""Hooks: they own connections and I/O (HTTP, Snowflake, dbt)."""
