"""The results table after runs (contents, idempotent re-runs) and row_count_anomaly over a history."""

from __future__ import annotations

import itertools
import json
import statistics
from datetime import timedelta
from typing import Any

import pytest
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_dataeng.operators.quality_gate import QualityGateOperator
from airflow_provider_dataeng.quality import not_null, row_count, row_count_anomaly, unique
from airflow_provider_dataeng.quality.dialects import dialect_for
from airflow_provider_dataeng.quality.history import create_table_sql
from tests.quality.conftest import NOW, context

pytestmark = pytest.mark.usefixtures("fixed_clock")

_names = itertools.count()


@pytest.fixture(params=["sqlite", "snowflake"])
def conn_id(request: pytest.FixtureRequest) -> str:
    request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "snowflake_server")
    return f"quality_{request.param}"


def hook(conn_id: str) -> Any:
    connection = BaseHook.get_connection(conn_id)
    if connection.conn_type == "snowflake":
        from airflow_provider_dataeng.hooks.snowflake import SnowflakeHook

        return SnowflakeHook(snowflake_conn_id=conn_id)
    return connection.get_hook()


def records(conn_id: str, sql: str) -> list[tuple]:
    return [tuple(r) for r in hook(conn_id).get_records(sql)]


def run(conn_id: str, *statements: str) -> None:
    h = hook(conn_id)
    conn = h.get_conn()
    cur = conn.cursor()
    for statement in statements:
        cur.execute(statement)
    conn.commit()
    conn.close()


def ts(value: Any) -> str:
    return str(value)[:19]


def test_results_table_after_two_runs_and_a_rerun(conn_id: str) -> None:
    table = f"RESULTS_{next(_names)}"
    checks = [not_null("email"), row_count(min=1), unique("id", severity="warn")]

    def gate(source: str, run_id: str, day: int) -> None:
        op = QualityGateOperator(task_id="gate", snowflake_conn_id=conn_id, table=source, checks=checks, results_table=table,
                                 fail_on="never")
        op.execute(context(run_id=run_id, logical_date=NOW - timedelta(days=day)))

    gate("GOOD_ORDERS", "run_1", 1)
    gate("BAD_ORDERS", "run_2", 0)
    gate("BAD_ORDERS", "run_2", 0)  # a retry of run_2 replaces its rows, it does not add more
    rows = records(
        conn_id,
        f'SELECT "DAG_ID", "TASK_ID", "RUN_ID", "LOGICAL_DATE", "CHECKED_AT", "TABLE_NAME", "CHECK_NAME", '
        f'"CHECK_TYPE", "COLUMN_NAMES", "OBSERVED", "OBSERVED_NUMBER", "THRESHOLD", "STATUS", "SEVERITY", "NOTE" '
        f'FROM "{table}" ORDER BY "RUN_ID", "CHECK_NAME"',
    )
    rows = [(*r[:3], ts(r[3]), ts(r[4]), *r[5:]) for r in rows]
    day1, day0 = "2026-01-01 00:00:00", "2026-01-02 00:00:00"
    assert rows == [
        ("quality_dag", "gate", "run_1", day1, day0, "GOOD_ORDERS", "not_null(email)", "not_null", "email",
         "0", 0.0, "= 0", "pass", "error", None),
        ("quality_dag", "gate", "run_1", day1, day0, "GOOD_ORDERS", "row_count", "row_count", None,
         "4", 4.0, ">= 1", "pass", "error", None),
        ("quality_dag", "gate", "run_1", day1, day0, "GOOD_ORDERS", "unique(id)", "unique", "id",
         "0", 0.0, "= 0", "pass", "warn", None),
        ("quality_dag", "gate", "run_2", day0, day0, "BAD_ORDERS", "not_null(email)", "not_null", "email",
         "2", 2.0, "= 0", "fail", "error", None),
        ("quality_dag", "gate", "run_2", day0, day0, "BAD_ORDERS", "row_count", "row_count", None,
         "5", 5.0, ">= 1", "pass", "error", None),
        ("quality_dag", "gate", "run_2", day0, day0, "BAD_ORDERS", "unique(id)", "unique", "id",
         "1", 1.0, "= 0", "warn", "warn", None),
    ]


# ----------------------------------------------------------------------------------------- anomaly

HISTORY = [100, 102, 98, 101, 99, 100, 103]  # newest first


def prepare(conn_id: str, rows_today: int, history: list[int]) -> tuple[str, str]:
    """A table with ``rows_today`` rows and a results table holding ``history`` (one run per day)."""
    n = next(_names)
    table, results = f"COUNTS_{n}", f"ANOMALY_RESULTS_{n}"
    dialect = dialect_for(BaseHook.get_connection(conn_id).conn_type)
    values = ", ".join(f"({i})" for i in range(rows_today))
    statements = [f'CREATE TABLE "{table}" ("ID" INTEGER)', create_table_sql(results, dialect)]
    if rows_today:
        statements.append(f'INSERT INTO "{table}" VALUES {values}')
    for day, count in enumerate(history, start=1):
        logical = (NOW - timedelta(days=day)).strftime("%Y-%m-%d %H:%M:%S")
        statements.append(
            f'INSERT INTO "{results}" ("DAG_ID", "TASK_ID", "RUN_ID", "LOGICAL_DATE", "CHECKED_AT", "TABLE_NAME", '
            f'"CHECK_NAME", "CHECK_TYPE", "OBSERVED", "OBSERVED_NUMBER", "STATUS", "SEVERITY") VALUES '
            f"('quality_dag', 'gate', 'run_{day}', '{logical}', '{logical}', '{table}', 'row_count_anomaly', "
            f"'row_count_anomaly', '{count}', {count}, 'pass', 'error')"
        )
    run(conn_id, *statements)
    return table, results


def anomaly_gate(conn_id: str, table: str, results: str, **kwargs: Any) -> QualityGateOperator:
    return QualityGateOperator(task_id="gate", snowflake_conn_id=conn_id, table=table, results_table=results,
                               checks=[row_count_anomaly(**kwargs)])


def test_anomaly_normal_day_passes(conn_id: str) -> None:
    table, results = prepare(conn_id, 101, HISTORY)
    out = anomaly_gate(conn_id, table, results).execute(context(run_id="today"))
    (result,) = out["results"]
    assert (result["status"], result["observed"], result["threshold"]) == ("pass", 101, "|z-score| <= 3")
    assert result["note"] == "mean 100.4, stdev 1.7 over 7 runs; z-score 0.33, change from last +1.0%"
    # create-if-missing, add DETAILS if missing (SQLite: ask first), read history, delete, insert
    assert out["queries"] == {"checks": 1, "history": 5}
    (details,) = records(conn_id, f'SELECT "DETAILS" FROM "{results}" WHERE "RUN_ID" = \'today\'')[0]
    band = json.loads(details)
    mean, stdev = statistics.fmean(HISTORY), statistics.stdev(HISTORY)
    assert band == {"history": 7, "min_history": 5, "max_zscore": 3.0, "max_pct_change": None, "mean": mean,
                    "stdev": stdev, "zscore": (101 - mean) / stdev, "pct_change": 1.0,
                    "lower": mean - 3 * stdev, "upper": mean + 3 * stdev}


def test_anomaly_spike_is_flagged(conn_id: str) -> None:
    table, results = prepare(conn_id, 160, HISTORY)
    ctx = context(run_id="today")
    with pytest.raises(AirflowFailException, match="row_count_anomaly"):
        anomaly_gate(conn_id, table, results).execute(ctx)
    (result,) = ctx["ti"].xcom["quality_results"]["results"]
    assert (result["status"], result["observed"]) == ("fail", 160)
    assert result["note"] == (
        "mean 100.4, stdev 1.7 over 7 runs; z-score 34.67, change from last +60.0%; |z-score| 34.67 > 3"
    )
    # the failed count is recorded too (the next run sees it in its history)
    assert records(conn_id, f'SELECT "OBSERVED_NUMBER", "STATUS" FROM "{results}" WHERE "RUN_ID" = \'today\'') == [
        (160.0, "fail")
    ]


def test_anomaly_pct_change_limit(conn_id: str) -> None:
    table, results = prepare(conn_id, 80, HISTORY)
    ctx = context(run_id="today")
    with pytest.raises(AirflowFailException):
        anomaly_gate(conn_id, table, results, max_zscore=None, max_pct_change=10).execute(ctx)
    (result,) = ctx["ti"].xcom["quality_results"]["results"]
    assert result["threshold"] == "|change| <= 10%"
    assert result["note"].endswith("change from last -20.0%; |change| 20.0% > 10%")


def test_anomaly_short_history_passes_with_a_note(conn_id: str) -> None:
    table, results = prepare(conn_id, 5000, HISTORY[:3])
    out = anomaly_gate(conn_id, table, results).execute(context(run_id="today"))
    (result,) = out["results"]
    assert (result["status"], result["observed"]) == ("pass", 5000)
    assert result["note"] == "history too short (3 of 5 runs needed): passed"


def test_anomaly_ignores_later_dates_and_its_own_run(conn_id: str) -> None:
    """A backfill of an old date compares with older history only; a retry never compares with itself."""
    table, results = prepare(conn_id, 100, HISTORY)
    out = anomaly_gate(conn_id, table, results).execute(
        context(run_id="run_2", logical_date=NOW - timedelta(days=2))
    )
    (result,) = out["results"]
    # history seen: days 3..7 only (98, 101, 99, 100, 103); run_2's own row (day 2) is excluded
    assert result["note"] == "mean 100.2, stdev 1.9 over 5 runs; z-score -0.10, change from last +2.0%"


def test_a_results_table_from_before_details_gets_the_column(conn_id: str) -> None:
    """Tables made by earlier versions (no DETAILS) are upgraded on the next run, their rows kept; a failed
    check's sample rows land in DETAILS."""
    table = f"OLD_RESULTS_{next(_names)}"
    columns = ", ".join(f'"{c}" {"FLOAT" if c == "OBSERVED_NUMBER" else "VARCHAR"}' for c in (
        "DAG_ID", "TASK_ID", "RUN_ID", "LOGICAL_DATE", "CHECKED_AT", "TABLE_NAME", "CHECK_NAME", "CHECK_TYPE",
        "COLUMN_NAMES", "OBSERVED", "OBSERVED_NUMBER", "THRESHOLD", "STATUS", "SEVERITY", "NOTE"))
    run(conn_id, f'CREATE TABLE "{table}" ({columns})',
        f'INSERT INTO "{table}" ("RUN_ID", "CHECK_NAME", "STATUS") VALUES (\'old\', \'not_null(email)\', \'pass\')')
    for _ in range(2):  # the second run finds the column there
        QualityGateOperator(task_id="gate", snowflake_conn_id=conn_id, table="BAD_ORDERS", results_table=table,
                            checks=[not_null("email")], fail_on="never").execute(context(run_id="new"))
    rows = records(conn_id, f'SELECT "RUN_ID", "STATUS", "DETAILS" FROM "{table}" ORDER BY "RUN_ID"')
    assert [r[:2] for r in rows] == [("new", "fail"), ("old", "pass")] and rows[1][2] is None
    sample = [{k.lower(): v for k, v in r.items()} for r in json.loads(rows[0][2])["failing_rows"]]
    assert [(r["id"], r["email"], r["status"]) for r in sample] == [(2, None, "lost"), (4, None, "bogus")]


def test_results_json_is_serializable(conn_id: str) -> None:
    table, results = prepare(conn_id, 3, [])
    out = anomaly_gate(conn_id, table, results).execute(context())
    assert json.loads(json.dumps(out)) == out


def test_the_gate_writes_the_data_health_report_even_when_it_fails(conn_id: str, tmp_path: Any) -> None:
    table = f"REPORT_RESULTS_{next(_names)}"
    gate = QualityGateOperator(task_id="gate", snowflake_conn_id=conn_id, table="BAD_ORDERS", results_table=table,
                               checks=[not_null("email"), row_count(min=1)], report_destination=str(tmp_path / "r"))
    ctx = context(run_id="run_1")
    with pytest.raises(AirflowFailException):
        gate.execute(ctx)
    out = ctx["ti"].xcom["quality_results"]
    files = sorted(p.name for p in (tmp_path / "r").iterdir())
    assert out["report"].endswith("/r/index.html") and "index.html" in files and len(files) == 2
    index = (tmp_path / "r" / "index.html").read_text()
    assert '<tr data-table="BAD_ORDERS">' in index and ">fail</span>" in index
    page = (tmp_path / "r" / next(f for f in files if f.startswith("table-"))).read_text()
    assert "Failing rows of not_null(email)" in page and '<a href="./index.html">' in page


def test_report_destination_needs_a_results_table() -> None:
    with pytest.raises(ValueError, match="report_destination needs results_table="):
        QualityGateOperator(task_id="gate", snowflake_conn_id="x", table="T", checks=[row_count(min=1)],
                            report_destination="s3://bucket/health/")
    with pytest.raises(ValueError, match="report_days must be"):
        QualityGateOperator(task_id="gate", snowflake_conn_id="x", table="T", checks=[row_count(min=1)],
                            results_table="R", report_destination="/tmp/r", report_days=0)
