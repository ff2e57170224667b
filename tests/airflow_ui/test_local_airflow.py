"""`dataeng-local airflow` (`make airflow`) as a user runs it, with the real scheduler.

One runner for the module: health, login, the example DAGs over REST; then the run types users meet first,
each checked by its state and by the window its extract rendered and landed (the manifest against the
source's own count): a scheduled run, a manual run without a logical date (the REST API's and the Trigger
form's default, which failed to render before), the asset-triggered run it queues, a cleared and re-run
extract. test_ui.py then uses the same runner and ends it with Ctrl-C. Kept small for `make test` (two runs of each
windowed DAG); manual runs with a logical date, backfills and whole cleared runs of all three DAGs:
`make airflow-run-types` (tests/airflow_ui/test_run_types.py).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from dataeng_local.airflow import PASSWORD, USERNAME
from tests.airflow_ui.conftest import ApiError, RunningAirflow, task_states, wait_for_run, xcom
from tests.airflow_ui.runs import (
    EXAMPLE_DAGS,
    INITIAL,
    clear_tasks,
    extract_windows,
    latest_success_end,
    pause,
    runs,
    source_count,
    trigger,
    ts,
    ts_nodash,
    unpause,
    wait_for_dags,
    wait_for_new_run,
    when,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def started(local_airflow: RunningAirflow) -> dict[str, dict[str, Any]]:
    """All runs of the module, started at once so the scheduler works while the tests wait.

    Unpausing creates each windowed DAG's latest scheduled run; the manual runs (no logical date) are
    triggered once it succeeded, so they start where it ended (a run still running at the trigger does not
    count: a clear of the manual run would start elsewhere). The two DAGs' first tasks
    (``create_tables``, DDL on the same schemas) are kept apart: the Snowflake stand-in (DuckDB) fails one of
    two concurrent ``CREATE SCHEMA IF NOT EXISTS`` with a write-write conflict, and the retry costs half a
    minute (Snowflake itself takes both).
    """
    wait_for_dags(local_airflow)
    unpause(local_airflow, "customer_reporting")
    out = {}
    for dag_id in ("events_microbatch", "customer_data_pipeline"):
        unpause(local_airflow, dag_id)
        out[f"{dag_id}:scheduled"] = wait_for_new_run(local_airflow, dag_id, "scheduled")
        wait_for_task(local_airflow, dag_id, out[f"{dag_id}:scheduled"]["dag_run_id"], "create_tables")
    for dag_id in ("customer_data_pipeline", "events_microbatch"):
        wait_for_run(local_airflow, dag_id, out[f"{dag_id}:scheduled"]["dag_run_id"])
        out[f"{dag_id}:manual"] = trigger(local_airflow, dag_id, logical_date=None)
        wait_for_task(local_airflow, dag_id, out[f"{dag_id}:manual"]["dag_run_id"], "create_tables")
    return out


def wait_for_task(
    airflow: RunningAirflow, dag_id: str, run_id: str, task_id: str, timeout: float = 600.0
) -> None:
    deadline = time.monotonic() + timeout
    while task_states(airflow, dag_id, run_id).get(task_id) not in ("success", "failed"):
        assert time.monotonic() < deadline, (
            f"{dag_id}.{task_id} not done: {task_states(airflow, dag_id, run_id)}"
        )
        time.sleep(1.0)


# -- the runner ----------------------------------------------------------------------------------------------
def test_health_shows_every_component_healthy(local_airflow: RunningAirflow) -> None:
    health = local_airflow.health()
    assert health is not None
    assert {k: v["status"] for k, v in health.items()} == {
        "metadatabase": "healthy",
        "scheduler": "healthy",
        "triggerer": "healthy",
        "dag_processor": "healthy",
    }


def test_output_names_the_url_and_the_login(local_airflow: RunningAirflow) -> None:
    assert f"Airflow is up: {local_airflow.url}   login {USERNAME} / {PASSWORD}\n" in local_airflow.text()
    assert "LocalExecutor, parallelism" in local_airflow.text()


def test_the_fixed_login_gets_a_token_and_a_wrong_password_none(local_airflow: RunningAirflow) -> None:
    assert local_airflow.login(USERNAME, PASSWORD)
    with pytest.raises(ApiError) as info:
        local_airflow.login(USERNAME, "wrong")
    assert info.value.status == 401


def test_the_example_dags_without_import_errors(local_airflow: RunningAirflow) -> None:
    dags = wait_for_dags(local_airflow)
    assert sorted(d["dag_id"] for d in dags["dags"]) == sorted(EXAMPLE_DAGS)
    assert local_airflow.api("GET", "/importErrors") == {"import_errors": [], "total_entries": 0}
    # the dbt project as one task per model (make test wrote the manifest the group renders from)
    tasks = local_airflow.api("GET", "/dags/customer_marts/tasks")["tasks"]
    assert sorted(t["task_id"] for t in tasks) == [
        "marts.dbt_build",
        "marts.dim_customer",
        "marts.fct_sales",
        "marts.staging_customers_test",
        "marts.staging_orders_test",
        "marts.stg_customers",
        "marts.stg_orders",
    ]


# -- run types -------------------------------------------------------------------------------------------------
def assert_landed_what_the_source_holds(
    local_airflow: RunningAirflow, windows: dict[str, dict[str, Any]]
) -> None:
    for endpoint, window in windows.items():
        assert window["manifest"]["records"] == source_count(local_airflow, endpoint, window), endpoint
        assert window["manifest"]["destination"] == window["destination"]


def test_events_manual_run_without_a_logical_date_then_its_extract_cleared(
    local_airflow: RunningAirflow, started: dict[str, dict[str, Any]]
) -> None:
    scheduled = wait_for_run(
        local_airflow, "events_microbatch", started["events_microbatch:scheduled"]["dag_run_id"]
    )
    assert scheduled["state"] == "success", task_states(
        local_airflow, "events_microbatch", scheduled["dag_run_id"]
    )
    (first,) = extract_windows(local_airflow, "events_microbatch", scheduled["dag_run_id"]).values()
    start, end = when(scheduled["data_interval_start"]), when(scheduled["data_interval_end"])
    assert (first["updated_since"], first["updated_before"]) == (ts(start), ts(end))  # its interval
    assert first["destination"] == f"s3://dataeng-local/landing/events/{ts_nodash(start)}/"

    run_id = started["events_microbatch:manual"]["dag_run_id"]
    run = wait_for_run(local_airflow, "events_microbatch", run_id)
    assert run["state"] == "success", task_states(local_airflow, "events_microbatch", run_id)
    triggered = when(run["run_after"]).replace(microsecond=0)
    before = extract_windows(local_airflow, "events_microbatch", run_id)
    since = latest_success_end(local_airflow, "events_microbatch", until=triggered, before=when(run["run_after"]))
    assert since is not None and since >= end
    assert (before["events"]["updated_since"], before["events"]["updated_before"]) == (
        ts(since),
        ts(triggered),
    )
    assert (
        before["events"]["destination"]
        == f"s3://dataeng-local/landing/events/manual__{ts_nodash(triggered)}/"
    )
    assert_landed_what_the_source_holds(local_airflow, before)

    # Clear the extract (the UI's "Clear" on a task): it runs again with the same window and the same files,
    # although scheduled runs (every five minutes) may have succeeded meanwhile.
    clear_tasks(local_airflow, "events_microbatch", run_id, ["extract_events"])
    again = wait_for_run(local_airflow, "events_microbatch", run_id)
    pause(local_airflow, "events_microbatch")  # no more scheduled runs for the rest of the module
    assert again["state"] == "success", task_states(local_airflow, "events_microbatch", run_id)
    after = extract_windows(local_airflow, "events_microbatch", run_id)
    assert after["events"]["try_number"] == before["events"]["try_number"] + 1
    for key in ("updated_since", "updated_before", "as_of", "destination", "manifest"):
        assert after["events"][key] == before["events"][key], key


def test_pipeline_scheduled_run(local_airflow: RunningAirflow, started: dict[str, dict[str, Any]]) -> None:
    run = wait_for_run(
        local_airflow, "customer_data_pipeline", started["customer_data_pipeline:scheduled"]["dag_run_id"]
    )
    assert run["state"] == "success", task_states(local_airflow, run["dag_id"], run["dag_run_id"])
    start, end = when(run["data_interval_start"]), when(run["data_interval_end"])
    windows = extract_windows(local_airflow, "customer_data_pipeline", run["dag_run_id"])
    for endpoint, window in windows.items():
        # the first run: the whole history up to the interval's end
        assert (window["updated_since"], window["updated_before"], window["as_of"]) == (
            INITIAL,
            ts(end),
            ts(end),
        )
        assert window["destination"] == f"s3://dataeng-local/landing/{endpoint}/{ts_nodash(start)}/"
    assert_landed_what_the_source_holds(local_airflow, windows)
    assert windows["customers"]["manifest"]["records"] > 1000  # the demo API's initial customers at least


def test_pipeline_manual_run_without_a_logical_date(
    local_airflow: RunningAirflow, started: dict[str, dict[str, Any]]
) -> None:
    """The issue: `'prev_data_interval_end_success' is undefined` in the first task, all else upstream_failed."""
    manual = started["customer_data_pipeline:manual"]
    assert (manual["logical_date"], manual["data_interval_start"]) == (None, None)
    run = wait_for_run(local_airflow, "customer_data_pipeline", manual["dag_run_id"])
    assert run["state"] == "success", task_states(local_airflow, run["dag_id"], run["dag_run_id"])
    triggered = when(run["run_after"]).replace(microsecond=0)
    windows = extract_windows(local_airflow, "customer_data_pipeline", run["dag_run_id"])
    since = latest_success_end(local_airflow, "customer_data_pipeline", until=triggered, before=when(run["run_after"]))
    scheduled = started["customer_data_pipeline:scheduled"]
    assert since == when(scheduled["data_interval_end"])  # triggered after the scheduled run succeeded
    for endpoint, window in windows.items():
        # since the last successful run's interval end, up to the trigger time
        assert (window["updated_since"], window["updated_before"], window["as_of"]) == (
            ts(since),
            ts(triggered),
            ts(triggered),
        )
        assert (
            window["destination"] == f"s3://dataeng-local/landing/{endpoint}/manual__{ts_nodash(triggered)}/"
        )
    assert_landed_what_the_source_holds(local_airflow, windows)


def test_asset_triggered_reporting_run_gets_the_merge_counts(
    local_airflow: RunningAirflow, started: dict[str, dict[str, Any]]
) -> None:
    wait_for_run(
        local_airflow, "customer_data_pipeline", started["customer_data_pipeline:scheduled"]["dag_run_id"]
    )
    triggered = wait_for_new_run(local_airflow, "customer_reporting", "asset_triggered")
    run = wait_for_run(local_airflow, "customer_reporting", triggered["dag_run_id"])
    assert run["state"] == "success", task_states(local_airflow, run["dag_id"], run["dag_run_id"])
    assert run["logical_date"] is None  # asset-triggered runs have no data interval either
    events = local_airflow.api(
        "GET", f"/dags/customer_reporting/dagRuns/{run['dag_run_id']}/upstreamAssetEvents"
    )
    merged = [e for e in events["asset_events"] if e["name"] == "DEMO.STAGING.CUSTOMERS"]
    assert merged and all(e["source_task_id"] == "merge" for e in merged)
    counts = xcom(local_airflow, "customer_reporting", run["dag_run_id"], "merge_counts")
    assert counts == {
        "events": len(merged),
        **{k: sum(e["extra"][k] for e in merged) for k in ("inserted", "updated", "deleted")},
    }


def test_backfill_is_refused_for_the_asset_scheduled_dag(local_airflow: RunningAirflow) -> None:
    body = {
        "dag_id": "customer_reporting",
        "from_date": "2026-01-01T00:00:00Z",
        "to_date": "2026-01-02T00:00:00Z",
    }
    with pytest.raises(ApiError) as info:
        local_airflow.api("POST", "/backfills", body)
    assert "customer_reporting has a non-periodic schedule that does not support backfills" in info.value.body


def test_no_run_of_the_module_failed(local_airflow: RunningAirflow) -> None:
    """Scheduled events runs kept coming every five minutes meanwhile: they succeeded too."""
    failed = [
        f"{dag} {r['dag_run_id']}" for dag in EXAMPLE_DAGS for r in runs(local_airflow, dag, state="failed")
    ]
    assert failed == []
