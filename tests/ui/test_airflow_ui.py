"""The Airflow UI on the local runner, driven in Chromium the way a user clicks through it.

One runner for the module (the stack plus Airflow's api-server, scheduler, dag-processor and triggerer): sign
in on the login page, see the three example DAGs and no import errors, trigger ``customer_data_pipeline``
with the Trigger form, see every task succeed in the grid (each mapped instance too), the assets the run
wrote from RAW to ANALYTICS, and the load task's Snowsight link; last, stopping the runner leaves no process
behind. The run's progress is polled over REST; every UI step waits for its element, never for a fixed time.
Screenshots on the way: ``make screenshots`` writes them into docs/images for the docs and README.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.ui.conftest import Runner, alive, quote, screenshot, task_states, wait_for_run

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

# Opt-in (make test-ui / make screenshots): in the full suite its pipeline run's dbt_build failed once after
# every other module had run, while it passes on its own; until that is understood it stays out of `make test`.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("DATAENG_UI_TESTS") != "1", reason="browser test: make test-ui"),
]

DAG_ID = "customer_data_pipeline"
EXAMPLE_DAGS = ("customer_data_pipeline", "customer_reporting", "events_microbatch")
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
# The assets the run writes, in pipeline order, and the task that emits each: the loads RAW.*, the merges
# STAGING.*, dbt_build ANALYTICS.*.
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
def run_id(ui: Page, runner: Runner) -> str:
    """A run of customer_data_pipeline triggered with the DAG page's Trigger button and form (defaults as
    they come), waited for over REST; its run id, read from the page the form navigates to."""
    from playwright.sync_api import expect

    ui.get_by_test_id("nav-dags-link").click()
    ui.get_by_test_id("dag-id").filter(has_text=DAG_ID).click()
    expect(ui).to_have_url(f"{runner.url}/dags/{DAG_ID}")
    trigger = ui.get_by_test_id("trigger-dag-button")
    expect(trigger).to_have_count(1)  # the DAG page's own (the list had one per DAG)
    trigger.click()
    dialog = ui.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=f"Trigger Dag - {DAG_ID}")).to_be_visible()
    dialog.get_by_test_id("trigger-dag-submit").click()
    expect(ui).to_have_url(re.compile(rf"/dags/{DAG_ID}/runs/manual__[^/]+$"))
    run_id = urllib.parse.unquote(ui.url.rsplit("/runs/", 1)[1])
    run = wait_for_run(runner, DAG_ID, run_id, RUN_TIMEOUT)
    assert run["state"] == "success", task_states(runner, DAG_ID, run_id)
    assert run["run_type"] == "manual"
    return run_id


def test_dags_page_lists_the_example_dags_without_import_errors(ui: Page, runner: Runner) -> None:
    from playwright.sync_api import expect

    ui.get_by_test_id("nav-dags-link").click()
    expect(ui.get_by_test_id("dag-id")).to_have_text(list(EXAMPLE_DAGS))  # sorted by name, A-Z
    expect(ui.get_by_text("3 Dags", exact=True)).to_be_visible()
    for dag_id in EXAMPLE_DAGS:
        expect(
            ui.get_by_test_id("dag-card").filter(has_text=dag_id).get_by_test_id("toggle-pause")
        ).to_be_visible()
    # The dashboard shows "N Dag Import Errors" once its stats have loaded, when there are any.
    ui.get_by_test_id("nav-home-link").click()
    expect(ui.get_by_text("Active Dags")).to_be_visible()
    expect(ui.get_by_text("Dag Import Error")).to_have_count(0)
    assert runner.api("GET", "/importErrors")["total_entries"] == 0
    ui.get_by_test_id("nav-dags-link").click()
    expect(ui.get_by_test_id("dag-card")).to_have_count(3)


def test_triggered_run_shows_every_task_succeeded_in_the_grid(
    ui: Page, runner: Runner, run_id: str, screenshots: Path
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
    assert set(task_states(runner, DAG_ID, run_id).values()) == {"success"}


def test_dag_list_shows_the_run(ui: Page, run_id: str, screenshots: Path) -> None:
    from playwright.sync_api import expect

    ui.get_by_test_id("nav-dags-link").click()
    card = ui.get_by_test_id("dag-card").filter(has_text=DAG_ID)
    latest = card.get_by_test_id("latest-run")  # links to the run, with its state
    expect(latest.get_by_role("link")).to_have_attribute("href", f"/dags/{DAG_ID}/runs/{run_id}")
    expect(latest.get_by_test_id("state-badge")).to_have_attribute("aria-label", "success")
    screenshot(ui, screenshots / "ui-dags.png")


def test_assets_from_raw_to_analytics(ui: Page, runner: Runner, run_id: str, screenshots: Path) -> None:
    from playwright.sync_api import expect

    events = runner.api("GET", f"/assets/events?source_run_id={quote(run_id)}&limit=100")["asset_events"]
    ours = [e for e in events if e["name"] in PIPELINE_ASSETS]
    assert {e["name"]: e["source_task_id"] for e in ours} == PIPELINE_ASSETS
    assert all(e["extra"] for e in ours), ours  # each with its counts
    ui.get_by_test_id("nav-assets-link").click()
    for name in PIPELINE_ASSETS:
        row = ui.get_by_role("row").filter(has=ui.get_by_role("link", name=name, exact=True))
        expect(row.get_by_test_id("time-display")).to_be_visible()  # Last Asset Event: this run's
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


def test_load_task_has_the_snowsight_link(ui: Page, runner: Runner, run_id: str, screenshots: Path) -> None:
    from playwright.sync_api import expect

    ui.goto(f"/dags/{DAG_ID}/runs/{quote(run_id)}/tasks/load/mapped/0")  # the first mapped load: customers
    ui.get_by_role("link", name="Details", exact=True).click()
    expect(ui.get_by_role("heading", name="Extra Links")).to_be_visible()
    link = ui.get_by_role("link", name="Snowsight table")
    expect(link).to_have_attribute("href", SNOWSIGHT_RAW_CUSTOMERS)
    screenshot(ui, screenshots / "ui-link.png")


def test_stopping_the_runner_leaves_no_process(runner: Runner) -> None:
    started = runner.processes()
    assert len(started) >= 7, started  # three services, four components (and the workers they started)
    runner.stop()
    survivors = [p for p in started if alive(p)]
    assert survivors == [] and runner.processes() == [], survivors
