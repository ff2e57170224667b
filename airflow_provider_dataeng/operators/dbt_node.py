"""DbtNodeOperator: one model, seed, snapshot (or its tests) of a ``DbtTaskGroup``, ending as dbt ended it.

On its first try the task waits for the group's producer to publish its nodes' results (deferred to the
triggerer by default; rescheduled, freeing its slot, while the producer has not started yet) and then ends
as dbt ended the nodes: success, or failed with dbt's error, failing tests, compiled SQL path, rows and time.
When the task runs again (a retry, or cleared) after reporting the producer's result, it builds only its own
nodes itself (``dbt build --select fqn:<node> --indirect-selection empty``, same profile, target and vars)
and reports that; when the producer was cleared too, it waits for the producer's new results instead.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException

from airflow_provider_dataeng.operators.dbt_run import DbtRunOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

_FINISHED = ("success", "failed", "skipped", "upstream_failed", "removed")


class DbtNodeOperator(DbtRunOperator):
    """Mirror the result of some dbt nodes from the group's producer; build them alone when run again.

    :param unique_ids: the dbt nodes of this task (one model/seed/snapshot, or tests).
    :param selectors: the ``--select`` values that pick exactly those nodes (used when it builds them itself).
    :param producer_task_id: the group's producer task.
    :param results_url: the group's results location (see ``DbtBuildProducerOperator``).
    :param results_key: the group id the results are filed under.
    :param manifest_path: the manifest the group was rendered from (for the node's asset).
    :param deferrable: wait in the triggerer (default) instead of polling in a worker slot.
    :param poll_interval: seconds between looks at the results location.
    :param wait_timeout: give up waiting for the producer after this many seconds (None: never).
    Every other parameter is :class:`DbtRunOperator`'s (``command`` is always ``build``).
    """

    template_fields = (*DbtRunOperator.template_fields, "results_url")
    ui_color = "#ffb4a3"

    def __init__(
        self,
        *,
        unique_ids: Sequence[str],
        selectors: Sequence[str],
        producer_task_id: str,
        results_key: str,
        results_url: str | None = None,
        manifest_path: str | None = None,
        deferrable: bool = True,
        poll_interval: float = 5.0,
        wait_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        dbt_args = [*(kwargs.pop("dbt_args", None) or []), "--indirect-selection", "empty"]
        super().__init__(command="build", select=list(selectors), dbt_args=dbt_args, **kwargs)
        if not unique_ids:
            raise ValueError("unique_ids must name at least one dbt node")
        if not poll_interval > 0:
            raise ValueError(f"poll_interval must be a positive number of seconds, got {poll_interval!r}")
        self.unique_ids = list(unique_ids)
        self.producer_task_id = producer_task_id
        self.results_key = results_key
        self.results_url = results_url
        self.manifest_path = manifest_path
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.wait_timeout = wait_timeout

    def _store(self, context: Context) -> Any:
        from airflow_provider_dataeng.hooks.dbt_results import DbtResultStore

        ti = context["ti"]
        return DbtResultStore(self.results_url, ti.dag_id, ti.run_id, self.results_key)

    def execute(self, context: Context) -> dict[str, Any]:
        ti = context["ti"]
        store = self._store(context)
        producer = store.producer()
        reported = store.reported(ti.task_id)
        pending = self._producer_pending(context)
        if producer is not None and reported is not None and reported >= producer["try_number"]:
            # this task already reported the producer's latest results: it is being run again
            if not pending:
                return self._build_alone(context, store, producer["try_number"])
            producer = None  # the producer was cleared too: wait for its new try
        if producer is None:
            from airflow.sdk.exceptions import AirflowRescheduleException

            self.log.info("The producer %s has not started yet: looking again later", self.producer_task_id)
            raise AirflowRescheduleException(
                datetime.now(timezone.utc) + timedelta(seconds=self.poll_interval)
            )
        return self._wait(context, store, int(producer["try_number"]))

    def _producer_pending(self, context: Context) -> bool:
        """True while the producer task is yet to run or running (e.g. cleared together with this task)."""
        ti = context["ti"]
        states = ti.get_task_states(dag_id=ti.dag_id, task_ids=[self.producer_task_id], run_ids=[ti.run_id])
        state = (states.get(ti.run_id) or {}).get(self.producer_task_id)
        return str(state) not in _FINISHED

    def _wait(self, context: Context, store: Any, producer_try: int) -> dict[str, Any]:
        from airflow_provider_dataeng.dbt.node_results import check_results

        self.log.info(
            "Waiting for the results of %s (producer try %d)", ", ".join(self.unique_ids), producer_try
        )
        if self.deferrable:
            from airflow_provider_dataeng.triggers.dbt_node import DbtNodeResultTrigger

            ti = context["ti"]
            trigger = DbtNodeResultTrigger(
                results_url=str(store.url),
                dag_id=ti.dag_id,
                run_id=ti.run_id,
                group_id=self.results_key,
                unique_ids=self.unique_ids,
                producer_try=producer_try,
                poll_interval=self.poll_interval,
                timeout=self.wait_timeout,
            )
            self.defer(trigger=trigger, method_name="execute_complete")
        started = time.monotonic()
        while (
            found := check_results(store.get_many(self.unique_ids), store.producer(), producer_try)
        ) is None:
            if self.wait_timeout is not None and time.monotonic() - started > self.wait_timeout:
                found = {"state": "timeout"}
                break
            time.sleep(self.poll_interval)
        return self.execute_complete(context, found)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """End as dbt ended the nodes in the producer's build."""
        from airflow_provider_dataeng.dbt.node_results import node_results

        state = event.get("state")
        if state == "timeout":
            raise AirflowException(
                f"No result from the producer {self.producer_task_id} within wait_timeout={self.wait_timeout}s"
            )
        records = event.get("records") or []
        if records:
            self._store(context).mark_reported(context["ti"].task_id, int(records[0]["producer_try"]))
        producer = event.get("producer") or {}
        if state == "missing":
            got = {r["unique_id"] for r in records}
            missing = [uid for uid in self.unique_ids if uid not in got]
            if producer.get("try_number") is not None:
                self._store(context).mark_reported(context["ti"].task_id, int(producer["try_number"]))
            raise AirflowException(
                f"dbt build ({self.producer_task_id}) ended without a result for {', '.join(missing)}: "
                f"{producer.get('error') or 'the node was not part of the build'}"
            )
        summary = node_results(records)
        if not summary.failed and any(n.status == "skipped" for n in summary.nodes):
            # dbt skipped it because an upstream node failed; this task runs, so its upstream tasks have
            # succeeded since (retried or cleared): build it now. (A model that failed itself has its own
            # tests skipped: that task fails below.)
            self.log.info("dbt build skipped %s (an upstream node failed then)", ", ".join(self.unique_ids))
            return self._build_alone(context, self._store(context), int(records[0]["producer_try"]))
        self._record_relations(records)
        self._report_records(summary, "producer " + self.producer_task_id)
        if self.emit_assets:
            self._emit_assets(context)
        return summary.as_dict(True)

    def _record_relations(self, records: list[dict[str, Any]]) -> None:
        """Assets and lineage of the nodes from the producer's records: where the build itself wrote and read
        (the manifest the group was rendered from may name another database than the build's target)."""
        from airflow_provider_dataeng.dbt.node_results import built_relations, read_relations
        from airflow_provider_dataeng.lineage import DbtRelations

        built = built_relations(records)
        reads = read_relations(records)
        if reads is None:  # records from dbt's events: what the nodes read comes from the group's manifest
            manifest = self._manifest()
            reads = manifest.upstream_relations(self.unique_ids) if manifest else []
        self._records_built = built
        self._lineage_relations = DbtRelations(
            inputs=tuple(reads),
            outputs=tuple((relation, extra.get("rows_affected")) for relation, extra in built),
        )

    def _emit_assets(self, context: Context) -> None:
        built = getattr(self, "_records_built", None)
        if built is None:  # built alone: its own run's manifest, as DbtRunOperator
            return super()._emit_assets(context)
        if built and self.snowflake_conn_id is not None:
            from airflow_provider_dataeng.assets import emit_snowflake_table_assets

            emit_snowflake_table_assets(context, self, self.snowflake_conn_id, built)

    def _report_records(self, summary: Any, source: str) -> None:
        from airflow_provider_dataeng.dbt.results import describe_problems, format_table

        self.log.info("dbt build (%s):\n%s", source, format_table(summary))
        if summary.warned:
            self.log.warning(
                "dbt reported %d warning(s):\n%s", len(summary.warned), describe_problems(summary.warned)
            )
        if summary.failed:
            raise AirflowException(
                f"dbt build: {len(summary.failed)} node(s) failed\n{describe_problems(summary.failed)}"
            )
        if self.fail_on_warning and summary.warned:
            raise AirflowException(
                f"dbt build ended with warnings and fail_on_warning=True\n{describe_problems(summary.warned)}"
            )

    def _build_alone(self, context: Context, store: Any, producer_try: int) -> dict[str, Any]:
        """Run again: build only this task's nodes and publish the new results in place of the old ones."""
        from airflow_provider_dataeng.dbt.node_results import record_from_result
        from airflow_provider_dataeng.operators.dbt_build_producer import _invocation_id

        self.log.info(
            "Run again after reporting the producer's result: building %s alone", ", ".join(self.unique_ids)
        )
        with self.dbt_invocation(context, self.command_args()) as (outcome, summary):
            invocation_id = _invocation_id(outcome.target_path)
            for node in summary.nodes:
                store.put(record_from_result(node, invocation_id=invocation_id, producer_try=producer_try))
            return self._finish(outcome, summary, context)

    def _manifest(self) -> Any:
        if not self.manifest_path:
            return None
        from airflow_provider_dataeng.dbt.manifest import Manifest

        return Manifest.load(self.manifest_path)
