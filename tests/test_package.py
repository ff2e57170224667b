"""The package's public surface and its import cost (paid on every DAG parse)."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version

import pytest

import airflow_provider_dataeng
from tests.conftest import DAGS_FOLDER

HEAVY_MODULES = (
    "snowflake.connector",
    "dbt",
    "boto3",
    "botocore",
    "pyarrow",
    "requests",
    "sqlglot",
    "airflow",
)
# What a DAG file may not load while the DAG processor parses it (Airflow itself is loaded by then).
PARSE_HEAVY_MODULES = tuple(m for m in HEAVY_MODULES if m != "airflow")

# Parses and serializes one DAG file as the DAG processor does (DagBag, Airflow already imported) and prints
# the import errors, the DAG ids and every module loaded by then.
PARSE_DAG_FILE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization
bag = DagBag(dag_folder=sys.argv[1])
for dag in bag.dags.values():
    DagSerialization.to_dict(dag)
print(json.dumps({"errors": bag.import_errors, "dags": sorted(bag.dag_ids), "modules": sorted(sys.modules)}))
"""


def _heavy(modules: set[str], heavy: tuple[str, ...]) -> list[str]:
    """The names in ``heavy`` of which ``modules`` holds the module or a submodule."""
    # (a bare "snowflake" namespace module is created by snowpark's .pth file at interpreter start-up)
    return [h for h in heavy if any(m == h or m.startswith(h + ".") for m in modules)]


def test_import_loads_no_heavy_library() -> None:
    code = (
        "import json, sys; import airflow_provider_dataeng; print(json.dumps(sorted(m for m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert _heavy(set(json.loads(out)), HEAVY_MODULES) == []


@pytest.mark.parametrize("dag_file", sorted(p.name for p in DAGS_FOLDER.glob("*.py")))
def test_parsing_an_example_dag_loads_no_heavy_library(dag_file: str) -> None:
    """The DAG processor parses every file again and again: operators, assets and checks built at a DAG
    file's top level must not import boto3, the Snowflake connector, dbt, pyarrow, requests or sqlglot."""
    out = subprocess.run(
        [sys.executable, "-c", PARSE_DAG_FILE, str(DAGS_FOLDER / dag_file)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    parsed = json.loads(out.strip().splitlines()[-1])  # log lines may precede the JSON
    assert (parsed["errors"], len(parsed["dags"])) == ({}, 1)
    assert _heavy(set(parsed["modules"]), PARSE_HEAVY_MODULES) == []


def test_version_matches_distribution_metadata() -> None:
    assert airflow_provider_dataeng.__version__ == version("airflow-provider-dataeng")


@pytest.mark.parametrize("name", [n for n in airflow_provider_dataeng.__all__ if n[0].isupper()])
def test_public_names_resolve_lazily(name: str) -> None:
    obj = getattr(airflow_provider_dataeng, name)
    assert obj.__name__ == name
    assert obj.__module__ == airflow_provider_dataeng._LAZY_ATTRIBUTES[name]


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchOperator'"):
        airflow_provider_dataeng.NoSuchOperator  # noqa: B018


def test_dir_lists_lazy_names() -> None:
    assert set(airflow_provider_dataeng._LAZY_ATTRIBUTES) <= set(dir(airflow_provider_dataeng))
