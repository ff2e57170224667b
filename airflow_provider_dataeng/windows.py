"""Extract windows for every kind of DAG run, as template macros.

Airflow 3 gives a run a data interval only when the run has a logical date: scheduled runs, backfills and
manual runs triggered with a date. A manual run triggered without one (what the REST API and the UI's
Trigger form send by default) and an asset-triggered run have none, so ``data_interval_start``,
``data_interval_end``, ``ds``, ``ts`` and ``prev_data_interval_end_success`` are missing from their context
and a template using them fails to render. These macros give every run a window ``[start, end)``:

- ``window_end()``: ``data_interval_end``; for a run without one, the time it was triggered
  (``run_after``, whole seconds).
- ``window_start()``: ``data_interval_start``; for a run without one, the latest data interval end, up to
  the trigger time, of a run that had succeeded by the trigger time (none: the start of the schedule's last
  interval before the trigger). Runs that succeed later do not count, so a retry or clear of the run gets
  the window its first try had.
- ``changes_since(initial)``: the end of the last successful run's data interval (``initial`` for the
  first run), never later than ``data_interval_start``; for a run without a data interval, as
  ``window_start()`` but ``initial`` when no run succeeded before.
- ``window_key()``: ``data_interval_start`` as ``20240108T000000``; for a run without one,
  ``<run type>__<trigger time>`` (``manual__20260101T103012``).

``changes_since`` is the start of an incremental (CDC) extract: it catches up after failed runs, and a run
re-extracts its own interval even when a later one already succeeded. ``window_key`` names a run's folder
(unique per run and the same on every retry or clear). Register them on the DAG with
``user_defined_macros=WINDOW_MACROS`` and use them like the context variables they stand for::

    query_params={"updated_since": "{{ changes_since(params.initial_updated_since) | ts }}",
                  "updated_before": "{{ window_end() | ts }}"}
    destination="s3://bucket/orders/{{ window_key() }}/"

A run without a logical date is invisible to Airflow's "previous successful run" (it is ordered by logical
date), so it never moves the start of later runs: the next run reads its window again, which the example
pipelines absorb (merges keep the newest version of a key, events dedupe on their id).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from jinja2 import pass_context

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from jinja2.runtime import Context as JinjaContext

log = logging.getLogger(__name__)
_MAX_LOOKBACK = 50  # successful runs skipped because their intervals end after the trigger time


@dataclass(frozen=True)
class RunWindow:
    """A run's window ``[start, end)``, where an incremental extract starts (``since``), and its folder key."""

    start: datetime
    end: datetime
    since: datetime
    key: str


def run_window(
    *,
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    previous_success_end: datetime | None,
    run_after: datetime,
    run_type: str,
    schedule_start: Callable[[datetime], datetime] | None = None,
    initial: datetime | str | None = None,
) -> RunWindow:
    """The window of one run from plain values (the rules in the module docstring); pure.

    ``previous_success_end`` is the end of the latest successful run's data interval before this run
    (``prev_data_interval_end_success`` for a run with a logical date). ``schedule_start(end)`` gives the
    start of the schedule's last interval before ``end`` (a run without a data interval and no earlier
    success starts there; without it, such a run's window is empty).
    """
    initial_at = None if initial is None else _aware(initial, "initial")
    if data_interval_start is not None and data_interval_end is not None:
        start, end = _aware(data_interval_start), _aware(data_interval_end)
        since = previous_success_end or initial_at or start
        return RunWindow(
            start=start, end=end, since=min(_aware(since), start), key=start.strftime("%Y%m%dT%H%M%S")
        )
    end = _aware(run_after).replace(microsecond=0)
    if previous_success_end is not None:
        start = since = min(_aware(previous_success_end), end)
    else:
        start = min(_aware(schedule_start(end)), end) if schedule_start is not None else end
        since = min(initial_at, end) if initial_at is not None else start
    kind = str(getattr(run_type, "value", run_type) or "run")
    return RunWindow(start=start, end=end, since=since, key=f"{kind}__{end.strftime('%Y%m%dT%H%M%S')}")


def window_from_context(
    context: Mapping[str, Any] | JinjaContext, initial: datetime | str | None = None
) -> RunWindow:
    """The window of the running task's DAG run, from its Airflow context (or a Jinja context)."""
    dag_run = context["dag_run"]
    start = _unwrap(context.get("data_interval_start"))
    end = _unwrap(context.get("data_interval_end"))
    if start is not None and end is not None:
        previous = _unwrap(context.get("prev_data_interval_end_success"))
    else:
        previous = _latest_success_end_before(dag_run.dag_id, dag_run.run_after)
    dag = context.get("dag")
    timetable = getattr(dag, "timetable", None)
    return run_window(
        data_interval_start=start,
        data_interval_end=end,
        previous_success_end=previous,
        run_after=dag_run.run_after,
        run_type=dag_run.run_type,
        schedule_start=None if timetable is None else _schedule_start(timetable),
        initial=initial,
    )


@pass_context
def window_start(context: JinjaContext) -> datetime:
    """Template macro: the start of the run's window (see the module docstring)."""
    return _pendulum(window_from_context(context).start)


@pass_context
def window_end(context: JinjaContext) -> datetime:
    """Template macro: the end of the run's window (exclusive)."""
    return _pendulum(window_from_context(context).end)


@pass_context
def changes_since(context: JinjaContext, initial: datetime | str | None = None) -> datetime:
    """Template macro: where an incremental extract starts; ``initial`` before any successful run."""
    return _pendulum(window_from_context(context, initial).since)


@pass_context
def window_key(context: JinjaContext) -> str:
    """Template macro: a folder name unique to the run, the same on every retry and clear."""
    return window_from_context(context).key


WINDOW_MACROS: dict[str, Any] = {
    "window_start": window_start,
    "window_end": window_end,
    "changes_since": changes_since,
    "window_key": window_key,
}
"""``user_defined_macros`` for a DAG whose templates use the window macros."""


# -- helpers ------------------------------------------------------------------------------------------------
def _aware(value: datetime | str, name: str = "value") -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"{name}={value!r} is not an ISO-8601 timestamp (e.g. '1970-01-01T00:00:00+00:00')"
            ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _unwrap(value: Any) -> Any:
    """A context value, with Airflow's lazy proxies (``prev_data_interval_*_success``) resolved."""
    if value is None:
        return None
    import lazy_object_proxy

    return value.__wrapped__ if isinstance(value, lazy_object_proxy.Proxy) else value


def _pendulum(value: datetime) -> datetime:
    """As Airflow's own context dates (pendulum), so ``| ts``, ``| ds`` and ``| string`` read the same."""
    import pendulum

    return pendulum.instance(value)


def _schedule_start(timetable: Any) -> Callable[[datetime], datetime]:
    def start(end: datetime) -> datetime:
        import pendulum

        return timetable.infer_manual_data_interval(run_after=pendulum.instance(end)).start

    return start


def _latest_success_end_before(dag_id: str, when: datetime) -> datetime | None:
    """The latest data interval end, up to ``when``, of a run with a logical date that had succeeded by ``when``.

    Asked from the task's supervisor the way ``TaskInstance.get_previous_dagrun`` asks, with the trigger
    time in place of the (missing) logical date. That request orders by logical date, so a run whose
    interval ends after ``when`` (scheduled after the trigger, say), or that succeeded only after ``when``
    (still running at the trigger), is skipped by asking again before it: a retried or cleared run gets
    its first window again. Should the request not exist (another Airflow), the run behaves as if no run
    had succeeded before, and says so in the log.
    """
    try:
        from airflow.sdk.execution_time import task_runner
        from airflow.sdk.execution_time.comms import GetPreviousDagRun
    except ImportError as exc:
        log.warning("Cannot look up the previous successful run (%s); using the initial window", exc)
        return None
    cursor = when
    for _ in range(_MAX_LOOKBACK):
        response = task_runner.SUPERVISOR_COMMS.send(
            msg=GetPreviousDagRun(dag_id=dag_id, logical_date=cursor, state="success")
        )
        dag_run = getattr(response, "dag_run", None)
        if dag_run is None or dag_run.logical_date is None:
            return None
        end, finished = dag_run.data_interval_end, dag_run.end_date
        if end is not None and end <= when and (finished is None or finished <= when):
            return end
        cursor = dag_run.logical_date
    log.warning(
        "No successful run ending by %s among the last %d; using the initial window", when, _MAX_LOOKBACK
    )
    return None
