"""Every run type of every example DAG under the real scheduler (`make airflow-run-types`; long).

For `customer_data_pipeline` and `events_microbatch`: scheduled, manual with a logical date, backfilled (two
intervals, REST), manual without a logical date, and cleared and re-run (a backfilled run and the undated
run); each run must succeed, its extracts must render the window docs/how-to/run-types.md promises (computed
from the runs that had succeeded when it rendered), and land exactly what the source holds for it. A cleared
run keeps its window and lands the same files. For `customer_reporting`: asset-triggered (by the pipeline's
merges), manual with and without a logical date, cleared; a backfill is refused. Then `dataeng-local down`
from another process stops the runner and everything it started.

Skipped unless DATAENG_RUN_TYPES=all (the Makefile target sets it); `make test` runs a subset:
tests/airflow_ui/test_local_airflow.py.
"""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from typing import Any

import pytest

from tests.airflow_ui.conftest import (
    ApiError,
    Runners,
    RunningAirflow,
    cli_argv,
    runner_env,
    survivors,
    task_states,
    wait_for_run,
    xcom,
)
from tests.airflow_ui.runs import (
    EXAMPLE_DAGS,
    clear_run,
    expected_window,
    extract_windows,
    runs,
    source_count,
    trigger,
    ts,
    unpause,
    wait_for_dags,
    wait_for_new_run,
    when,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.timeout(7200),
    pytest.mark.skipif(
        os.environ.get("DATAENG_RUN_TYPES") != "all", reason="every run type: make airflow-run-types"
    ),
]
WINDOWED = ("customer_data_pipeline", "events_microbatch")
PERIOD = {"customer_data_pipeline": timedelta(hours=4), "events_microbatch": timedelta(minutes=5)}


@pytest.fixture(scope="module")
def local_airflow(runners: Runners) -> RunningAirflow:
    """A fresh runner: the run types are counted from the DAGs' first scheduled run."""
    return runners.get(fresh=True)


def check(airflow: RunningAirflow, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
    """The finished run succeeded, and each extract rendered the promised window and landed the source's count."""
    run = wait_for_run(airflow, dag_id, run_id)
    assert run["state"] == "success", f"{run['run_type']}: {task_states(airflow, dag_id, run_id)}"
    windows = extract_windows(airflow, dag_id, run_id)
    for endpoint, window in windows.items():
        promised = expected_window(airflow, dag_id, run, rendered_at=window["start_date"])
        rendered = {k: window[k] for k in ("updated_since", "updated_before", "as_of")}
        assert rendered == {k: promised[k] for k in rendered}, f"{run['run_type']} {run_id} {endpoint}"
        assert window["destination"].endswith(f"/landing/{endpoint}/{promised['key']}/"), window[
            "destination"
        ]
        assert window["manifest"]["records"] == source_count(airflow, endpoint, window), endpoint
    return windows


def backfill(airflow: RunningAirflow, dag_id: str, first: Any, intervals: int) -> list[str]:
    """A backfill (REST, as `airflow backfill create`) of ``intervals`` intervals from logical date ``first``."""
    last = first + PERIOD[dag_id] * (intervals - 1)
    body = {"dag_id": dag_id, "from_date": ts(first), "to_date": ts(last), "max_active_runs": 1}
    airflow.api("POST", "/backfills", body)
    backfill_runs = [
        r
        for r in runs(airflow, dag_id)
        if r["run_type"] == "backfill" and first <= when(r["logical_date"]) <= last
    ]
    assert len(backfill_runs) == intervals, backfill_runs
    return [r["dag_run_id"] for r in sorted(backfill_runs, key=lambda r: r["logical_date"])]


@pytest.mark.parametrize("dag_id", WINDOWED)
def test_every_run_type(local_airflow: RunningAirflow, dag_id: str) -> None:
    wait_for_dags(local_airflow)
    unpause(local_airflow, "customer_reporting")
    unpause(local_airflow, dag_id)

    scheduled = wait_for_new_run(local_airflow, dag_id, "scheduled")
    check(local_airflow, dag_id, scheduled["dag_run_id"])

    # manual, with a logical date a day back: the schedule's last interval up to that date
    day_back = when(scheduled["data_interval_start"]) - timedelta(days=1) + timedelta(minutes=1)
    dated = trigger(local_airflow, dag_id, ts(day_back))
    assert when(dated["logical_date"]) == day_back and dated["data_interval_end"] is not None
    check(local_airflow, dag_id, dated["dag_run_id"])

    # a backfill of two intervals two days back, in order
    first = when(scheduled["data_interval_start"]) - timedelta(days=2)
    backfilled = backfill(local_airflow, dag_id, first, intervals=2)
    before = [check(local_airflow, dag_id, run_id) for run_id in backfilled]

    # manual, without a logical date (the default)
    undated = trigger(local_airflow, dag_id, logical_date=None)
    assert undated["data_interval_start"] is None
    first_try = check(local_airflow, dag_id, undated["dag_run_id"])

    # cleared and re-run: the same window, the same files
    for run_id, earlier in ((backfilled[1], before[1]), (undated["dag_run_id"], first_try)):
        clear_run(local_airflow, dag_id, run_id)
        again = check(local_airflow, dag_id, run_id)
        for endpoint, window in again.items():
            assert window["try_number"] == earlier[endpoint]["try_number"] + 1
            for key in ("updated_since", "updated_before", "as_of", "destination", "manifest"):
                assert window[key] == earlier[endpoint][key], f"{run_id} {endpoint} {key}"


def test_reporting_run_types(local_airflow: RunningAirflow) -> None:
    # asset-triggered by the pipeline's merges (test_every_run_type ran it): each run sums its events
    triggered = [r for r in runs(local_airflow, "customer_reporting") if r["run_type"] == "asset_triggered"]
    assert triggered
    for run in triggered:
        run = wait_for_run(local_airflow, "customer_reporting", run["dag_run_id"])
        assert run["state"] == "success", task_states(local_airflow, "customer_reporting", run["dag_run_id"])
        events = local_airflow.api(
            "GET", f"/dags/customer_reporting/dagRuns/{run['dag_run_id']}/upstreamAssetEvents"
        )
        counts = xcom(local_airflow, "customer_reporting", run["dag_run_id"], "merge_counts")
        assert counts["events"] == events["total_entries"] >= 1
        assert counts["inserted"] == sum(e["extra"]["inserted"] for e in events["asset_events"])

    # manual, with and without a logical date: no events, zero merged rows; then cleared
    manual = [trigger(local_airflow, "customer_reporting", d) for d in ("2026-01-01T00:00:00Z", None)]
    for run in manual:
        done = wait_for_run(local_airflow, "customer_reporting", run["dag_run_id"])
        assert done["state"] == "success", task_states(local_airflow, "customer_reporting", run["dag_run_id"])
        counts = xcom(local_airflow, "customer_reporting", run["dag_run_id"], "merge_counts")
        assert counts == {"events": 0, "inserted": 0, "updated": 0, "deleted": 0}
    clear_run(local_airflow, "customer_reporting", manual[1]["dag_run_id"])
    assert wait_for_run(local_airflow, "customer_reporting", manual[1]["dag_run_id"])["state"] == "success"

    with pytest.raises(ApiError) as info:
        local_airflow.api(
            "POST",
            "/backfills",
            {
                "dag_id": "customer_reporting",
                "from_date": "2026-01-01T00:00:00Z",
                "to_date": "2026-01-02T00:00:00Z",
            },
        )
    assert "non-periodic schedule that does not support backfills" in info.value.body


def test_no_run_failed(local_airflow: RunningAirflow) -> None:
    failed = [
        f"{dag} {r['dag_run_id']}" for dag in EXAMPLE_DAGS for r in runs(local_airflow, dag, state="failed")
    ]
    assert failed == []


def test_down_from_another_shell_stops_every_process_it_started(local_airflow: RunningAirflow) -> None:
    snapshot = local_airflow.started_processes()
    result = subprocess.run(
        cli_argv("down", "--dir", str(local_airflow.dir)),
        env=runner_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "dataeng-local: stopped Airflow (api-server, scheduler, dag-processor, triggerer and "
        in result.stdout
    )
    from dataeng_local.stack import SERVICES

    assert f"dataeng-local: stopped {', '.join(SERVICES)}" in result.stdout
    assert local_airflow.proc.wait(timeout=120) == 0, local_airflow.text()
    assert "dataeng-local: Airflow was stopped from elsewhere" in local_airflow.text()
    assert survivors(snapshot) == []
