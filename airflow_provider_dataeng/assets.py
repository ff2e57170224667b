"""Airflow Assets for what the operators write, in the URI forms Airflow's providers understand.

``snowflake://<account>/<database>/<schema>/<table>`` is the Snowflake provider's asset URI (it validates
and converts it for OpenLineage), so DAGs scheduled on these assets and lineage tools agree on names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_dataeng.sql.identifiers import ObjectName, parse_object_name

if TYPE_CHECKING:
    from airflow.sdk import Asset


def snowflake_table_asset(table: str, *, account: str, database: str | None = None) -> Asset:
    """The Asset of a Snowflake table: ``table`` is ``db.schema.name`` or ``schema.name`` with ``database``."""
    from airflow.sdk import Asset

    name = parse_object_name(table, param="table")
    if len(name.parts) == 2 and database:
        name = ObjectName((parse_object_name(database, param="database", max_parts=1).name, *name.parts))
    if len(name.parts) != 3:
        raise ValueError(f"table={table!r}: give database.schema.table, or schema.table with database=")
    database_name, schema, object_name = name.parts
    return Asset(
        name=f"{database_name}.{schema}.{object_name}",
        uri=f"snowflake://{account}/{database_name}/{schema}/{object_name}",
    )
