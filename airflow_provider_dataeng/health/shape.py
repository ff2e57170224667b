"""Results-table rows and asset events -> what the data-health pages show (exact values, unit-tested).

A *run* of a table is one gate task's run (``DAG_ID``, ``TASK_ID``, ``RUN_ID``); runs are ordered by their
logical date (the check time for runs without one). A run's status is the worst of its checks' statuses
(``pass`` < ``warn`` < ``fail`` < ``error``). The row-count series is the ``row_count_anomaly`` check's
observed count per run (else ``row_count``'s), with the band the anomaly check measured against (its
``DETAILS``: ``mean -+ max_zscore * stdev`` over its history); a point *trips* when that check did not pass.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from airflow_provider_dataeng.quality.dialects import to_utc
from airflow_provider_dataeng.quality.evaluate import as_number

STATUS_RANK = {"pass": 0, "warn": 1, "fail": 2, "error": 3}
COUNT_CHECKS = ("row_count_anomaly", "row_count")  # the series' source, in order of preference


@dataclass(frozen=True)
class Result:
    """One row of the results table (one check of one gate run)."""

    dag_id: str
    task_id: str
    run_id: str
    logical_date: datetime | None
    checked_at: datetime
    table: str
    check: str
    check_type: str
    columns: str | None
    observed: Any
    observed_number: float | None
    threshold: str | None
    status: str
    severity: str | None
    note: str | None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def at(self) -> datetime:
        """When the run was for: its logical date, else when it checked."""
        return self.logical_date or self.checked_at


@dataclass(frozen=True)
class AssetEvent:
    """An asset event of a pipeline run (Airflow's metadata): which task wrote what, with its counts."""

    dag_id: str
    run_id: str
    task_id: str
    asset: str
    timestamp: datetime
    extra: Mapping[str, Any]

    @property
    def rows(self) -> int | None:
        """The rows the event reports: a merge's inserted + updated + deleted, a load's rows loaded, an
        extract's records, a dbt model's rows affected (incremental models only: a table or view build
        reports its CREATE statement, not rows)."""
        extra = self.extra
        if extra.get("materialized") in ("table", "view"):  # dbt's count of a CREATE (Snowflake says 1)
            return None
        if any(k in extra for k in ("inserted", "updated", "deleted")):
            return sum(int(as_number(extra.get(k)) or 0) for k in ("inserted", "updated", "deleted"))
        for key in ("rows_loaded", "records", "rows_affected"):
            number = as_number(extra.get(key))
            if number is not None:
                return int(number)
        return None

    @property
    def kind(self) -> str:
        """merge, load, extract, dbt, or other: what the counts are of."""
        keys = set(self.extra)
        if keys & {"inserted", "updated", "deleted"}:
            return "merge"
        if "rows_loaded" in keys:
            return "load"
        if "records" in keys:
            return "extract"
        if "rows_affected" in keys:
            return "dbt"
        return "other"


@dataclass
class Run:
    """One gate run of one table: its checks' results."""

    dag_id: str
    task_id: str
    run_id: str
    at: datetime
    results: list[Result]

    @property
    def status(self) -> str:
        return worst(r.status for r in self.results)

    def result(self, check: str) -> Result | None:
        return next((r for r in self.results if r.check == check), None)

    def named(self, status: str) -> list[str]:
        """The checks with ``status``, by name."""
        return sorted(r.check for r in self.results if r.status == status)


@dataclass(frozen=True)
class Freshness:
    """A freshness check's lag (seconds) against its limits, in one run."""

    at: datetime
    lag: float | None
    warn_after: float | None
    error_after: float | None
    status: str


@dataclass(frozen=True)
class CountPoint:
    """One run's row count with the anomaly band it was held to (``None`` where there was none)."""

    run: Run
    value: float | None
    lower: float | None
    upper: float | None
    tripped: bool


@dataclass
class TableSummary:
    """One line of the overview."""

    table: str
    schema: str
    dag_ids: list[str]
    runs: int
    last: Run
    freshness: Freshness | None
    counts: list[float | None]
    last_rows: list[AssetEvent] = field(default_factory=list)  # the last run's events of this table

    @property
    def status(self) -> str:
        return self.last.status


@dataclass
class TableHistory:
    """A table's page: every run in the window, oldest first."""

    table: str
    runs: list[Run]
    checks: list[str]
    count_check: str | None
    counts: list[CountPoint]
    freshness: list[Freshness]
    last_failure: Run | None
    events: dict[tuple[str, str], list[AssetEvent]]

    def timeline(self) -> list[tuple[str, list[Result | None]]]:
        """Per check, its result in each run (``None`` where the run did not have it)."""
        return [(check, [run.result(check) for run in self.runs]) for check in self.checks]

    def samples(self) -> list[Result]:
        """The last failure's results that carry failing rows."""
        if self.last_failure is None:
            return []
        return [r for r in self.last_failure.results if r.details.get("failing_rows")]


# -- parsing ------------------------------------------------------------------------------------------
def result_from_row(row: Sequence[Any]) -> Result:
    """A results-table row in :data:`~airflow_provider_dataeng.quality.history.COLUMNS` order."""
    (dag_id, task_id, run_id, logical_date, checked_at, table, check, check_type, columns, observed,
     observed_number, threshold, status, severity, note, details) = row  # fmt: skip
    checked = to_utc(checked_at or None)
    return Result(
        dag_id=str(dag_id),
        task_id=str(task_id),
        run_id=str(run_id),
        logical_date=to_utc(logical_date or None),
        checked_at=checked or datetime.fromtimestamp(0, timezone.utc),
        table=str(table),
        check=str(check),
        check_type=str(check_type or ""),
        columns=columns,
        observed=_json(observed),
        observed_number=None if observed_number is None else float(observed_number),
        threshold=threshold,
        status=str(status or "").lower(),
        severity=severity,
        note=note,
        details=_json_object(details),
    )


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _json_object(text: Any) -> dict[str, Any]:
    value = _json(text)
    return value if isinstance(value, dict) else {}


# -- shaping ------------------------------------------------------------------------------------------
def worst(statuses: Iterable[str]) -> str:
    """The worst status (unknown statuses rank as ``error``); ``pass`` for none."""
    return max(statuses, key=lambda s: STATUS_RANK.get(s, 3), default="pass")


def runs_of(results: Iterable[Result]) -> list[Run]:
    """Group results by gate run, oldest first (by logical date, then check time)."""
    runs: dict[tuple[str, str, str], Run] = {}
    for result in results:
        key = (result.dag_id, result.task_id, result.run_id)
        run = runs.get(key)
        if run is None:
            runs[key] = run = Run(result.dag_id, result.task_id, result.run_id, result.at, [])
        run.results.append(result)
    for run in runs.values():
        run.results.sort(key=lambda r: r.check)
    return sorted(runs.values(), key=lambda r: (r.at, max(x.checked_at for x in r.results), r.run_id))


def schema_of(table: str) -> str:
    """The schema part of a gated table's name as the gate wrote it (``""`` when unqualified)."""
    parts = table.split(".")
    return parts[-2].strip('"').upper() if len(parts) >= 2 else ""


def _count_check(runs: Sequence[Run]) -> str | None:
    """The check whose observed counts form the row-count series."""
    for check_type in COUNT_CHECKS:
        names = sorted({r.check for run in runs for r in run.results if r.check_type == check_type})
        if names:
            return names[0]
    return None


def count_points(runs: Sequence[Run], check: str | None) -> list[CountPoint]:
    """One point per run: the count, the band the anomaly check used in that run, whether it tripped."""
    points = []
    for run in runs:
        result = run.result(check) if check else None
        if result is None:
            points.append(CountPoint(run, None, None, None, False))
            continue
        details = result.details
        points.append(
            CountPoint(
                run,
                result.observed_number,
                as_number(details.get("lower")),
                as_number(details.get("upper")),
                result.check_type == "row_count_anomaly" and result.status != "pass",
            )
        )
    return points


def freshness_series(runs: Sequence[Run]) -> list[Freshness]:
    """The first freshness check's lag in each run that has one."""
    series = []
    for run in runs:
        result = next((r for r in run.results if r.check_type == "freshness"), None)
        if result is None:
            continue
        details = result.details
        series.append(
            Freshness(
                at=run.at,
                lag=result.observed_number,
                warn_after=as_number(details.get("warn_after")),
                error_after=as_number(details.get("error_after")),
                status=result.status,
            )
        )
    return series


def events_by_run(events: Iterable[AssetEvent]) -> dict[tuple[str, str], list[AssetEvent]]:
    """Asset events grouped by pipeline run (``dag_id``, ``run_id``), each run's in time order."""
    grouped: dict[tuple[str, str], list[AssetEvent]] = {}
    for event in events:
        grouped.setdefault((event.dag_id, event.run_id), []).append(event)
    for each in grouped.values():
        each.sort(key=lambda e: (e.timestamp, e.task_id, e.asset))
    return grouped


def overview(
    results: Iterable[Result],
    events: Iterable[AssetEvent] = (),
    *,
    dag_id: str | None = None,
    schema: str | None = None,
) -> list[TableSummary]:
    """One summary per gated table (filtered by DAG and schema), worst status first, then by name."""
    by_table: dict[str, list[Result]] = {}
    for result in results:
        if dag_id and result.dag_id != dag_id:
            continue
        if schema and schema_of(result.table) != schema.upper():
            continue
        by_table.setdefault(result.table, []).append(result)
    grouped = events_by_run(events)
    summaries = []
    for table, rows in by_table.items():
        runs = runs_of(rows)
        last = runs[-1]
        fresh = freshness_series([last])
        check = _count_check(runs)
        summaries.append(
            TableSummary(
                table=table,
                schema=schema_of(table),
                dag_ids=sorted({r.dag_id for r in runs}),
                runs=len(runs),
                last=last,
                freshness=fresh[0] if fresh else None,
                counts=[p.value for p in count_points(runs, check)],
                last_rows=[
                    e
                    for e in grouped.get((last.dag_id, last.run_id), [])
                    if e.rows is not None and same_table(e.asset, table)
                ],
            )
        )
    return sorted(summaries, key=lambda s: (-STATUS_RANK.get(s.status, 3), s.table))


def same_table(asset: str, table: str) -> bool:
    """Whether an asset named ``db.schema.table`` is the gated ``table`` (``schema.table`` or
    ``db.schema.table`` as the gate wrote it; names compared without quotes, ignoring case)."""
    asset_parts = [p.strip('"').upper() for p in asset.split(".")]
    table_parts = [p.strip('"').upper() for p in table.split(".")]
    return len(table_parts) <= len(asset_parts) and asset_parts[-len(table_parts) :] == table_parts


def table_history(table: str, results: Iterable[Result], events: Iterable[AssetEvent] = ()) -> TableHistory:
    """The history of one table's gate runs."""
    runs = runs_of(r for r in results if r.table == table)
    check = _count_check(runs)
    failures = [run for run in runs if STATUS_RANK.get(run.status, 3) >= STATUS_RANK["fail"]]
    keys = {(run.dag_id, run.run_id) for run in runs}
    return TableHistory(
        table=table,
        runs=runs,
        checks=sorted({r.check for run in runs for r in run.results}),
        count_check=check,
        counts=count_points(runs, check),
        freshness=freshness_series(runs),
        last_failure=failures[-1] if failures else None,
        events={k: v for k, v in events_by_run(events).items() if k in keys},
    )


def lag_text(seconds: float | None) -> str:
    """A lag as people read it: ``"2h 5m"``, ``"3d 4h"``, ``"45s"``; ``"-"`` for none."""
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    total = int(abs(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes}m"
    if minutes:
        return f"{sign}{minutes}m {secs}s"
    return f"{sign}{secs}s"
