"""The Airflow UI of `dataeng-local airflow`, driven in Chromium the way a user clicks through it.

It uses the runner test_local_airflow.py left running (or starts one when run alone: `make test-ui`): sign in
on the login page, see the example DAGs and no import errors, trigger ``customer_data_pipeline`` with
the Trigger form, see every task succeed in the grid (each mapped instance too), the assets the pipeline wrote
from RAW to ANALYTICS, and the load task's Snowsight link. The run's progress is polled over REST; every UI step
waits for its element, never for a fixed time. Screenshots on the way: ``make screenshots`` writes them into
docs/images for the docs and README. Last (browser or not), Ctrl-C stops every process the runner started.

Chromium: ``$DATAENG_CHROMIUM``, else Debian's ``/usr/bin/chromium`` (``.ci/run`` installs it); without one
the browser tests skip and say how to get it.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import pytest

from tests.airflow_ui.conftest import (
    RunningAirflow,
    quote,
    screenshot,
    survivors,
    task_states,
    wait_for_run,
)
from tests.airflow_ui.runs import clear_tasks, runs, trigger, unpause
from tests.example_dags import EXAMPLE_DAGS

if TYPE_CHECKING:
    from playwright.sync_api import FrameLocator, Locator, Page

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1800)]

DAG_ID = "customer_data_pipeline"
TASKS = (
    "create_tables",
    "extract",
    "load",
    "merge",
    "dbt_build",
    "quality_dim_customer",
    "quality_fct_sales",
)
MAPPED = {"extract": 2, "load": 2, "merge": 2}  # one mapped instance per entity (customers, orders)
# The assets the pipeline writes, in pipeline order, and the task that emits each: the loads RAW.*, the merges
# STAGING.*, dbt_build ANALYTICS.*. A load or merge with nothing new emits no event (the UI's run, after
# test_local_airflow.py's runs, may find no new source records); dbt_build rebuilds the marts every run.
PIPELINE_ASSETS = {
    "DEMO.RAW.CUSTOMERS": "load",
    "DEMO.RAW.ORDERS": "load",
    "DEMO.STAGING.CUSTOMERS": "merge",
    "DEMO.STAGING.ORDERS": "merge",
    "DEMO.ANALYTICS.DIM_CUSTOMER": "dbt_build",
    "DEMO.ANALYTICS.FCT_SALES": "dbt_build",
}
RUN_TIMEOUT = 900.0  # about 1.5 min on an idle 2-core machine; much more when it is shared
SNOWSIGHT_RAW_CUSTOMERS = (
    "https://app.snowflake.com/dataeng/local/#/data/databases/DEMO/schemas/RAW/table/CUSTOMERS"
)


def expected_instances() -> list[tuple[str, str, str]]:
    """(task, map index as the table shows it, state) of every task instance of a successful run."""
    rows = []
    for task in TASKS:
        indexes = [str(i) for i in range(MAPPED[task])] if task in MAPPED else [""]
        rows += [(task, index, "Success") for index in indexes]
    return sorted(rows)


@pytest.fixture(scope="module")
def run_id(ui: Page, local_airflow: RunningAirflow) -> str:
    """A run of customer_data_pipeline triggered with the DAG page's Trigger button and form (defaults as
    they come), waited for over REST; its run id, read from the page the form navigates to. The DAG is
    active first (test_local_airflow.py leaves it so; a runner of its own starts DAGs paused)."""
    from playwright.sync_api import expect

    unpause(local_airflow, DAG_ID)

    ui.get_by_test_id("nav-dags-link").click()
    ui.get_by_test_id("dag-id").filter(has_text=DAG_ID).click()
    expect(ui).to_have_url(f"{local_airflow.url}/dags/{DAG_ID}")
    trigger = ui.get_by_test_id("trigger-dag-button")
    expect(trigger).to_have_count(1)  # the DAG page's own (the list had one per DAG)
    trigger.click()
    dialog = ui.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=f"Trigger Dag - {DAG_ID}")).to_be_visible()
    dialog.get_by_test_id("trigger-dag-submit").click()
    expect(ui).to_have_url(re.compile(rf"/dags/{DAG_ID}/runs/manual__[^/]+$"))
    run_id = urllib.parse.unquote(ui.url.rsplit("/runs/", 1)[1])
    run = wait_for_run(local_airflow, DAG_ID, run_id, timeout=RUN_TIMEOUT)
    assert run["state"] == "success", task_states(local_airflow, DAG_ID, run_id)
    assert run["run_type"] == "manual"
    return run_id


def test_dags_page_lists_the_example_dags_without_import_errors(
    ui: Page, local_airflow: RunningAirflow
) -> None:
    from playwright.sync_api import expect

    ui.get_by_test_id("nav-dags-link").click()
    expect(ui.get_by_test_id("dag-id")).to_have_text(list(EXAMPLE_DAGS))  # sorted by name, A-Z
    expect(ui.get_by_text(f"{len(EXAMPLE_DAGS)} Dags", exact=True)).to_be_visible()
    for dag_id in EXAMPLE_DAGS:
        expect(
            ui.get_by_test_id("dag-card").filter(has_text=dag_id).get_by_test_id("toggle-pause")
        ).to_be_visible()
    # The dashboard shows "N Dag Import Errors" once its stats have loaded, when there are any.
    ui.get_by_test_id("nav-home-link").click()
    expect(ui.get_by_text("Active Dags")).to_be_visible()
    expect(ui.get_by_text("Dag Import Error")).to_have_count(0)
    assert local_airflow.api("GET", "/importErrors")["total_entries"] == 0
    ui.get_by_test_id("nav-dags-link").click()
    expect(ui.get_by_test_id("dag-card")).to_have_count(len(EXAMPLE_DAGS))


def test_triggered_run_shows_every_task_succeeded_in_the_grid(
    ui: Page, local_airflow: RunningAirflow, run_id: str, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    ui.goto(f"/dags/{DAG_ID}/runs/{quote(run_id)}")
    expect(ui.get_by_test_id("header-card").get_by_test_id("state-badge")).to_have_text("Success")
    # The Task Instances table: one row per instance, mapped ones by map index.
    expect(ui.get_by_text(f"{len(expected_instances())} Task Instances", exact=True)).to_be_visible()
    rows = ui.locator("tbody tr")
    expect(rows).to_have_count(len(expected_instances()))
    shown = zip(
        rows.get_by_test_id("table-cell-task_display_name").all_inner_texts(),
        rows.get_by_test_id("table-cell-rendered_map_index").all_inner_texts(),
        rows.get_by_test_id("table-cell-state").all_inner_texts(),
        strict=True,
    )
    assert sorted((task.strip(), index.strip(), state.strip()) for task, index, state in shown) == (
        expected_instances()
    )
    screenshot(ui, screenshots / "ui-grid.png")
    # The grid: one cell per task in this run's column; its tooltip sums up mapped instances.
    for task in TASKS:
        cell = ui.get_by_test_id(f"grid-{run_id}-{task}")
        cell.hover()
        tooltip = ui.get_by_role("tooltip").filter(has_text=f"Task ID: {task}")
        expect(tooltip).to_contain_text("State: Success")
        if task in MAPPED:
            expect(tooltip).to_contain_text(f"{MAPPED[task]} Success")
        ui.mouse.move(0, 0)  # the tooltip would cover the next cell
        expect(tooltip).to_be_hidden()
    assert set(task_states(local_airflow, DAG_ID, run_id).values()) == {"success"}


def test_dag_list_shows_the_run(
    ui: Page, local_airflow: RunningAirflow, run_id: str, screenshots: Path
) -> None:
    """The card's latest run is ours, unless the scheduler started the next interval's run since (every 4 h)."""
    from playwright.sync_api import expect

    latest = runs(local_airflow, DAG_ID, order_by="-run_after")[0]
    if latest["dag_run_id"] != run_id:
        assert latest["run_type"] == "scheduled", latest
    ui.get_by_test_id("nav-dags-link").click()
    card = ui.get_by_test_id("dag-card").filter(has_text=DAG_ID)
    shown = card.get_by_test_id("latest-run")  # links to the run, with its state
    expect(shown.get_by_role("link")).to_have_attribute("href", f"/dags/{DAG_ID}/runs/{latest['dag_run_id']}")
    if latest["dag_run_id"] == run_id:
        expect(shown.get_by_test_id("state-badge")).to_have_attribute("aria-label", "success")
    screenshot(ui, screenshots / "ui-dags.png")


def test_assets_from_raw_to_analytics(
    ui: Page, local_airflow: RunningAirflow, run_id: str, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    query = f"source_dag_id={DAG_ID}&order_by=timestamp&limit=1000"
    events = local_airflow.api("GET", f"/assets/events?{query}")["asset_events"]
    pipeline = [e for e in events if e["name"] in PIPELINE_ASSETS]
    assert {e["name"]: e["source_task_id"] for e in pipeline} == PIPELINE_ASSETS
    assert all(e["extra"] for e in pipeline), pipeline  # each with its counts
    marts = {name for name, task in PIPELINE_ASSETS.items() if task == "dbt_build"}
    assert {e["name"] for e in pipeline if e["source_run_id"] == run_id} >= marts
    ui.get_by_test_id("nav-assets-link").click()
    for name in PIPELINE_ASSETS:
        row = ui.get_by_role("row").filter(has=ui.get_by_role("link", name=name, exact=True))
        expect(row.get_by_test_id("time-display")).to_be_visible()  # its Last Asset Event
    screenshot(ui, screenshots / "ui-assets.png")
    # A mart's graph: the STAGING tables dbt_build reads, dbt_build, the ANALYTICS table it builds.
    ui.get_by_role("link", name="DEMO.ANALYTICS.DIM_CUSTOMER", exact=True).click()
    graph = task_dependencies(ui, "dbt_build")
    for node in ("DEMO.STAGING.CUSTOMERS", "DEMO.STAGING.ORDERS", "dbt_build", "DEMO.ANALYTICS.DIM_CUSTOMER"):
        expect(graph.locator(".react-flow__node").filter(has_text=node)).to_have_count(1)
    expect(graph.locator(".react-flow__edge")).to_have_count(3)
    screenshot(ui, screenshots / "ui-asset-graph.png")
    # RAW's graph: the merge that reads it into STAGING.
    ui.get_by_test_id("nav-assets-link").click()
    ui.get_by_role("link", name="DEMO.RAW.CUSTOMERS", exact=True).click()
    graph = task_dependencies(ui, "merge")
    expect(graph.locator(".react-flow__node").filter(has_text="DEMO.RAW.CUSTOMERS")).to_have_count(1)
    expect(graph.locator(".react-flow__edge")).to_have_count(1)


def task_dependencies(ui: Page, task: str) -> Locator:
    """An asset page's graph in "Task Dependencies" mode, fitted into view once ``task``'s node is drawn (the
    graph renders only the nodes inside its viewport)."""
    from playwright.sync_api import expect

    ui.get_by_role("button", name="Task Dependencies").click()
    graph = ui.get_by_test_id("rf__wrapper")
    expect(graph.locator(".react-flow__node").filter(has_text=task)).to_have_count(1)
    ui.get_by_role("button", name="Fit View").click()
    return graph


def test_load_task_has_the_snowsight_link(
    ui: Page, local_airflow: RunningAirflow, run_id: str, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    ui.goto(f"/dags/{DAG_ID}/runs/{quote(run_id)}/tasks/load/mapped/0")  # the first mapped load: customers
    ui.get_by_role("link", name="Details", exact=True).click()
    expect(ui.get_by_role("heading", name="Extra Links")).to_be_visible()
    link = ui.get_by_role("link", name="Snowsight table")
    expect(link).to_have_attribute("href", SNOWSIGHT_RAW_CUSTOMERS)
    screenshot(ui, screenshots / "ui-link.png")


# -- data health ---------------------------------------------------------------------------------------------
def runner_sql(airflow: RunningAirflow, sql: str) -> list[tuple[Any, ...]]:
    """One statement on the runner's Snowflake stand-in (the stack the DAGs write), as the DAGs connect."""
    import snowflake.connector

    conn = snowflake.connector.connect(host="127.0.0.1", port=airflow.ports["snowflake"], protocol="http",
                                       account="fakesnow", user="local", password="local", database="DEMO",
                                       schema="PUBLIC")
    try:
        return list(conn.cursor().execute(sql).fetchall())
    finally:
        conn.close()


def gate_runs(airflow: RunningAirflow) -> dict[str, int]:
    """Gate runs per gated table in the results table the example gates write (every run of the module)."""
    rows = runner_sql(airflow, "SELECT TABLE_NAME, COUNT(DISTINCT DAG_ID || '|' || TASK_ID || '|' || RUN_ID) "
                               "FROM AUDIT.QUALITY_RESULTS GROUP BY TABLE_NAME")
    return {str(table): int(runs) for table, runs in rows}


def data_health(ui: Page, local_airflow: RunningAirflow) -> FrameLocator:
    """The Data health page from the nav entry; the frame the UI shows it in."""
    from playwright.sync_api import expect

    ui.goto("/")
    ui.get_by_role("link", name="Data health").click()
    # the UI's page of the plugin (it appends the frame's own path once the frame has loaded)
    expect(ui).to_have_url(re.compile(rf"^{re.escape(local_airflow.url)}/plugin/data-health(/|$)"))
    frame = ui.frame_locator("iframe")
    expect(frame.get_by_role("heading", name="Data health", exact=True)).to_be_visible()
    return frame


def test_data_health_lists_the_gated_tables_with_their_runs(
    ui: Page, local_airflow: RunningAirflow, run_id: str, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    expected = gate_runs(local_airflow)
    # the pipeline's two marts (at least the scheduled run and the one triggered here) and the other DAGs' tables
    assert expected["ANALYTICS.FCT_SALES"] >= 2 and expected["ANALYTICS.DIM_CUSTOMER"] >= 2, expected
    frame = data_health(ui, local_airflow)
    rows = frame.locator("tr[data-table]")
    expect(rows).to_have_count(len(expected))
    for table, count in expected.items():
        cells = frame.locator(f'tr[data-table="{table}"] td')
        expect(cells.nth(0)).to_have_text(table)
        expect(cells.nth(7)).to_have_text(str(count))
    expect(frame.locator('tr[data-table="ANALYTICS.FCT_SALES"] .status').first).to_have_text("pass")
    screenshot(ui, screenshots / "data-health-overview.png")


def test_data_health_shows_a_failed_gate_red_with_its_failing_rows(
    ui: Page, local_airflow: RunningAirflow, run_id: str, screenshots: Path
) -> None:
    """The corrupted-row scenario of tests/pipeline: a duplicated order fails the sales gate (cleared and run
    again by the scheduler). Five earlier runs with counts near today's are seeded first, so the anomaly check
    has the history it needs for a band (the module's own runs are too few)."""
    from playwright.sync_api import expect

    count = int(runner_sql(local_airflow, "SELECT COUNT(*) FROM ANALYTICS.FCT_SALES")[0][0])
    for day, delta in enumerate((0, 2, -1, 1, 0), start=1):
        runner_sql(local_airflow, (
            "INSERT INTO AUDIT.QUALITY_RESULTS (DAG_ID, TASK_ID, RUN_ID, LOGICAL_DATE, CHECKED_AT, TABLE_NAME, "
            "CHECK_NAME, CHECK_TYPE, OBSERVED, OBSERVED_NUMBER, THRESHOLD, STATUS, SEVERITY) VALUES "
            f"('{DAG_ID}', 'quality_fct_sales', 'seeded__2020-01-0{day}', '2020-01-0{day} 00:00:00', "
            f"CURRENT_TIMESTAMP(), 'ANALYTICS.FCT_SALES', 'row_count_anomaly', 'row_count_anomaly', "
            f"'{count + delta}', {count + delta}, '|z-score| <= 3', 'pass', 'error')"
        ))
    runner_sql(local_airflow, "INSERT INTO ANALYTICS.FCT_SALES SELECT * FROM ANALYTICS.FCT_SALES ORDER BY ORDER_ID LIMIT 1")
    clear_tasks(local_airflow, DAG_ID, run_id, ["quality_fct_sales"])
    run = wait_for_run(local_airflow, DAG_ID, run_id, timeout=RUN_TIMEOUT)
    assert run["state"] == "failed" and task_states(local_airflow, DAG_ID, run_id)["quality_fct_sales"] == "failed"
    sales_runs = gate_runs(local_airflow)["ANALYTICS.FCT_SALES"]

    # the page keeps what it read for health_cache_seconds (30 s): open it again until the new run shows
    deadline = time.monotonic() + 120
    while True:
        frame = data_health(ui, local_airflow)
        row = frame.locator('tr[data-table="ANALYTICS.FCT_SALES"]')
        expect(row.locator(".status").first).to_have_text(re.compile("pass|fail"))
        if row.locator(".status").first.inner_text() == "fail" or time.monotonic() > deadline:
            break
        time.sleep(5)
    expect(row.locator(".status").first).to_have_text("fail")
    expect(row.locator("td").nth(2)).to_have_text("unique(ORDER_ID)")
    expect(frame.locator("tr[data-table]").first).to_have_attribute("data-table", "ANALYTICS.FCT_SALES")  # worst first
    row.get_by_role("link", name="ANALYTICS.FCT_SALES", exact=True).click()
    expect(frame.get_by_role("heading", name="ANALYTICS.FCT_SALES", exact=True)).to_be_visible()
    chart = frame.locator('svg[aria-label="ANALYTICS.FCT_SALES row count"]')
    expect(chart.locator("circle.point")).to_have_count(sales_runs)  # one point per run
    expect(chart.locator("polygon.band")).to_have_count(1)  # the band of the run that had the history
    expect(chart.locator("circle.tripped")).to_have_count(0)  # one more row is no anomaly
    expect(frame.get_by_role("heading", name="Failing rows of unique(ORDER_ID)")).to_be_visible()
    expect(frame.locator("table.sample th")).to_have_text(["ORDER_ID", "N_ROWS"])  # the sample as the gate read it
    expect(frame.get_by_role("link", name="Open in Snowsight")).to_have_attribute(
        "href", "https://app.snowflake.com/dataeng/local/#/data/databases/DEMO/schemas/ANALYTICS/table/FCT_SALES"
    )
    screenshot(ui, screenshots / "data-health-table.png")


# -- stopping --------------------------------------------------------------------------------------------------
def test_ctrl_c_stops_every_process_it_started(local_airflow: RunningAirflow) -> None:
    """Components, the stack, the scheduler's LocalExecutor workers and a running task's processes."""
    unpause(
        local_airflow, "customer_reporting"
    )  # test_local_airflow.py leaves it so; a runner alone does not
    run = trigger(local_airflow, "customer_reporting", logical_date=None)
    snapshot = wait_for_a_running_task(local_airflow, "customer_reporting", run["dag_run_id"])
    titles = [" ".join(_cmdline(pid)) for pid in snapshot]  # a process may end (or be a zombie) meanwhile
    assert any("LocalExecutor" in t for t in titles), titles  # the workers the issue found orphaned
    assert len(snapshot) >= 4 + 4 + 1  # components, stand-ins, at least one worker

    assert local_airflow.stop() == 0
    output = local_airflow.text()
    assert "dataeng-local: stopped Airflow (api-server, scheduler, dag-processor, triggerer and " in output
    from dataeng_local.stack import SERVICES

    assert f"dataeng-local: stopped the local stack ({', '.join(SERVICES)})" in output
    assert survivors(snapshot) == []
    assert not (local_airflow.dir / "airflow.json").exists()


def wait_for_a_running_task(
    airflow: RunningAirflow, dag_id: str, run_id: str, timeout: float = 300.0
) -> dict[int, float]:
    """The runner's processes while a task of the run is running (its supervisor and task process too)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "running" in task_states(airflow, dag_id, run_id).values():
            snapshot = airflow.started_processes()
            titles = [" ".join(_cmdline(pid)) for pid in snapshot]
            if any(
                t.startswith(("airflow supervisor", "airflow worker -- ")) and "LocalExecutor" not in t
                for t in titles
            ):
                return snapshot
        time.sleep(0.2)
    raise AssertionError(f"no task of {dag_id} {run_id} seen running: {task_states(airflow, dag_id, run_id)}")


def _cmdline(pid: int) -> list[str]:
    try:
        return psutil.Process(pid).cmdline()
    except psutil.NoSuchProcess:
        return []
