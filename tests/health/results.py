"""A small results history for the data-health tests: three gate runs of one table, two of another."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_dataeng.health.shape import AssetEvent, Result

DAY0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
COUNTS = [100.0, 104.0, 160.0]  # the third run trips the anomaly band


def band(history: list[float]) -> dict[str, Any]:
    mean, stdev = statistics.fmean(history), statistics.stdev(history)
    return {"history": len(history), "mean": mean, "stdev": stdev, "lower": mean - 3 * stdev,
            "upper": mean + 3 * stdev}


def result(run: int, check: str, check_type: str, status: str, observed: Any = 0, *, table: str = "STAGING.ORDERS",
           dag_id: str = "shop", details: dict[str, Any] | None = None) -> Result:
    at = DAY0 + timedelta(days=run)
    number = float(observed) if isinstance(observed, (int, float)) else None
    return Result(dag_id=dag_id, task_id="gate", run_id=f"scheduled__{at:%Y-%m-%d}", logical_date=at,
                  checked_at=at + timedelta(minutes=5), table=table, check=check, check_type=check_type,
                  columns=None, observed=observed, observed_number=number, threshold="= 0", status=status,
                  severity="error", note=None, details=details or {})


def history() -> list[Result]:
    rows = []
    for run, count in enumerate(COUNTS):
        tripped = run == 2
        rows.append(result(run, "row_count_anomaly", "row_count_anomaly", "fail" if tripped else "pass", count,
                           details=band([98.0, 102.0, 99.0, 101.0, 100.0]) if run else {"history": 0}))
        rows.append(result(run, "unique(id)", "unique", "fail" if tripped else "pass", 1 if tripped else 0,
                           details={"failing_rows": [{"ID": 7, "N_ROWS": 2}]} if tripped else {}))
        rows.append(result(run, "freshness(updated_at)", "freshness", "warn" if run == 1 else "pass",
                           [600.0, 7200.0, 60.0][run], details={"warn_after": 3600, "error_after": 86400}))
    for run in (0, 1):
        rows.append(result(run, "not_null(email)", "not_null", "pass", table="ANALYTICS.DIM_CUSTOMERS",
                           dag_id="marts"))
        rows.append(result(run, "row_count", "row_count", "pass", [10, 12][run], table="ANALYTICS.DIM_CUSTOMERS",
                           dag_id="marts"))
    return rows


def events() -> list[AssetEvent]:
    at = DAY0 + timedelta(days=2, minutes=3)
    return [
        AssetEvent("shop", "scheduled__2026-01-03", "merge_orders", "SHOP.STAGING.ORDERS", at,
                   {"inserted": 50, "updated": 7, "deleted": 3}),
        AssetEvent("shop", "scheduled__2026-01-03", "load_orders", "SHOP.RAW.ORDERS", at - timedelta(minutes=1),
                   {"files_loaded": 2, "rows_loaded": 60, "rows_parsed": 60, "files_skipped": 0}),
        AssetEvent("shop", "scheduled__2026-01-02", "merge_orders", "SHOP.STAGING.ORDERS", at - timedelta(days=1),
                   {"inserted": 4, "updated": 0, "deleted": 0}),
        AssetEvent("other", "manual__1", "x", "SHOP.STAGING.ORDERS", at, {"inserted": 1}),
    ]
