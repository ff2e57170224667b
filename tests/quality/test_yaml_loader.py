"""Checks from YAML (dbt names and layouts), with errors naming the line and the key."""

from __future__ import annotations

import textwrap

import pytest

from airflow_provider_dataeng.quality import (
    QualityConfigError,
    accepted_values,
    custom_sql,
    expression,
    freshness,
    load_checks_file,
    load_checks_yaml,
    not_null,
    relationships,
    row_count,
    row_count_anomaly,
    unique,
)

FULL = """\
checks:
  - row_count: {min: 1, max: 1000}
  - row_count_anomaly: {lookback: 7, max_pct_change: 50}
  - unique: [order_id, line_no]
  - expression: "amount >= 0"
  - custom_sql:
      query: "SELECT COUNT(*) FROM {table} WHERE amount < 0"
      expect: 0
      name: no_negatives
  - freshness: {column: updated_at, warn_after: 12h, error_after: {count: 1, period: day}}
    severity: warn
columns:
  - name: order_id
    description: the key
    tests: [unique, not_null]
  - name: status
    data_tests:
      - accepted_values:
          values: [placed, shipped]
          config: {severity: warn, where: "ds = '2026-01-01'"}
  - name: customer_id
    tests:
      - relationships: {to: ref('customers'), field: id}
      - dbt_utils.expression_is_true: {expression: "customer_id > 0"}
"""


def test_full_file_builds_the_same_checks_as_python() -> None:
    assert load_checks_yaml(FULL) == [
        row_count(min=1, max=1000),
        row_count_anomaly(lookback=7, max_pct_change=50),
        unique(["order_id", "line_no"]),
        expression("amount >= 0"),
        custom_sql("SELECT COUNT(*) FROM {table} WHERE amount < 0", expect=0, name="no_negatives"),
        freshness("updated_at", warn_after="12h", error_after="1 day", severity="warn"),
        unique("order_id"),
        not_null("order_id"),
        accepted_values("status", ["placed", "shipped"], severity="warn", where="ds = '2026-01-01'"),
        relationships("customer_id", "customers", "id"),
        expression("customer_id > 0"),
    ]


def test_file_is_read_from_disk(tmp_path) -> None:
    path = tmp_path / "checks.yml"
    path.write_text("checks:\n  - not_null: [a, b]\n")
    assert load_checks_file(path) == [not_null(["a", "b"])]


def error(text: str) -> str:
    with pytest.raises(QualityConfigError) as raised:
        load_checks_yaml(textwrap.dedent(text), source="checks.yml")
    return str(raised.value)


def test_unknown_check_names_line_and_key() -> None:
    assert error("""\
        checks:
          - row_count: {min: 1}
          - uniq: id
        """) == (
        "checks.yml:3: key 'uniq': unknown check (known: accepted_values, custom_sql, expression, freshness, "
        "not_null, relationships, row_count, row_count_anomaly, unique)"
    )


def test_unknown_check_in_a_column_entry() -> None:
    assert error("""\
        columns:
          - name: id
            tests:
              - unique
              - not_nul
        """).startswith("checks.yml:5: key 'not_nul': unknown check")


def test_missing_argument_names_line_and_key() -> None:
    assert error("""\
        checks:
          - accepted_values:
              column: status
        """) == "checks.yml:2: key 'accepted_values': missing argument 'values' for check 'accepted_values'"
    assert error("checks:\n  - not_null\n") == (
        "checks.yml:2: key 'not_null': missing argument 'columns' for check 'not_null'"
    )
    assert error("columns:\n  - tests: [unique]\n") == (
        "checks.yml:2: key 'name': missing argument 'name' (the column) in this column entry"
    )


def test_unknown_argument_names_line_and_key() -> None:
    assert error("""\
        checks:
          - row_count:
              min: 1
              maxx: 5
        """) == (
        "checks.yml:4: key 'maxx': unknown argument for check 'row_count' "
        "(allowed: min, max, name, severity, where)"
    )


def test_bad_argument_value_names_line_and_key() -> None:
    message = error("""\
        checks:
          - freshness:
              column: ts
              error_after: soon
        """)
    assert message.startswith("checks.yml:4: key 'error_after': freshness.error_after must be a timedelta")
    assert error("checks:\n  - unique: 'id; drop table x'\n").startswith(
        "checks.yml:2: key 'columns': unique.columns[0]='id; drop table x' is not a valid Snowflake identifier"
    )


def test_structure_errors() -> None:
    assert error("checks: {a: 1}\n") == "checks.yml:1: key 'checks': expected a list"
    assert error("tests:\n  - unique: id\n") == (
        "checks.yml:1: key 'tests': unknown top-level key (expected 'checks' or 'columns')"
    )
    assert error("") == "checks.yml: the file is empty; expected 'checks:' and/or 'columns:'"
    assert error("checks:\n  - unique: [a\n").startswith("checks.yml:3: not valid YAML")
    assert error("checks:\n  - {unique: a, not_null: b}\n") == "checks.yml:2: key 'not_null': one check per list item"


def test_missing_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(QualityConfigError, match="checks_file='.*nope.yml' cannot be read: No such file"):
        load_checks_file(tmp_path / "nope.yml")
