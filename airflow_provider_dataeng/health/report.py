"""The data-health pages as a static HTML report: ``index.html`` and one file per gated table.

The same pages as the Airflow UI's (:mod:`.pages`), linked to each other by file name, for people who read
reports outside Airflow (CI artifacts, chat attachments, a bucket's website).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from airflow_provider_dataeng.health import pages, shape


def report_files(
    results: Sequence[shape.Result],
    events: Iterable[shape.AssetEvent] = (),
    *,
    ui: str,
    days: int,
    generated_at: datetime,
    notices: Sequence[str] = (),
) -> dict[str, str]:
    """File name -> HTML: the overview and every gated table's page. ``ui`` is the Airflow UI's address
    for links to runs and logs (``""`` leaves them relative)."""
    events = list(events)
    summaries = shape.overview(results, events)
    generated = generated_at.strftime("%Y-%m-%d %H:%M UTC")
    files = {
        "index.html": pages.overview_page(
            summaries,
            base=".",
            ui=ui.rstrip("/"),
            filters=pages.Filters(days=days),
            dag_ids=(),
            schemas=(),
            notices=notices,
            static=True,
            generated=generated,
        )
    }
    for summary in summaries:
        history = shape.table_history(summary.table, results, events)
        files[pages.report_file(summary.table)] = pages.table_page(
            history, base=".", ui=ui.rstrip("/"), days=days, static=True
        )
    return files
