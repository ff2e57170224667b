"""One answer to "is this argument still a template?" and one wording for the checks every operator repeats.

The table tests build each operator with the same templated argument in its ``{{ }}`` and ``{% %}`` forms (both
accepted at construction: it is checked after rendering) and with the same bad literal (refused at
construction, naming the parameter).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_dataeng import validation
from airflow_provider_dataeng.operators.dbt_run import DbtRunOperator
from airflow_provider_dataeng.operators.quality_gate import QualityGateOperator
from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator
from airflow_provider_dataeng.operators.s3_stage_load import S3StageLoadOperator
from airflow_provider_dataeng.operators.snowflake_stream_merge import SnowflakeStreamMergeOperator
from airflow_provider_dataeng.quality import not_null


def load(**kw: Any) -> S3StageLoadOperator:
    args: dict[str, Any] = dict(
        task_id="load", table="RAW.EVENTS", stage="RAW.LANDING", files=["a.json"], file_format={"type": "JSON"}
    )
    return S3StageLoadOperator(**{**args, **kw})


def load_prefix(**kw: Any) -> S3StageLoadOperator:
    return load(**{"files": None, "prefix": "events/", **kw})


def merge(**kw: Any) -> SnowflakeStreamMergeOperator:
    args: dict[str, Any] = dict(
        task_id="merge", target_table="STAGING.USERS", source_table="RAW.USERS", key_columns=["ID"]
    )
    return SnowflakeStreamMergeOperator(**{**args, **kw})


def gate(**kw: Any) -> QualityGateOperator:
    args: dict[str, Any] = dict(task_id="gate", snowflake_conn_id="quality_sqlite", table="orders", checks=[not_null("id")])
    return QualityGateOperator(**{**args, **kw})


def extract(**kw: Any) -> RestApiExtractOperator:
    args: dict[str, Any] = dict(task_id="extract", endpoint="/v1/orders", destination="s3://bucket/orders/")
    return RestApiExtractOperator(**{**args, **kw})


def dbt(**kw: Any) -> DbtRunOperator:
    args: dict[str, Any] = dict(task_id="dbt", project_dir="/nonexistent", snowflake_conn_id="snowflake_default")
    return DbtRunOperator(**{**args, **kw})


TEMPLATE_FORMS = {
    "expression": "{{ params.value }}",
    "statement": "{% if params.value %}{{ params.value }}{% else %}X{% endif %}",
    "statement only": "{% for x in [1] %}X{% endfor %}",
}

# (operator, parameter, how a template sits in it, a bad literal, the start of the error it gets)
TEMPLATED_ARGUMENTS: list[tuple[Callable[..., Any], str, Callable[[str], Any], Any, str]] = [
    (load, "table", lambda t: f"RAW.{t}", "RAW.EVENTS; DROP TABLE X", "table="),
    (load, "stage", lambda t: t, "RAW.LANDING --", "stage="),
    (load_prefix, "prefix", lambda t: f"events/{t}/", "../events/", "prefix="),
    (merge, "target_table", lambda t: f"STAGING.{t}", "STAGING.USERS; DROP TABLE X", "merge: target_table="),
    (merge, "source_table", lambda t: t, "RAW.USERS --", "merge: source_table="),
    (merge, "delete_condition", lambda t: t, "1=1; DROP TABLE X", "merge: delete_condition="),
    (merge, "columns", lambda t: {"ID": t}, {"ID": "ID; DROP TABLE X"}, "merge: columns"),
    (merge, "dedupe_order_by", lambda t: [t], ["UPDATED_AT; DROP TABLE X"], "merge: dedupe_order_by="),
    (gate, "table", lambda t: f"orders_{t}", "orders; DROP TABLE x", "table="),
    (gate, "where", lambda t: f"ds = '{t}'", "1=1; DROP TABLE orders", "where="),
    (gate, "results_table", lambda t: t, "audit.results where 1=1", "results_table="),
    (gate, "freshness_as_of", lambda t: t, "yesterday", "freshness_as_of='yesterday'"),
    (gate, "checks_file", lambda t: f"quality/{t}.yml", "/nonexistent/checks.yml", "checks_file="),
    (extract, "destination", lambda t: f"s3://bucket/orders/{t}/", "bucket/orders/", "destination must be"),
]


def _id(row: tuple[Any, ...]) -> str:
    return f"{row[0].__name__}-{row[1]}"


@pytest.mark.parametrize("form", TEMPLATE_FORMS.values(), ids=list(TEMPLATE_FORMS))
@pytest.mark.parametrize("row", TEMPLATED_ARGUMENTS, ids=[_id(r) for r in TEMPLATED_ARGUMENTS])
def test_a_templated_argument_is_accepted_at_construction(row: tuple[Any, ...], form: str) -> None:
    build, param, embed, _, _ = row
    op = build(**{param: embed(form)})
    assert getattr(op, param) == embed(form)  # kept as given, rendered and checked at run time


@pytest.mark.parametrize("row", TEMPLATED_ARGUMENTS, ids=[_id(r) for r in TEMPLATED_ARGUMENTS])
def test_the_same_argument_as_a_bad_literal_is_refused_naming_it(row: tuple[Any, ...]) -> None:
    build, param, _, bad, message = row
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        build(**{param: bad})


# The checks every operator repeats: one wording each, whichever operator raises it.
SHARED_CHECKS: list[tuple[Callable[..., Any], dict[str, Any], str]] = [
    (load, {"emit_assets": "no"}, "emit_assets must be True or False, got 'no'"),
    (merge, {"emit_assets": "no"}, "emit_assets must be True or False, got 'no'"),
    (extract, {"emit_assets": "no"}, "emit_assets must be True or False, got 'no'"),
    (dbt, {"emit_assets": "no"}, "emit_assets must be True or False, got 'no'"),
    (load, {"force": 1}, "force must be True or False, got 1"),
    (merge, {"append_only": "yes"}, "append_only must be True or False, got 'yes'"),
    (merge, {"show_initial_rows": None}, "show_initial_rows must be True or False, got None"),
    (dbt, {"full_refresh": "yes"}, "full_refresh must be True or False, got 'yes'"),
    (dbt, {"fail_on_warning": 0}, "fail_on_warning must be True or False, got 0"),
    (load, {"load_as": "json"}, "load_as must be one of variant, columns, got 'json'"),
    (load, {"if_empty": "ignore"}, "if_empty must be one of succeed, skip, fail, got 'ignore'"),
    (merge, {"delete_mode": "purge"}, "delete_mode must be one of hard, soft, ignore, got 'purge'"),
    (merge, {"scd_type": 3}, "scd_type must be one of 1, 2, got 3"),
    (merge, {"schema_evolution": "add"}, "schema_evolution must be one of fail, add_columns, got 'add'"),
    (merge, {"if_empty": "ignore"}, "if_empty must be one of succeed, skip, fail, got 'ignore'"),
    (extract, {"if_empty": "ignore"}, "if_empty must be one of succeed, skip, fail, got 'ignore'"),
    (gate, {"fail_on": "always"}, "fail_on must be one of error, warn, never, got 'always'"),
    (extract, {"method": "DELETE"}, "method must be one of GET, POST, PUT, PATCH, got 'DELETE'"),
    (extract, {"part_format": "csv"}, "part_format must be one of jsonl, parquet, got 'csv'"),
    (dbt, {"execution": "docker"}, "execution must be one of in_process, subprocess, got 'docker'"),
    (load, {"max_error_rows": -1, "on_error": "continue"}, "max_error_rows must be a non-negative integer, got -1"),
    (gate, {"sample_size": True}, "sample_size must be a non-negative integer, got True"),
    (extract, {"read_ahead": -1}, "read_ahead must be a non-negative integer (pages), got -1"),
    (extract, {"max_records_per_file": 0}, "max_records_per_file must be a positive integer, got 0"),
    (extract, {"max_pages": 0}, "max_pages must be a positive integer or None, got 0"),
    (dbt, {"threads": "4"}, "threads must be a positive integer or None, got '4'"),
]


@pytest.mark.parametrize(
    ("build", "kwargs", "message"),
    SHARED_CHECKS,
    ids=[f"{b.__name__}-{next(iter(k))}" for b, k, _ in SHARED_CHECKS],
)
def test_shared_checks_word_their_errors_alike(build: Callable[..., Any], kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        build(**kwargs)


# ------------------------------------------------------------------------------------------- the module


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{{ ds }}", True),
        ("s3://b/{{ds}}/", True),
        ("{% if x %}a{% endif %}", True),
        ("a{# a comment #}", True),
        ("RAW.EVENTS", False),
        ("{ not a template }", False),
        ("a { {", False),
        (["a", "{{ ds }}"], True),
        (("a", "b"), False),
        ({"k": "{% raw %}x{% endraw %}"}, True),
        ({"{{ key }}": "v"}, True),
        ({"k": ["a", {"n": "{{ ds }}"}]}, True),
        ({"k": 1}, False),
        (None, False),
        (12, False),
        (b"{{ ds }}", False),
    ],
)
def test_is_templated(value: Any, expected: bool) -> None:
    assert validation.is_templated(value) is expected


def test_template_start_is_the_first_marker_of_any_kind() -> None:
    assert validation.template_start("s3://b/raw/{% if x %}a{% endif %}/{{ ds }}/") == len("s3://b/raw/")
    assert validation.template_start("s3://b/raw/{{ ds }}/{% x %}") == len("s3://b/raw/")
    assert validation.template_start("s3://b/{# c #}raw/") == len("s3://b/")
    assert validation.template_start("s3://b/raw/") == -1


def test_helpers_return_the_value_they_accept() -> None:
    assert validation.flag("force", True) is True
    assert validation.positive_int("threads", 4) == 4
    assert validation.positive_int("max_pages", None, optional=True) is None
    assert validation.non_negative_int("sample_size", 0) == 0
    assert validation.choice("scd_type", 2, (1, 2)) == 2


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: validation.flag("force", "true"), "force must be True or False, got 'true'"),
        (lambda: validation.positive_int("threads", 0), "threads must be a positive integer, got 0"),
        (lambda: validation.positive_int("threads", 2.0), "threads must be a positive integer, got 2.0"),
        (lambda: validation.positive_int("threads", True), "threads must be a positive integer, got True"),
        (lambda: validation.positive_int("threads", None), "threads must be a positive integer, got None"),
        (lambda: validation.non_negative_int("rows", -1, unit="rows"), "rows must be a non-negative integer (rows), got -1"),
        (lambda: validation.choice("mode", "x", ("a", "b")), "mode must be one of a, b, got 'x'"),
        (lambda: validation.choice("mode", ["a"], ("a", "b")), "mode must be one of a, b, got ['a']"),
    ],
)
def test_helper_errors_name_the_parameter_and_what_it_takes(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        call()
