"""A generated dbt manifest of any size: sources, seeds, snapshots and N models in layers, with tests.

The layout a large project has: ``models/staging/<source>/stg_<source>__<table>`` (views, one per source
table), then layers of intermediate and mart models per domain (``models/<layer>/<domain>/``) reading 1-3
models of earlier layers, tagged by domain (plus ``nightly`` on every third, ``pii`` on some staging models),
every seventh incremental; ``unique`` and ``not_null`` tests on every model, ``relationships`` on every fifth.
The same JSON shape as dbt's manifest.json (v12), deterministic for a given N.

``python -m tests.dbt.manifest_factory [N]`` prints how long selection takes on it.
"""

from __future__ import annotations

import random
import sys
import time
from typing import Any

PROJECT = "bigco"
DOMAINS = ("sales", "finance", "marketing", "ops", "product")
SOURCES = ("erp", "crm", "web", "billing", "support")
TABLES = ("accounts", "orders", "events", "invoices", "tickets")


def _node(resource_type: str, name: str, path: str, fqn: list[str], **extra: Any) -> dict[str, Any]:
    unique_id = f"{resource_type}.{PROJECT}.{name}"
    config = {
        "enabled": True,
        "materialized": extra.pop("materialized", resource_type),
        "tags": [],
        "meta": {},
    }
    config.update(extra.pop("config", {}))
    node = {
        "unique_id": unique_id,
        "name": name,
        "resource_type": resource_type,
        "package_name": PROJECT,
        "fqn": [PROJECT, *fqn],
        "original_file_path": path,
        "patch_path": None,
        "tags": list(config["tags"]),
        "config": config,
        "depends_on": {"macros": [], "nodes": extra.pop("depends_on", [])},
        "raw_code": "select 1",
    }
    node.update(extra)
    return node


def generate_manifest(models: int = 500, seed: int = 7) -> dict[str, Any]:
    """A manifest with ``models`` models (at least one per source table) and their tests."""
    rng = random.Random(seed)
    sources: dict[str, Any] = {}
    nodes: dict[str, Any] = {}
    for source in SOURCES:
        for table in TABLES:
            uid = f"source.{PROJECT}.{source}.{table}"
            sources[uid] = {
                **_node(
                    "source",
                    table,
                    f"models/staging/{source}/_{source}__sources.yml",
                    ["staging", source, source, table],
                ),
                "unique_id": uid,
                "source_name": source,
                "config": {"enabled": True, "tags": []},
            }
    for number in range(5):
        seed_node = _node(
            "seed", f"ref_codes_{number}", f"seeds/ref_codes_{number}.csv", [f"ref_codes_{number}"]
        )
        seed_node["raw_code"] = ""
        nodes[seed_node["unique_id"]] = seed_node
    for source in SOURCES:
        snap = _node(
            "snapshot",
            f"{source}_accounts_snapshot",
            f"snapshots/{source}_accounts_snapshot.sql",
            ["snapshots", f"{source}_accounts_snapshot", f"{source}_accounts_snapshot"],
            depends_on=[f"source.{PROJECT}.{source}.accounts"],
            config={"tags": ["nightly"], "strategy": "timestamp"},
        )
        nodes[snap["unique_id"]] = snap
    layers: list[list[str]] = [[]]
    for uid in sorted(sources):
        _, _, source, table = uid.split(".")
        name = f"stg_{source}__{table}"
        tags = ["pii"] if table == "accounts" else []
        model = _node(
            "model",
            name,
            f"models/staging/{source}/{name}.sql",
            ["staging", source, name],
            depends_on=[uid],
            config={"materialized": "view", "tags": tags},
        )
        nodes[model["unique_id"]] = model
        layers[0].append(model["unique_id"])
    remaining = max(models - len(layers[0]), 0)
    layer_names = ("intermediate", "intermediate", "marts", "marts")
    per_layer = -(-remaining // len(layer_names)) if remaining else 0
    count = 0
    for depth, layer in enumerate(layer_names, start=1):
        layers.append([])
        for _ in range(min(per_layer, remaining - count)):
            domain = DOMAINS[count % len(DOMAINS)]
            prefix = "int" if layer == "intermediate" else ("fct" if count % 2 else "dim")
            name = f"{prefix}_{domain}_{count:04d}"
            earlier = [uid for previous in layers[:depth] for uid in previous]
            parents = rng.sample(earlier, k=min(len(earlier), rng.randint(1, 3)))
            if count % 11 == 0:
                parents.append(f"seed.{PROJECT}.ref_codes_{count % 5}")
            tags = [domain] + (["nightly"] if count % 3 == 0 else [])
            materialized = "incremental" if count % 7 == 0 else ("table" if layer == "marts" else "view")
            model = _node(
                "model",
                name,
                f"models/{layer}/{domain}/{name}.sql",
                [layer, domain, name],
                depends_on=sorted(parents),
                config={"materialized": materialized, "tags": tags},
            )
            nodes[model["unique_id"]] = model
            layers[-1].append(model["unique_id"])
            count += 1
    for uid in [u for layer in layers for u in layer]:
        _add_tests(nodes, uid)
    parent_map = {uid: list(n["depends_on"]["nodes"]) for uid, n in {**nodes, **sources}.items()}
    return {
        "metadata": {"project_name": PROJECT, "dbt_version": "generated", "dbt_schema_version": "v12"},
        "nodes": nodes,
        "sources": sources,
        "parent_map": parent_map,
        "selectors": {},
    }


def _add_tests(nodes: dict[str, Any], uid: str) -> None:
    model = nodes[uid]
    name = model["name"]
    folder = "/".join(model["original_file_path"].split("/")[:-1])
    for test in ("unique", "not_null"):
        test_node = _node(
            "test",
            f"{test}_{name}_id",
            f"{folder}/_{name}.yml",
            [*model["fqn"][1:-1], f"{test}_{name}_id"],
            depends_on=[uid],
            materialized="test",
            test_metadata={"name": test, "kwargs": {"column_name": "id"}},
        )
        nodes[test_node["unique_id"]] = test_node
    other = [p for p in model["depends_on"]["nodes"] if p.startswith("model.")]
    if int.from_bytes(name.encode(), "little") % 5 == 0 and other:
        test_node = _node(
            "test",
            f"relationships_{name}_id__{other[0].split('.')[-1]}",
            f"{folder}/_{name}.yml",
            [*model["fqn"][1:-1], f"relationships_{name}"],
            depends_on=sorted([uid, other[0]]),
            materialized="test",
            test_metadata={"name": "relationships", "kwargs": {}},
        )
        nodes[test_node["unique_id"]] = test_node


def timings(models: int = 500) -> dict[str, float]:
    """Seconds (best of 5) for: reading the manifest into a graph, typical selections, rendering a plan."""
    from airflow_provider_dataeng.dbt.plan import render_plan
    from airflow_provider_dataeng.dbt.selection import SelectionGraph, select_nodes

    manifest = generate_manifest(models)
    graph = SelectionGraph.from_manifest(manifest)

    def best(action: Any) -> float:
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            action()
            runs.append(time.perf_counter() - start)
        return min(runs)

    everything = select_nodes(graph).unique_ids
    return {
        "nodes": float(len(graph.nodes)),
        "graph from manifest": best(lambda: SelectionGraph.from_manifest(manifest)),
        "select everything": best(lambda: select_nodes(graph)),
        "select tag:sales+": best(lambda: select_nodes(graph, "tag:sales+")),
        "select +<the last finance mart>": best(lambda: select_nodes(graph, f"+{_a_mart(graph)}")),
        "select path:models/marts,config.materialized:table --exclude tag:nightly": best(
            lambda: select_nodes(graph, "path:models/marts,config.materialized:table", "tag:nightly")
        ),
        "select @stg_erp__orders": best(lambda: select_nodes(graph, "@stg_erp__orders")),
        "render_plan everything, after_each": best(lambda: render_plan(graph, everything, "after_each")),
        "render_plan everything, none": best(lambda: render_plan(graph, everything, "none")),
    }


def _a_mart(graph: Any) -> str:
    return max(n.name for n in graph.nodes.values() if n.name.startswith("fct_finance"))


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    for label, seconds in timings(size).items():
        print(
            f"{label:<75} {seconds if label == 'nodes' else seconds * 1000:>8.2f}{'' if label == 'nodes' else ' ms'}"
        )
