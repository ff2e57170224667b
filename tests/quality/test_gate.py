"""QualityGateOperator end to end on a real SQLite file and on a fakesnow server: exact observed values."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_dataeng.operators.quality_gate import QualityGateOperator
from airflow_provider_dataeng.quality import (
    accepted_values,
    custom_sql,
    expression,
    freshness,
    not_null,
    relationships,
    row_count,
    unique,
)
from tests.quality.conftest import context

pytestmark = pytest.mark.usefixtures("fixed_clock")


def make_checks(severity: str = "error") -> list:
    return [
        unique("id", severity=severity),
        unique(["customer_id", "status"], severity=severity),
        not_null("email", severity=severity),
        not_null(["id", "email"], severity=severity),
        accepted_values("status", ["placed", "shipped", "returned"], severity=severity),
        relationships("customer_id", "CUSTOMERS", "id", severity=severity),
        freshness("created_at", error_after="1 day", severity=severity),
        row_count(min=1, max=4, severity=severity),
        expression("amount >= 0", severity=severity),
        custom_sql("SELECT COUNT(*) FROM {table} WHERE amount < 0", expect=0, name="no_negative_amounts",
                   severity=severity),
    ]


NAMES = [
    "unique(id)", "unique(customer_id,status)", "not_null(email)", "not_null(id,email)",
    "accepted_values(status)", "relationships(customer_id->CUSTOMERS.id)", "freshness(created_at)", "row_count",
    "expression(amount >= 0)", "no_negative_amounts",
]
GOOD_OBSERVED = dict(zip(NAMES, [0, 0, 0, 0, 0, 0, 3600.0, 4, 0, 0]))
BAD_OBSERVED = dict(zip(NAMES, [1, 1, 2, 2, 2, 2, 259200.0, 5, 2, 2]))
BAD_SAMPLES = {
    "unique(id)": [{"id": 1, "n_rows": 2}],
    "unique(customer_id,status)": [{"customer_id": 10, "status": "placed", "n_rows": 2}],
    "accepted_values(status)": [{"status": "bogus", "n_rows": 1}, {"status": "lost", "n_rows": 1}],
    "relationships(customer_id->CUSTOMERS.id)": [{"customer_id": 98, "n_rows": 1}, {"customer_id": 99, "n_rows": 1}],
}


@pytest.fixture(params=["sqlite", "snowflake"])
def conn_id(request: pytest.FixtureRequest) -> str:
    request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "snowflake_server")
    return f"quality_{request.param}"


def gate(conn_id: str, table: str, **kwargs: Any) -> QualityGateOperator:
    kwargs.setdefault("checks", make_checks())
    return QualityGateOperator(task_id="gate", snowflake_conn_id=conn_id, table=table, **kwargs)


def lower_keys(rows: list[dict]) -> list[dict]:
    return [{k.lower(): v for k, v in row.items()} for row in rows]


def sorted_rows(rows: list[dict]) -> list[dict]:
    return sorted(lower_keys(rows), key=lambda r: sorted((k, str(v)) for k, v in r.items()))


def test_every_check_passes_on_good_data(conn_id: str) -> None:
    out = gate(conn_id, "GOOD_ORDERS").execute(context())
    assert {r["name"]: r["observed"] for r in out["results"]} == GOOD_OBSERVED
    assert {r["status"] for r in out["results"]} == {"pass"}
    assert out["passed"] is True
    assert out["summary"] == {"checks": 10, "passed": 10, "warned": 0, "failed": 0}
    assert out["queries"] == {"checks": 3}  # one scan + one anti-join + the custom query; no samples


def test_every_check_fails_on_bad_data_and_raises(conn_id: str) -> None:
    ctx = context()
    with pytest.raises(AirflowFailException) as raised:
        gate(conn_id, "BAD_ORDERS").execute(ctx)
    out = ctx["ti"].xcom["quality_results"]
    assert {r["name"]: r["observed"] for r in out["results"]} == BAD_OBSERVED
    assert [r["status"] for r in out["results"]] == ["fail"] * 10
    assert out["passed"] is False
    assert out["summary"] == {"checks": 10, "passed": 0, "warned": 0, "failed": 10}
    # samples only for the failed checks that have rows to show (7 of 10)
    assert out["queries"] == {"checks": 3, "samples": 7}
    by_name = {r["name"]: r for r in out["results"]}
    for name, rows in BAD_SAMPLES.items():
        assert sorted_rows(by_name[name]["failing_rows"]) == sorted_rows(rows), name
    assert sorted(r["id"] for r in lower_keys(by_name["not_null(email)"]["failing_rows"])) == [2, 4]
    assert sorted(r["amount"] for r in lower_keys(by_name["expression(amount >= 0)"]["failing_rows"])) == [-3.0, -1.0]
    assert by_name["freshness(created_at)"]["note"] == "newest created_at = 2025-12-30T00:00:00+00:00"
    assert by_name["row_count"]["threshold"] == ">= 1 and <= 4"
    message = str(raised.value)
    assert message.startswith("Quality gate failed on BAD_ORDERS: 10 check(s) failed (fail_on='error')\n")
    assert "FAIL    unique(id)" in message


def test_result_shape_is_close_to_common_sql(conn_id: str) -> None:
    out = gate(conn_id, "GOOD_ORDERS", checks=[not_null("email")]).execute(context())
    assert out["results"] == [
        {
            "name": "not_null(email)", "check_type": "not_null", "table": "GOOD_ORDERS", "columns": ["email"],
            "column": "email", "severity": "error", "status": "pass", "success": True, "observed": 0,
            "actual": "0", "threshold": "= 0", "expected": "= 0", "description": "email never NULL",
            "note": "", "content": None, "failing_rows": [],
        }
    ]


def test_warn_failures_do_not_fail_the_task(conn_id: str) -> None:
    out = gate(conn_id, "BAD_ORDERS", checks=make_checks("warn")).execute(context())
    assert out["passed"] is True
    assert out["summary"] == {"checks": 10, "passed": 0, "warned": 10, "failed": 0}
    assert {r["name"]: r["observed"] for r in out["results"]} == BAD_OBSERVED


def test_fail_on_warn_fails_on_warnings(conn_id: str) -> None:
    with pytest.raises(AirflowFailException, match="1 check\\(s\\) failed \\(fail_on='warn'\\)"):
        gate(conn_id, "BAD_ORDERS", checks=[unique("id", severity="warn")], fail_on="warn").execute(context())


def test_freshness_warn_after_warns_before_error_after(conn_id: str) -> None:
    check = freshness("created_at", warn_after="2 days", error_after="4 days")
    out = gate(conn_id, "BAD_ORDERS", checks=[check]).execute(context())
    assert [(r["status"], r["observed"], r["threshold"]) for r in out["results"]] == [
        ("warn", 259200.0, "age warn > 2d, error > 4d")
    ]


def test_freshness_as_of_measures_age_against_the_given_time(conn_id: str) -> None:
    # BAD_ORDERS' newest created_at is 2025-12-30T00:00:00; judged as of 2025-12-31T12:00:00Z it is 36 h old
    check = freshness("created_at", warn_after="1 day", error_after="2 days")
    out = gate(conn_id, "BAD_ORDERS", checks=[check], freshness_as_of="2025-12-31T12:00:00Z").execute(context())
    assert [(r["status"], r["observed"]) for r in out["results"]] == [("warn", 129600.0)]


def test_freshness_as_of_must_be_a_timestamp() -> None:
    with pytest.raises(ValueError, match="freshness_as_of='yesterday' is not an ISO-8601 timestamp"):
        QualityGateOperator(task_id="g", snowflake_conn_id="x", table="T", checks=[row_count(min=1)],
                            freshness_as_of="yesterday")


def test_global_and_check_where_filters(conn_id: str) -> None:
    checks = [
        not_null("email", name="emails_of_placed", where="status = 'placed'"),
        row_count(min=1, name="rows_over_0"),
        expression("amount >= 0", name="non_negative_of_lost", where="status LIKE 'lo%'"),
        accepted_values("status", ["placed"], name="only_placed"),
    ]
    out = gate(conn_id, "BAD_ORDERS", checks=checks, where="id <= 2", fail_on="never").execute(context())
    # rows with id <= 2: three rows (1, 1, 2); row 2 is 'lost' with NULL email and amount -3
    assert {r["name"]: r["observed"] for r in out["results"]} == {
        "emails_of_placed": 0, "rows_over_0": 3, "non_negative_of_lost": 1, "only_placed": 1,
    }
    assert out["queries"] == {"checks": 1, "samples": 2}


def test_custom_sql_returning_rows_counts_them(conn_id: str) -> None:
    check = custom_sql("SELECT id, amount FROM {table} WHERE amount < 0 ORDER BY id", name="negatives")
    ctx = context()
    with pytest.raises(AirflowFailException):
        gate(conn_id, "BAD_ORDERS", checks=[check]).execute(ctx)
    (result,) = ctx["ti"].xcom["quality_results"]["results"]
    assert result["observed"] == 2
    assert lower_keys(result["failing_rows"]) == [{"id": 2, "amount": -3.0}, {"id": 4, "amount": -1.0}]


def test_sqlite_one_scan_counted_by_the_database(sqlite_db, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's own trace callback sees exactly three statements for ten checks."""
    from airflow.providers.sqlite.hooks.sqlite import SqliteHook

    statements: list[str] = []
    real_get_conn = SqliteHook.get_conn

    def traced(self: SqliteHook) -> sqlite3.Connection:
        conn = real_get_conn(self)
        conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(SqliteHook, "get_conn", traced)
    gate("quality_sqlite", "GOOD_ORDERS").execute(context())
    assert [s.split("\n")[0] for s in statements] == ["SELECT", "SELECT COUNT(*)", "SELECT COUNT(*) FROM \"GOOD_ORDERS\" WHERE amount < 0"]
    # One statement for the single-table checks: the outer scan plus one scalar subquery per unique check
    # (two here; with several DISTINCT counts, separate subqueries beat one expanded aggregate).
    assert statements[0].count('FROM "GOOD_ORDERS"') == 3
    assert statements[0].count("COUNT(DISTINCT") == 2


def test_snowflake_one_scan_counted_at_the_connector(snowflake_server, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every statement the Snowflake connector sends is recorded: three for ten checks."""
    from snowflake.connector.cursor import SnowflakeCursor

    statements: list[str] = []
    real_execute = SnowflakeCursor.execute

    def recording(self: SnowflakeCursor, command: str, *args: Any, **kwargs: Any) -> Any:
        statements.append(command)
        return real_execute(self, command, *args, **kwargs)

    monkeypatch.setattr(SnowflakeCursor, "execute", recording)
    gate("quality_snowflake", "GOOD_ORDERS").execute(context())
    user_statements = [s for s in statements if not s.upper().startswith(("ALTER SESSION", "USE "))]
    assert [s.split("\n")[0] for s in user_statements] == [
        "SELECT", "SELECT COUNT(*)", 'SELECT COUNT(*) FROM "GOOD_ORDERS" WHERE amount < 0'
    ]
