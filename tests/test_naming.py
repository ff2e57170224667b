"""The naming rule (docs/development.md, "Naming"), checked on every operator so the next one follows it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from typing import Any

import pytest
from airflow.sdk import BaseOperator

import airflow_provider_dataeng.operators as operators_package
from airflow_provider_dataeng.operators._shared import IF_EMPTY
from airflow_provider_dataeng.provider_info import provider_info

# Arguments that let each "nothing to do" operator be built (the rest is left to its defaults).
NOTHING_TO_DO_OPERATORS: dict[str, dict[str, Any]] = {
    "RestApiExtractOperator": {"endpoint": "/x", "destination": "s3://bucket/x/"},
    "S3StageLoadOperator": {"table": "RAW.T", "stage": "RAW.S", "files": [], "file_format": {"type": "JSON"}},
    "SnowflakeStreamMergeOperator": {"target_table": "S.T", "key_columns": "ID", "stream": "R.S"},
    "SqlExtractOperator": {"table": "t", "mode": "full", "destination": "s3://bucket/x/"},
}
CONNECTION_PARAMETERS = {"snowflake_conn_id", "http_conn_id", "aws_conn_id", "sql_conn_id"}
SNOWFLAKE_SESSION_PARAMETERS = {"warehouse", "role", "query_tag"}


def _operator_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(operators_package.__path__) if not m.name.startswith("_"))


def _operators() -> list[tuple[str, type[BaseOperator]]]:
    found = []
    for module_name in _operator_modules():
        module = importlib.import_module(f"airflow_provider_dataeng.operators.{module_name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseOperator) and cls.__module__ == module.__name__:
                found.append((module_name, cls))
    return found


OPERATORS = _operators()


def _parameters(cls: type) -> set[str]:
    return {p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "kwargs")}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def test_every_operator_module_holds_one_operator() -> None:
    assert sorted(module for module, _ in OPERATORS) == _operator_modules()


@pytest.mark.parametrize(("module", "cls"), OPERATORS, ids=[c.__name__ for _, c in OPERATORS])
def test_operator_module_is_named_after_its_class(module: str, cls: type) -> None:
    assert cls.__name__.endswith("Operator")
    assert module == _snake(cls.__name__.removesuffix("Operator"))


def test_provider_info_lists_every_operator_module() -> None:
    listed = {m for entry in provider_info()["operators"] for m in entry["python-modules"]}
    assert listed == {f"airflow_provider_dataeng.operators.{m}" for m in _operator_modules()}


@pytest.mark.parametrize(("module", "cls"), OPERATORS, ids=[c.__name__ for _, c in OPERATORS])
def test_connection_parameters_are_named_after_their_system(module: str, cls: type) -> None:
    parameters = _parameters(cls)
    assert "conn_id" not in parameters
    assert {p for p in parameters if p.endswith("conn_id")} <= CONNECTION_PARAMETERS
    if parameters & SNOWFLAKE_SESSION_PARAMETERS:  # it talks to Snowflake
        assert "snowflake_conn_id" in parameters
    if "file_format" in parameters:  # a Snowflake FILE_FORMAT, nothing else
        assert "snowflake_conn_id" in parameters


def test_the_nothing_to_do_operators_are_the_ones_with_if_empty() -> None:
    assert {c.__name__ for _, c in OPERATORS if "if_empty" in _parameters(c)} == set(NOTHING_TO_DO_OPERATORS)


@pytest.mark.parametrize("name", sorted(NOTHING_TO_DO_OPERATORS))
def test_if_empty_takes_succeed_skip_and_fail(name: str) -> None:
    cls = dict((c.__name__, c) for _, c in OPERATORS)[name]
    args = NOTHING_TO_DO_OPERATORS[name]
    assert IF_EMPTY == ("succeed", "skip", "fail")
    assert inspect.signature(cls.__init__).parameters["if_empty"].default in IF_EMPTY
    for value in IF_EMPTY:
        assert cls(task_id=f"t_{value}", if_empty=value, **args).if_empty == value
    with pytest.raises(ValueError, match=r"^if_empty must be one of succeed, skip, fail, got 'ignore'$"):
        cls(task_id="t_bad", if_empty="ignore", **args)
