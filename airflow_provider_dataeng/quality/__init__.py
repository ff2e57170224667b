"""Declarative data-quality checks, compiled to one scan per table (pure: no I/O, no heavy imports).

Build checks in Python (``unique("id")``, ``not_null(["id", "email"])``, ...) or load them from YAML
with dbt's names (:func:`load_checks_file`), then run them with
:class:`airflow_provider_dataeng.operators.quality_gate.QualityGateOperator`.
"""

from __future__ import annotations

from airflow_provider_dataeng.quality.checks import (
    Check,
    accepted_values,
    custom_sql,
    expression,
    freshness,
    not_null,
    relationships,
    row_count,
    row_count_anomaly,
    unique,
)
from airflow_provider_dataeng.quality.evaluate import CheckResult
from airflow_provider_dataeng.quality.yaml_loader import (
    QualityConfigError,
    load_checks_file,
    load_checks_yaml,
)

__all__ = [
    "Check",
    "CheckResult",
    "QualityConfigError",
    "accepted_values",
    "custom_sql",
    "expression",
    "freshness",
    "load_checks_file",
    "load_checks_yaml",
    "not_null",
    "relationships",
    "row_count",
    "row_count_anomaly",
    "unique",
]
