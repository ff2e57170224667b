"""The data-health shaping: overview lines, a table's runs, the count series with its band, freshness lags."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from airflow_provider_dataeng.health import shape
from airflow_provider_dataeng.quality.history import COLUMNS
from tests.health.results import COUNTS, DAY0, band, events, history


def test_overview_lists_each_table_worst_first_with_its_last_run() -> None:
    summaries = shape.overview(history(), events())
    assert [(s.table, s.status, s.runs, s.schema, s.dag_ids) for s in summaries] == [
        ("STAGING.ORDERS", "fail", 3, "STAGING", ["shop"]),
        ("ANALYTICS.DIM_CUSTOMERS", "pass", 2, "ANALYTICS", ["marts"]),
    ]
    orders, customers = summaries
    assert orders.last.run_id == "scheduled__2026-01-03"
    assert orders.last.named("fail") == ["row_count_anomaly", "unique(id)"] and orders.last.named("warn") == []
    assert orders.counts == COUNTS and customers.counts == [10.0, 12.0]
    assert orders.freshness == shape.Freshness(DAY0.replace(day=3), 60.0, 3600.0, 86400.0, "pass")
    assert customers.freshness is None
    # the rows the last run merged into the table (its load into RAW, other runs and DAGs left out)
    assert [(e.kind, e.rows, e.asset) for e in orders.last_rows] == [("merge", 60, "SHOP.STAGING.ORDERS")]
    assert customers.last_rows == []


def test_overview_filters_by_dag_and_schema() -> None:
    assert [s.table for s in shape.overview(history(), dag_id="marts")] == ["ANALYTICS.DIM_CUSTOMERS"]
    assert [s.table for s in shape.overview(history(), schema="staging")] == ["STAGING.ORDERS"]
    assert shape.overview(history(), dag_id="nope") == []


def test_table_history_has_one_point_per_run_with_the_band_and_the_trip() -> None:
    table = shape.table_history("STAGING.ORDERS", history(), events())
    assert [r.run_id for r in table.runs] == [f"scheduled__2026-01-0{d}" for d in (1, 2, 3)]
    assert table.count_check == "row_count_anomaly"
    expected = band([98.0, 102.0, 99.0, 101.0, 100.0])
    assert [(p.value, p.lower, p.upper, p.tripped) for p in table.counts] == [
        (100.0, None, None, False),
        (104.0, expected["lower"], expected["upper"], False),
        (160.0, expected["lower"], expected["upper"], True),
    ]
    assert [(f.lag, f.status) for f in table.freshness] == [(600.0, "pass"), (7200.0, "warn"), (60.0, "pass")]
    assert [(check, [r.status if r else None for r in results]) for check, results in table.timeline()] == [
        ("freshness(updated_at)", ["pass", "warn", "pass"]),
        ("row_count_anomaly", ["pass", "pass", "fail"]),
        ("unique(id)", ["pass", "pass", "fail"]),
    ]
    assert table.last_failure is table.runs[2]
    assert [(r.check, r.details["failing_rows"]) for r in table.samples()] == [
        ("unique(id)", [{"ID": 7, "N_ROWS": 2}])
    ]
    assert sorted(table.events) == [("shop", "scheduled__2026-01-02"), ("shop", "scheduled__2026-01-03")]


def test_a_check_missing_from_a_run_is_a_gap() -> None:
    rows = [r for r in history() if not (r.check == "unique(id)" and r.run_id.endswith("01-02"))]
    table = shape.table_history("STAGING.ORDERS", rows)
    timeline = dict(table.timeline())
    assert [r.status if r else None for r in timeline["unique(id)"]] == ["pass", None, "fail"]


def test_runs_order_by_logical_date_and_fall_back_to_the_check_time() -> None:
    late = shape.Result("d", "gate", "manual__x", None, datetime(2026, 1, 2, 12, tzinfo=timezone.utc), "T", "c",
                        "row_count", None, 5, 5.0, None, "pass", "error", None)
    table = shape.table_history("T", [*[r for r in history() if r.table == "T"], late])
    assert [r.run_id for r in table.runs] == ["manual__x"] and table.runs[0].at == late.checked_at
    assert shape.worst(["pass", "warn"]) == "warn" and shape.worst([]) == "pass"
    assert shape.worst(["fail", "something"]) == "something"  # unknown ranks as error


def test_a_results_table_row_parses_with_utc_times_and_json() -> None:
    details = {"failing_rows": [{"id": 1}], "lower": 1.5}
    row = ("dag", "gate", "run", datetime(2026, 1, 1), "2026-01-01 00:05:00", "S.T", "c", "unique", "id", "3", 3.0,
           "= 0", "FAIL", "error", "note", json.dumps(details))
    assert len(row) == len(COLUMNS)
    result = shape.result_from_row(row)
    assert result.logical_date == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert result.checked_at == datetime(2026, 1, 1, 0, 5, tzinfo=timezone.utc)
    assert (result.observed, result.status, result.details) == (3, "fail", details)
    broken = shape.result_from_row((*row[:9], "not json", None, None, "pass", None, None, "{not json"))
    assert (broken.observed, broken.observed_number, broken.details) == ("not json", None, {})


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "-"), (0, "0s"), (45, "45s"), (60, "1m 0s"), (7500, "2h 5m"), (3 * 86400 + 4 * 3600 + 5, "3d 4h"),
    (-90, "-1m 30s"),
])
def test_lag_text(seconds: float | None, text: str) -> None:
    assert shape.lag_text(seconds) == text


def test_event_rows_and_kinds() -> None:
    kinds = [(e.kind, e.rows) for e in events()]
    assert kinds == [("merge", 60), ("load", 60), ("merge", 4), ("merge", 1)]
    odd = shape.AssetEvent("d", "r", "t", "a", DAY0, {"files": 2, "records": 10, "bytes": 5})
    dbt = shape.AssetEvent("d", "r", "t", "a", DAY0, {"rows_affected": 3})
    other = shape.AssetEvent("d", "r", "t", "a", DAY0, {"flag": True})
    built = shape.AssetEvent("d", "r", "t", "a", DAY0, {"rows_affected": 1, "materialized": "table"})
    assert [(e.kind, e.rows) for e in (odd, dbt, other, built)] == [
        ("extract", 10), ("dbt", 3), ("other", None), ("dbt", None)
    ]


@pytest.mark.parametrize(("asset", "table", "same"), [
    ("DEMO.STAGING.ORDERS", "STAGING.ORDERS", True), ("DEMO.STAGING.ORDERS", "staging.orders", True),
    ("DEMO.STAGING.ORDERS", '"STAGING"."ORDERS"', True), ("DEMO.STAGING.ORDERS", "DEMO.STAGING.ORDERS", True),
    ("DEMO.RAW.ORDERS", "STAGING.ORDERS", False), ("DEMO.STAGING.ORDERS_2", "STAGING.ORDERS", False),
    ("ORDERS", "STAGING.ORDERS", False),
])
def test_an_asset_is_the_gated_table(asset: str, table: str, same: bool) -> None:
    assert shape.same_table(asset, table) is same
