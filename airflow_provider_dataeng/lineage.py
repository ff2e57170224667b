"""OpenLineage for the operators: datasets and facets built from plain data, converted at the edge.

The builders here are pure (no Airflow, no OpenLineage import, no I/O): each operator keeps what it did on
itself during ``execute`` (tables, files, counts, the statements it ran) and its
``get_openlineage_facets_on_complete`` hands that to one builder, then to :func:`to_operator_lineage`, which
imports ``apache-airflow-providers-openlineage`` lazily and returns ``None`` when it is not installed.

Dataset naming follows the OpenLineage naming spec and the stock providers:

* Snowflake: namespace ``snowflake://<account>`` (the account normalized by the Snowflake provider's own
  ``fix_account_name``, as its OpenLineage code does), name ``DATABASE.SCHEMA.TABLE``;
* object storage: namespace ``s3://<bucket>`` (``gs://``, ``abfs://`` alike; ``file`` for local paths),
  name the key prefix without its trailing slash;
* the REST source: namespace ``https://host[:port]``, name the URL path (no query string, no userinfo).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_dataeng.dbt.manifest import Manifest

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

log = logging.getLogger(__name__)

SNOWFLAKE = "snowflake"
# Statements that only manage the session or read the catalog: not part of the job's SQL facet.
_SKIPPED_PREFIXES = ("BEGIN", "COMMIT", "ROLLBACK", "SHOW ", "DESCRIBE ", "DESC ", "USE ", "ALTER SESSION")


@dataclass(frozen=True)
class SchemaField:
    """One column of a dataset's schema facet."""

    name: str
    type: str | None = None


@dataclass(frozen=True)
class OutputStats:
    """What one run wrote to an output dataset (``OutputStatisticsOutputDatasetFacet``)."""

    rows: int | None = None
    bytes: int | None = None
    files: int | None = None


@dataclass(frozen=True)
class Assertion:
    """One data-quality check on an input dataset (``DataQualityAssertionsDatasetFacet``)."""

    assertion: str
    success: bool
    column: str | None = None


@dataclass(frozen=True)
class Dataset:
    """An input or output dataset with the facets known for it."""

    namespace: str
    name: str
    schema: tuple[SchemaField, ...] | None = None
    stats: OutputStats | None = None
    assertions: tuple[Assertion, ...] | None = None


@dataclass(frozen=True)
class Lineage:
    """One task run's lineage: inputs, outputs and the SQL it ran (``SQLJobFacet``)."""

    inputs: tuple[Dataset, ...] = ()
    outputs: tuple[Dataset, ...] = ()
    sql: str | None = None
    dialect: str | None = None


@dataclass(frozen=True)
class SnowflakeContext:
    """The connection facts lineage and links need: account, default database and schema."""

    namespace: str
    account: str
    database: str | None = None
    schema: str | None = None


# ------------------------------------------------------------------------------------------ naming


def qualify(
    parts: Sequence[str], *, database: str | None = None, schema: str | None = None
) -> tuple[str, ...]:
    """A parsed (normalized) name with the connection's default schema and database filled in."""
    names = list(parts)
    if len(names) == 1 and schema:
        names.insert(0, schema)
    if len(names) == 2 and database:
        names.insert(0, database)
    return tuple(names)


def qualified_table_name(
    parts: Sequence[str], *, database: str | None = None, schema: str | None = None
) -> str:
    """``DB.SCHEMA.TABLE`` from a parsed (normalized) name, filling the connection's defaults."""
    return ".".join(qualify(parts, database=database, schema=schema))


def snowflake_table(
    context: SnowflakeContext,
    parts: Sequence[str],
    *,
    schema: Sequence[SchemaField] | None = None,
    stats: OutputStats | None = None,
    assertions: Sequence[Assertion] | None = None,
) -> Dataset:
    name = qualified_table_name(parts, database=context.database, schema=context.schema)
    return Dataset(
        namespace=context.namespace,
        name=name,
        schema=tuple(schema) if schema is not None else None,
        stats=stats,
        assertions=tuple(assertions) if assertions is not None else None,
    )


def storage_dataset(url: str, *, stats: OutputStats | None = None) -> Dataset:
    """An object-storage folder or file: ``s3://bucket/a/b/`` -> namespace ``s3://bucket``, name ``a/b``.

    A connection id in the URL's userinfo (``s3://aws_default@bucket/...``) is dropped; ``s3a``/``s3n`` are
    written as ``s3``; a local path (``file://`` or none) has namespace ``file``.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("", "file", "local"):
        path = parts.path if scheme else url
        return Dataset(namespace="file", name=path.rstrip("/") or "/", stats=stats)
    if scheme in ("s3a", "s3n"):
        scheme = "s3"
    bucket = parts.netloc.rpartition("@")[2]
    key = parts.path.strip("/")
    return Dataset(namespace=f"{scheme}://{bucket}", name=key or "/", stats=stats)


def http_dataset(url: str) -> Dataset:
    """A REST endpoint: namespace ``scheme://host[:port]``, name the path (query and userinfo dropped)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return Dataset(namespace=f"{parts.scheme.lower()}://{host}", name=parts.path or "/")


def sql_namespace(conn_type: str, host: str | None, port: int | None = None) -> str:
    """A SQL database's namespace, ``<scheme>://<host>[:<port>]`` (``postgres://db:5432``)."""
    scheme = {"postgresql": "postgres"}.get(conn_type.lower(), conn_type.lower())
    return f"{scheme}://{host or ''}" + (f":{port}" if port else "")


def sql_text(statements: Iterable[str]) -> str | None:
    """The SQL facet's text: the statements run, minus session control and catalog reads, in order."""
    kept = []
    for statement in statements:
        text = statement.strip().rstrip(";").strip()
        head = text.upper()
        if not text or head.startswith(_SKIPPED_PREFIXES) or head.startswith("SELECT SYSTEM$"):
            continue
        if text not in kept:
            kept.append(text)
    return ";\n".join(kept) + ";" if kept else None


# ---------------------------------------------------------------------------------- per operator


def extract_lineage(source_url: str, manifest: Mapping[str, Any] | None) -> Lineage:
    """REST extract: the endpoint in, the destination folder out with records/bytes/files written."""
    if manifest is None:
        return Lineage(inputs=(http_dataset(source_url),))
    files = list(manifest.get("files") or [])
    stats = OutputStats(
        rows=int(manifest.get("records") or 0),
        bytes=sum(int(f.get("bytes") or 0) for f in files),
        files=len(files),
    )
    return Lineage(
        inputs=(http_dataset(source_url),),
        outputs=(storage_dataset(str(manifest["destination"]), stats=stats),),
    )


def variant_load_schema(
    load_as: str, columns: Sequence[tuple[str, str]] | None, metadata: Sequence[tuple[str, str]]
) -> tuple[SchemaField, ...] | None:
    """The loaded table's columns when the operator decides them (variant shape or explicit columns)."""
    if load_as == "variant":
        base: list[tuple[str, str]] = [("RECORD", "VARIANT")]
    elif columns:
        base = list(columns)
    else:
        return None  # inferred from the files: Snowflake decides
    return tuple(SchemaField(name, kind) for name, kind in [*base, *metadata])


def load_lineage(
    context: SnowflakeContext,
    table: Sequence[str],
    *,
    source_url: str | None,
    summary: Mapping[str, Any] | None,
    file_bytes: int | None = None,
    schema: Sequence[SchemaField] | None = None,
    statements: Sequence[str] = (),
) -> Lineage:
    """Stage load: the staged S3 prefix in (when the stage URL is known), the table out."""
    stats = None
    if summary is not None:
        stats = OutputStats(
            rows=int(summary.get("rows_loaded") or 0),
            bytes=file_bytes,
            files=int(summary.get("files_loaded") or 0),
        )
    return Lineage(
        inputs=(storage_dataset(source_url),) if source_url else (),
        outputs=(snowflake_table(context, table, schema=schema, stats=stats),),
        sql=sql_text(statements),
        dialect=SNOWFLAKE,
    )


def common_prefix(uris: Sequence[str]) -> str | None:
    """The folder all ``uris`` share (``s3://b/x/2026/part-1``, ``.../part-2`` -> ``s3://b/x/2026/``)."""
    if not uris:
        return None
    folders = [u.rsplit("/", 1)[0] + "/" for u in uris]
    prefix = folders[0]
    for folder in folders[1:]:
        while not folder.startswith(prefix):
            shorter = prefix.rstrip("/").rsplit("/", 1)[0] + "/"
            if shorter == prefix:
                return None  # nothing in common
            prefix = shorter
    return prefix if "://" in prefix and prefix.split("://", 1)[1].strip("/") else None


def merge_lineage(
    context: SnowflakeContext,
    *,
    source: Sequence[str] | None,
    target: Sequence[str],
    counts: Mapping[str, Any] | None,
    target_columns: Sequence[SchemaField] | None = None,
    statements: Sequence[str] = (),
) -> Lineage:
    """Stream merge: the stream's base table in, the target out (rows changed = inserted+updated+deleted)."""
    stats = None
    if counts is not None:
        stats = OutputStats(rows=sum(int(counts.get(k) or 0) for k in ("inserted", "updated", "deleted")))
    return Lineage(
        inputs=(snowflake_table(context, source),) if source else (),
        outputs=(snowflake_table(context, target, schema=target_columns, stats=stats),),
        sql=sql_text(statements),
        dialect=SNOWFLAKE,
    )


def quality_lineage(
    namespace: str,
    table: str,
    results: Sequence[Mapping[str, Any]] | None,
    *,
    statements: Sequence[str] = (),
    dialect: str | None = None,
) -> Lineage:
    """Quality gate: the checked table as an input carrying one assertion per check."""
    assertions = None
    if results is not None:
        assertions = tuple(
            Assertion(assertion=str(r["name"]), success=r.get("status") == "pass", column=r.get("column"))
            for r in results
        )
    return Lineage(
        inputs=(Dataset(namespace=namespace, name=table, assertions=assertions),),
        sql=sql_text(statements),
        dialect=dialect,
    )


@dataclass(frozen=True)
class DbtRelations:
    """What a dbt run read and built, as ``(database, schema, name)`` without the account."""

    inputs: tuple[tuple[str, str, str], ...] = ()
    outputs: tuple[tuple[tuple[str, str, str], int | None], ...] = ()


def dbt_relations(
    manifest: Manifest | Mapping[str, Any] | None, results: Sequence[Mapping[str, Any]]
) -> DbtRelations:
    """Relations built by the nodes that succeeded, and the sources/models they read that this run did not
    build. ``results`` are the operator's node summaries (``unique_id``, ``status``, ``rows_affected``)."""
    parsed = Manifest.of(manifest)
    if parsed is None:
        return DbtRelations()
    built = parsed.built(results)
    return DbtRelations(
        inputs=tuple(parsed.upstream_relations([node.unique_id for node, _, _ in built])),
        outputs=tuple((relation, result.get("rows_affected")) for _, relation, result in built),
    )


def dbt_lineage(context: SnowflakeContext, relations: DbtRelations) -> Lineage:
    return Lineage(
        inputs=tuple(snowflake_table(context, rel) for rel in relations.inputs),
        outputs=tuple(
            snowflake_table(context, rel, stats=OutputStats(rows=rows) if rows is not None else None)
            for rel, rows in relations.outputs
        ),
    )


# ------------------------------------------------------------------------------------ Airflow edge


def snowflake_context(conn_id: str) -> SnowflakeContext:
    """Account, database and schema of a Snowflake connection (read from it; nothing is contacted).

    The namespace is the Snowflake provider's: ``snowflake://`` + ``fix_account_name(account)``. (The provider's
    hook derives it from the URI host, which is a local address when ``host`` is set in the extras; the account
    names the same Snowflake account either way.)
    """
    from airflow.providers.snowflake.utils.openlineage import fix_account_name

    from airflow_provider_dataeng.hooks.snowflake import SnowflakeHook
    from airflow_provider_dataeng.sql.identifiers import parse_object_name

    params = SnowflakeHook(snowflake_conn_id=conn_id)._get_conn_params()

    def part(value: Any) -> str | None:
        return parse_object_name(str(value), param="connection", max_parts=1).name if value else None

    account = str(params.get("account") or "")
    return SnowflakeContext(
        namespace=f"snowflake://{fix_account_name(account)}",
        account=account,
        database=part(params.get("database")),
        schema=part(params.get("schema")),
    )


def to_operator_lineage(lineage: Lineage | None) -> OperatorLineage | None:
    """The provider's ``OperatorLineage`` for ``lineage``; ``None`` without the OpenLineage provider."""
    if lineage is None:
        return None
    try:
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.event_v2 import InputDataset, OutputDataset
        from openlineage.client.facet_v2 import (
            data_quality_assertions_dataset,
            output_statistics_output_dataset,
            schema_dataset,
            sql_job,
        )
    except ImportError:
        log.debug("apache-airflow-providers-openlineage is not installed: no lineage reported")
        return None

    def facets(ds: Dataset) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if ds.schema is not None:
            out["schema"] = schema_dataset.SchemaDatasetFacet(
                fields=[schema_dataset.SchemaDatasetFacetFields(name=f.name, type=f.type) for f in ds.schema]
            )
        return out

    inputs = []
    for ds in lineage.inputs:
        input_facets: dict[str, Any] = {}
        if ds.assertions is not None:
            input_facets["dataQualityAssertions"] = (
                data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
                    assertions=[
                        data_quality_assertions_dataset.Assertion(
                            assertion=a.assertion, success=a.success, column=a.column
                        )
                        for a in ds.assertions
                    ]
                )
            )
        inputs.append(
            InputDataset(namespace=ds.namespace, name=ds.name, facets=facets(ds), inputFacets=input_facets)
        )
    outputs = []
    for ds in lineage.outputs:
        output_facets: dict[str, Any] = {}
        if ds.stats is not None:
            output_facets["outputStatistics"] = (
                output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                    rowCount=ds.stats.rows, size=ds.stats.bytes, fileCount=ds.stats.files
                )
            )
        outputs.append(
            OutputDataset(namespace=ds.namespace, name=ds.name, facets=facets(ds), outputFacets=output_facets)
        )
    job_facets: dict[str, Any] = {}
    if lineage.sql:
        job_facets["sql"] = sql_job.SQLJobFacet(query=lineage.sql, dialect=lineage.dialect)
    return OperatorLineage(inputs=inputs, outputs=outputs, run_facets={}, job_facets=job_facets)
