"""Airflow plugins shipped with the provider, registered by the package's ``airflow.plugins`` entry point
(installing the package is enough: no plugins folder to copy)."""

from __future__ import annotations
