"""dbt's ``manifest.json`` read into typed nodes: what each node is, the relation it builds, what it reads.

Pure (no dbt import, no Airflow): :meth:`Manifest.load` reads the JSON file, everything else works on the
parsed mapping, so reading a manifest costs what ``json.load`` costs. Nodes are built on first access, so
a large manifest is cheap to wrap when only a few nodes are looked at.

The shape read is dbt-core's manifest (schema v12, dbt-core 1.8 to 1.11): ``nodes`` (models, seeds,
snapshots, tests, ...) and ``sources`` keyed by unique id, each with ``resource_type``, ``database``,
``schema``, ``alias`` (sources: ``identifier``), ``relation_name``, ``config.materialized``,
``depends_on.nodes``. Missing keys are tolerated (older manifests, small hand-written ones in tests).

Relations are Snowflake names, as Snowflake resolves them: dbt's ``relation_name`` (the name dbt writes in
its SQL, quoted parts kept exactly, unquoted ones upper-cased), else ``database.schema.alias`` upper-cased
(dbt-snowflake quotes nothing by default). Ephemeral models, tests and analyses build no relation.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

from airflow_provider_dataeng.sql.identifiers import IdentifierError, parse_object_name

# Resource types that build a relation in the warehouse (a model only when not ephemeral).
BUILT_RESOURCE_TYPES = ("model", "seed", "snapshot")
# Node statuses of a result that leave the node's relation built (dbt ``warn`` still builds it).
BUILT_STATUSES = ("success", "pass", "warn")


def builds_relation(resource_type: str | None, materialized: str | None) -> bool:
    """True when dbt writes a relation for a node of this type and materialization (not ephemeral)."""
    return resource_type in BUILT_RESOURCE_TYPES and materialized != "ephemeral"


class Relation(NamedTuple):
    """A warehouse relation ``(database, schema, name)``, normalized as Snowflake resolves it."""

    database: str
    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.database}.{self.schema}.{self.name}"


@dataclass(frozen=True)
class Node:
    """One manifest node or source."""

    unique_id: str
    resource_type: str
    name: str
    package_name: str | None
    database: str | None
    schema: str | None
    alias: str | None  # a source's identifier
    relation_name: str | None
    materialized: str | None
    depends_on: tuple[str, ...]
    tags: tuple[str, ...] = ()
    fqn: tuple[str, ...] = ()
    original_file_path: str | None = None
    compiled_path: str | None = None

    @classmethod
    def from_dict(cls, unique_id: str, raw: Mapping[str, Any]) -> Node:
        resource_type = str(raw.get("resource_type") or unique_id.split(".", 1)[0])
        config: Mapping[str, Any] = raw.get("config") or {}
        alias = raw.get("identifier") if resource_type == "source" else raw.get("alias")
        return cls(
            unique_id=unique_id,
            resource_type=resource_type,
            name=str(raw.get("name") or unique_id.rsplit(".", 1)[-1]),
            package_name=raw.get("package_name"),
            database=raw.get("database"),
            schema=raw.get("schema"),
            alias=alias or raw.get("name"),
            relation_name=raw.get("relation_name"),
            materialized=config.get("materialized"),
            depends_on=tuple((raw.get("depends_on") or {}).get("nodes") or ()),
            tags=tuple(raw.get("tags") or ()),
            fqn=tuple(raw.get("fqn") or ()),
            original_file_path=raw.get("original_file_path"),
            compiled_path=raw.get("compiled_path"),
        )

    @property
    def builds_relation(self) -> bool:
        """True for sources and for models, seeds and snapshots that are not ephemeral."""
        return self.resource_type == "source" or builds_relation(self.resource_type, self.materialized)

    @cached_property
    def relation(self) -> Relation | None:
        """The relation this node builds (or a source names); None when it builds none or is not placed."""
        if not self.builds_relation:
            return None
        if self.relation_name:
            try:
                parts = parse_object_name(self.relation_name, param="relation_name").parts
            except IdentifierError:
                parts = ()
            if len(parts) == 3:
                return Relation(*parts)
        if not self.database or not self.schema or not self.alias:
            return None
        return Relation(self.database.upper(), self.schema.upper(), self.alias.upper())


class Manifest:
    """A dbt manifest: nodes and sources by unique id, with the lookups lineage, assets and selection need.

    ``Manifest.load(path)`` reads ``manifest.json``; ``Manifest(data)`` wraps an already parsed mapping.
    """

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._raw_nodes: Mapping[str, Any] = data.get("nodes") or {}
        self._raw_sources: Mapping[str, Any] = data.get("sources") or {}
        self.metadata: Mapping[str, Any] = data.get("metadata") or {}
        self._cache: dict[str, Node] = {}
        self._children: dict[str, list[str]] | None = None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Manifest:
        """Read ``manifest.json`` (``FileNotFoundError`` when it is not there)."""
        with open(path, "rb") as handle:
            return cls(json.load(handle))

    @classmethod
    def of(cls, manifest: Manifest | Mapping[str, Any] | None) -> Manifest | None:
        """``manifest`` as a Manifest: a parsed mapping is wrapped, a Manifest or None is returned as is."""
        if manifest is None or isinstance(manifest, Manifest):
            return manifest
        return cls(manifest)

    @property
    def project_name(self) -> str | None:
        return self.metadata.get("project_name")

    @property
    def dbt_version(self) -> str | None:
        return self.metadata.get("dbt_version")

    def __contains__(self, unique_id: object) -> bool:
        return unique_id in self._raw_nodes or unique_id in self._raw_sources

    def get(self, unique_id: str) -> Node | None:
        """The node or source with this unique id, or None."""
        node = self._cache.get(unique_id)
        if node is None:
            raw = self._raw_nodes.get(unique_id) or self._raw_sources.get(unique_id)
            if raw is None:
                return None
            node = self._cache[unique_id] = Node.from_dict(unique_id, raw)
        return node

    def nodes(self, *resource_types: str) -> Iterator[Node]:
        """Nodes and sources in manifest order, only those of ``resource_types`` when given."""
        for unique_id in [*self._raw_nodes, *self._raw_sources]:
            node = self.get(unique_id)
            if node is not None and (not resource_types or node.resource_type in resource_types):
                yield node

    def models(self) -> list[Node]:
        """Every model, ephemeral ones included, in manifest order."""
        return list(self.nodes("model"))

    def sources(self) -> list[Node]:
        return list(self.nodes("source"))

    def parents(self, unique_id: str) -> list[Node]:
        """The nodes and sources ``unique_id`` depends on directly (unknown ids left out)."""
        node = self.get(unique_id)
        parents = (self.get(uid) for uid in (node.depends_on if node else ()))
        return [p for p in parents if p is not None]

    def children(self, unique_id: str) -> list[Node]:
        """The nodes that depend on ``unique_id`` directly (models, tests, ...), in manifest order."""
        if self._children is None:
            self._children = {}
            for child in self.nodes():
                for parent in child.depends_on:
                    self._children.setdefault(parent, []).append(child.unique_id)
        children = (self.get(uid) for uid in self._children.get(unique_id, []))
        return [child for child in children if child is not None]

    def built(self, results: Sequence[Mapping[str, Any]]) -> list[tuple[Node, Relation, Mapping[str, Any]]]:
        """``(node, relation, result)`` of every relation a run built, in result order.

        ``results`` are node results with ``unique_id`` and ``status`` (the operator's summaries); a node
        counts when it is a model, seed or snapshot that builds a relation and its status is one of
        ``BUILT_STATUSES``.
        """
        built = []
        for result in results:
            node = self.get(str(result.get("unique_id", "")))
            if node is None or node.resource_type not in BUILT_RESOURCE_TYPES:
                continue
            if result.get("status") not in BUILT_STATUSES or node.relation is None:
                continue
            built.append((node, node.relation, result))
        return built

    def upstream_relations(self, unique_ids: Sequence[str]) -> list[Relation]:
        """The relations the nodes ``unique_ids`` read directly and did not build themselves.

        Ephemeral parents are looked through (their SQL is inlined, so their own parents are read).
        Nodes are visited in sorted order; each relation is listed once.
        """
        own = set(unique_ids)
        read: list[Relation] = []
        for unique_id in sorted(own):
            pending, seen = list(self.parents(unique_id)), set()
            while pending:
                parent = pending.pop(0)
                if parent.unique_id in own or parent.unique_id in seen:
                    continue
                seen.add(parent.unique_id)
                if parent.resource_type == "model" and parent.materialized == "ephemeral":
                    pending.extend(self.parents(parent.unique_id))
                elif parent.relation is not None and parent.relation not in read:
                    read.append(parent.relation)
        return read
