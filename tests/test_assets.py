"""snowflake_table_asset builds the Snowflake provider's asset URI form."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from airflow.providers.snowflake.assets.snowflake import sanitize_uri

from airflow_provider_dataeng.assets import snowflake_table_asset


def test_schema_table_with_database() -> None:
    asset = snowflake_table_asset("raw.customers", account="acme-eu1", database="demo")
    assert (asset.name, asset.uri) == ("DEMO.RAW.CUSTOMERS", "snowflake://acme-eu1/DEMO/RAW/CUSTOMERS")
    sanitize_uri(urlsplit(asset.uri))  # the snowflake provider accepts it


def test_fully_qualified_table() -> None:
    assert snowflake_table_asset("db.s.t", account="a").uri == "snowflake://a/DB/S/T"


def test_unqualified_table_is_refused() -> None:
    with pytest.raises(ValueError, match="give database.schema.table"):
        snowflake_table_asset("t", account="a", database="db")
