"""Airflow Assets for what the operators write, in the URI forms Airflow's providers understand.

``snowflake://<account>/<database>/<schema>/<table>`` is the Snowflake provider's asset URI (it validates
and converts it for OpenLineage), so DAGs scheduled on these assets and lineage tools agree on names.
``s3://<bucket>/<prefix>`` is the Amazon provider's.

The operators emit the assets they wrote themselves (``emit_assets=True``, the default): after the data is
committed, :func:`emit_asset` adds the asset to the running task's ``outlets`` (unless an equal one, same
name and URI, is declared already) and attaches a small JSON ``extra`` (row counts, files) to its event.
Airflow registers an event only for assets some DAG declares (as an outlet, an inlet or in a schedule), and
only when the task succeeds.

Building an Asset must stay cheap, because DAG files build them on every parse (schedules, inlets, outlets).
Airflow normalizes a URI with a scheme through its providers manager, whose first use imports the URI
handler module of every installed provider; the Amazon provider's imports S3Hook and boto3 (about 0.6 s a
parse). The ``s3`` and ``snowflake`` handlers only validate, so :func:`_asset` writes the URI in the form
Airflow stores, makes the handlers' checks itself, and never asks the providers manager.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_dataeng.sql.identifiers import ObjectName, parse_object_name
from airflow_provider_dataeng.validation import template_start

if TYPE_CHECKING:
    from airflow.sdk import Asset, BaseOperator, Context

    from airflow_provider_dataeng.dbt.manifest import Manifest

# Object-storage schemes the Amazon provider's ``s3`` asset URIs stand for (s3a is the same storage).
_S3_SCHEMES = ("s3", "s3a")


def snowflake_table_asset(table: str, *, account: str, database: str | None = None) -> Asset:
    """The Asset of a Snowflake table: ``table`` is ``db.schema.name`` or ``schema.name`` with ``database``.

    ``account`` is the account identifier as the Snowflake connection gives it (lower-cased: identifiers
    are case-insensitive), which is what the operators use for the assets they emit.
    """
    name = parse_object_name(table, param="table")
    if len(name.parts) == 2 and database:
        name = ObjectName((parse_object_name(database, param="database", max_parts=1).name, *name.parts))
    if len(name.parts) != 3:
        raise ValueError(f"table={table!r}: give database.schema.table, or schema.table with database=")
    return table_asset_from_parts(name.parts, account=account)


def table_asset_from_parts(parts: Sequence[str], *, account: str) -> Asset:
    """The Asset of a table from its normalized ``(database, schema, name)`` parts."""
    if len(parts) != 3:
        raise ValueError(f"a table asset needs database, schema and name, got {'.'.join(parts)!r}")
    account = account.strip().lower()
    if not account:
        raise ValueError("a Snowflake table asset needs the account (set 'account' in the connection)")
    database_name, schema, object_name = parts
    return _asset(
        f"{database_name}.{schema}.{object_name}",
        f"snowflake://{account}/{database_name}/{schema}/{object_name}",
    )


def s3_prefix_asset(destination: str) -> Asset | None:
    """The Asset of the static part of an S3 folder URL, for an extract's (templated) ``destination``.

    The static part is everything up to the last ``/`` before the first ``{{``, ``{%`` or ``{#``
    (``s3://bucket/raw/users/{{ ds }}/`` -> ``Asset(uri="s3://bucket/raw/users/")``, named by that URI), so
    every run's events land on one asset a DAG can be scheduled on. An untemplated destination is its own
    folder. A connection id in the URL (``s3://aws_default@bucket/...``) is dropped and ``s3a`` is written
    ``s3`` (the Amazon provider's asset scheme). ``None`` when the bucket itself is templated, or for
    storage other than S3.
    """
    cut = template_start(destination)
    static = destination if cut == -1 else destination[: destination.rfind("/", 0, cut) + 1]
    scheme, sep, rest = static.partition("://")
    if not sep or scheme.lower() not in _S3_SCHEMES:
        return None
    netloc, _, path = rest.partition("/")
    bucket = netloc.rpartition("@")[2]
    if not bucket:
        return None  # the bucket itself is templated
    uri = f"s3://{bucket}/{path}"
    uri = uri if uri.endswith("/") else f"{uri}/"
    return _asset(uri, uri)


def _asset(name: str, uri: str) -> Asset:
    """``Asset(name=name, uri=uri)`` for an ``s3://`` or ``snowflake://`` URI, equal to what Airflow builds,
    without the providers manager (see the module docstring; tests compare both ways of building it).

    The URI gets Airflow's generic normalization (``_sanitize_uri`` in ``airflow.sdk``: lower-case scheme,
    no user info, sorted query, no fragment, no trailing ``/``) and the checks of the provider's handler
    (``airflow.providers.amazon.aws.assets.s3.sanitize_uri``, ``...snowflake.assets.snowflake.sanitize_uri``),
    which change nothing else. The Asset is made with a URI that has no scheme (Airflow keeps such a URI as
    it is), then given the normalized one and validated again.
    """
    import attrs
    from airflow.sdk import Asset

    parts = urllib.parse.urlsplit(uri)
    scheme = parts.scheme.lower()
    query = urllib.parse.urlencode(sorted(urllib.parse.parse_qsl(parts.query))) if parts.query else ""
    parts = parts._replace(
        scheme=scheme,
        netloc=parts.netloc.rpartition("@")[2] if parts.password else parts.netloc,
        path=parts.path.rstrip("/") or "/",
        query=query,
        fragment="",
    )
    if scheme not in _HANDLER_CHECKS:
        raise ValueError(f"no light-weight handler for {scheme!r} asset URIs: {uri!r}")  # a bug of ours
    _HANDLER_CHECKS[scheme](parts)
    asset = Asset(name=name, uri="-")
    object.__setattr__(asset, "uri", urllib.parse.urlunsplit(parts))  # past the converter that asks providers
    attrs.validate(asset)  # Airflow's own checks of the final URI (length, not blank, ASCII on MySQL)
    return asset


def _check_s3_uri(parts: urllib.parse.SplitResult) -> None:
    """The Amazon provider's ``s3`` handler: a bucket is required."""
    if not parts.netloc:
        raise ValueError("URI format s3:// must contain a bucket name")


def _check_snowflake_uri(parts: urllib.parse.SplitResult) -> None:
    """The Snowflake provider's ``snowflake`` handler: account, database, schema and table are required."""
    if not parts.netloc:
        raise ValueError("URI format snowflake:// must contain an account identifier")
    if len(parts.path.split("/")) != 4:  # leading slash, database, schema and table names
        raise ValueError("URI format snowflake:// must contain database, schema, and table names")


_HANDLER_CHECKS = {"s3": _check_s3_uri, "snowflake": _check_snowflake_uri}


def emit_asset(
    context: Context,
    operator: BaseOperator,
    asset: Asset,
    extra: Mapping[str, Any],
    *,
    add: bool = True,
) -> None:
    """Record that ``operator`` wrote ``asset`` in this run, with ``extra`` on the asset event.

    The asset is appended to the running task's ``outlets`` unless one with the same name and URI is declared
    already (that one then gets ``extra``; no duplicate). With ``add=False`` only an already declared asset
    gets ``extra`` (a run that wrote nothing). Never raises: the data is committed by now, so a problem is
    logged as a warning naming the asset and the task goes on.
    """
    try:
        payload = json.loads(json.dumps(dict(extra)))  # JSON only, and a copy the caller cannot change
        key = (asset.name, asset.uri)
        declared = any((getattr(o, "name", None), getattr(o, "uri", None)) == key for o in operator.outlets)
        if not declared and not add:
            return
        context["outlet_events"][asset].extra = payload
        if not declared:
            operator.outlets = [*operator.outlets, asset]  # a new list: one shared by several tasks is kept
    except Exception as err:  # noqa: BLE001 - an asset event is never a reason to fail a committed write
        operator.log.warning("Asset %s (%s) not emitted: %s", asset.name, asset.uri, err)
        return
    operator.log.info("Asset %s (%s) emitted with extra %s", asset.name, asset.uri, json.dumps(payload))


def emit_snowflake_table_assets(
    context: Context,
    operator: BaseOperator,
    conn_id: str,
    tables: Iterable[tuple[Sequence[str], Mapping[str, Any]]],
    *,
    add: bool = True,
) -> None:
    """:func:`emit_asset` for Snowflake tables given as parsed parts (``("RAW", "EVENTS")``) and their extras.

    Names are qualified with the connection's default database and schema and the asset account is the
    connection's (nothing is contacted). A table that cannot be named is logged as a warning, never raised.
    """
    from airflow_provider_dataeng.lineage import qualify, snowflake_context

    tables = list(tables)
    if not tables:
        return
    try:
        sf = snowflake_context(conn_id)
    except Exception as err:  # noqa: BLE001
        names = ", ".join(".".join(parts) for parts, _ in tables)
        operator.log.warning("Assets of %s not emitted: connection %r: %s", names, conn_id, err)
        return
    for parts, extra in tables:
        try:
            asset = table_asset_from_parts(
                qualify(parts, database=sf.database, schema=sf.schema), account=sf.account
            )
        except Exception as err:  # noqa: BLE001
            operator.log.warning(
                "Asset of table %s not emitted: %s (qualify it as database.schema.table, or set the "
                "connection's database and schema)",
                ".".join(parts),
                err,
            )
            continue
        emit_asset(context, operator, asset, extra, add=add)


def dbt_built_relations(
    manifest: Manifest | Mapping[str, Any] | None, results: Sequence[Mapping[str, Any]]
) -> list[tuple[tuple[str, str, str], dict[str, Any]]]:
    """The relations a dbt run built (models, seeds, snapshots with status ``success``; ephemeral models build
    none), each with its event extra ``{"unique_id", "status", "rows_affected", "materialized"}`` (keys
    whose value dbt did not report are left out). ``results`` are the operator's node summaries."""
    from airflow_provider_dataeng.dbt.manifest import Manifest

    parsed = Manifest.of(manifest)
    if parsed is None:
        return []
    built: list[tuple[tuple[str, str, str], dict[str, Any]]] = []
    for node, relation, result in parsed.built(results):
        if result.get("status") == "success":
            built.append(
                (relation, dbt_built_extra(node.unique_id, result.get("rows_affected"), node.materialized))
            )
    return built


def dbt_built_extra(unique_id: str, rows_affected: Any, materialized: str | None) -> dict[str, Any]:
    """The asset event extra of a relation a dbt node built (``None`` values left out)."""
    extra = {
        "unique_id": unique_id,
        "status": "success",
        "rows_affected": rows_affected,
        "materialized": materialized,
    }
    return {k: v for k, v in extra.items() if v is not None}
