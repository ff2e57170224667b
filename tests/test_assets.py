"""Assets: the provider URI forms (Snowflake tables, S3 prefixes) and how operators emit them."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from airflow.providers.amazon.aws.assets.s3 import sanitize_uri as sanitize_s3_uri
from airflow.providers.snowflake.assets.snowflake import sanitize_uri
from airflow.sdk import Asset

from airflow_provider_dataeng.assets import (
    _asset,
    dbt_built_relations,
    emit_asset,
    emit_snowflake_table_assets,
    s3_prefix_asset,
    snowflake_table_asset,
    table_asset_from_parts,
)


def test_schema_table_with_database() -> None:
    asset = snowflake_table_asset("raw.customers", account="acme-eu1", database="demo")
    assert (asset.name, asset.uri) == ("DEMO.RAW.CUSTOMERS", "snowflake://acme-eu1/DEMO/RAW/CUSTOMERS")
    sanitize_uri(urlsplit(asset.uri))  # the snowflake provider accepts it


def test_fully_qualified_table() -> None:
    assert snowflake_table_asset("db.s.t", account="a").uri == "snowflake://a/DB/S/T"


def test_account_is_case_insensitive() -> None:
    """Snowflake account identifiers are case-insensitive: a DAG's asset and an emitted one agree."""
    assert snowflake_table_asset("db.s.t", account="ACME-EU1").uri == "snowflake://acme-eu1/DB/S/T"


def test_unqualified_table_is_refused() -> None:
    with pytest.raises(ValueError, match="give database.schema.table"):
        snowflake_table_asset("t", account="a", database="db")


def test_table_asset_from_parsed_parts() -> None:
    asset = table_asset_from_parts(("DEMO", "STAGING", "CUSTOMERS"), account="fakesnow")
    assert asset == snowflake_table_asset("STAGING.CUSTOMERS", account="fakesnow", database="DEMO")
    with pytest.raises(ValueError, match="needs database, schema and name"):
        table_asset_from_parts(("STAGING", "CUSTOMERS"), account="fakesnow")
    with pytest.raises(ValueError, match="set 'account' in the connection"):
        table_asset_from_parts(("DEMO", "STAGING", "CUSTOMERS"), account=" ")


# ------------------------------------------------------------------------------------ s3_prefix_asset


@pytest.mark.parametrize(
    ("destination", "name", "uri"),
    [
        ("s3://bucket/raw/users/{{ ds }}/", "s3://bucket/raw/users/", "s3://bucket/raw/users"),
        ("s3://bucket/raw/users_{{ ds_nodash }}/", "s3://bucket/raw/", "s3://bucket/raw"),
        (
            "s3://bucket/raw/{% if params.full %}full{% else %}delta{% endif %}/",
            "s3://bucket/raw/",
            "s3://bucket/raw",
        ),
        ("s3://bucket/{{ ds }}/", "s3://bucket/", "s3://bucket/"),
        ("s3://bucket/raw/users/", "s3://bucket/raw/users/", "s3://bucket/raw/users"),  # untemplated: itself
        ("s3://bucket/raw/users", "s3://bucket/raw/users/", "s3://bucket/raw/users"),
        ("s3://aws_default@bucket/raw/{{ ds }}/", "s3://bucket/raw/", "s3://bucket/raw"),  # conn id dropped
        ("s3a://bucket/raw/{{ ds }}/", "s3://bucket/raw/", "s3://bucket/raw"),  # the provider's scheme
    ],
)
def test_s3_prefix_asset_is_the_static_folder(destination: str, name: str, uri: str) -> None:
    asset = s3_prefix_asset(destination)
    assert asset is not None
    assert (asset.name, asset.uri) == (name, uri)
    assert asset == Asset(uri=name)
    sanitize_s3_uri(urlsplit(asset.uri))  # the Amazon provider accepts it


@pytest.mark.parametrize(
    "destination",
    [
        "s3://{{ var.value.bucket }}/raw/",
        "s3://raw-{{ env }}/x/",
        "file:///tmp/landing/{{ ds }}/",
        "gs://b/x/",
    ],
)
def test_s3_prefix_asset_none_without_a_static_bucket_or_for_other_storage(destination: str) -> None:
    assert s3_prefix_asset(destination) is None


# ------------------------------------------------ the same Asset as Airflow's, without its providers manager


@pytest.mark.parametrize(
    ("name", "uri"),
    [
        ("DEMO.RAW.ORDERS", "snowflake://fakesnow/DEMO/RAW/ORDERS"),
        ('DEMO.RAW.odd name "x"', 'snowflake://acme-eu1/DEMO/RAW/odd name "x"'),
        ("DEMO.RAW.ÄRGER", "snowflake://a/DEMO/RAW/ÄRGER"),
        ("DEMO.RAW.T?x=1", "snowflake://a/DEMO/RAW/T?x=1&b=2"),  # a query: Airflow sorts it
        ("DEMO.RAW.T#frag", "snowflake://a/DEMO/RAW/T#frag"),  # a fragment: Airflow drops it
        ("DEMO.RAW.T", "SNOWFLAKE://a/DEMO/RAW/T"),
        ("s3://bucket/raw/users/", "s3://bucket/raw/users/"),
        ("s3://bucket/", "s3://bucket/"),
        ("s3://Bucket.x/a b/ü/", "s3://Bucket.x/a b/ü/"),
        ("s3://bucket/raw//", "s3://bucket/raw//"),
    ],
)
def test_assets_equal_the_ones_airflow_builds(name: str, uri: str) -> None:
    """Asset URIs are written where Airflow finds them (the database, events, schedules): ours must be the
    very value Airflow's own normalization (with the providers' URI handlers) gives."""
    ours, airflows = _asset(name, uri), Asset(name=name, uri=uri)
    assert (ours.name, ours.uri, ours.group, ours.extra) == (
        airflows.name,
        airflows.uri,
        airflows.group,
        airflows.extra,
    )
    assert ours == airflows
    assert hash(ours) == hash(airflows)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("snowflake:///DEMO/RAW/T", "must contain an account identifier"),
        ("snowflake://a/DEMO/RAW", "must contain database, schema, and table names"),
        ("snowflake://a/DEMO/RAW/a/b", "must contain database, schema, and table names"),  # a "/" in a name
        ("s3:///raw/", "must contain a bucket name"),
        ("snowflake://a/D/S/" + "T" * 1500, "uri cannot exceed 1500 characters"),
    ],
)
def test_uris_airflow_refuses_are_refused_alike(uri: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Asset(name="n", uri=uri)
    with pytest.raises(ValueError, match=message):
        _asset("n", uri)


def test_only_the_schemes_we_check_like_their_handlers() -> None:
    with pytest.raises(ValueError, match="no light-weight handler for 'gs' asset URIs"):
        _asset("n", "gs://bucket/x")


# ------------------------------------------------------------------------------------------ emit_asset


def _log(capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str]]:
    """``(level, message)`` of each line the operator logged (Airflow's structlog console format)."""
    lines = []
    for line in capsys.readouterr().out.splitlines():
        match = re.match(r"\S+ \[(\w+)\s*\] (.*?) \[airflow\.task\.operators\.", line)
        if match:
            lines.append((match[1], match[2]))
    return lines


def _context() -> dict[str, Any]:
    from airflow.sdk.execution_time.context import OutletEventAccessors

    return {"outlet_events": OutletEventAccessors()}


def _operator(**kwargs: Any) -> Any:
    from airflow.providers.standard.operators.empty import EmptyOperator

    return EmptyOperator(task_id="t", **kwargs)


def _extras(context: dict[str, Any]) -> dict[str, Any]:
    events = context["outlet_events"]
    return {a.uri: events[a].extra for a in events}


ORDERS = Asset(name="DEMO.RAW.ORDERS", uri="snowflake://fakesnow/DEMO/RAW/ORDERS")


def test_emit_asset_adds_the_outlet_and_its_extra(capsys: pytest.CaptureFixture[str]) -> None:
    context, op = _context(), _operator()
    declared = op.outlets
    capsys.readouterr()
    emit_asset(context, op, ORDERS, {"rows_loaded": 3, "files_loaded": 1})
    assert op.outlets == [ORDERS]
    assert declared == []  # a new list: an outlets list shared with other tasks is not changed
    assert _extras(context) == {ORDERS.uri: {"rows_loaded": 3, "files_loaded": 1}}
    assert _log(capsys) == [
        (
            "info",
            'Asset DEMO.RAW.ORDERS (snowflake://fakesnow/DEMO/RAW/ORDERS) emitted with extra {"rows_loaded": 3, '
            '"files_loaded": 1}',
        )
    ]


def test_an_identical_declared_outlet_gets_the_extra_instead_of_a_duplicate() -> None:
    other = Asset(uri="s3://bucket/x")
    context, op = _context(), _operator(outlets=[other, Asset(name=ORDERS.name, uri=ORDERS.uri)])
    emit_asset(context, op, ORDERS, {"inserted": 2})
    assert op.outlets == [other, ORDERS]
    assert _extras(context) == {ORDERS.uri: {"inserted": 2}}


def test_same_uri_other_name_is_another_asset() -> None:
    renamed = Asset(name="orders", uri=ORDERS.uri)
    context, op = _context(), _operator(outlets=[renamed])
    emit_asset(context, op, ORDERS, {})
    assert op.outlets == [renamed, ORDERS]


def test_add_false_only_annotates_a_declared_outlet() -> None:
    context, op = _context(), _operator()
    emit_asset(context, op, ORDERS, {"files_loaded": 0}, add=False)
    assert (op.outlets, _extras(context)) == ([], {})
    declared = _operator(outlets=[ORDERS])
    emit_asset(context, declared, ORDERS, {"files_loaded": 0}, add=False)
    assert (declared.outlets, _extras(context)) == ([ORDERS], {ORDERS.uri: {"files_loaded": 0}})


def test_emission_problems_are_warnings_not_failures(capsys: pytest.CaptureFixture[str]) -> None:
    context, op = _context(), _operator()
    capsys.readouterr()
    emit_asset(context, op, ORDERS, {"when": object()})  # not JSON
    assert (op.outlets, _extras(context)) == ([], {})
    assert _log(capsys) == [
        (
            "warning",
            "Asset DEMO.RAW.ORDERS (snowflake://fakesnow/DEMO/RAW/ORDERS) not emitted: Object of type object is "
            "not JSON serializable",
        )
    ]


def _snowflake_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, schema: str = "", **extra: Any) -> None:
    conn = {
        "conn_type": "snowflake",
        "login": "user",
        "password": "not-a-secret",
        "schema": schema,
        "extra": {"account": "Acme-EU1", **extra},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def test_table_assets_are_qualified_with_the_connections_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    _snowflake_conn(monkeypatch, "sf_assets", database="demo", schema="raw")
    context, op = _context(), _operator()
    written = [(("EVENTS",), {"rows_loaded": 1}), (("STAGING", "EVENTS"), {"inserted": 1})]
    emit_snowflake_table_assets(context, op, "sf_assets", [*written, (("OTHER", "S", "T"), {})])
    assert [(a.name, a.uri) for a in op.outlets] == [
        ("DEMO.RAW.EVENTS", "snowflake://acme-eu1/DEMO/RAW/EVENTS"),
        ("DEMO.STAGING.EVENTS", "snowflake://acme-eu1/DEMO/STAGING/EVENTS"),
        ("OTHER.S.T", "snowflake://acme-eu1/OTHER/S/T"),
    ]
    assert _extras(context) == {
        "snowflake://acme-eu1/DEMO/RAW/EVENTS": {"rows_loaded": 1},
        "snowflake://acme-eu1/DEMO/STAGING/EVENTS": {"inserted": 1},
        "snowflake://acme-eu1/OTHER/S/T": {},
    }


def test_a_table_that_cannot_be_named_is_a_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _snowflake_conn(monkeypatch, "sf_no_db")  # no database: STAGING.EVENTS cannot be qualified
    context, op = _context(), _operator()
    capsys.readouterr()
    emit_snowflake_table_assets(context, op, "sf_no_db", [(("STAGING", "EVENTS"), {"inserted": 1})])
    emit_snowflake_table_assets(context, op, "no_such_conn", [(("S", "T"), {})])
    assert (op.outlets, _extras(context)) == ([], {})
    assert _log(capsys) == [
        (
            "warning",
            "Asset of table STAGING.EVENTS not emitted: a table asset needs database, schema and name, got "
            "'STAGING.EVENTS' (qualify it as database.schema.table, or set the connection's database and schema)",
        ),
        (
            "warning",
            "Assets of S.T not emitted: connection 'no_such_conn': The conn_id `no_such_conn` isn't defined",
        ),
    ]


# ------------------------------------------------------------------------------------------ dbt


def test_dbt_built_relations_are_successful_models_seeds_and_snapshots() -> None:
    def node(name: str, materialized: str, resource: str = "model") -> dict[str, Any]:
        return {
            "database": "demo",
            "schema": "analytics",
            "name": name,
            "alias": name,
            "resource_type": resource,
            "config": {"materialized": materialized},
            "depends_on": {"nodes": []},
        }

    manifest = {
        "nodes": {
            "model.p.dim_customer": node("dim_customer", "table"),
            "model.p.stg_orders": node("stg_orders", "view"),
            "model.p.eph": node("eph", "ephemeral"),
            "model.p.broken": node("broken", "table"),
            "seed.p.countries": node("countries", "seed", "seed"),
            "test.p.unique_x": node("unique_x", "test", "test"),
        }
    }
    results = [
        {"unique_id": "model.p.dim_customer", "status": "success", "rows_affected": 42},
        {"unique_id": "model.p.stg_orders", "status": "success", "rows_affected": None},
        {"unique_id": "model.p.eph", "status": "success", "rows_affected": None},
        {"unique_id": "model.p.broken", "status": "error", "rows_affected": None},
        {"unique_id": "seed.p.countries", "status": "success", "rows_affected": 3},
        {"unique_id": "test.p.unique_x", "status": "pass", "rows_affected": None},
    ]
    assert dbt_built_relations(manifest, results) == [
        (
            ("DEMO", "ANALYTICS", "DIM_CUSTOMER"),
            {
                "unique_id": "model.p.dim_customer",
                "status": "success",
                "rows_affected": 42,
                "materialized": "table",
            },
        ),
        (
            ("DEMO", "ANALYTICS", "STG_ORDERS"),
            {"unique_id": "model.p.stg_orders", "status": "success", "materialized": "view"},
        ),
        (
            ("DEMO", "ANALYTICS", "COUNTRIES"),
            {
                "unique_id": "seed.p.countries",
                "status": "success",
                "rows_affected": 3,
                "materialized": "seed",
            },
        ),
    ]
    assert dbt_built_relations(None, results) == []


# ------------------------------------------------------------------------------------------ operators


@pytest.mark.parametrize(
    ("module", "cls", "kwargs"),
    [
        (
            "s3_stage_load",
            "S3StageLoadOperator",
            {"table": "RAW.T", "stage": "RAW.S", "files": [], "file_format": {"type": "JSON"}},
        ),
        (
            "snowflake_stream_merge",
            "SnowflakeStreamMergeOperator",
            {"target_table": "S.T", "key_columns": "ID", "stream": "R.S"},
        ),
        ("dbt_run", "DbtRunOperator", {"project_dir": "/p", "snowflake_conn_id": "sf"}),
        ("rest_api_extract", "RestApiExtractOperator", {"endpoint": "/x", "destination": "s3://b/raw/x/{{ ds }}/"}),
    ],
)
def test_emit_assets_is_a_flag_on_by_default(module: str, cls: str, kwargs: dict[str, Any]) -> None:
    import importlib

    operator = getattr(importlib.import_module(f"airflow_provider_dataeng.operators.{module}"), cls)
    assert operator(task_id="t", **kwargs).emit_assets is True
    assert operator(task_id="t2", emit_assets=False, **kwargs).emit_assets is False
    with pytest.raises(ValueError, match="emit_assets must be True or False, got 'no'"):
        operator(task_id="t3", emit_assets="no", **kwargs)
