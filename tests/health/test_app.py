"""The data-health pages served by Airflow's own API server app (in process), through its auth manager.

The plugin is found through the package's ``airflow.plugins`` entry point, as in a real installation; the
results table is a SQLite database written with the gate's own statements.
"""

from __future__ import annotations

import re
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dataeng.quality.dialects import SQLITE
from airflow_provider_dataeng.quality.evaluate import CheckResult
from airflow_provider_dataeng.quality.history import RunIds, create_table_sql, insert_results_sql
from tests.health.results import events, history

USERS = {"admin": "admin-pw", "viewer": "viewer-pw"}


def seed(path: Path) -> None:
    """The shared history, written with the gate's CREATE and INSERT (SQLite dialect)."""
    db = sqlite3.connect(path)
    db.execute(create_table_sql("QUALITY_RESULTS", SQLITE))
    runs: dict[tuple[str, str, str], list[Any]] = {}
    for r in history():
        runs.setdefault((r.dag_id, r.task_id, r.run_id), []).append(r)
    for (dag_id, task_id, run_id), rows in runs.items():
        results = [CheckResult(r.check, r.check_type, r.table, [], "error", r.status, r.observed, r.threshold or "",
                               details=dict(r.details)) for r in rows]
        for each in results:  # the gate keeps the sample apart from the details; the INSERT joins them
            each.failing_rows = each.details.pop("failing_rows", [])
        ids = RunIds(dag_id, task_id, run_id, rows[0].logical_date)
        query = insert_results_sql("QUALITY_RESULTS", results, ids, rows[0].checked_at, SQLITE)
        db.execute(query.sql, query.params)
    db.commit()
    db.close()


def seed_events() -> list[int]:
    """The shared asset events, in Airflow's metadata database; returns the assets' ids."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        assets: dict[str, AssetModel] = {}
        for event in events():
            if event.asset not in assets:
                uri = "snowflake://acct/" + event.asset.replace(".", "/")
                assets[event.asset] = AssetModel(name=event.asset, uri=uri, group="asset")
                session.add(assets[event.asset])
                session.flush()
            session.add(AssetEvent(asset_id=assets[event.asset].id, extra=dict(event.extra),
                                   source_dag_id=event.dag_id, source_run_id=event.run_id,
                                   source_task_id=event.task_id, timestamp=event.timestamp))
        return [a.id for a in assets.values()]


def remove_events(asset_ids: list[int]) -> None:
    """The session's metadata database is shared: leave it as it was."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    with create_session() as session:
        session.execute(delete(AssetEvent).where(AssetEvent.asset_id.in_(asset_ids)))
        session.execute(delete(AssetModel).where(AssetModel.id.in_(asset_ids)))


@pytest.fixture(scope="module")
def api(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Airflow's API server app with the plugin mounted, reading a seeded results table."""
    import json

    from fastapi.testclient import TestClient

    folder = tmp_path_factory.mktemp("health")
    seed(folder / "results.db")
    asset_ids = seed_events()
    (folder / "passwords.json").write_text(json.dumps(USERS))
    env = {
        "AIRFLOW_CONN_HEALTH_RESULTS": json.dumps({"conn_type": "sqlite", "host": str(folder / "results.db")}),
        "AIRFLOW_CONN_HEALTH_BROKEN": json.dumps({"conn_type": "sqlite", "host": "/nonexistent/dir/x.db"}),
        "AIRFLOW__DATAENG__HEALTH_CONN_ID": "health_results",
        "AIRFLOW__DATAENG__HEALTH_RESULTS_TABLE": "QUALITY_RESULTS",
        "AIRFLOW__DATAENG__HEALTH_CACHE_SECONDS": "0",
        "AIRFLOW__API_AUTH__JWT_SECRET": "health-test-" + "0" * 64,
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(folder / "passwords.json"),
    }
    patch = pytest.MonkeyPatch()
    for key, value in env.items():
        patch.setenv(key, value)
    from airflow.api_fastapi.app import create_app, purge_cached_app

    purge_cached_app()
    client = TestClient(create_app())
    yield client
    purge_cached_app()
    patch.undo()
    remove_events(asset_ids)


def token(api: Any, user: str) -> str:
    response = api.post("/auth/token", json={"username": user, "password": USERS[user]})
    assert response.status_code == 201, response.text
    return str(response.json()["access_token"])


def get(api: Any, path: str, user: str | None = "viewer") -> Any:
    headers = {"Authorization": f"Bearer {token(api, user)}"} if user else {}
    return api.get(path, headers=headers)


def test_anonymous_callers_are_refused(api: Any) -> None:
    for path in ("/data-health/", "/data-health/table/STAGING.ORDERS", "/data-health/api/tables"):
        response = get(api, path, user=None)
        assert response.status_code == 401, path


def test_the_plugin_registers_its_nav_entry(api: Any) -> None:
    response = api.get("/api/v2/plugins", headers={"Authorization": f"Bearer {token(api, 'admin')}"})
    plugin = next(p for p in response.json()["plugins"] if p["name"] == "dataeng_data_health")
    assert [(v["name"], v["href"], v["url_route"], v["destination"], v["nav_top_level"])
            for v in plugin["external_views"]] == [("Data health", "/data-health/", "data-health", "nav", True)]
    icon = api.get("/data-health/icon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert [a["url_prefix"] for a in plugin["fastapi_apps"]] == ["/data-health"]


def test_the_overview_lists_the_gated_tables(api: Any) -> None:
    response = get(api, "/data-health/?days=365")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    rows = re.findall(r'<tr data-table="([^"]+)">', response.text)
    assert rows == ["STAGING.ORDERS", "ANALYTICS.DIM_CUSTOMERS"]
    assert 'href="/data-health/table/STAGING.ORDERS?days=365"' in response.text
    assert 'href="/dags/shop/runs/scheduled__2026-01-03" target="_top"' in response.text
    tables = get(api, "/data-health/api/tables?days=365").json()
    assert [(t["table"], t["status"], t["runs"], t["counts"], t["failing"]) for t in tables["tables"]] == [
        ("STAGING.ORDERS", "fail", 3, [100.0, 104.0, 160.0], ["row_count_anomaly", "unique(id)"]),
        ("ANALYTICS.DIM_CUSTOMERS", "pass", 2, [10.0, 12.0], []),
    ]
    assert tables["errors"] == []


def test_the_time_range_bounds_the_read(api: Any) -> None:
    """The seeded runs are in January 2026: a one-day window shows none of them."""
    response = get(api, "/data-health/?days=1")
    assert "No gated tables in this range." in response.text
    assert get(api, "/data-health/?days=0").status_code == 422
    assert get(api, "/data-health/?days=366").status_code == 422


def test_the_table_page_draws_one_point_per_run_and_the_band(api: Any) -> None:
    response = get(api, "/data-health/table/STAGING.ORDERS?days=365")
    assert response.status_code == 200
    charts = [ET.fromstring(svg) for svg in re.findall(r"<svg.*?</svg>", response.text, flags=re.S)]
    count_chart = next(c for c in charts if c.get("aria-label") == "STAGING.ORDERS row count")
    points = [e for e in count_chart.iter() if "point" in (e.get("class") or "").split()]
    assert len(points) == 3 and ["tripped" in (p.get("class") or "") for p in points] == [False, False, True]
    assert len([e for e in count_chart.iter() if e.get("class") == "band"]) == 1
    # a dot leads to its run, in the whole window (the page is in the UI's frame)
    assert '<a href="/dags/shop/runs/scheduled__2026-01-03" target="_top"><circle class="point tripped"' in response.text
    assert "Failing rows of unique(id)" in response.text and "<td>7</td><td>2</td>" in response.text
    assert "merge_orders: merge 60 rows" in response.text


@pytest.mark.parametrize("name", ["orders; DROP TABLE x", "a.b.c.d", "x\"y"])
def test_hostile_table_names_are_refused(api: Any, name: str) -> None:
    from urllib.parse import quote

    response = get(api, f"/data-health/table/{quote(name, safe='')}")
    assert response.status_code == 400 and "not a table name" in response.json()["detail"]


def test_a_broken_connection_is_named_and_the_page_still_renders(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__DATAENG__HEALTH_CONN_ID", "health_broken")
    response = get(api, "/data-health/")
    assert response.status_code == 200
    assert '<div class="banner error" role="alert">cannot' in response.text and "health_broken" in response.text
    assert "<h1>Data health</h1>" in response.text


def test_no_results_table_explains_how_to_turn_results_on(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__DATAENG__HEALTH_RESULTS_TABLE", "AUDIT_NOT_THERE")
    response = get(api, "/data-health/")
    assert response.status_code == 200
    assert "No quality results yet" in response.text and "results_table=" in response.text


def test_only_the_dags_a_user_may_read_are_shown(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages ask the auth manager which DAGs' results the user may see (here: an auth manager whose
    users read the DAG "shop" only)."""
    from airflow.api_fastapi.app import create_app, init_auth_manager, purge_cached_app
    from fastapi.testclient import TestClient

    monkeypatch.setenv("AIRFLOW__CORE__AUTH_MANAGER", "tests.health.auth.ShopOnlyAuthManager")
    purge_cached_app()
    try:
        restricted = TestClient(create_app())
        tables = get(restricted, "/data-health/api/tables?days=365").json()["tables"]
        assert [t["table"] for t in tables] == ["STAGING.ORDERS"]  # ANALYTICS.DIM_CUSTOMER is the DAG "marts"
    finally:
        monkeypatch.undo()
        purge_cached_app()
        init_auth_manager()  # the module's app asks the auth manager of the environment it was built in
