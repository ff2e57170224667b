"""Conversion of a Lineage into the OpenLineage provider's OperatorLineage.

apache-airflow-providers-openlineage (and openlineage-python) are not installed in this environment, so the
conversion runs against stand-ins with the same class names, modules and attrs fields as openlineage-python's
generated facets (``openlineage/client/generated/*.py``) and the provider's ``OperatorLineage``; they are
keyword-only, so a misspelt field name fails here. When the provider is installed, the extractor-manager test
runs instead (see test_extractor_manager below).
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import types
from typing import Any

import attrs
import pytest

from airflow_provider_dataeng.lineage import (
    Assertion,
    Dataset,
    Lineage,
    OutputStats,
    SchemaField,
    to_operator_lineage,
)

PROVIDER = importlib.util.find_spec("airflow.providers.openlineage") is not None

LINEAGE = Lineage(
    inputs=(
        Dataset("s3://landing", "customers/2026-01-01"),
        Dataset(
            "snowflake://myorg-myacct", "DEMO.ANALYTICS.DIM", assertions=(Assertion("unique_id", True, "ID"),)
        ),
    ),
    outputs=(
        Dataset(
            "snowflake://myorg-myacct",
            "DEMO.RAW.CUSTOMERS",
            schema=(SchemaField("RECORD", "VARIANT"), SchemaField("_SOURCE_FILE", "VARCHAR")),
            stats=OutputStats(rows=1250, files=2),
        ),
    ),
    sql='COPY INTO "RAW"."CUSTOMERS" FROM @"RAW"."LANDING";',
    dialect="snowflake",
)


def _module(name: str, **classes: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(classes)
    return module


@pytest.fixture()
def openlineage_stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    define = attrs.define(kw_only=True)

    @define
    class SchemaDatasetFacetFields:
        name: str
        type: str | None = None
        description: str | None = None
        fields: list[Any] = attrs.field(factory=list)

    @define
    class SchemaDatasetFacet:
        fields: list[SchemaDatasetFacetFields] = attrs.field(factory=list)

    @define
    class OutputStatisticsOutputDatasetFacet:
        rowCount: int | None = None  # noqa: N815
        size: int | None = None
        fileCount: int | None = None  # noqa: N815

    @define
    class SQLJobFacet:
        query: str
        dialect: str | None = None

    @define
    class Assertion_:  # noqa: N801
        assertion: str
        success: bool
        column: str | None = None

    @define
    class DataQualityAssertionsDatasetFacet:
        assertions: list[Any]

    @define
    class InputDataset:
        namespace: str
        name: str
        facets: dict[str, Any] = attrs.field(factory=dict)
        inputFacets: dict[str, Any] = attrs.field(factory=dict)  # noqa: N815

    @define
    class OutputDataset:
        namespace: str
        name: str
        facets: dict[str, Any] = attrs.field(factory=dict)
        outputFacets: dict[str, Any] = attrs.field(factory=dict)  # noqa: N815

    @define
    class OperatorLineage:
        inputs: list[Any] = attrs.field(factory=list)
        outputs: list[Any] = attrs.field(factory=list)
        run_facets: dict[str, Any] = attrs.field(factory=dict)
        job_facets: dict[str, Any] = attrs.field(factory=dict)

    facet_v2 = _module(
        "openlineage.client.facet_v2",
        schema_dataset=_module(
            "schema_dataset",
            SchemaDatasetFacet=SchemaDatasetFacet,
            SchemaDatasetFacetFields=SchemaDatasetFacetFields,
        ),
        output_statistics_output_dataset=_module(
            "output_statistics_output_dataset",
            OutputStatisticsOutputDatasetFacet=OutputStatisticsOutputDatasetFacet,
        ),
        sql_job=_module("sql_job", SQLJobFacet=SQLJobFacet),
        data_quality_assertions_dataset=_module(
            "data_quality_assertions_dataset",
            Assertion=Assertion_,
            DataQualityAssertionsDatasetFacet=DataQualityAssertionsDatasetFacet,
        ),
    )
    for name, module in {
        "openlineage": _module("openlineage"),
        "openlineage.client": _module("openlineage.client"),
        "openlineage.client.facet_v2": facet_v2,
        "openlineage.client.event_v2": _module(
            "openlineage.client.event_v2", InputDataset=InputDataset, OutputDataset=OutputDataset
        ),
        "airflow.providers.openlineage": _module("airflow.providers.openlineage"),
        "airflow.providers.openlineage.extractors": _module(
            "airflow.providers.openlineage.extractors", OperatorLineage=OperatorLineage
        ),
    }.items():
        monkeypatch.setitem(sys.modules, name, module)


@pytest.mark.skipif(PROVIDER, reason="the real provider is installed: test_extractor_manager covers it")
def test_conversion_builds_every_facet(openlineage_stand_in: None) -> None:
    got = attrs.asdict(to_operator_lineage(LINEAGE))  # type: ignore[arg-type]
    assert got == {
        "inputs": [
            {"namespace": "s3://landing", "name": "customers/2026-01-01", "facets": {}, "inputFacets": {}},
            {
                "namespace": "snowflake://myorg-myacct",
                "name": "DEMO.ANALYTICS.DIM",
                "facets": {},
                "inputFacets": {
                    "dataQualityAssertions": {
                        "assertions": [{"assertion": "unique_id", "success": True, "column": "ID"}]
                    }
                },
            },
        ],
        "outputs": [
            {
                "namespace": "snowflake://myorg-myacct",
                "name": "DEMO.RAW.CUSTOMERS",
                "facets": {
                    "schema": {
                        "fields": [
                            {"name": "RECORD", "type": "VARIANT", "description": None, "fields": []},
                            {"name": "_SOURCE_FILE", "type": "VARCHAR", "description": None, "fields": []},
                        ]
                    }
                },
                "outputFacets": {"outputStatistics": {"rowCount": 1250, "size": None, "fileCount": 2}},
            }
        ],
        "run_facets": {},
        "job_facets": {
            "sql": {"query": 'COPY INTO "RAW"."CUSTOMERS" FROM @"RAW"."LANDING";', "dialect": "snowflake"}
        },
    }


@pytest.mark.skipif(PROVIDER, reason="the provider is installed")
def test_without_the_provider_nothing_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="airflow_provider_dataeng.lineage"):
        assert to_operator_lineage(LINEAGE) is None
    assert "apache-airflow-providers-openlineage is not installed" in caplog.text
    assert to_operator_lineage(None) is None


@pytest.mark.skipif(not PROVIDER, reason="needs apache-airflow-providers-openlineage")
def test_extractor_manager_uses_the_operator_method() -> None:  # pragma: no cover - provider absent here
    from airflow.providers.openlineage.extractors.manager import ExtractorManager

    from airflow_provider_dataeng.operators.snowflake_stream_merge import SnowflakeStreamMergeOperator

    op = SnowflakeStreamMergeOperator(
        task_id="m", target_table="DB.STG.USERS", stream="DB.RAW.USERS_STREAM", key_columns="ID"
    )
    extractor = ExtractorManager().get_extractor_class(op)
    assert extractor is not None and extractor.__name__ == "DefaultExtractor"
