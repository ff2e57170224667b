"""The data-health pages as HTML: the overview and a table's page (server-side, no JavaScript, no CDN).

Every text from the database is escaped; links into the Airflow UI open in the whole window (the pages are
shown in the UI's frame). ``base`` is where the pages live (``/data-health`` in the UI, ``.`` in a static
report); ``ui`` is the Airflow UI's root for links to DAG runs and task logs (``""`` in the UI itself).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_provider_dataeng.health import svg
from airflow_provider_dataeng.health.shape import (
    AssetEvent,
    Freshness,
    Result,
    Run,
    TableHistory,
    TableSummary,
    lag_text,
)

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:16px;color:#212121;font-size:14px}
h1{font-size:20px;margin:0 0 8px} h2{font-size:16px;margin:20px 0 8px}
table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e0e0e0;
vertical-align:middle} th{font-weight:600;color:#616161;font-size:12px;text-transform:uppercase}
.status{display:inline-block;min-width:44px;text-align:center;border-radius:10px;padding:1px 8px;color:#fff;
font-size:12px;font-weight:600} .muted{color:#757575} .banner{padding:8px 12px;border-radius:4px;margin:8px 0}
.banner.error{background:#fdecea;color:#b71c1c} .banner.info{background:#e3f2fd;color:#0d47a1}
form.filters{display:flex;gap:8px;align-items:end;margin:8px 0 12px;flex-wrap:wrap}
form.filters label{display:flex;flex-direction:column;font-size:12px;color:#616161}
pre{background:#f5f5f5;padding:8px;overflow:auto;max-height:320px} a{color:#1565c0}
"""
_STATUS_TEXT = {"pass": "pass", "warn": "warn", "fail": "fail", "error": "error"}
WINDOWS = (1, 7, 30, 90, 365)  # the time ranges offered, in days
# How many of a table's newest runs each part of its page draws: a gate every 5 minutes makes 8,640 runs in
# 30 days, and a page must stay small and quick (the charts scale; a timeline cell and a table row do not).
MAX_CHART_RUNS = 500
MAX_TIMELINE_RUNS = 120
MAX_RUN_ROWS = 100


@dataclass(frozen=True)
class Filters:
    """The overview's filters: a DAG, a schema, the time range in days."""

    dag_id: str = ""
    schema: str = ""
    days: int = 30


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def status_badge(status: str) -> str:
    colour = svg.status_colour(status)
    text = _STATUS_TEXT.get(status, status or "none")
    return f'<span class="status status-{svg.status_class(status)}" style="background:{colour}">{esc(text)}</span>'


def _page(title: str, body: Iterable[str]) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>" + "".join(body) + "</body></html>"
    )


def table_href(base: str, table: str, days: int, static: bool = False) -> str:
    """A table's page: served (``/table/<name>?days=``) or a file of the static report."""
    if static:
        return f"{base}/{report_file(table)}"
    return f"{base}/table/{urllib.parse.quote(table, safe='')}?days={int(days)}"


def report_file(table: str) -> str:
    """A table page's file name in the static report: the name's safe characters and a short hash (two names
    that differ only in unsafe characters get different files)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", table)[:80]
    return f"table-{safe}-{hashlib.sha1(table.encode()).hexdigest()[:8]}.html"


def run_href(ui: str, dag_id: str, run_id: str) -> str:
    return f"{ui}/dags/{urllib.parse.quote(dag_id, safe='')}/runs/{urllib.parse.quote(run_id, safe='')}"


def task_href(ui: str, run: Run) -> str:
    return f"{run_href(ui, run.dag_id, run.run_id)}/tasks/{urllib.parse.quote(run.task_id, safe='')}"


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


def banner(text: str, kind: str = "error") -> str:
    return (
        f'<div class="banner {esc(kind)}" role="{"alert" if kind == "error" else "status"}">{esc(text)}</div>'
    )


def no_results_help(results_table: str, conn_id: str) -> str:
    """What to do when there is no results table yet."""
    return (
        '<div class="banner info" role="status">No quality results yet: '
        f"<code>{esc(results_table)}</code> on connection <code>{esc(conn_id)}</code> does not exist. Give your "
        "quality gates <code>results_table=</code> (e.g. <code>QualityGateOperator(..., "
        f'results_table="{esc(results_table)}")</code>) and run them; or point <code>[dataeng] '
        "health_results_table</code> and <code>health_conn_id</code> at the table your gates write.</div>"
    )


# -- overview -----------------------------------------------------------------------------------------
def overview_page(
    summaries: Sequence[TableSummary],
    *,
    base: str,
    ui: str,
    filters: Filters,
    dag_ids: Sequence[str],
    schemas: Sequence[str],
    notices: Sequence[str] = (),
    static: bool = False,
    generated: str = "",
) -> str:
    """Every gated table: last status, failing and warning checks, freshness, last rows, row-count trend."""
    body = ["<h1>Data health</h1>", *notices]
    if static:
        body.append(f'<p class="muted">Last {int(filters.days)} days; written {esc(generated)}.</p>')
    if not static:
        body.append(_filters_form(filters, dag_ids, schemas))
    if not summaries:
        body.append('<p class="muted">No gated tables in this range.</p>')
    else:
        body.append(
            "<table><thead><tr><th>Table</th><th>Status</th><th>Failing</th><th>Warning</th><th>Freshness</th>"
            "<th>Last rows</th><th>Row count</th><th>Runs</th><th>Last run</th></tr></thead><tbody>"
        )
        body.extend(_overview_row(s, base=base, ui=ui, days=filters.days, static=static) for s in summaries)
        body.append("</tbody></table>")
    return _page("Data health", body)


def _filters_form(filters: Filters, dag_ids: Sequence[str], schemas: Sequence[str]) -> str:
    def select(name: str, label: str, options: Sequence[str], chosen: str) -> str:
        items = [f'<option value=""{" selected" if not chosen else ""}>all</option>']
        items += [
            f'<option value="{esc(o)}"{" selected" if o == chosen else ""}>{esc(o)}</option>' for o in options
        ]
        return f'<label>{esc(label)}<select name="{name}">{"".join(items)}</select></label>'

    days = [
        f'<option value="{d}"{" selected" if d == filters.days else ""}>last {d} day{"s" if d > 1 else ""}</option>'
        for d in WINDOWS
    ]
    return (
        '<form class="filters" method="get">'
        + select("dag_id", "DAG", dag_ids, filters.dag_id)
        + select("schema", "Schema", schemas, filters.schema)
        + f'<label>Time range<select name="days">{"".join(days)}</select></label>'
        + '<button type="submit">Apply</button></form>'
    )


def _overview_row(summary: TableSummary, *, base: str, ui: str, days: int, static: bool) -> str:
    last = summary.last
    failing = ", ".join(last.named("fail") + last.named("error")) or "-"
    warning = ", ".join(last.named("warn")) or "-"
    rows = "; ".join(f"{esc(e.kind)} {e.rows:,}" for e in summary.last_rows) or "-"
    return (
        f'<tr data-table="{esc(summary.table)}"><td><a href="{esc(table_href(base, summary.table, days, static))}">'
        f"{esc(summary.table)}</a></td><td>{status_badge(summary.status)}</td>"
        f"<td>{esc(failing)}</td><td>{esc(warning)}</td><td>{_freshness_cell(summary.freshness)}</td>"
        f"<td>{rows}</td><td>{svg.sparkline(summary.counts)}</td><td>{summary.runs}</td>"
        f'<td><a href="{esc(run_href(ui, last.dag_id, last.run_id))}" target="_top">{esc(_when(last.at))}</a>'
        f'<div class="muted">{esc(last.dag_id)}</div></td></tr>'
    )


def _freshness_cell(fresh: Freshness | None) -> str:
    if fresh is None:
        return '<span class="muted">no check</span>'
    limits = []
    if fresh.warn_after is not None:
        limits.append(f"warn {lag_text(fresh.warn_after)}")
    if fresh.error_after is not None:
        limits.append(f"error {lag_text(fresh.error_after)}")
    return (
        f"{status_badge(fresh.status)} {esc(lag_text(fresh.lag))}"
        f'<div class="muted">{esc(", ".join(limits))}</div>'
    )


# -- table page ---------------------------------------------------------------------------------------
def table_page(
    history: TableHistory,
    *,
    base: str,
    ui: str,
    days: int,
    notices: Sequence[str] = (),
    snowsight: str | None = None,
    static: bool = False,
) -> str:
    """One table: check timeline, row counts with the anomaly band, freshness lag, the last failure's
    sample rows, and the counts of the runs' loads, merges and extracts."""
    title = f"Data health: {history.table}"
    back = f"{base}/?days={int(days)}" if not static else f"{base}/index.html"
    body = [f'<p><a href="{esc(back)}">&larr; all tables</a></p>', f"<h1>{esc(history.table)}</h1>", *notices]
    if snowsight:
        body.append(f'<p><a href="{esc(snowsight)}" target="_blank" rel="noopener">Open in Snowsight</a></p>')
    if not history.runs:
        body.append('<p class="muted">No gate runs of this table in this range.</p>')
        return _page(title, body)
    last = history.runs[-1]
    body.append(
        f"<p>Last run {status_badge(last.status)} "
        f'<a href="{esc(run_href(ui, last.dag_id, last.run_id))}" target="_top">{esc(_when(last.at))}</a> '
        f'(<a href="{esc(task_href(ui, last))}" target="_top">task log</a>), {len(history.runs):,} runs in '
        "this range.</p>"
    )
    body.append(f"<h2>Checks{_newest(len(history.runs), MAX_TIMELINE_RUNS)}</h2>")
    body.append(
        svg.timeline(
            [
                (
                    check,
                    [_cell(run, r, ui) for run, r in list(zip(history.runs, results))[-MAX_TIMELINE_RUNS:]],
                )
                for check, results in history.timeline()
            ]
        )
    )
    if history.count_check:
        body.append(
            f'<h2>Row count <span class="muted">({esc(history.count_check)})</span>'
            f"{_newest(len(history.counts), MAX_CHART_RUNS)}</h2>"
        )
        points = [
            svg.Point(
                label=_when(p.run.at),
                value=p.value,
                lower=p.lower,
                upper=p.upper,
                tripped=p.tripped,
                href=run_href(ui, p.run.dag_id, p.run.run_id),
            )
            for p in history.counts[-MAX_CHART_RUNS:]
        ]
        body.append(svg.series_chart(points, title=f"{history.table} row count", unit="rows"))
    if history.freshness:
        body.append(f"<h2>Freshness lag{_newest(len(history.freshness), MAX_CHART_RUNS)}</h2>")
        body.append(
            svg.series_chart(
                _freshness_points(history.freshness[-MAX_CHART_RUNS:]),
                title=f"{history.table} freshness lag",
                unit="s",
            )
        )
    body.append(_failure_section(history))
    body.append(_runs_table(history, ui))
    return _page(title, body)


def _newest(total: int, shown: int) -> str:
    """A heading's note when only the newest runs are drawn."""
    if total <= shown:
        return ""
    return f' <span class="muted">(the newest {shown:,} of {total:,} runs)</span>'


def _cell(run: Run, result: Result | None, ui: str) -> svg.Cell:
    if result is None:
        return svg.Cell(f"{_when(run.at)}: not checked", "none")
    text = f"{_when(run.at)} {result.check}: {result.status}"
    if result.observed is not None:
        text += f" (observed {json.dumps(result.observed, default=str)}"
        text += f", threshold {result.threshold})" if result.threshold else ")"
    return svg.Cell(text, result.status, task_href(ui, run))


def _freshness_points(series: Sequence[Freshness]) -> list[svg.Point]:
    points = []
    for f in series:
        limit = f.error_after if f.error_after is not None else f.warn_after
        points.append(
            svg.Point(
                label=_when(f.at),
                value=f.lag,
                lower=0.0 if limit is not None else None,
                upper=limit,
                tripped=f.status != "pass",
            )
        )
    return points


def _failure_section(history: TableHistory) -> str:
    run = history.last_failure
    if run is None:
        return '<h2>Last failure</h2><p class="muted">No failed run in this range.</p>'
    parts = [f'<h2>Last failure <span class="muted">{esc(_when(run.at))} ({esc(run.run_id)})</span></h2>']
    failed = [r for r in run.results if r.status != "pass"]
    parts.append(
        "<table><thead><tr><th>Check</th><th>Status</th><th>Observed</th><th>Threshold</th><th>Note</th>"
        "</tr></thead><tbody>"
    )
    for r in failed:
        parts.append(
            f"<tr><td>{esc(r.check)}</td><td>{status_badge(r.status)}</td>"
            f"<td>{esc(json.dumps(r.observed, default=str))}</td><td>{esc(r.threshold)}</td><td>{esc(r.note)}</td></tr>"
        )
    parts.append("</tbody></table>")
    for r in history.samples():
        parts.append(f"<h3>Failing rows of {esc(r.check)}</h3>{_rows_table(r.details['failing_rows'])}")
    return "".join(parts)


def _rows_table(rows: Any) -> str:
    if not isinstance(rows, list) or not rows:
        return ""
    columns: list[str] = []
    for row in rows:
        for key in row if isinstance(row, Mapping) else ():
            if key not in columns:
                columns.append(str(key))
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(json.dumps(row.get(c), default=str))}</td>" for c in columns) + "</tr>"
        for row in rows
        if isinstance(row, Mapping)
    )
    return f'<table class="sample"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _runs_table(history: TableHistory, ui: str) -> str:
    parts = [
        f"<h2>Runs{_newest(len(history.runs), MAX_RUN_ROWS)}</h2><table><thead><tr><th>Run</th><th>Status</th>"
        "<th>Pipeline counts</th></tr></thead><tbody>"
    ]
    for run in reversed(history.runs[-MAX_RUN_ROWS:]):
        events = [e for e in history.events.get((run.dag_id, run.run_id), []) if e.kind != "other"]
        counts = "; ".join(_event_text(e) for e in events) or '<span class="muted">-</span>'
        parts.append(
            f'<tr><td><a href="{esc(run_href(ui, run.dag_id, run.run_id))}" target="_top">{esc(_when(run.at))}</a>'
            f' <span class="muted">{esc(run.dag_id)} / {esc(run.run_id)}</span></td>'
            f"<td>{status_badge(run.status)}</td><td>{counts}</td></tr>"
        )
    parts.append("</tbody></table>")
    return "".join(parts)


def _event_text(event: AssetEvent) -> str:
    rows = "" if event.rows is None else f" {event.rows:,} rows"
    return f'{esc(event.task_id)}: {esc(event.kind)}{rows} <span class="muted">{esc(event.asset)}</span>'
