"""Triggering runs of the example DAGs over REST and checking the windows their extracts used."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from datetime import datetime
from typing import Any

from dataeng_local.demo_api.config import DEFAULT_TOKEN
from tests.airflow_ui.conftest import RunningAirflow, quote, task_instance, xcom
from tests.example_dags import EXAMPLE_DAGS

INITIAL = "1970-01-01T00:00:00+00:00"  # customer_data_pipeline's params.initial_updated_since
# (dag, extract task, map index) -> the endpoint it reads
EXTRACTS = {
    "customer_data_pipeline": [("extract", 0, "customers"), ("extract", 1, "orders")],
    "events_microbatch": [("extract_events", -1, "events")],
}


def when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def ts(value: datetime) -> str:
    return value.isoformat()


def ts_nodash(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%S")


def wait_for_dags(airflow: RunningAirflow, timeout: float = 300.0) -> dict[str, Any]:
    """The DAG list once the DAG processor has parsed every example DAG."""
    deadline = time.monotonic() + timeout
    while True:
        dags = airflow.api("GET", "/dags?limit=100")
        if {d["dag_id"] for d in dags["dags"]} >= set(EXAMPLE_DAGS) or time.monotonic() > deadline:
            return dict(dags)
        time.sleep(2.0)


def unpause(airflow: RunningAirflow, dag_id: str) -> None:
    assert airflow.api("PATCH", f"/dags/{dag_id}", {"is_paused": False})["is_paused"] is False


def trigger(airflow: RunningAirflow, dag_id: str, logical_date: str | None) -> dict[str, Any]:
    """``POST /dagRuns`` as the UI's Trigger form and the REST API do by default (``logical_date`` null)."""
    return dict(airflow.api("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": logical_date}))


def runs(airflow: RunningAirflow, dag_id: str, **filters: str) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode({"limit": 100, "order_by": "run_after", **filters})
    return list(airflow.api("GET", f"/dags/{dag_id}/dagRuns?{query}")["dag_runs"])


def wait_for_new_run(
    airflow: RunningAirflow, dag_id: str, run_type: str, timeout: float = 300.0
) -> dict[str, Any]:
    """The first run of ``run_type`` the scheduler creates (e.g. right after unpausing)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [r for r in runs(airflow, dag_id) if r["run_type"] == run_type]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no {run_type} run of {dag_id} after {timeout:.0f}s")
        time.sleep(1.0)


def clear_run(airflow: RunningAirflow, dag_id: str, run_id: str) -> None:
    """ "Clear" in the UI: every task of the run runs again."""
    airflow.api(
        "POST", f"/dags/{dag_id}/dagRuns/{quote(run_id)}/clear", {"dry_run": False, "only_failed": False}
    )


def clear_tasks(airflow: RunningAirflow, dag_id: str, run_id: str, task_ids: list[str]) -> None:
    """ "Clear" on tasks of a run (not their downstream): they run again, the run with them."""
    body = {
        "dry_run": False,
        "dag_run_id": run_id,
        "task_ids": task_ids,
        "only_failed": False,
        "include_downstream": False,
        "reset_dag_runs": True,
    }
    airflow.api("POST", f"/dags/{dag_id}/clearTaskInstances", body)


def pause(airflow: RunningAirflow, dag_id: str) -> None:
    assert airflow.api("PATCH", f"/dags/{dag_id}", {"is_paused": True})["is_paused"] is True


def extract_windows(airflow: RunningAirflow, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
    """Per endpoint: the rendered window and destination of the extract, and its manifest (XCom)."""
    out = {}
    for task_id, map_index, endpoint in EXTRACTS[dag_id]:
        ti = task_instance(airflow, dag_id, run_id, task_id, map_index)
        fields = ti["rendered_fields"]
        params = fields["query_params"]
        out[endpoint] = {
            "updated_since": params["updated_since"],
            "updated_before": params["updated_before"],
            "as_of": params["as_of"],
            "destination": fields["destination"],
            "manifest": xcom(airflow, dag_id, run_id, task_id, map_index),
            "start_date": when(ti["start_date"]),
            "try_number": ti["try_number"],
        }
    return out


def source_count(airflow: RunningAirflow, endpoint: str, window: dict[str, Any]) -> int:
    """How many records the demo API holds for the window, asked directly (its ``total``)."""
    query = urllib.parse.urlencode(
        {
            "updated_since": window["updated_since"],
            "updated_before": window["updated_before"],
            "as_of": window["as_of"],
            "paginate": "offset",
            "limit": 1,
        }
    )
    req = urllib.request.Request(
        f"http://127.0.0.1:{airflow.ports['api']}/v1/{endpoint}?{query}",
        headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return int(json.loads(resp.read())["total"])


def latest_success_end(
    airflow: RunningAirflow, dag_id: str, until: datetime, before: datetime
) -> datetime | None:
    """The latest data interval end, up to ``until``, of the runs with a logical date that had succeeded
    at ``before``: with both the trigger time, what ``window_start()`` promises a run without a logical date."""
    ends = [
        when(r["data_interval_end"])
        for r in runs(airflow, dag_id, state="success")
        if r["logical_date"] is not None
        and when(r["end_date"]) <= before
        and when(r["data_interval_end"]) <= until
    ]
    return max(ends, default=None)


def previous_success(
    airflow: RunningAirflow, dag_id: str, logical_date: datetime, before: datetime
) -> dict[str, Any] | None:
    """``prev_data_interval_end_success``'s run: the successful run with the latest logical date before
    ``logical_date``, among those that had succeeded at ``before``."""
    earlier = [
        r
        for r in runs(airflow, dag_id, state="success")
        if r["logical_date"] is not None
        and when(r["logical_date"]) < logical_date
        and when(r["end_date"]) <= before
    ]
    return max(earlier, key=lambda r: when(r["logical_date"]), default=None)


def expected_window(
    airflow: RunningAirflow, dag_id: str, run: dict[str, Any], rendered_at: datetime
) -> dict[str, str]:
    """What docs/how-to/run-types.md promises this run extracts, from the runs that had succeeded when its
    extract rendered: ``updated_since``, ``updated_before`` and ``as_of``, and the folder key."""
    if run["logical_date"] is not None:
        start, end = when(run["data_interval_start"]), when(run["data_interval_end"])
        key = ts_nodash(start)
        if dag_id == "events_microbatch":
            since = start
        else:
            previous = previous_success(airflow, dag_id, when(run["logical_date"]), rendered_at)
            since = min(when(previous["data_interval_end"]) if previous else when(INITIAL), start)
    else:
        end = when(run["run_after"]).replace(microsecond=0)
        key = f"{run['run_type']}__{ts_nodash(end)}"
        # had succeeded by the trigger time itself (windows.py compares with run_after, not the whole second)
        since = latest_success_end(airflow, dag_id, until=end, before=when(run["run_after"]))
        if since is None:
            assert dag_id == "customer_data_pipeline", "the tests run a dated run first"
            since = when(INITIAL)
    return {"updated_since": ts(since), "updated_before": ts(end), "as_of": ts(end), "key": key}
