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
        "config": {
            "dataeng": {
                "description": "The data-health page in the Airflow UI (and dataeng-report): where the quality "
                "gates' results are.",
                "options": {
                    "health_conn_id": _config_option(
                        "string",
                        "The connection the quality gates write their results with.",
                        "snowflake_default",
                    ),
                    "health_results_table": _config_option(
                        "string", "The quality gates' results_table.", "AUDIT.QUALITY_RESULTS"
                    ),
                    "health_row_limit": _config_option(
                        "integer", "At most this many result rows per page (newest first).", "20000"
                    ),
                    "health_cache_seconds": _config_option(
                        "integer", "How long the pages keep what they read, in seconds.", "30"
                    ),
                },
            }
        },
        "integrations": [
            {"integration-name": "dbt", "external-doc-url": "https://docs.getdbt.com/", "tags": ["software"]},
            {
                "integration-name": "REST API (dataeng)",
                "external-doc-url": "https://github.com/airflow-provider-dataeng/airflow-provider-dataeng#extract",
                "tags": ["protocol"],
            },
            {
                "integration-name": "Snowflake (dataeng)",
                "external-doc-url": "https://docs.snowflake.com/",
                "tags": ["service"],
            },
            {
                "integration-name": "SQL sources (dataeng)",
                "external-doc-url": "https://www.postgresql.org/docs/current/sql-copy.html",
                "tags": ["software"],
            },
            {
                "integration-name": "Data Quality (dataeng)",
                "external-doc-url": "https://github.com/airflow-provider-dataeng/airflow-provider-dataeng#quality-gate",
                "tags": ["software"],
            },
        ],
        "hooks": [
            {"integration-name": "dbt", "python-modules": ["airflow_provider_dataeng.hooks.dbt"]},
            {
                "integration-name": "REST API (dataeng)",
                "python-modules": ["airflow_provider_dataeng.hooks.rest_api"],
            },
            {
                "integration-name": "Snowflake (dataeng)",
                "python-modules": ["airflow_provider_dataeng.hooks.snowflake"],
            },
            {
                "integration-name": "SQL sources (dataeng)",
                "python-modules": ["airflow_provider_dataeng.hooks.sql_source"],
            },
        ],
        "operators": [
            {
                "integration-name": "dbt",
                "python-modules": [
                    "airflow_provider_dataeng.operators.dbt_run",
                    "airflow_provider_dataeng.operators.dbt_build_producer",
                    "airflow_provider_dataeng.operators.dbt_node",
                ],
            },
            {
                "integration-name": "REST API (dataeng)",
                "python-modules": ["airflow_provider_dataeng.operators.rest_api_extract"],
            },
            {
                "integration-name": "Snowflake (dataeng)",
                "python-modules": [
                    "airflow_provider_dataeng.operators.s3_stage_load",
                    "airflow_provider_dataeng.operators.snowflake_stream_merge",
                ],
            },
            {
                "integration-name": "SQL sources (dataeng)",
                "python-modules": ["airflow_provider_dataeng.operators.sql_extract"],
            },
            {
                "integration-name": "Data Quality (dataeng)",
                "python-modules": ["airflow_provider_dataeng.operators.quality_gate"],
            },
        ],
        "triggers": [
            {
                "integration-name": "REST API (dataeng)",
                "python-modules": ["airflow_provider_dataeng.triggers.resume"],
            },
            {"integration-name": "dbt", "python-modules": ["airflow_provider_dataeng.triggers.dbt_node"]},
        ],
        "connection-types": [REST_API_CONNECTION_TYPE],
        "extra-links": ["airflow_provider_dataeng.links.SnowsightTableLink"],
    }


def _optional(kind: str, label: str, description: str | None = None) -> dict[str, Any]:
    field: dict[str, Any] = {"label": label, "schema": {"type": [kind, "null"]}}
    if description:
        field["description"] = description
    return field


# The REST API connection form: UI widgets and field behaviour are declared here as data (the hook
# methods for them are deprecated since Airflow 3.2).
REST_API_CONNECTION_TYPE: dict[str, Any] = {
    "connection-type": "rest_api",
    "hook-class-name": "airflow_provider_dataeng.hooks.rest_api.RestApiHook",
    "hook-name": "REST API (dataeng)",
    "ui-field-behaviour": {
        "hidden-fields": [],
        "relabeling": {
            "schema": "Scheme",
            "login": "Login / OAuth2 client id",
            "password": "Password / token / API key / client secret",
        },
        "placeholders": {
            "host": "api.example.com (or a base URL: https://api.example.com/v2)",
            "schema": "https",
            "port": "443",
            "login": "user name (basic) or client id (oauth2)",
            "password": "password, bearer token, API key or client secret",
            "extra": '{"auth_type": "bearer", "headers": {"X-Tenant": "acme"}, "timeout": [10, 60], '
            '"max_requests_per_second": 5}',
        },
    },
    "conn-fields": {
        "auth_type": _optional(
            "string",
            "Auth type",
            "none, basic, bearer, api_key or oauth2 (empty: basic when a login is set, else none)",
        ),
        "api_key_name": _optional(
            "string", "API key name", "Header or query parameter carrying the API key (default X-API-Key)"
        ),
        "api_key_in": _optional("string", "API key in", "header (default) or query"),
        "token_url": _optional(
            "string",
            "OAuth2 token URL",
            "Client-credentials token endpoint; absolute, or relative to the base URL",
        ),
        "scope": _optional("string", "OAuth2 scope"),
        "audience": _optional("string", "OAuth2 audience"),
        "token_client_auth": _optional(
            "string",
            "OAuth2 client auth",
            "basic (default: HTTP Basic to the token endpoint) or body (form fields)",
        ),
        "timeout": _optional(
            "number",
            "Timeout (seconds)",
            "Connect and read timeout; extra JSON may give [connect, read] (default [10, 60])",
        ),
        "verify": _optional(
            "boolean",
            "Verify TLS",
            "Verify certificates (default true); extra JSON may give a CA bundle path",
        ),
        "max_requests_per_second": _optional(
            "number", "Max requests per second", "Client-side rate limit (default: none)"
        ),
        "max_concurrency": _optional(
            "integer",
            "Max concurrency",
            "Page requests in flight at once for paginators that can predict them (default 1)",
        ),
    },
}


def _config_option(kind: str, description: str, default: str) -> dict[str, Any]:
    """One option of the provider's configuration section (Airflow's schema requires every key)."""
    return {
        "description": description,
        "version_added": "0.1.0",
        "type": kind,
        "example": default,
        "default": default,
    }
