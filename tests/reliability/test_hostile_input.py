"""Hostile input: SQL-injection payloads in every identifier parameter are refused before any SQL runs (at
construction, or at render time for templated fields), and hostile API bodies fail with clear errors.

"Before any SQL runs" is checked with a Snowflake connection to a closed port whose ``get_conn`` is spied
on: the error must be the validation error naming the parameter, and no connection may have been opened.
"""

from __future__ import annotations

import inspect
import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_dataeng.operators.dbt_run import DbtRunOperator
from airflow_provider_dataeng.operators.quality_gate import QualityGateOperator
from airflow_provider_dataeng.operators.s3_stage_load import S3StageLoadOperator
from airflow_provider_dataeng.operators.snowflake_stream_merge import SnowflakeStreamMergeOperator
from airflow_provider_dataeng.operators.sql_extract import SqlExtractOperator
from airflow_provider_dataeng.quality import accepted_values, freshness, not_null, relationships, unique

# Refused as identifiers (names of tables, stages, streams, columns) and as SQL expressions alike.
PAYLOADS = [
    "x; DROP TABLE users",
    "x'; DROP TABLE users; --",
    'x"; DROP TABLE users; --',
    '"x"; DROP TABLE users; --"',
    "x -- comment",
    "x /* comment */",
    "x UNION SELECT password FROM users",
    "1; SELECT 1",
    "(SELECT CURRENT_USER())",
    "x)",
    "x\nDROP TABLE y",
    "x\x00",
    '"unterminated',
    "x' OR '1'='1",
    "`x`",
    "$(rm -rf /)",
    "x..y",
    "x IN (SELECT id FROM secrets)",
    "$$; DROP TABLE t; $$",
    "x) ; DELETE FROM t; (",
]
# Valid SQL expressions that are still not names: refused for identifier parameters only.
NAME_ONLY_PAYLOADS = ["x OR 1=1", "a.b.c.d", "'x'", '""', "x\u202e", "*", "x y"]
IDENTIFIER_PAYLOADS = PAYLOADS + NAME_ONLY_PAYLOADS
assert len(PAYLOADS) >= 15


def ids(payloads: list[str]) -> list[str]:
    return [repr(p)[1:-1][:40] for p in payloads]


# ------------------------------------------------------------------------------------------ construction

LOAD = {"task_id": "load", "table": "RAW.ORDERS", "stage": "RAW.LANDING", "files": ["a.jsonl.zst"],
        "file_format": {"type": "JSON"}}
MERGE = {"task_id": "merge", "target_table": "STAGING.ORDERS", "stream": "RAW.ORDERS_STREAM", "key_columns": "ID"}
EXTRACT = {"task_id": "extract", "table": "public.orders", "destination": "s3://bucket/orders/",
           "watermark_column": "updated_at"}
GATE = {"task_id": "gate", "snowflake_conn_id": "snowflake_default", "table": "ANALYTICS.ORDERS", "checks": [unique("id")]}

IDENTIFIER_PARAMS: dict[str, tuple[Callable[[str], Any], str]] = {
    "sql_extract.table": (lambda p: SqlExtractOperator(**{**EXTRACT, "table": p}), "table"),
    "sql_extract.columns": (lambda p: SqlExtractOperator(**{**EXTRACT, "columns": ["id", p]}), "columns"),
    "sql_extract.watermark_column": (lambda p: SqlExtractOperator(**{**EXTRACT, "watermark_column": p}),
                                     "watermark_column"),
    "sql_extract.key_columns": (lambda p: SqlExtractOperator(
        **{**EXTRACT, "mode": "full", "watermark_column": None, "key_columns": ["id", p], "delete_detection": True}),
        "key_columns"),
    "sql_extract.partition_by": (lambda p: SqlExtractOperator(
        **{**EXTRACT, "partition_by": p, "partitions": 2, "partition": 0}), "partition_by"),
    "loader.table": (lambda p: S3StageLoadOperator(**{**LOAD, "table": p}), "table"),
    "loader.stage": (lambda p: S3StageLoadOperator(**{**LOAD, "stage": p}), "stage"),
    "merge.target_table": (lambda p: SnowflakeStreamMergeOperator(**{**MERGE, "target_table": p}), "target_table"),
    "merge.source_table": (lambda p: SnowflakeStreamMergeOperator(**{**MERGE, "stream": None, "source_table": p}),
                           "source_table"),
    "merge.stream": (lambda p: SnowflakeStreamMergeOperator(**{**MERGE, "stream": p}), "stream"),
    "merge.key_columns": (lambda p: SnowflakeStreamMergeOperator(**{**MERGE, "key_columns": ["ID", p]}),
                          "key_columns"),
    "merge.columns": (lambda p: SnowflakeStreamMergeOperator(**{**MERGE, "columns": ["ID", p]}), "columns"),
    "merge.columns mapping key": (lambda p: SnowflakeStreamMergeOperator(**{**MERGE, "columns": {"ID": "ID", p: "X"}}),
                                  "columns"),
    "merge.soft_delete_column": (lambda p: SnowflakeStreamMergeOperator(
        **{**MERGE, "delete_mode": "soft", "soft_delete_column": p}), "soft_delete_column"),
    "gate.table": (lambda p: QualityGateOperator(**{**GATE, "table": p}), "table"),
    "gate.results_table": (lambda p: QualityGateOperator(**{**GATE, "results_table": p}), "results_table"),
    "check unique column": (lambda p: unique(["id", p]), "unique.columns[1]"),
    "check not_null column": (lambda p: not_null(p), "not_null.columns[0]"),
    "check accepted_values column": (lambda p: accepted_values(p, ["a"]), "accepted_values.column"),
    "check freshness column": (lambda p: freshness(p, error_after="1d"), "freshness.column"),
    "check relationships column": (lambda p: relationships(p, "CUSTOMERS", "ID"), "relationships.column"),
    "check relationships to_table": (lambda p: relationships("customer_id", p, "ID"), "relationships.to_table"),
    "check relationships to_column": (lambda p: relationships("customer_id", "CUSTOMERS", p),
                                      "relationships.to_column"),
}
EXPRESSION_PARAMS: dict[str, tuple[Callable[[str], Any], str]] = {
    "merge.dedupe_order_by": (lambda p: SnowflakeStreamMergeOperator(**{**MERGE, "dedupe_order_by": ["ID", p]}),
                              "dedupe_order_by"),
    "merge.columns mapping expression": (lambda p: SnowflakeStreamMergeOperator(
        **{**MERGE, "columns": {"ID": "ID", "X": p}}), "columns"),
    "merge.delete_condition": (lambda p: SnowflakeStreamMergeOperator(
        **{**MERGE, "delete_condition": p}), "delete_condition"),
    "gate.where": (lambda p: QualityGateOperator(**{**GATE, "where": p}), "where"),
    "check where": (lambda p: QualityGateOperator(**{**GATE, "checks": [unique("id", where=p)]}), "unique.where"),
}


@pytest.mark.parametrize("payload", IDENTIFIER_PAYLOADS, ids=ids(IDENTIFIER_PAYLOADS))
@pytest.mark.parametrize("param", list(IDENTIFIER_PARAMS))
def test_identifier_payload_refused_at_construction(param: str, payload: str) -> None:
    build, name = IDENTIFIER_PARAMS[param]
    with pytest.raises(ValueError) as err:
        build(payload)
    assert name in str(err.value)


@pytest.mark.parametrize("payload", PAYLOADS, ids=ids(PAYLOADS))
@pytest.mark.parametrize("param", list(EXPRESSION_PARAMS))
def test_expression_payload_refused(param: str, payload: str, no_sql: list) -> None:
    """SQL expressions are refused at construction, or (their shape is checked there, but sqlglot is not imported
    at parse time) when the task runs, before it connects."""
    build, name = EXPRESSION_PARAMS[param]
    try:
        op = build(payload)
    except ValueError as err:
        assert name in str(err)
        return
    assert isinstance(op, (SnowflakeStreamMergeOperator, QualityGateOperator))
    with pytest.raises(ValueError) as err:
        op.execute({})
    assert name in str(err.value)
    assert no_sql == []


# ------------------------------------------------------------------------------------------ render time

@pytest.fixture
def no_sql(monkeypatch: pytest.MonkeyPatch) -> Iterator[list]:
    """``snowflake_default`` on a closed port, and a record of every ``SnowflakeHook.get_conn`` call."""
    from airflow_provider_dataeng.hooks.snowflake import SnowflakeHook

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: a connection attempt would be refused
    monkeypatch.setenv("AIRFLOW_CONN_SNOWFLAKE_DEFAULT", json.dumps({
        "conn_type": "snowflake", "login": "u", "password": "p", "schema": "PUBLIC",
        "extra": {"account": "closed", "database": "DB", "host": "127.0.0.1", "port": port, "protocol": "http",
                  "login_timeout": 2, "network_timeout": 2}}))
    calls: list = []
    real = SnowflakeHook.get_conn

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(self.snowflake_conn_id)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SnowflakeHook, "get_conn", spy)
    yield calls


TEMPLATED: dict[str, tuple[Callable[[], Any], str]] = {
    "loader.table": (lambda: S3StageLoadOperator(**{**LOAD, "table": "RAW.{{ payload }}"}), "table"),
    "loader.stage": (lambda: S3StageLoadOperator(**{**LOAD, "stage": "{{ payload }}"}), "stage"),
    "merge.target_table": (lambda: SnowflakeStreamMergeOperator(**{**MERGE, "target_table": "{{ payload }}"}),
                           "target_table"),
    "merge.stream": (lambda: SnowflakeStreamMergeOperator(**{**MERGE, "stream": "RAW.{{ payload }}"}), "stream"),
    "merge.source_table": (lambda: SnowflakeStreamMergeOperator(
        **{**MERGE, "stream": None, "source_table": "{{ payload }}"}), "source_table"),
    "merge.columns": (lambda: SnowflakeStreamMergeOperator(**{**MERGE, "columns": ["ID", "{{ payload }}"]}),
                      "columns"),
    "gate.table": (lambda: QualityGateOperator(**{**GATE, "table": "ANALYTICS.{{ payload }}"}), "table"),
    "gate.results_table": (lambda: QualityGateOperator(**{**GATE, "results_table": "{{ payload }}"}),
                           "results_table"),
}
TEMPLATED_EXPRESSIONS: dict[str, tuple[Callable[[], Any], str]] = {
    "merge.dedupe_order_by": (lambda: SnowflakeStreamMergeOperator(**{**MERGE, "dedupe_order_by": "{{ payload }}"}),
                              "dedupe_order_by"),
    "merge.delete_condition": (lambda: SnowflakeStreamMergeOperator(
        **{**MERGE, "delete_condition": "{{ payload }}"}), "delete_condition"),
    "gate.where": (lambda: QualityGateOperator(**{**GATE, "where": "ds = '2024-01-01' AND {{ payload }}"}), "where"),
}


def render_and_run(op: Any, payload: str) -> BaseException:
    """Render the operator's templates with ``payload`` as a variable, then run it; return what it raised."""
    context = {"payload": payload}
    op.render_template_fields(context)  # type: ignore[arg-type]
    with pytest.raises(Exception) as err:
        op.execute(context)
    return err.value


@pytest.mark.parametrize("payload", IDENTIFIER_PAYLOADS, ids=ids(IDENTIFIER_PAYLOADS))
@pytest.mark.parametrize("param", list(TEMPLATED))
def test_templated_identifier_rendering_to_a_payload_is_refused_before_sql(param: str, payload: str,
                                                                            no_sql: list) -> None:
    build, name = TEMPLATED[param]
    op = build()  # a template is not checked at construction ...
    error = render_and_run(op, payload)  # ... but its rendered value is, before anything connects
    assert isinstance(error, ValueError) or type(error).__name__ == "AirflowFailException", repr(error)
    assert name in str(error)
    assert "not a valid" in str(error) or "unterminated" in str(error) or "parts" in str(error) or \
        "control characters" in str(error) or "empty" in str(error), str(error)
    assert no_sql == []


@pytest.mark.parametrize("payload", PAYLOADS, ids=ids(PAYLOADS))
@pytest.mark.parametrize("param", list(TEMPLATED_EXPRESSIONS))
def test_templated_expression_rendering_to_a_payload_is_refused_before_sql(param: str, payload: str,
                                                                            no_sql: list) -> None:
    build, name = TEMPLATED_EXPRESSIONS[param]
    error = render_and_run(build(), payload)
    assert isinstance(error, ValueError), repr(error)
    assert name in str(error)
    assert no_sql == []


def test_a_safe_rendered_name_does_reach_the_connection(no_sql: list) -> None:
    """The control case: the same set-up with a harmless value fails on the closed port, not on validation."""
    op = S3StageLoadOperator(**{**LOAD, "table": "RAW.{{ payload }}"})
    error = render_and_run(op, "ORDERS")
    assert no_sql == ["snowflake_default"]
    assert type(error).__name__ == "OperationalError"
    assert "Could not connect to Snowflake backend" in str(error)


# ------------------------------------------------------------------------------------------ dbt selectors

@pytest.mark.parametrize("payload", PAYLOADS, ids=ids(PAYLOADS))
def test_dbt_select_and_exclude_stay_single_argv_items(payload: str, tmp_path) -> None:
    """dbt gets select/exclude as argv items (in-process or exec'd, never through a shell): a payload is one
    selector string dbt will fail to match, not a command."""
    op = DbtRunOperator(task_id="dbt", project_dir=str(tmp_path), snowflake_conn_id="snowflake_default",
                        select=payload, exclude=["a", payload])
    assert op.command_args() == ["build", "--select", payload, "--exclude", "a", payload]


def test_dbt_subprocess_mode_does_not_use_a_shell() -> None:
    from airflow_provider_dataeng.hooks.dbt import DbtHook

    source = inspect.getsource(DbtHook._run_subprocess)
    assert "subprocess.Popen(" in source and "command = [sys.executable" in source
    assert "shell" not in source
