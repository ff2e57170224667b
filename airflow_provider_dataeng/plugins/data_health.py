"""The "Data health" page inside the Airflow UI: a FastAPI app served by Airflow's API server, and a nav entry.

The pages (:mod:`.data_health_app`) go through Airflow's auth manager like the rest of the UI and read the
``[dataeng]`` options ``health_conn_id``, ``health_results_table``, ``health_row_limit`` and
``health_cache_seconds``. Every Airflow process loads plugins (the scheduler, the workers): this module
stays light, and the app is built when the API server first asks for it.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/data-health"


class _LazyApps:
    """``fastapi_apps`` built when Airflow's API server first asks for them (plugins load everywhere)."""

    _apps: list[dict[str, Any]] | None = None

    def __get__(self, obj: Any, owner: Any) -> list[dict[str, Any]]:
        if _LazyApps._apps is None:
            from airflow_provider_dataeng.plugins.data_health_app import create_app

            _LazyApps._apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Data health"}]
        return _LazyApps._apps


class DataHealthPlugin(AirflowPlugin):
    """Registers the pages and their nav entry (``airflow.plugins`` entry point of the package)."""

    name = "dataeng_data_health"
    fastapi_apps = _LazyApps()  # type: ignore[assignment]
    external_views = [
        {
            "name": "Data health",
            "href": f"{URL_PREFIX}/",
            "url_route": "data-health",
            "destination": "nav",
            "nav_top_level": True,
            "icon": f"{URL_PREFIX}/icon.svg",
        }
    ]
