"""The generated manifest of manifest_factory.py as a dbt project on disk, with dbt's checksums filled in.

Every model, seed and snapshot gets its file (SQL text of a realistic size, seeds a few CSV rows), every YAML
file a node names exists, ``dbt_project.yml`` carries the project's name, and each node's ``checksum`` is
what dbt computes (sha256 of the stripped text), so ``check_manifest`` finds the pair current.
"""

from __future__ import annotations

import copy
import hashlib
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tests.dbt.manifest_factory import PROJECT, generate_manifest

_SQL = """{{{{ config(materialized='{materialized}') }}}}

with source as (
    select * from {parents}
),
renamed as (
    select
        id,
        {columns}
    from source
)
select * from renamed
"""


def write_project(root: Path, models: int = 500) -> dict[str, Any]:
    """Write the project under ``root``; return its manifest (checksums set, parsed just after writing)."""
    manifest = copy.deepcopy(generate_manifest(models))
    (root / "dbt_project.yml").write_text(
        f"name: {PROJECT}\nversion: '1.0'\nconfig-version: 2\nprofile: {PROJECT}\n", encoding="utf-8"
    )
    for node in [*manifest["nodes"].values(), *manifest["sources"].values()]:
        path = root / node["original_file_path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        if node["resource_type"] in ("test", "source"):
            if not path.exists():
                path.write_text("version: 2\n", encoding="utf-8")
            if node["resource_type"] == "test":
                node["checksum"] = {"name": "none", "checksum": ""}
            continue
        if node["resource_type"] == "seed":
            text = "code,label\n" + "".join(f"{i},label {i}\n" for i in range(20))
        else:
            parents = ", ".join(p.split(".")[-1] for p in node["depends_on"]["nodes"]) or "dual"
            columns = ",\n        ".join(f"column_{i} as {node['name']}_c{i}" for i in range(25))
            text = _SQL.format(materialized=node["config"]["materialized"], parents=parents, columns=columns)
        path.write_text(text, encoding="utf-8")
        node["checksum"] = {"name": "sha256", "checksum": hashlib.sha256(text.strip().encode()).hexdigest()}
    parsed_at = datetime.fromtimestamp(time.time() + 1, timezone.utc).isoformat().replace("+00:00", "Z")
    manifest["metadata"].update({"generated_at": parsed_at, "invocation_started_at": parsed_at})
    return manifest
