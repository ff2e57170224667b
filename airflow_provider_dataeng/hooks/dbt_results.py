"""Where a ``DbtTaskGroup``'s producer publishes each node's result and its node tasks read them.

One directory per DAG run and group: ``<results_url>/<dag_id>/<run_id>/<group_id>/`` with ``_producer.json``
(the producer's try, state and where its artifacts are), one ``<unique_id>.json`` per node and
``_reported/<task_id>.json`` (which producer try a node task has already reported). Any Airflow object
storage URL works (``ObjectStoragePath``: ``file://``, ``s3://conn_id@bucket/prefix``, ...). The default
is a local directory under the Airflow home: right for the LocalExecutor and ``airflow dags test``;
workers on several machines need shared storage such as ``s3://``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

PRODUCER_FILE = "_producer.json"


def default_results_url() -> str:
    """``file://<AIRFLOW_HOME>/dataeng-dbt-results`` (the Airflow home as Airflow resolves it)."""
    home = os.environ.get("AIRFLOW_HOME") or str(Path("~/airflow").expanduser())
    return (Path(home) / "dataeng-dbt-results").as_uri()


def safe_part(text: str) -> str:
    """A run id or task id as one path component."""
    return "".join(c if c.isalnum() or c in "-_.+" else "_" for c in text)


class DbtResultStore:
    """Reads and writes one group's results of one DAG run (JSON files; a partial file reads as absent)."""

    def __init__(self, results_url: str | None, dag_id: str, run_id: str, group_id: str) -> None:
        from airflow.sdk import ObjectStoragePath

        self.url = results_url or default_results_url()
        self.base = ObjectStoragePath(self.url) / safe_part(dag_id) / safe_part(run_id) / safe_part(group_id)

    def _read(self, name: str) -> dict[str, Any] | None:
        path = self.base / name
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None
        try:
            value = json.loads(text)
        except ValueError:  # being written right now: read it on the next poll
            return None
        return value if isinstance(value, dict) else None

    def _write(self, name: str, value: Mapping[str, Any]) -> None:
        path = self.base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value, default=str))

    # -- the producer ------------------------------------------------------------------------------------

    def producer(self) -> dict[str, Any] | None:
        return self._read(PRODUCER_FILE)

    def set_producer(self, try_number: int, state: str, **details: Any) -> None:
        """``state``: ``running``, ``done`` (dbt ran; nodes may have failed) or ``failed`` (dbt itself failed)."""
        now = datetime.now(timezone.utc).isoformat()
        self._write(PRODUCER_FILE, {"try_number": try_number, "state": state, "updated_at": now, **details})

    # -- node results ------------------------------------------------------------------------------------

    def put(self, record: Mapping[str, Any]) -> None:
        self._write(f"{record['unique_id']}.json", record)

    def get(self, unique_id: str) -> dict[str, Any] | None:
        return self._read(f"{unique_id}.json")

    def get_many(self, unique_ids: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        return {uid: self.get(uid) for uid in unique_ids}

    # -- what node tasks reported ------------------------------------------------------------------------

    def reported(self, task_id: str) -> int | None:
        """The producer try whose results ``task_id`` reported last (None: never)."""
        value = self._read(f"_reported/{safe_part(task_id)}.json")
        return None if value is None else int(value["producer_try"])

    def mark_reported(self, task_id: str, producer_try: int) -> None:
        self._write(f"_reported/{safe_part(task_id)}.json", {"producer_try": producer_try})
