"""``dataeng-report``: the data-health pages as a static HTML report, from the command line.

Reads the quality gates' results table over an Airflow connection (``AIRFLOW_CONN_<ID>`` or any secrets
backend Airflow is configured with, like any Airflow command) and writes ``index.html`` and one page per
gated table to a folder or an object-storage URL. The pipeline counts of each run come from Airflow's
metadata database when this machine can reach it; without it the report has the checks only.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

PROG = "dataeng-report"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Write the data-health pages as a static HTML report.")
    p.add_argument(
        "--out", required=True, help="folder or URL to write to (e.g. ./report or s3://bucket/health/)"
    )
    p.add_argument(
        "--conn-id", default="snowflake_default", help="the connection the gates write results with"
    )
    p.add_argument("--results-table", default="AUDIT.QUALITY_RESULTS", help="the gates' results_table")
    p.add_argument("--days", type=int, default=30, help="how many days of results (1-365; default 30)")
    p.add_argument("--limit", type=int, default=20_000, help="at most this many result rows (default 20000)")
    p.add_argument("--airflow-url", default="", help="the Airflow UI's address, for links to runs and logs")
    p.add_argument(
        "--aws-conn-id", default="aws_default", help="for s3:// destinations (default aws_default)"
    )
    p.add_argument(
        "--no-events", action="store_true", help="do not read asset events from Airflow's database"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not 1 <= args.days <= 365:
        parser().error(f"--days must be between 1 and 365, got {args.days}")
    from airflow_provider_dataeng.health.pages import banner
    from airflow_provider_dataeng.health.report import report_files
    from airflow_provider_dataeng.hooks.health import (
        DataHealthHook,
        HealthSourceError,
        first_line,
        write_report,
    )

    now = datetime.now(timezone.utc)
    since = now - timedelta(days=args.days)
    hook = DataHealthHook(args.conn_id, args.results_table)
    try:
        results = hook.results(since=since, limit=args.limit)
    except HealthSourceError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 1
    notices, events = [], []
    if not args.no_events:
        try:
            events = hook.asset_events(dag_ids={r.dag_id for r in results}, since=since, limit=5_000)
        except Exception as err:  # no metadata database here: the checks still make a report
            notices.append(banner(f"pipeline counts left out: {first_line(err, 200)}", "info"))
    files = report_files(
        results, events, ui=args.airflow_url, days=args.days, generated_at=now, notices=notices
    )
    from airflow_provider_dataeng.sinks.storage import storage_options_for

    options = storage_options_for(args.out, args.aws_conn_id)
    written = write_report(files, args.out, options)
    print(f"{PROG}: {len(results)} results, {len(files) - 1} tables -> {written[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
