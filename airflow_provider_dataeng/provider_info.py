"""Provider metadata Airflow reads through the ``apache_airflow_provider`` entry point.

A wrong field here breaks every ``airflow`` command for the user, so ``tests/test_provider_info.py``
validates this dict against Airflow's own JSON schema and imports every module and class it names.
"""

from __future__ import annotations

from typing import Any

PACKAGE_NAME = "airflow-provider-dataeng"  # must equal the distribution name exactly


def provider_info() -> dict[str, Any]:
    from airflow_provider_dataeng import __version__

    return {
        "package-name": PACKAGE_NAME,
        "name": "Data Engineering (REST API, S3, Snowflake, dbt, quality)",
        "description": (
            "Hooks and operators for reliable pipelines into Snowflake: paginated REST API extract to "
            "object storage, verified COPY INTO loads, stream MERGE (CDC), dbt runs and quality gates."
        ),
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Snowflake (dataeng)",
                "external-doc-url": "https://docs.snowflake.com/",
                "tags": ["service"],
            },
            {
                "integration-name": "Data Quality (dataeng)",
                "external-doc-url": "https://github.com/airflow-provider-dataeng/airflow-provider-dataeng#quality-gate",
                "tags": ["software"],
            },
        ],
        "hooks": [
            {
                "integration-name": "Snowflake (dataeng)",
                "python-modules": ["airflow_provider_dataeng.hooks.snowflake"],
            },
        ],
        "operators": [
            {
                "integration-name": "Snowflake (dataeng)",
                "python-modules": [
                    "airflow_provider_dataeng.operators.snowflake_load",
                    "airflow_provider_dataeng.operators.snowflake_merge",
                ],
            },
            {
                "integration-name": "Data Quality (dataeng)",
                "python-modules": ["airflow_provider_dataeng.operators.quality"],
            },
        ],
        "connection-types": [],
    }
