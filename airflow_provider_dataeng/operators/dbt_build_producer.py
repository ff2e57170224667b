"""DbtBuildProducerOperator: the one ``dbt build`` of a ``DbtTaskGroup``, publishing each node's result.

It runs the group's selection exactly as :class:`DbtRunOperator` runs a build (same profile, secrets,
artifacts, run dir of its own) and writes every node's result to the group's results location as dbt
finishes the node (dbt's ``NodeFinished`` events, in-process), then once more from ``run_results.json``
(the final word, also the only source for ``execution="subprocess"``). The node tasks mirror those results.
It succeeds when dbt ran, even with failed nodes (their tasks fail), and fails when dbt itself failed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException

from airflow_provider_dataeng.operators.dbt_run import DbtRunOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class DbtBuildProducerOperator(DbtRunOperator):
    """One ``dbt build`` for a whole ``DbtTaskGroup``; results go to ``results_url`` per node.

    :param results_url: object storage URL of the group's results location (default: a directory under the
        Airflow home; distributed workers need shared storage such as ``s3://conn_id@bucket/prefix``).
    :param results_key: the group id the results are filed under.
    Every other parameter is :class:`DbtRunOperator`'s (``command`` is always ``build``).
    :return: the build's summary, as :class:`DbtRunOperator` returns it.
    """

    template_fields = (*DbtRunOperator.template_fields, "results_url")
    ui_color = "#ff694b"

    def __init__(self, *, results_url: str | None = None, results_key: str, **kwargs: Any) -> None:
        kwargs.setdefault("emit_assets", False)  # the node tasks emit their own table's asset
        super().__init__(command="build", **kwargs)
        self.results_url = results_url
        self.results_key = results_key

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_dataeng.dbt.node_results import record_from_event, record_from_result
        from airflow_provider_dataeng.hooks.dbt_results import DbtResultStore

        ti = context["ti"]
        store = DbtResultStore(self.results_url, ti.dag_id, ti.run_id, self.results_key)
        try_number = int(ti.try_number)
        store.set_producer(try_number, "running")
        self.log.info("Publishing node results to %s", store.base)

        def publish(event: Any) -> None:
            if event.info.name != "NodeFinished":
                return
            from dbt_common.events.functions import msg_to_dict

            record = record_from_event(msg_to_dict(event), producer_try=try_number)
            if record is not None:
                store.put(record)

        try:
            with self.dbt_invocation(context, self.command_args(), callbacks=[publish]) as (outcome, summary):
                invocation_id = _invocation_id(outcome.target_path)
                manifest, _ = getattr(self, "_manifest_and_results", (None, []))  # the run's own manifest
                for node in summary.nodes:
                    store.put(
                        record_from_result(
                            node, invocation_id=invocation_id, producer_try=try_number, manifest=manifest
                        )
                    )
                destination = self._copy_artifacts(outcome, summary, context)
                dbt_failed = outcome.error is not None or (not outcome.success and not summary.failed)
                self._keep_run_dir = bool(summary.failed) and destination is None
                details = {
                    "invocation_id": invocation_id,
                    "target_path": str(outcome.target_path),
                    "artifacts": destination,
                    "error": outcome.error,
                    "nodes": len(summary.nodes),
                }
                store.set_producer(try_number, "failed" if dbt_failed else "done", **details)
                self._log_summary(outcome, summary, destination)
                if dbt_failed:
                    raise AirflowException(
                        f"dbt build failed itself (not a node): {outcome.error or 'see the log above'}"
                    )
                return summary.as_dict(not summary.failed)
        except BaseException as err:
            if (store.producer() or {}).get("state") == "running":
                store.set_producer(try_number, "failed", error=f"{type(err).__name__}: {err}")
            raise

    def _log_summary(self, outcome: Any, summary: Any, destination: str | None) -> None:
        from airflow_provider_dataeng.dbt.results import describe_problems, format_table

        self.log.info(
            "dbt build: %d nodes in %.1fs\n%s", len(summary.nodes), summary.elapsed, format_table(summary)
        )
        if summary.failed:
            self.log.warning(
                "%d node(s) failed; their tasks fail with these errors:\n%s",
                len(summary.failed),
                describe_problems(summary.failed, str(outcome.target_path), destination),
            )


def _invocation_id(target_path: Any) -> str | None:
    """dbt's invocation id of the run (``run_results.json`` metadata)."""
    import json

    path = target_path / "run_results.json"
    if not path.is_file():
        return None
    return (json.loads(path.read_text()).get("metadata") or {}).get("invocation_id")
