"""The static report: the same pages as files linked by name, from the command line and from shaping."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

from airflow_provider_dataeng import report_cli
from airflow_provider_dataeng.health.pages import report_file
from airflow_provider_dataeng.health.report import report_files
from tests.health.results import events, history
from tests.health.test_app import seed

NOW = datetime(2026, 1, 10, tzinfo=timezone.utc)


def test_report_files_link_by_file_name() -> None:
    files = report_files(history(), events(), ui="http://airflow.example/", days=30, generated_at=NOW)
    orders, customers = report_file("STAGING.ORDERS"), report_file("ANALYTICS.DIM_CUSTOMERS")
    assert sorted(files) == sorted(["index.html", orders, customers])
    index = files["index.html"]
    assert re.findall(r'<a href="([^"]+)">STAGING', index) == [f"./{orders}"]
    assert "written 2026-01-10 00:00 UTC" in index and "<form" not in index  # no filters in a static page
    assert 'href="http://airflow.example/dags/shop/runs/scheduled__2026-01-03" target="_top"' in index
    assert '<a href="./index.html">' in files[orders] and "merge_orders: merge 60 rows" in files[orders]


def test_file_names_are_safe_and_distinct() -> None:
    names = [report_file(t) for t in ("S.T", "S.T ", 'S."t/../x"', "S.T?")]
    assert len(set(names)) == 4
    assert all(re.fullmatch(r"table-[A-Za-z0-9_.-]+-[0-9a-f]{8}\.html", n) for n in names)


def test_the_command_writes_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "results.db"
    seed(db)
    # the seeded runs are in January 2026: move them into the window the command reads
    con = sqlite3.connect(db)
    con.execute("UPDATE QUALITY_RESULTS SET CHECKED_AT = datetime('now', '-1 day')")
    con.commit()
    con.close()
    monkeypatch.setenv("AIRFLOW_CONN_REPORT_RESULTS", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    code = report_cli.main(["--out", str(tmp_path / "out"), "--conn-id", "report_results", "--results-table",
                            "QUALITY_RESULTS", "--days", "7", "--no-events"])
    assert code == 0
    assert capsys.readouterr().out.strip().endswith(f"13 results, 2 tables -> file://{tmp_path}/out/index.html")
    assert (tmp_path / "out" / report_file("STAGING.ORDERS")).exists()


def test_the_command_names_a_connection_it_cannot_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_REPORT_BROKEN", json.dumps({"conn_type": "sqlite", "host": "/nope/x.db"}))
    assert report_cli.main(["--out", str(tmp_path), "--conn-id", "report_broken", "--no-events"]) == 1
    assert "'report_broken'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        report_cli.main(["--out", str(tmp_path), "--days", "0"])


def test_the_snowsight_link_of_a_gated_table(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_dataeng.hooks.health import DataHealthHook

    monkeypatch.setenv("AIRFLOW_CONN_HEALTH_SF", json.dumps({
        "conn_type": "snowflake", "login": "u", "password": "p",
        "extra": {"account": "dataeng-local", "database": "DEMO", "schema": "PUBLIC"}}))
    monkeypatch.setenv("AIRFLOW_CONN_HEALTH_LITE", json.dumps({"conn_type": "sqlite", "host": "/tmp/x.db"}))
    hook = DataHealthHook("health_sf", "AUDIT.QUALITY_RESULTS")
    assert hook.snowsight_url("STAGING.ORDERS") == (
        "https://app.snowflake.com/dataeng/local/#/data/databases/DEMO/schemas/STAGING/table/ORDERS"
    )
    assert hook.snowsight_url("a.b.c.d") is None  # not a table name: no link, no error
    assert DataHealthHook("health_lite", "Q").snowsight_url("T") is None


def test_a_table_page_draws_only_its_newest_runs() -> None:
    """A gate every few minutes makes thousands of runs: the page draws the newest ones and says so."""
    from datetime import timedelta

    from airflow_provider_dataeng.health import pages
    from airflow_provider_dataeng.health.shape import table_history
    from tests.health.results import result

    rows = [result(0, "row_count_anomaly", "row_count_anomaly", "pass", 100 + i) for i in range(600)]
    rows = [r.__class__(**{**r.__dict__, "run_id": f"run_{i:04d}", "logical_date": r.at + timedelta(minutes=i)})
            for i, r in enumerate(rows)]
    page = pages.table_page(table_history("STAGING.ORDERS", rows), base="/data-health", ui="", days=30)
    assert "600 runs in this range" in page
    assert page.count('class="point') == pages.MAX_CHART_RUNS
    assert page.count('<rect class="cell') == pages.MAX_TIMELINE_RUNS
    assert page.count("<tr><td><a href=") == pages.MAX_RUN_ROWS
    assert "(the newest 500 of 600 runs)" in page and "(the newest 100 of 600 runs)" in page
    assert "run_0599" in page and "run_0000" not in page  # the newest are the ones drawn
