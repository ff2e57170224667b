"""QualityGateOperator arguments: bad input refused at construction (or before any SQL when templated)."""

from __future__ import annotations

import re

import pytest

from airflow_provider_dataeng.operators.quality_gate import QualityGateOperator
from airflow_provider_dataeng.quality import (
    QualityConfigError,
    expression,
    not_null,
    row_count,
    row_count_anomaly,
    unique,
)
from airflow_provider_dataeng.sql.identifiers import IdentifierError
from tests.quality.conftest import context


def gate(**kwargs):
    kwargs.setdefault("snowflake_conn_id", "quality_sqlite")
    kwargs.setdefault("table", "orders")
    if "checks_file" not in kwargs:
        kwargs.setdefault("checks", [not_null("id")])
    return QualityGateOperator(task_id="gate", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"table": "orders; DROP TABLE x"}, IdentifierError, "table='orders; DROP TABLE x' is not a valid"),
        ({"table": 'orders" --'}, IdentifierError, "table="),
        ({"results_table": "audit.results where 1=1"}, IdentifierError, "results_table="),
        ({"where": "1=1; DROP TABLE orders"}, IdentifierError, "where='1=1; DROP TABLE orders': a single expression"),
        ({"where": "id IN (SELECT id FROM secrets)"}, IdentifierError, "where=.*subqueries"),
        ({"checks": None}, ValueError, "give checks=[...]"),
        ({"checks": [{"unique": "id"}]}, ValueError, "checks[0] is dict, not a check"),
        ({"fail_on": "always"}, ValueError, "fail_on must be one of error, warn, never, got 'always'"),
        ({"sample_size": -1}, ValueError, "sample_size must be a non-negative integer, got -1"),
        ({"snowflake_conn_id": ""}, ValueError, "snowflake_conn_id must name an Airflow SQL connection"),
        ({"checks": [unique("id"), unique("id")]}, ValueError, "several checks are named ['unique(id)']"),
        ({"checks": [row_count_anomaly()]}, ValueError, "row_count_anomaly needs results_table="),
    ],
)
def test_bad_arguments_fail_at_construction(kwargs, error, message) -> None:
    with pytest.raises(error, match=message if ".*" in message else re.escape(message)):
        gate(**kwargs)


def test_checks_file_is_loaded_at_construction(tmp_path) -> None:
    path = tmp_path / "checks.yml"
    path.write_text("checks:\n  - row_count: {min: 1}\ncolumns:\n  - name: id\n    tests: [unique]\n")
    op = gate(checks=[not_null("id")], checks_file=str(path))
    assert op._all_checks() == [not_null("id"), row_count(min=1), unique("id")]


def test_bad_checks_file_fails_at_construction(tmp_path) -> None:
    path = tmp_path / "checks.yml"
    path.write_text("checks:\n  - uniq: id\n")
    with pytest.raises(QualityConfigError, match=re.escape(f"{path}:2: key 'uniq': unknown check")):
        gate(checks_file=str(path))


def test_templated_arguments_are_validated_before_any_sql(tmp_path) -> None:
    """A templated table that renders to an injection is refused before a connection is even looked up."""
    op = gate(snowflake_conn_id="no_such_connection", table="{{ params.table }}")
    op.table = "orders; DROP TABLE orders"  # what rendering produced
    with pytest.raises(IdentifierError, match="table="):
        op.execute(context())
    op = gate(snowflake_conn_id="no_such_connection", where="{{ params.where }}")
    op.where = "1=1) OR (1=1"
    with pytest.raises(IdentifierError, match="where="):
        op.execute(context())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"where": "id = = 1"}, "where='id = = 1' is not a valid Snowflake SQL expression"),
        ({"checks": [not_null("id", where="id = = 1")]}, "not_null.where='id = = 1' is not a valid"),
        ({"checks": [expression("amount >= >= 0")]}, "expression.sql='amount >= >= 0' is not a valid"),
    ],
)
def test_sql_expressions_are_parsed_before_any_sql(kwargs, message) -> None:
    """Construction checks an expression's shape only (no sqlglot import while the DAG file is parsed);
    what only a parser finds is refused when the gate runs, before a connection is even looked up."""
    op = gate(snowflake_conn_id="no_such_connection", **kwargs)
    with pytest.raises(IdentifierError, match=re.escape(message)):
        op.execute(context())
