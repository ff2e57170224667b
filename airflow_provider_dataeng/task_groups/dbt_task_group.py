"""DbtTaskGroup: a dbt selection as one Airflow task per model, seed and snapshot, built by ONE ``dbt build``.

Rendered at parse time from ``manifest.json`` alone (``dbt/selection.py`` evaluates ``--select``/
``--exclude``/``--selector`` as ``dbt ls`` would, ``dbt/plan.py`` lays out tasks and edges): no dbt import,
no dbt run, no warehouse connection while the DAG processor parses the file.

At run time the group's first task, ``dbt_build`` (:class:`DbtBuildProducerOperator`), runs one ``dbt build``
of the whole selection and publishes each node's result as dbt finishes it; every other task
(:class:`DbtNodeOperator`) waits for its own nodes' results and ends as dbt ended them, so the grid shows the
build's progress per model, a failed model's task fails with dbt's error and its descendants become
``upstream_failed`` through the group's own edges. Clearing a failed node task builds that node alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk import TaskGroup

PRODUCER_TASK_ID = "dbt_build"
_TASK_GROUP_ARGS = (
    "tooltip",
    "prefix_group_id",
    "parent_group",
    "dag",
    "default_args",
    "ui_color",
    "ui_fgcolor",
    "group_display_name",
    "add_suffix_on_collision",
)


class DbtTaskGroup(TaskGroup):
    """One task per selected dbt model, seed and snapshot (plus test tasks per ``tests=``), one dbt build.

    :param group_id: the task group's id.
    :param project_dir: the dbt project (holding dbt_project.yml) the build runs in.
    :param manifest_path: the project's ``manifest.json`` (``dbt parse``), read at parse time.
    :param snowflake_conn_id: generate the dbt profile from this connection (or pass ``profiles_dir`` in
        ``operator_args``).
    :param select: dbt ``--select`` (str or list), evaluated on the manifest and passed to the build.
    :param exclude: dbt ``--exclude``.
    :param selector: a YAML selector of the project.
    :param tests: ``after_each`` (a ``<node>_test`` task after each node, its children wait for it),
        ``after_all`` (one ``tests`` task at the end) or ``none`` (tests are not run).
    :param vars: dbt ``--vars`` (dict or JSON/YAML string; templated), for the build and every re-run.
    :param target: target name (templated), as :class:`DbtRunOperator` takes it.
    :param results_url: where the producer publishes node results, e.g. ``s3://aws_default@bucket/dbt-results``
        (default: a directory under the Airflow home, for the LocalExecutor and ``airflow dags test``; workers
        on several machines need shared storage).
    :param deferrable: node tasks wait in the triggerer (default) instead of a worker slot.
    :param poll_interval: seconds between looks at the results location.
    :param wait_timeout: node tasks give up waiting after this many seconds (None: never).
    :param emit_assets: node tasks emit their table's asset when it was built (as ``DbtRunOperator`` does).
    :param operator_args: more :class:`DbtRunOperator` arguments for every task (``threads``, ``execution``,
        ``profiles_dir``, ``artifacts_destination``, ``warehouse``, ``retries``, ...).
    Other keyword arguments go to ``TaskGroup`` (``tooltip``, ``default_args``, ...).
    """

    def __init__(
        self,
        group_id: str,
        project_dir: str,
        manifest_path: str,
        snowflake_conn_id: str | None = None,
        *,
        select: str | list[str] | None = None,
        exclude: str | list[str] | None = None,
        selector: str | None = None,
        tests: str = "after_each",
        vars: dict[str, Any] | str | None = None,  # noqa: A002 - dbt's own name for it
        target: str | None = None,
        results_url: str | None = None,
        deferrable: bool = True,
        poll_interval: float = 5.0,
        wait_timeout: float | None = None,
        emit_assets: bool = True,
        operator_args: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        unknown = sorted(set(kwargs) - set(_TASK_GROUP_ARGS))
        if unknown:
            raise TypeError(
                f"DbtTaskGroup got unexpected argument(s) {unknown}; dbt task settings go in operator_args"
            )
        super().__init__(group_id=group_id, **kwargs)
        plan, manifest = _plan(manifest_path, select, exclude, selector, tests)
        self.plan = plan
        common = {
            "project_dir": project_dir,
            "snowflake_conn_id": snowflake_conn_id,
            "vars": vars,
            "target": target,
            **(operator_args or {}),
        }
        results: dict[str, Any] = {"results_url": results_url, "results_key": self.group_id}
        with self:
            from airflow_provider_dataeng.operators.dbt_build_producer import DbtBuildProducerOperator
            from airflow_provider_dataeng.operators.dbt_node import DbtNodeOperator

            producer = DbtBuildProducerOperator(
                task_id=PRODUCER_TASK_ID,
                select=select,
                exclude=exclude,
                selector=selector,
                **results,
                **common,
            )
            if tests == "none":
                producer.dbt_args = [*producer.dbt_args, "--exclude-resource-type", "test", "unit_test"]
            tasks = {}
            for planned in plan.tasks:
                fqns = [manifest["nodes"][uid].get("fqn") or [] for uid in planned.unique_ids]
                tasks[planned.task_id] = DbtNodeOperator(
                    task_id=planned.task_id,
                    unique_ids=planned.unique_ids,
                    selectors=[_unique_selector(fqn) for fqn in fqns],
                    producer_task_id=producer.task_id,
                    manifest_path=str(manifest_path),
                    deferrable=deferrable,
                    poll_interval=poll_interval,
                    wait_timeout=wait_timeout,
                    emit_assets=emit_assets,
                    **results,
                    **common,
                )
            for upstream, downstream in plan.edges:
                tasks[upstream] >> tasks[downstream]
        self.producer = producer
        self.node_tasks = tasks


def _unique_selector(fqn: list[str]) -> str:
    from airflow_provider_dataeng.dbt.node_results import unique_selector

    return unique_selector(fqn)


def _plan(
    manifest_path: str,
    select: str | list[str] | None,
    exclude: str | list[str] | None,
    selector: str | None,
    tests: str,
) -> tuple[Any, dict[str, Any]]:
    """The task plan of the selection, and the parsed manifest (read once, at parse time)."""
    import json

    from airflow_provider_dataeng.dbt.plan import render_plan
    from airflow_provider_dataeng.dbt.selection import SelectionGraph, select_nodes

    path = Path(manifest_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"manifest_path {manifest_path!r} does not exist; create it with `dbt parse` (target/manifest.json)"
        )
    manifest = json.loads(path.read_text())
    graph = SelectionGraph.from_manifest(manifest)
    selection = select_nodes(graph, select, exclude, selector)
    return render_plan(graph, selection.unique_ids, tests), manifest
