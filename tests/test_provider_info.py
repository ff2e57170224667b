"""Provider registration: a broken provider info breaks every airflow command for the user."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import jsonschema

import airflow_provider_dataeng
from airflow_provider_dataeng.provider_info import PACKAGE_NAME


def _schema() -> dict:
    import airflow

    return json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())


def test_entry_point_is_registered() -> None:
    (ep,) = [e for e in entry_points(group="apache_airflow_provider") if e.dist.name == PACKAGE_NAME]
    assert ep.value == "airflow_provider_dataeng:get_provider_info"
    assert ep.load() is airflow_provider_dataeng.get_provider_info


def test_provider_info_matches_airflow_schema() -> None:
    info = airflow_provider_dataeng.get_provider_info()
    jsonschema.validate(info, _schema())
    assert info["package-name"] == "airflow-provider-dataeng"
    assert info["versions"] == [airflow_provider_dataeng.__version__]


def test_every_module_and_class_named_exists() -> None:
    info = airflow_provider_dataeng.get_provider_info()
    for section in ("hooks", "operators", "triggers", "sensors"):
        for item in info.get(section, []):
            for module in item["python-modules"]:
                importlib.import_module(module)
    for conn in info.get("connection-types", []):
        module_name, _, class_name = conn["hook-class-name"].rpartition(".")
        hook = getattr(importlib.import_module(module_name), class_name)
        assert hook.conn_type == conn["connection-type"]


def test_airflow_cli_lists_the_provider() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "list", "--output", "json"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # (log lines may precede the JSON)
    providers = {p["package_name"]: p for p in json.loads(result.stdout.strip().splitlines()[-1])}
    assert providers[PACKAGE_NAME]["version"] == airflow_provider_dataeng.__version__
