"""The package's public surface and its import cost (paid on every DAG parse)."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version

import pytest

import airflow_provider_dataeng

HEAVY_MODULES = ("snowflake.connector", "dbt", "boto3", "botocore", "pyarrow", "requests", "sqlglot", "airflow")


def test_import_loads_no_heavy_library() -> None:
    code = (
        "import json, sys; import airflow_provider_dataeng; "
        "print(json.dumps(sorted(m for m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    loaded = set(json.loads(out))
    # (a bare "snowflake" namespace module is created by snowpark's .pth file at interpreter start-up)
    heavy = sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY_MODULES))
    assert heavy == []


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
