"""The pure lineage builders: dataset naming, the SQL facet's text, and each operator's Lineage, exactly."""

from __future__ import annotations

import pytest

from airflow_provider_dataeng.lineage import (
    Assertion,
    Dataset,
    DbtRelations,
    Lineage,
    OutputStats,
    SchemaField,
    SnowflakeContext,
    common_prefix,
    dbt_lineage,
    dbt_relations,
    extract_lineage,
    http_dataset,
    load_lineage,
    merge_lineage,
    qualified_table_name,
    quality_lineage,
    sql_namespace,
    sql_text,
    storage_dataset,
    variant_load_schema,
)

SF = SnowflakeContext(
    namespace="snowflake://myorg-myacct", account="myorg-myacct", database="DEMO", schema="PUBLIC"
)
NS = "snowflake://myorg-myacct"


@pytest.mark.parametrize(
    ("url", "namespace", "name"),
    [
        ("s3://landing/customers/2026-01-01/", "s3://landing", "customers/2026-01-01"),
        ("s3a://landing/customers/part-0.jsonl.zst", "s3://landing", "customers/part-0.jsonl.zst"),
        ("s3://aws_default@landing/dbt/", "s3://landing", "dbt"),
        ("s3://landing/", "s3://landing", "/"),
        ("gs://bkt/a/b/", "gs://bkt", "a/b"),
        ("file:///tmp/out/", "file", "/tmp/out"),
        ("/tmp/out/", "file", "/tmp/out"),
    ],
)
def test_storage_dataset_names_follow_the_openlineage_spec(url: str, namespace: str, name: str) -> None:
    assert storage_dataset(url) == Dataset(namespace=namespace, name=name)


def test_http_dataset_drops_credentials_and_query() -> None:
    assert http_dataset("https://user:secret@api.example.com:8443/v1/customers?api_key=k&page=2") == Dataset(
        namespace="https://api.example.com:8443", name="/v1/customers"
    )
    assert http_dataset("http://127.0.0.1:9000") == Dataset(namespace="http://127.0.0.1:9000", name="/")


def test_table_names_take_the_connection_defaults() -> None:
    assert qualified_table_name(("USERS",), database="DEMO", schema="PUBLIC") == "DEMO.PUBLIC.USERS"
    assert qualified_table_name(("STG", "USERS"), database="DEMO", schema="PUBLIC") == "DEMO.STG.USERS"
    assert qualified_table_name(("DB", "STG", "USERS"), database="DEMO") == "DB.STG.USERS"
    assert qualified_table_name(("STG", "USERS")) == "STG.USERS"


def test_sql_namespace() -> None:
    assert sql_namespace("postgresql", "db.internal", 5432) == "postgres://db.internal:5432"
    assert sql_namespace("sqlite", "/tmp/q.db", None) == "sqlite:///tmp/q.db"


def test_sql_text_keeps_the_work_and_drops_session_control_and_catalog_reads() -> None:
    statements = [
        "BEGIN",
        'SHOW STAGES LIKE \'LANDING\' IN SCHEMA "DEMO"."RAW"',
        "SELECT SYSTEM$STREAM_HAS_DATA('S')",
        'COPY INTO "RAW"."EVENTS" FROM @"RAW"."LANDING"',
        "COMMIT",
        'COPY INTO "RAW"."EVENTS" FROM @"RAW"."LANDING";',  # a repeat is written once
        "  ",
    ]
    assert sql_text(statements) == 'COPY INTO "RAW"."EVENTS" FROM @"RAW"."LANDING";'
    assert sql_text(["BEGIN", "COMMIT"]) is None
    assert sql_text(["CREATE TABLE T (A INT)", "INSERT INTO T VALUES (1)"]) == (
        "CREATE TABLE T (A INT);\nINSERT INTO T VALUES (1);"
    )


def test_common_prefix_of_loaded_files() -> None:
    assert common_prefix(["s3://b/x/2026/part-1.jsonl", "s3://b/x/2026/part-2.jsonl"]) == "s3://b/x/2026/"
    assert common_prefix(["s3://b/x/2026/a/p1", "s3://b/x/2026/b/p2"]) == "s3://b/x/2026/"
    assert common_prefix(["s3://b/p1", "s3://c/p2"]) is None
    assert common_prefix([]) is None
    assert common_prefix(["a.jsonl", "b.jsonl"]) is None  # not URIs


def test_extract_lineage_counts_records_bytes_and_files() -> None:
    manifest = {
        "destination": "s3://landing/customers/2026-01-01/",
        "files": [
            {"uri": "s3://landing/customers/2026-01-01/part-00000.jsonl.zst", "records": 1000, "bytes": 2048},
            {"uri": "s3://landing/customers/2026-01-01/part-00001.jsonl.zst", "records": 250, "bytes": 512},
        ],
        "records": 1250,
        "pages": 13,
    }
    assert extract_lineage("https://api.example.com/v1/customers?since=x", manifest) == Lineage(
        inputs=(Dataset(namespace="https://api.example.com", name="/v1/customers"),),
        outputs=(
            Dataset(
                namespace="s3://landing",
                name="customers/2026-01-01",
                stats=OutputStats(rows=1250, bytes=2560, files=2),
            ),
        ),
    )
    # failed before the manifest: the source is still known
    assert extract_lineage("https://api.example.com/v1/customers", None) == Lineage(
        inputs=(Dataset(namespace="https://api.example.com", name="/v1/customers"),)
    )


def test_load_lineage_variant_shape_rows_files_and_sql() -> None:
    schema = variant_load_schema(
        "variant", None, [("_SOURCE_FILE", "VARCHAR"), ("_LOADED_AT", "TIMESTAMP_LTZ")]
    )
    assert schema == (
        SchemaField("RECORD", "VARIANT"),
        SchemaField("_SOURCE_FILE", "VARCHAR"),
        SchemaField("_LOADED_AT", "TIMESTAMP_LTZ"),
    )
    assert variant_load_schema("columns", [("ID", "NUMBER")], []) == (SchemaField("ID", "NUMBER"),)
    assert variant_load_schema("columns", None, []) is None  # inferred by Snowflake: unknown here
    lineage = load_lineage(
        SF,
        ("RAW", "CUSTOMERS"),
        source_url="s3://landing/customers/2026-01-01/",
        summary={"table": '"RAW"."CUSTOMERS"', "files_loaded": 2, "files_skipped": 1, "rows_loaded": 1250},
        schema=schema,
        statements=["BEGIN", 'COPY INTO "RAW"."CUSTOMERS" FROM @"RAW"."LANDING"', "COMMIT"],
    )
    assert lineage == Lineage(
        inputs=(Dataset(namespace="s3://landing", name="customers/2026-01-01"),),
        outputs=(
            Dataset(
                namespace=NS,
                name="DEMO.RAW.CUSTOMERS",
                schema=schema,
                stats=OutputStats(rows=1250, bytes=None, files=2),
            ),
        ),
        sql='COPY INTO "RAW"."CUSTOMERS" FROM @"RAW"."LANDING";',
        dialect="snowflake",
    )


def test_merge_lineage_counts_every_changed_row() -> None:
    lineage = merge_lineage(
        SF,
        source=("DEMO", "RAW", "USERS"),
        target=("STG", "USERS"),
        counts={"inserted": 3, "updated": 2, "deleted": 1},
        target_columns=[SchemaField("ID", "NUMBER(38,0)"), SchemaField("NAME", "VARCHAR")],
        statements=["SHOW STREAMS LIKE 'USERS_STREAM'", "MERGE INTO T USING S ON T.ID = S.ID"],
    )
    assert lineage == Lineage(
        inputs=(Dataset(namespace=NS, name="DEMO.RAW.USERS"),),
        outputs=(
            Dataset(
                namespace=NS,
                name="DEMO.STG.USERS",
                schema=(SchemaField("ID", "NUMBER(38,0)"), SchemaField("NAME", "VARCHAR")),
                stats=OutputStats(rows=6),
            ),
        ),
        sql="MERGE INTO T USING S ON T.ID = S.ID;",
        dialect="snowflake",
    )


def test_quality_lineage_one_assertion_per_check() -> None:
    results = [
        {"name": "unique_id", "status": "pass", "column": "ID"},
        {"name": "row_count", "status": "fail", "column": None},
        {"name": "fresh", "status": "warn"},
    ]
    lineage = quality_lineage(
        NS, "DEMO.ANALYTICS.DIM_CUSTOMERS", results, statements=["SELECT 1"], dialect="snowflake"
    )
    assert lineage == Lineage(
        inputs=(
            Dataset(
                namespace=NS,
                name="DEMO.ANALYTICS.DIM_CUSTOMERS",
                assertions=(
                    Assertion("unique_id", True, "ID"),
                    Assertion("row_count", False, None),
                    Assertion("fresh", False, None),
                ),
            ),
        ),
        sql="SELECT 1;",
        dialect="snowflake",
    )


MANIFEST = {
    "nodes": {
        "model.shop.stg_customers": {
            "database": "demo",
            "schema": "staging",
            "alias": "stg_customers",
            "name": "stg_customers",
            "depends_on": {"nodes": ["source.shop.raw.customers"]},
        },
        "model.shop.dim_customers": {
            "database": "demo",
            "schema": "analytics",
            "alias": "dim_customers",
            "name": "dim_customers",
            "depends_on": {"nodes": ["model.shop.stg_customers", "seed.shop.countries"]},
        },
        "seed.shop.countries": {
            "database": "demo",
            "schema": "seeds",
            "alias": None,
            "name": "countries",
            "depends_on": {"nodes": []},
        },
        "test.shop.unique_dim_customers_id": {
            "database": "demo",
            "schema": "analytics_test",
            "depends_on": {"nodes": ["model.shop.dim_customers"]},
        },
    },
    "sources": {
        "source.shop.raw.customers": {"database": "demo", "schema": "stg", "identifier": "customers"},
    },
}


def test_dbt_relations_built_and_read() -> None:
    results = [
        {"unique_id": "model.shop.stg_customers", "status": "success", "rows_affected": 10},
        {"unique_id": "model.shop.dim_customers", "status": "success", "rows_affected": None},
        {"unique_id": "test.shop.unique_dim_customers_id", "status": "pass", "rows_affected": None},
    ]
    relations = dbt_relations(MANIFEST, results)
    assert relations == DbtRelations(
        inputs=(("DEMO", "SEEDS", "COUNTRIES"), ("DEMO", "STG", "CUSTOMERS")),
        outputs=((("DEMO", "STAGING", "STG_CUSTOMERS"), 10), (("DEMO", "ANALYTICS", "DIM_CUSTOMERS"), None)),
    )
    assert dbt_lineage(SF, relations) == Lineage(
        inputs=(Dataset(NS, "DEMO.SEEDS.COUNTRIES"), Dataset(NS, "DEMO.STG.CUSTOMERS")),
        outputs=(
            Dataset(NS, "DEMO.STAGING.STG_CUSTOMERS", stats=OutputStats(rows=10)),
            Dataset(NS, "DEMO.ANALYTICS.DIM_CUSTOMERS"),
        ),
    )


def test_dbt_relations_skip_failed_nodes_and_need_a_manifest() -> None:
    results = [{"unique_id": "model.shop.stg_customers", "status": "error", "rows_affected": None}]
    assert dbt_relations(MANIFEST, results) == DbtRelations()
    assert dbt_relations(None, results) == DbtRelations()


def test_lineage_and_links_import_nothing_heavy() -> None:
    import subprocess
    import sys

    code = (
        "import sys, airflow_provider_dataeng.lineage, airflow_provider_dataeng.links;"
        "print(sorted(m for m in ('snowflake.connector', 'boto3', 'sqlglot', 'dbt', 'pyarrow', 'requests',"
        " 'openlineage') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
