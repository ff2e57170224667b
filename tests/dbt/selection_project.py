"""The example dbt project plus files that give every selection method something to find, and dbt's own answers.

The extras (a seed, a snapshot, a tagged model folder with its own tests, a singular test, selectors.yml)
are written into a copy of ``dags/dbt``; ``dags/dbt`` itself stays the example the DAGs run.
``python -m tests.dbt.selection_project`` rebuilds ``fixtures/selection_manifest.json``: the manifest from
``dbt parse`` trimmed to what the selection engine reads, plus ``dbt ls`` for each selection in SELECTIONS.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).parent / "fixtures" / "selection_manifest.json"

EXTRA_FILES = {
    "seeds/country_codes.csv": "code,name\nDE,Germany\nFR,France\n",
    "seeds/_seeds.yml": """version: 2
seeds:
  - name: country_codes
    config:
      tags: [reference]
    columns:
      - name: code
        tests: [unique]
""",
    "snapshots/customers_snapshot.sql": """{% snapshot customers_snapshot %}
{{ config(unique_key='customer_id', strategy='timestamp', updated_at='updated_at',
          target_schema='SNAPSHOTS', tags=['nightly']) }}
select * from {{ source('staging', 'customers') }}
{% endsnapshot %}
""",
    "models/marts/finance/fct_revenue.sql": """{{ config(materialized='view', tags=['finance', 'nightly'],
           meta={'owner': 'finance'}) }}
select s.order_date, c.name as country, sum(s.amount) as revenue
from {{ ref('fct_sales') }} as s
left join {{ ref('dim_customer') }} as d on d.customer_id = s.customer_id
left join {{ ref('country_codes') }} as c on c.code = d.country
group by 1, 2
""",
    "models/marts/finance/revenue_by_country.sql": """{{ config(tags=['finance'], enabled=true) }}
select country, sum(revenue) as revenue from {{ ref('fct_revenue') }} group by 1
""",
    "models/marts/finance/_finance.yml": """version: 2
models:
  - name: fct_revenue
    columns:
      - name: order_date
        tests: [not_null]
  - name: revenue_by_country
    config:
      tags: [reporting]
    columns:
      - name: country
        tests:
          - unique:
              config:
                severity: warn
""",
    "tests/assert_revenue_not_negative.sql": "select * from {{ ref('fct_revenue') }} where revenue < 0\n",
    "selectors.yml": """selectors:
  - name: nightly
    definition:
      union:
        - method: tag
          value: nightly
        - method: config.materialized
          value: incremental
  - name: finance_without_reporting
    definition:
      union:
        - method: path
          value: models/marts/finance
        - exclude:
            - method: tag
              value: reporting
  - name: marts_tables_and_parents
    definition:
      intersection:
        - method: fqn
          value: marts
          parents: true
        - method: resource_type
          value: model
  - name: around_dim_customer
    definition:
      method: fqn
      value: dim_customer
      childrens_parents: true
  - name: one_level_around_fct_sales
    definition:
      union:
        - method: fqn
          value: fct_sales
          parents: true
          parents_depth: 1
          children: true
          children_depth: 1
  - name: nightly_cautious
    definition:
      method: tag
      value: nightly
      indirect_selection: cautious
  - name: nightly_or_staging
    definition:
      union:
        - method: selector
          value: nightly
        - "path:models/staging"
""",
}

# Each entry: (select, exclude) as given to `dbt ls --select ... --exclude ...`, or ("selector:<name>", None).
SELECTIONS: list[tuple[str | None, str | None]] = [
    (None, None),
    ("stg_orders", None),
    ("dim_customer+", None),
    ("+dim_customer", None),
    ("1+fct_sales", None),
    ("fct_sales+1", None),
    ("@dim_customer", None),
    ("@stg_customers", None),
    ("tag:nightly", None),
    ("tag:fin*", None),
    ("tag:nightly+", None),
    ("path:models/staging", None),
    ("path:models/marts/finance/fct_revenue.sql", None),
    ("path:models/*/finance", None),
    ("path:models/marts/_marts.yml", None),
    ("path:seeds", None),
    ("models/marts", None),
    ("fct_revenue.sql", None),
    ("file:stg_*", None),
    ("fqn:dataeng_demo.marts.*", None),
    ("fqn:marts.finance", None),
    ("marts.finance.*", None),
    ("dataeng_demo.staging.stg_orders", None),
    ("stg_*", None),
    ("*", None),
    ("config.materialized:table", None),
    ("config.materialized:incremental+", None),
    ("config.severity:warn", None),
    ("config.meta.owner:finance", None),
    ("config.enabled:true", None),
    ("config.unique_key:order_id", None),
    ("source:staging", None),
    ("source:staging.orders", None),
    ("source:staging.customers+", None),
    ("source:*+1", None),
    ("resource_type:seed", None),
    ("resource_type:snapshot resource_type:seed", None),
    ("resource_type:test", None),
    ("resource_type:source", None),
    ("package:dataeng_demo", None),
    ("package:this,tag:reporting", None),
    ("test_name:relationships", None),
    ("test_type:singular", None),
    ("test_type:generic,dim_customer", None),
    ("stg_orders stg_customers", None),
    ("tag:finance,config.materialized:view", None),
    ("+fct_revenue,resource_type:model", None),
    ("stg_orders+", "fct_sales"),
    ("path:models", "tag:finance tag:nightly"),
    (None, "path:models/staging"),
    ("marts", "tag:finance,resource_type:model"),
    ("selector:nightly", None),
    ("selector:finance_without_reporting", None),
    ("selector:marts_tables_and_parents", None),
    ("selector:around_dim_customer", None),
    ("selector:one_level_around_fct_sales", None),
    ("selector:nightly_cautious", None),
    ("selector:nightly_or_staging", None),
]

PROFILE = """dataeng_demo:
  target: local
  outputs:
    local:
      type: snowflake
      account: fakesnow
      user: local
      password: local
      database: DEMO
      schema: PUBLIC
      host: 127.0.0.1
      port: {port}
      protocol: http
      connect_retries: 0
      threads: 1
"""

# What the selection engine reads from a manifest; everything else is dropped from the fixture.
NODE_KEYS = (
    "unique_id",
    "name",
    "resource_type",
    "package_name",
    "fqn",
    "tags",
    "original_file_path",
    "patch_path",
    "config",
    "depends_on",
    "source_name",
    "version",
    "test_metadata",
    "raw_code",
)


def make_project(directory: Path, snowflake_port: int = 1) -> tuple[Path, Path]:
    """Copy the example project with the extras into ``directory``; return (project dir, profiles dir)."""
    from tests.dbt.conftest import copy_project

    project = copy_project(directory / "project", EXTRA_FILES)
    profiles = directory / "profiles"
    profiles.mkdir()
    # dbt parse and ls never connect; the profile points at the local stack's port when one is given.
    (profiles / "profiles.yml").write_text(PROFILE.format(port=snowflake_port))
    return project, profiles


class Dbt:
    """dbt's own command line, in-process (dbtRunner), on one project copy."""

    def __init__(self, project: Path, profiles: Path) -> None:
        from dbt.cli.main import dbtRunner

        self.runner = dbtRunner()
        self.project = project
        self.common = [
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(profiles),
            "--target-path",
            str(project / "target"),
            "--log-path",
            str(project / "logs"),
        ]

    def invoke(self, *args: str) -> Any:
        result = self.runner.invoke([*args, *self.common, "--quiet"])
        if not result.success:
            raise RuntimeError(f"dbt {' '.join(args)} failed: {result.exception}")
        return result.result

    def manifest(self) -> dict[str, Any]:
        self.invoke("parse")
        return json.loads((self.project / "target" / "manifest.json").read_text())

    def ls(self, select: str | None, exclude: str | None) -> list[str]:
        args = ["ls", "--output", "json", "--output-keys", "unique_id", "--resource-type", "all"]
        if select and select.startswith("selector:"):
            args += ["--selector", select.removeprefix("selector:")]
        elif select:
            args += ["--select", select]
        if exclude:
            args += ["--exclude", exclude]
        return sorted(json.loads(line)["unique_id"] for line in self.invoke(*args))


def trim(manifest: dict[str, Any]) -> dict[str, Any]:
    """The parts of a manifest the selection engine reads (a fixture small enough to review)."""
    sections = {
        key: {uid: _trim_node(node) for uid, node in manifest[key].items()}
        for key in (
            "nodes",
            "sources",
            "exposures",
            "metrics",
            "semantic_models",
            "saved_queries",
            "unit_tests",
        )
        if manifest.get(key)
    }
    metadata = {k: manifest["metadata"][k] for k in ("dbt_version", "project_name", "dbt_schema_version")}
    return {"metadata": metadata, **sections, "selectors": manifest.get("selectors", {})}


def _trim_node(node: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in node.items() if k in NODE_KEYS}
    if isinstance(kept.get("raw_code"), str):  # only its blankness matters (dbt never selects an empty node)
        kept["raw_code"] = kept["raw_code"][:40]
    return kept


def main() -> None:
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    with tempfile.TemporaryDirectory() as tmp:
        project, profiles = make_project(Path(tmp))
        dbt = Dbt(project, profiles)
        fixture = trim(dbt.manifest())
        fixture["dbt_ls"] = [
            {"select": select, "exclude": exclude, "unique_ids": dbt.ls(select, exclude)}
            for select, exclude in SELECTIONS
        ]
    FIXTURE.write_text(json.dumps(fixture, indent=1, sort_keys=True) + "\n")
    print(f"wrote {FIXTURE} (dbt {fixture['metadata']['dbt_version']})", file=sys.stderr)


if __name__ == "__main__":
    main()
