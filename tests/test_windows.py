"""The window macros: one window per run type, rendered by the example DAGs' own template environment.

The run types against the real scheduler: tests/airflow_ui/test_local_airflow.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import lazy_object_proxy
import pytest

from airflow_provider_dataeng import windows
from airflow_provider_dataeng.windows import RunWindow, run_window

UTC = timezone.utc
D = datetime(2024, 1, 8, 4, tzinfo=UTC)  # a data interval [04:00, 08:00)
INITIAL = "1970-01-01T00:00:00+00:00"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TRIGGERED = datetime(2024, 1, 8, 10, 30, 12, 345678, tzinfo=UTC)
TRIGGERED_S = TRIGGERED.replace(microsecond=0)


def dated(previous: datetime | None, initial: str | None = INITIAL) -> RunWindow:
    return run_window(
        data_interval_start=D,
        data_interval_end=D + timedelta(hours=4),
        previous_success_end=previous,
        run_after=D + timedelta(hours=4),
        run_type="scheduled",
        initial=initial,
    )


def undated(previous: datetime | None, run_type: str = "manual", initial: str | None = INITIAL) -> RunWindow:
    return run_window(
        data_interval_start=None,
        data_interval_end=None,
        previous_success_end=previous,
        run_after=TRIGGERED,
        run_type=run_type,
        schedule_start=lambda end: end.replace(minute=0, second=0) - timedelta(hours=4),  # a 4-hour schedule
        initial=initial,
    )


# -- runs with a data interval: scheduled, backfilled, manual with a logical date ------------------------------
@pytest.mark.parametrize(
    ("previous", "initial", "since", "case"),
    [
        (None, INITIAL, EPOCH, "first run: initial"),
        (None, None, D, "first run without initial: the interval"),
        (D, INITIAL, D, "the previous interval succeeded: contiguous"),
        (D - timedelta(hours=8), INITIAL, D - timedelta(hours=8), "after failed runs: catches up"),
        (D + timedelta(hours=8), INITIAL, D, "a later interval succeeded first: its own interval again"),
    ],
)
def test_run_with_a_data_interval(previous: datetime | None, initial: str | None, since: datetime, case: str):
    assert dated(previous, initial) == RunWindow(
        start=D, end=D + timedelta(hours=4), since=since, key="20240108T040000"
    ), case


# -- runs without one: manual without a logical date, asset-triggered -------------------------------------------
def test_run_without_a_data_interval_starts_where_the_last_successful_run_ended():
    previous = datetime(2024, 1, 8, 8, tzinfo=UTC)
    assert undated(previous) == RunWindow(
        start=previous, end=TRIGGERED_S, since=previous, key="manual__20240108T103012"
    )


def test_run_without_a_data_interval_and_no_earlier_success():
    # the schedule's last interval before the trigger time; an incremental extract takes everything
    assert undated(None) == RunWindow(
        start=datetime(2024, 1, 8, 6, tzinfo=UTC), end=TRIGGERED_S, since=EPOCH, key="manual__20240108T103012"
    )


def test_run_without_a_data_interval_never_runs_backwards():
    # cleared after a later interval succeeded: nothing left to read, an empty window
    later = datetime(2024, 1, 8, 12, tzinfo=UTC)
    window = undated(later)
    assert (window.start, window.since, window.end) == (TRIGGERED_S, TRIGGERED_S, TRIGGERED_S)


def test_asset_triggered_run_names_its_folder_after_its_type():
    assert undated(None, run_type="asset_triggered").key == "asset_triggered__20240108T103012"


def test_without_a_schedule_the_window_of_a_first_undated_run_is_empty():
    window = run_window(
        data_interval_start=None,
        data_interval_end=None,
        previous_success_end=None,
        run_after=TRIGGERED,
        run_type="manual",
    )
    assert (window.start, window.since, window.end) == (TRIGGERED_S, TRIGGERED_S, TRIGGERED_S)


def test_initial_must_be_a_timestamp():
    with pytest.raises(ValueError, match=r"initial='yesterday' is not an ISO-8601 timestamp"):
        dated(None, initial="yesterday")


# -- the macros in the example DAGs' templates -------------------------------------------------------------------
@pytest.fixture(scope="module")
def pipeline_dag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    folder = Path(__file__).resolve().parents[1] / "dags"
    bag = DagBag(dag_folder=str(folder / "customer_data_pipeline.py"))
    assert bag.import_errors == {}
    return bag.dags["customer_data_pipeline"]


def render(dag: Any, template: str, context: dict[str, Any]) -> str:
    return dag.get_template_env().from_string(template).render(**context)


def dag_run(run_after: datetime, run_type: str) -> SimpleNamespace:
    return SimpleNamespace(dag_id="customer_data_pipeline", run_after=run_after, run_type=run_type)


WINDOW = "{{ changes_since(params.initial_updated_since) | ts }} {{ window_end() | ts }} {{ window_key() }}"


def test_scheduled_run_renders_as_the_context_variables_did(pipeline_dag: Any):
    import pendulum

    context = {
        "dag": pipeline_dag,
        "dag_run": dag_run(D + timedelta(hours=4), "scheduled"),
        "params": {"initial_updated_since": INITIAL},
        "data_interval_start": pendulum.instance(D),
        "data_interval_end": pendulum.instance(D + timedelta(hours=4)),
        # as Airflow passes it: a lazy proxy, here of "no previous successful run"
        "prev_data_interval_end_success": lazy_object_proxy.Proxy(lambda: None),
    }
    assert render(pipeline_dag, WINDOW, context) == (
        "1970-01-01T00:00:00+00:00 2024-01-08T08:00:00+00:00 20240108T040000"
    )
    context["prev_data_interval_end_success"] = lazy_object_proxy.Proxy(lambda: pendulum.instance(D))
    assert render(pipeline_dag, "{{ changes_since(params.initial_updated_since) | ts }}", context) == (
        "2024-01-08T04:00:00+00:00"
    )
    # unfiltered, a date renders as Airflow's own context dates do (the quality gate's freshness_as_of)
    assert render(pipeline_dag, "{{ window_end() }}", context) == render(
        pipeline_dag, "{{ data_interval_end }}", context
    )


def test_manual_run_without_a_logical_date_renders(pipeline_dag: Any, monkeypatch: pytest.MonkeyPatch):
    """The issue's failure: no data_interval_* / prev_data_interval_end_success in the context at all."""
    asked: list[tuple[str, datetime]] = []

    def latest_success_end_before(dag_id: str, when: datetime) -> datetime:
        asked.append((dag_id, when))
        return datetime(2024, 1, 8, 8, tzinfo=UTC)

    monkeypatch.setattr(windows, "_latest_success_end_before", latest_success_end_before)
    context = {
        "dag": pipeline_dag,
        "dag_run": dag_run(TRIGGERED, "manual"),
        "params": {"initial_updated_since": INITIAL},
    }
    assert render(pipeline_dag, WINDOW, context) == (
        "2024-01-08T08:00:00+00:00 2024-01-08T10:30:12+00:00 manual__20240108T103012"
    )
    assert set(asked) == {("customer_data_pipeline", TRIGGERED)}
    # the quality gate's freshness_as_of
    assert render(pipeline_dag, "{{ window_end() }}", context) == "2024-01-08 10:30:12+00:00"


def test_first_manual_run_without_a_logical_date_uses_the_schedule(
    pipeline_dag: Any, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(windows, "_latest_success_end_before", lambda dag_id, when: None)
    context = {"dag": pipeline_dag, "dag_run": dag_run(TRIGGERED, "manual"), "params": {}}
    # every 4 hours: the last complete interval before 10:30 is [04:00, 08:00)
    assert render(
        pipeline_dag, "{{ window_start() | ts }} {{ changes_since('2024-01-01') | ts }}", context
    ) == ("2024-01-08T04:00:00+00:00 2024-01-01T00:00:00+00:00")


# -- the previous successful run of a run without a logical date -------------------------------------------------
class FakeSupervisor:
    """Answers GetPreviousDagRun as the execution API does: the latest success with a smaller logical date."""

    def __init__(self, runs: list[tuple[datetime, datetime, datetime]]) -> None:
        self.runs = runs  # (logical date, data interval end, when it succeeded) of the successful runs
        self.asked: list[datetime] = []

    def send(self, msg: Any) -> SimpleNamespace:
        assert (msg.dag_id, msg.state) == ("events_microbatch", "success")
        self.asked.append(msg.logical_date)
        earlier = [r for r in self.runs if r[0] < msg.logical_date]
        if not earlier:
            return SimpleNamespace(dag_run=None)
        logical_date, end, finished = max(earlier)
        return SimpleNamespace(
            dag_run=SimpleNamespace(logical_date=logical_date, data_interval_end=end, end_date=finished)
        )


def five_minutes(start: str, took: timedelta = timedelta(seconds=30)) -> tuple[datetime, datetime, datetime]:
    begin = datetime.fromisoformat(start)
    return begin, begin + timedelta(minutes=5), begin + timedelta(minutes=5) + took


def test_previous_success_skips_runs_whose_interval_ends_after_the_trigger(monkeypatch: pytest.MonkeyPatch):
    """Triggered at 03:07:30 after [03:00, 03:05) succeeded; [03:05, 03:10) succeeded later (scheduled after the
    trigger, logical date 03:05 < 03:07:30): a clear of the manual run gets its first window, from 03:05."""
    from airflow.sdk.execution_time import task_runner

    supervisor = FakeSupervisor(
        [
            five_minutes("2026-01-01T02:55:00+00:00"),
            five_minutes("2026-01-01T03:00:00+00:00"),
            five_minutes("2026-01-01T03:05:00+00:00"),
        ]
    )
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", supervisor, raising=False)
    triggered = datetime(2026, 1, 1, 3, 7, 30, tzinfo=UTC)
    end = windows._latest_success_end_before("events_microbatch", triggered)
    assert end == datetime(2026, 1, 1, 3, 5, tzinfo=UTC)
    assert supervisor.asked == [triggered, datetime(2026, 1, 1, 3, 5, tzinfo=UTC)]


def test_previous_success_skips_runs_that_succeeded_after_the_trigger(monkeypatch: pytest.MonkeyPatch):
    """Triggered at 03:05:20 while [03:00, 03:05) was still running (it succeeded at 03:05:40): the manual run
    starts at 03:00, the end of the run that had succeeded by the trigger, on its first try and on a clear
    after 03:05:40 alike (the end of [03:00, 03:05) would move a cleared run's window)."""
    from airflow.sdk.execution_time import task_runner

    supervisor = FakeSupervisor(
        [five_minutes("2026-01-01T02:55:00+00:00"), five_minutes("2026-01-01T03:00:00+00:00", timedelta(seconds=40))]
    )
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", supervisor, raising=False)
    triggered = datetime(2026, 1, 1, 3, 5, 20, tzinfo=UTC)
    assert windows._latest_success_end_before("events_microbatch", triggered) == datetime(2026, 1, 1, 3, tzinfo=UTC)
    assert supervisor.asked == [triggered, datetime(2026, 1, 1, 3, tzinfo=UTC)]


def test_no_previous_success(monkeypatch: pytest.MonkeyPatch):
    from airflow.sdk.execution_time import task_runner

    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", FakeSupervisor([]), raising=False)
    assert windows._latest_success_end_before("events_microbatch", TRIGGERED) is None
