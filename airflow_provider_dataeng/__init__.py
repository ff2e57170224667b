"""airflow-provider-dataeng: reliable REST API -> S3 -> Snowflake pipelines for Airflow 3.

Importing the package is cheap on purpose (it runs on every DAG parse): public classes are resolved
lazily on first attribute access, so ``import airflow_provider_dataeng`` loads no Airflow, Snowflake
connector, dbt, boto3, pyarrow or requests module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public name -> module that defines it. Add each operator/hook here when it lands.
_LAZY_ATTRIBUTES: dict[str, str] = {
    "SnowflakeHook": "airflow_provider_dataeng.hooks.snowflake",
    "DbtHook": "airflow_provider_dataeng.hooks.dbt",
    "DbtRunOperator": "airflow_provider_dataeng.operators.dbt_run",
    "DbtTaskGroup": "airflow_provider_dataeng.task_groups.dbt_task_group",
    "DbtBuildProducerOperator": "airflow_provider_dataeng.operators.dbt_build_producer",
    "DbtNodeOperator": "airflow_provider_dataeng.operators.dbt_node",
    "RestApiHook": "airflow_provider_dataeng.hooks.rest_api",
    "RestApiExtractOperator": "airflow_provider_dataeng.operators.rest_api_extract",
    "HttpRetryPolicy": "airflow_provider_dataeng.hooks.rest_retry",
    "BasePaginator": "airflow_provider_dataeng.pagination.base",
    "SinglePagePaginator": "airflow_provider_dataeng.pagination.paginators",
    "PageNumberPaginator": "airflow_provider_dataeng.pagination.paginators",
    "OffsetPaginator": "airflow_provider_dataeng.pagination.paginators",
    "CursorPaginator": "airflow_provider_dataeng.pagination.paginators",
    "LinkHeaderPaginator": "airflow_provider_dataeng.pagination.paginators",
    "NextUrlPaginator": "airflow_provider_dataeng.pagination.paginators",
    "GraphQLCursorPaginator": "airflow_provider_dataeng.pagination.paginators",
    "WindowSlices": "airflow_provider_dataeng.pagination.slices",
    "SqlSourceHook": "airflow_provider_dataeng.hooks.sql_source",
    "SqlExtractOperator": "airflow_provider_dataeng.operators.sql_extract",
    "S3StageLoadOperator": "airflow_provider_dataeng.operators.s3_stage_load",
    "SnowflakeStreamMergeOperator": "airflow_provider_dataeng.operators.snowflake_stream_merge",
    "QualityGateOperator": "airflow_provider_dataeng.operators.quality_gate",
}

__all__ = ["__version__", "get_provider_info", *_LAZY_ATTRIBUTES]

if TYPE_CHECKING:
    from airflow_provider_dataeng.hooks.dbt import DbtHook as DbtHook
    from airflow_provider_dataeng.hooks.rest_api import RestApiHook as RestApiHook
    from airflow_provider_dataeng.hooks.rest_retry import HttpRetryPolicy as HttpRetryPolicy
    from airflow_provider_dataeng.hooks.snowflake import SnowflakeHook as SnowflakeHook
    from airflow_provider_dataeng.operators.dbt_build_producer import (
        DbtBuildProducerOperator as DbtBuildProducerOperator,
    )
    from airflow_provider_dataeng.operators.dbt_node import DbtNodeOperator as DbtNodeOperator
    from airflow_provider_dataeng.operators.dbt_run import DbtRunOperator as DbtRunOperator
    from airflow_provider_dataeng.operators.quality_gate import QualityGateOperator as QualityGateOperator
    from airflow_provider_dataeng.operators.rest_api_extract import (
        RestApiExtractOperator as RestApiExtractOperator,
    )
    from airflow_provider_dataeng.operators.s3_stage_load import S3StageLoadOperator as S3StageLoadOperator
    from airflow_provider_dataeng.operators.snowflake_stream_merge import (
        SnowflakeStreamMergeOperator as SnowflakeStreamMergeOperator,
    )
    from airflow_provider_dataeng.pagination.base import BasePaginator as BasePaginator
    from airflow_provider_dataeng.pagination.paginators import (
        CursorPaginator as CursorPaginator,
    )
    from airflow_provider_dataeng.pagination.paginators import (
        GraphQLCursorPaginator as GraphQLCursorPaginator,
    )
    from airflow_provider_dataeng.pagination.paginators import (
        LinkHeaderPaginator as LinkHeaderPaginator,
    )
    from airflow_provider_dataeng.pagination.paginators import (
        NextUrlPaginator as NextUrlPaginator,
    )
    from airflow_provider_dataeng.pagination.paginators import (
        OffsetPaginator as OffsetPaginator,
    )
    from airflow_provider_dataeng.pagination.paginators import (
        PageNumberPaginator as PageNumberPaginator,
    )
    from airflow_provider_dataeng.pagination.paginators import (
        SinglePagePaginator as SinglePagePaginator,
    )
    from airflow_provider_dataeng.pagination.slices import WindowSlices as WindowSlices
    from airflow_provider_dataeng.task_groups.dbt_task_group import DbtTaskGroup as DbtTaskGroup


def get_provider_info() -> dict[str, Any]:
    """Entry point ``apache_airflow_provider``: Airflow calls this to register the provider."""
    from airflow_provider_dataeng.provider_info import provider_info

    return provider_info()


def __getattr__(name: str) -> Any:
    module_name = _LAZY_ATTRIBUTES.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_ATTRIBUTES))
