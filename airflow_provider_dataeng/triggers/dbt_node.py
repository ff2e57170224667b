"""A trigger that waits until a ``DbtTaskGroup``'s producer has published the results of some nodes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class DbtNodeResultTrigger(BaseTrigger):
    """Polls the results location (a few small reads per poll) until the nodes' results of ``producer_try``
    are there, or that producer try ended without them, or ``timeout`` seconds have passed.

    The event payload is what :func:`~airflow_provider_dataeng.dbt.node_results.check_results` returns, or
    ``{"state": "timeout"}``.
    """

    def __init__(
        self,
        results_url: str,
        dag_id: str,
        run_id: str,
        group_id: str,
        unique_ids: list[str],
        producer_try: int,
        poll_interval: float = 5.0,
        timeout: float | None = None,
        started: float | None = None,
    ) -> None:
        super().__init__()
        self.results_url = results_url
        self.dag_id = dag_id
        self.run_id = run_id
        self.group_id = group_id
        self.unique_ids = list(unique_ids)
        self.producer_try = producer_try
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.started = time.time() if started is None else started

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "results_url": self.results_url,
                "dag_id": self.dag_id,
                "run_id": self.run_id,
                "group_id": self.group_id,
                "unique_ids": self.unique_ids,
                "producer_try": self.producer_try,
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
                "started": self.started,
            },
        )

    def _check(self) -> dict[str, Any] | None:
        from airflow_provider_dataeng.dbt.node_results import check_results
        from airflow_provider_dataeng.hooks.dbt_results import DbtResultStore

        store = DbtResultStore(self.results_url, self.dag_id, self.run_id, self.group_id)
        return check_results(store.get_many(self.unique_ids), store.producer(), self.producer_try)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            found = await asyncio.to_thread(self._check)
            if found is not None:
                yield TriggerEvent(found)
                return
            if self.timeout is not None and time.time() - self.started > self.timeout:
                yield TriggerEvent({"state": "timeout"})
                return
            await asyncio.sleep(self.poll_interval)
