"""Reading dbt's manifest.json: nodes, relations, dependencies, and what a run built and read.

``fixtures/manifest.json`` is ``dbt parse`` of the example project (dags/dbt/) by dbt-core 1.11 with the
macros and docs left out; ``test_fixture_is_what_dbt_parse_writes_for_the_example_project`` keeps it current.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_dataeng.dbt.manifest import Manifest, Node, Relation

FIXTURE = Path(__file__).parent / "fixtures" / "manifest.json"
P = "model.dataeng_demo."
STAGING_CUSTOMERS = "source.dataeng_demo.staging.customers"
STAGING_ORDERS = "source.dataeng_demo.staging.orders"


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return Manifest.load(FIXTURE)


def test_metadata_of_the_example_project(manifest: Manifest) -> None:
    assert (manifest.project_name, manifest.dbt_version) == ("dataeng_demo", "1.11.16")


def test_models_with_relation_materialization_and_dependencies(manifest: Manifest) -> None:
    assert [
        (m.unique_id, m.materialized, m.relation, m.depends_on, m.original_file_path)
        for m in manifest.models()
    ] == [
        (
            P + "fct_sales",
            "table",
            ("DEMO", "ANALYTICS", "FCT_SALES"),
            (P + "stg_orders", P + "dim_customer"),
            "models/marts/fct_sales.sql",
        ),
        (
            P + "dim_customer",
            "table",
            ("DEMO", "ANALYTICS", "DIM_CUSTOMER"),
            (P + "stg_orders", P + "stg_customers"),
            "models/marts/dim_customer.sql",
        ),
        (
            P + "stg_customers",
            "view",
            ("DEMO", "ANALYTICS", "STG_CUSTOMERS"),
            (STAGING_CUSTOMERS,),
            "models/staging/stg_customers.sql",
        ),
        (
            P + "stg_orders",
            "incremental",
            ("DEMO", "ANALYTICS", "STG_ORDERS"),
            (STAGING_ORDERS,),
            "models/staging/stg_orders.sql",
        ),
    ]
    fct_sales = manifest.get(P + "fct_sales")
    assert fct_sales is not None
    assert (fct_sales.name, fct_sales.package_name, fct_sales.fqn) == (
        "fct_sales",
        "dataeng_demo",
        ("dataeng_demo", "marts", "fct_sales"),
    )
    assert str(fct_sales.relation) == "DEMO.ANALYTICS.FCT_SALES"


def test_sources_name_their_relation_by_identifier(manifest: Manifest) -> None:
    assert [(s.unique_id, s.name, s.relation) for s in manifest.sources()] == [
        (STAGING_CUSTOMERS, "customers", Relation("DEMO", "STAGING", "CUSTOMERS")),
        (STAGING_ORDERS, "orders", Relation("DEMO", "STAGING", "ORDERS")),
    ]


def test_tests_build_no_relation_and_hang_under_their_model(manifest: Manifest) -> None:
    tests = list(manifest.nodes("test"))
    assert len(tests) == 33
    assert all(t.relation is None for t in tests)
    children = manifest.children(P + "stg_orders")
    assert [c.unique_id for c in children if c.resource_type == "model"] == [
        P + "fct_sales",
        P + "dim_customer",
    ]
    assert sorted(c.name for c in children if c.resource_type == "test") == [
        "accepted_values_stg_orders_status__placed__shipped__delivered__cancelled",
        "not_null_stg_orders_amount",
        "not_null_stg_orders_customer_id",
        "not_null_stg_orders_order_id",
        "not_null_stg_orders_status",
        "not_null_stg_orders_updated_at",
        "relationships_stg_orders_customer_id__customer_id__source_staging_customers_",
        "unique_stg_orders_order_id",
    ]


def test_parents_follow_depends_on(manifest: Manifest) -> None:
    assert [p.unique_id for p in manifest.parents(P + "dim_customer")] == [
        P + "stg_orders",
        P + "stg_customers",
    ]
    assert [p.unique_id for p in manifest.parents(P + "stg_orders")] == [STAGING_ORDERS]
    assert manifest.parents("model.dataeng_demo.nope") == []


def test_unknown_ids_and_missing_file() -> None:
    assert Manifest({}).get("model.x.y") is None
    assert "model.x.y" not in Manifest({})
    with pytest.raises(FileNotFoundError):
        Manifest.load(FIXTURE.parent / "no_such_manifest.json")


def test_of_wraps_a_mapping_and_passes_a_manifest_or_none_through(manifest: Manifest) -> None:
    assert Manifest.of(manifest) is manifest
    assert Manifest.of(None) is None
    wrapped = Manifest.of(json.loads(FIXTURE.read_text()))
    assert wrapped is not None and [m.unique_id for m in wrapped.models()] == [
        m.unique_id for m in manifest.models()
    ]


def test_a_build_of_the_example_project_built_every_model_and_read_the_sources(manifest: Manifest) -> None:
    results = [
        {"unique_id": P + "stg_customers", "status": "success", "rows_affected": None},
        {"unique_id": P + "stg_orders", "status": "success", "rows_affected": 7},
        {"unique_id": "test.dataeng_demo.unique_stg_orders_order_id.e3b841c71a", "status": "pass"},
        {"unique_id": P + "dim_customer", "status": "success", "rows_affected": 3},
        {"unique_id": P + "fct_sales", "status": "error", "rows_affected": None},
    ]
    built = manifest.built(results)
    assert [(node.name, relation, result["rows_affected"]) for node, relation, result in built] == [
        ("stg_customers", ("DEMO", "ANALYTICS", "STG_CUSTOMERS"), None),
        ("stg_orders", ("DEMO", "ANALYTICS", "STG_ORDERS"), 7),
        ("dim_customer", ("DEMO", "ANALYTICS", "DIM_CUSTOMER"), 3),
    ]
    assert manifest.upstream_relations([node.unique_id for node, _, _ in built]) == [
        ("DEMO", "STAGING", "CUSTOMERS"),
        ("DEMO", "STAGING", "ORDERS"),
    ]
    # a run of the marts only read the staging models (in dim_customer's depends_on order: first by id)
    assert manifest.upstream_relations([P + "fct_sales", P + "dim_customer"]) == [
        ("DEMO", "ANALYTICS", "STG_ORDERS"),
        ("DEMO", "ANALYTICS", "STG_CUSTOMERS"),
    ]


def node(uid: str, **raw) -> dict:
    return {"database": "demo", "schema": "analytics", "name": uid.rsplit(".", 1)[-1], **raw}


EPHEMERAL = {
    "nodes": {
        "model.p.base": node(
            "model.p.base", config={"materialized": "ephemeral"}, depends_on={"nodes": ["source.p.raw.t"]}
        ),
        "model.p.mart": node(
            "model.p.mart", config={"materialized": "table"}, depends_on={"nodes": ["model.p.base"]}
        ),
    },
    "sources": {"source.p.raw.t": {"database": "demo", "schema": "raw", "identifier": "T", "name": "t"}},
}


def test_ephemeral_models_build_nothing_and_are_looked_through() -> None:
    manifest = Manifest(EPHEMERAL)
    base = manifest.get("model.p.base")
    assert base is not None and base.relation is None and not base.builds_relation
    results = [
        {"unique_id": "model.p.base", "status": "success"},
        {"unique_id": "model.p.mart", "status": "success"},
    ]
    assert [node.unique_id for node, _, _ in manifest.built(results)] == ["model.p.mart"]
    assert manifest.upstream_relations(["model.p.mart"]) == [("DEMO", "RAW", "T")]


@pytest.mark.parametrize(
    ("raw", "relation"),
    [
        ({"relation_name": '"Demo"."Analytics"."dim_Customer"'}, ("Demo", "Analytics", "dim_Customer")),
        ({"relation_name": "demo.analytics.dim_customer"}, ("DEMO", "ANALYTICS", "DIM_CUSTOMER")),
        ({"relation_name": None, "alias": "dim_cust"}, ("DEMO", "ANALYTICS", "DIM_CUST")),
        ({"relation_name": None}, ("DEMO", "ANALYTICS", "DIM_CUSTOMER")),
        ({"relation_name": None, "schema": None}, None),
    ],
)
def test_relation_comes_from_relation_name_else_database_schema_alias(raw, relation) -> None:
    parsed = Node.from_dict("model.p.dim_customer", node("model.p.dim_customer", **raw))
    assert parsed.relation == relation


def test_fixture_is_what_dbt_parse_writes_for_the_example_project(tmp_path, monkeypatch) -> None:
    """``dbt parse`` (no warehouse needed) of dags/dbt/ gives the nodes and sources the fixture holds."""
    from airflow_provider_dataeng.hooks.dbt import DbtHook
    from tests.dbt.conftest import PROJECT

    extra = {"account": "xy12345", "database": "DEMO", "warehouse": "WH"}
    conn = {"conn_type": "snowflake", "login": "u", "password": "p", "schema": "PUBLIC", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_DBT_PARSE_ONLY", json.dumps(conn))
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    hook = DbtHook("dbt_parse_only")
    with hook.profiles(PROJECT, target="airflow") as (profiles_dir, env):
        outcome = hook.run_dbt(PROJECT, ["parse"], profiles_dir=profiles_dir, env=env, run_dir=tmp_path)
    assert outcome.success, outcome.error
    parsed, fixture = Manifest.load(outcome.target_path / "manifest.json"), Manifest.load(FIXTURE)
    # The nodes, not the version stamp: the lowest-versions run (make test-lowest) parses with an older dbt.
    assert list(parsed.nodes()) == list(fixture.nodes())
