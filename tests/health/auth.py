"""An auth manager for the data-health tests: the simple one, but its users may read the DAG "shop" only."""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager


class ShopOnlyAuthManager(SimpleAuthManager):
    def filter_authorized_dag_ids(self, *, dag_ids: set[str], user: Any, method: str = "GET",
                                  team_name: str | None = None) -> set[str]:
        return {d for d in dag_ids if d == "shop"}
