"""The per-node results a ``DbtTaskGroup``'s producer publishes and its node tasks read (pure, no I/O).

A record is a small JSON-able dict: ``unique_id``, ``status`` (dbt's, lower case), ``message``,
``execution_time``, ``rows_affected``, ``failures``, ``compiled_path``, ``invocation_id`` (the dbt run that
produced it) and ``producer_try`` (the producer's try number, so a re-run producer's results replace the old
ones and a node task never reads a stale record).

It also says where the node wrote and what it read, as the build's own run resolved them (``relation``:
``[database, schema, identifier]`` or None, ``materialized``, and in the final records ``reads``: the
relations it read): the deploy-time manifest a group renders from may name another database than the
target the build ran against, so a node task's assets and lineage come from the record, not from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_dataeng.dbt.manifest import BUILT_STATUSES, Manifest, Relation, builds_relation
from airflow_provider_dataeng.dbt.results import NodeResult, RunSummary

NODE_FINISHED = "NodeFinished"


def record_from_result(
    node: NodeResult, *, invocation_id: str | None, producer_try: int, manifest: Manifest | None = None
) -> dict[str, Any]:
    """A record from a node of ``run_results.json`` (the authoritative, final form); ``manifest`` is the
    run's own ``manifest.json`` (what it built and read)."""
    record = {
        **node.summary(),
        "failures": node.failures,
        "compiled_path": node.compiled_path,
        "invocation_id": invocation_id,
        "producer_try": producer_try,
    }
    if manifest is not None and (parsed := manifest.get(node.unique_id)) is not None:
        record["relation"] = list(parsed.relation) if parsed.builds_relation and parsed.relation else None
        record["materialized"] = parsed.materialized
        record["reads"] = [list(r) for r in manifest.upstream_relations([node.unique_id])]
    return record


def record_from_event(event: Mapping[str, Any], *, producer_try: int) -> dict[str, Any] | None:
    """A record from dbt's ``NodeFinished`` event (as ``msg_to_dict`` gives it); None for other events."""
    info = event.get("info") or {}
    if info.get("name") != NODE_FINISHED:
        return None
    data = event.get("data") or {}
    result = data.get("run_result") or {}
    node_info = data.get("node_info") or {}
    unique_id = node_info.get("unique_id")
    if not unique_id:
        return None
    rows = (result.get("adapter_response") or {}).get("rows_affected")
    failures = result.get("failures")
    where = node_info.get("node_relation") or {}
    parts = [where.get("database"), where.get("schema"), where.get("alias")]
    builds = builds_relation(node_info.get("resource_type"), node_info.get("materialized"))
    return {
        "unique_id": unique_id,
        "status": str(result.get("status") or node_info.get("node_status") or "").lower(),
        "execution_time": round(float(result.get("execution_time") or 0.0), 3),
        "rows_affected": int(rows)
        if isinstance(rows, int | float | str) and str(rows).lstrip("-").isdigit() and int(rows) >= 0
        else None,
        "message": result.get("message"),
        "failures": int(failures) if isinstance(failures, int | float) else None,
        "compiled_path": None,
        "invocation_id": info.get("invocation_id"),
        "producer_try": producer_try,
        "relation": [str(p) for p in parts] if builds and all(parts) else None,
        "materialized": node_info.get("materialized"),
    }


def node_results(records: Sequence[Mapping[str, Any]]) -> RunSummary:
    """Records as a :class:`RunSummary`, to log and describe them like the operator's own runs."""
    nodes = [
        NodeResult(
            unique_id=r["unique_id"],
            status=r["status"],
            execution_time=float(r.get("execution_time") or 0.0),
            rows_affected=r.get("rows_affected"),
            message=r.get("message"),
            failures=r.get("failures"),
            compiled_path=r.get("compiled_path"),
        )
        for r in records
    ]
    return RunSummary(elapsed=sum(n.execution_time for n in nodes), nodes=nodes)


def check_results(
    records: Mapping[str, Mapping[str, Any] | None],
    producer: Mapping[str, Any] | None,
    producer_try: int,
) -> dict[str, Any] | None:
    """What a waiting node task learns from the results location, or None to keep waiting.

    ``{"state": "ready", "records": [...]}`` when every node has a record of ``producer_try``;
    ``{"state": "missing", "records": [...], "producer": {...}}`` when that producer try ended without them
    (dbt itself failed, or the node was not part of the build).
    """
    current = [r for r in records.values() if r is not None and r.get("producer_try") == producer_try]
    if len(current) == len(records):
        return {"state": "ready", "records": current}
    if (
        producer
        and producer.get("try_number") == producer_try
        and producer.get("state") in ("done", "failed")
    ):
        return {"state": "missing", "records": current, "producer": dict(producer)}
    return None


def _relation(value: Sequence[Any]) -> Relation:
    database, schema, name = (str(part) for part in value)
    return Relation(database, schema, name)


def built_relations(records: Sequence[Mapping[str, Any]]) -> list[tuple[Relation, dict[str, Any]]]:
    """The relations the records' nodes built (status success), each with its asset event extra, as
    :func:`airflow_provider_dataeng.assets.dbt_built_relations` gives them for a run of one's own."""
    from airflow_provider_dataeng.assets import dbt_built_extra

    return [
        (
            _relation(r["relation"]),
            dbt_built_extra(r["unique_id"], r.get("rows_affected"), r.get("materialized")),
        )
        for r in records
        if r.get("status") == "success" and r.get("relation")
    ]


def read_relations(records: Sequence[Mapping[str, Any]]) -> list[Relation] | None:
    """The relations the records' built nodes read (each once), or None when a record does not say (a record
    from dbt's event, before the final one replaced it)."""
    built = [r for r in records if r.get("status") in BUILT_STATUSES and r.get("relation")]
    if any("reads" not in r for r in built):
        return None
    own = {_relation(r["relation"]) for r in built}
    reads: list[Relation] = []
    for r in built:
        for relation in map(_relation, r["reads"]):
            if relation not in own and relation not in reads:
                reads.append(relation)
    return reads
