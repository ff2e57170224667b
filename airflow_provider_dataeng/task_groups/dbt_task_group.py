"""DbtTaskGroup: a dbt selection as one Airflow task per model, seed and snapshot, built by ONE ``dbt build``.

Rendered at parse time from ``manifest.json`` alone (``dbt/selection.py`` evaluates ``--select``/
``--exclude``/``--selector`` as ``dbt ls`` would, ``dbt/plan.py`` lays out tasks and edges): no dbt import,
no dbt run, no warehouse connection while the DAG processor parses the file.

At run time the group's first task, ``dbt_build`` (:class:`DbtBuildProducerOperator`), runs one ``dbt build``
of the whole selection and publishes each node's result as dbt finishes it; every other task
(:class:`DbtNodeOperator`) waits for its own nodes' results and ends as dbt ended them, so the grid shows the
build's progress per model, a failed model's task fails with dbt's error and its descendants become
``upstream_failed`` through the group's own edges. Clearing a failed node task builds that node alone.

The manifest is written at deploy time (``dataeng-dbt manifest PROJECT_DIR``). Without it the group is one
``dbt_build`` task building the whole selection (the pipeline still runs, without the per-model view) and
the DAG file raises a :class:`DbtManifestWarning` naming the command; a manifest that no longer matches the
project (another project, another dbt minor version, model files changed, added or removed since) raises
the same warning with what differs. The DAG processor logs these warnings; the group's tooltip and the
``dbt_build`` task's docs carry them into the UI.
"""

from __future__ import annotations

import warnings
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


class DbtManifestWarning(UserWarning):
    """The group's manifest is missing or no longer matches the dbt project (the message says how to fix it)."""


class DbtTaskGroup(TaskGroup):
    """One task per selected dbt model, seed and snapshot (with its tests, per ``tests=``), one dbt build.

    :param group_id: the task group's id.
    :param project_dir: the dbt project (holding dbt_project.yml) the build runs in.
    :param manifest_path: the project's ``manifest.json`` (``dataeng-dbt manifest PROJECT_DIR``, which runs
        ``dbt parse``), read at parse time; missing, the group is one ``dbt_build`` task (see above).
    :param snowflake_conn_id: generate the dbt profile from this connection (or pass ``profiles_dir`` in
        ``operator_args``).
    :param select: dbt ``--select`` (str or list), evaluated on the manifest and passed to the build.
    :param exclude: dbt ``--exclude``.
    :param selector: a YAML selector of the project.
    :param tests: ``after_each`` (a node's tests run in its own task and fail it, so its children wait for
        them; sources' tests get a ``<source>_<table>_test`` task), ``after_all`` (one ``tests`` task at the
        end) or ``none`` (the build leaves tests out).
    :param vars: dbt ``--vars`` (dict or JSON/YAML string; templated), for the build and every re-run.
    :param target: target name (templated), as :class:`DbtRunOperator` takes it.
    :param results_url: where the producer publishes node results, e.g. ``s3://aws_default@bucket/dbt-results``
        (default: a directory under the Airflow home, for the LocalExecutor and ``airflow dags test``; workers
        on several machines need shared storage).
    :param deferrable: node tasks wait in the triggerer (default) instead of a worker slot.
    :param poll_interval: seconds between looks at the results location.
    :param wait_timeout: node tasks give up waiting after this many seconds (None: never).
    :param emit_assets: node tasks emit their table's asset when it was built (as ``DbtRunOperator`` does).
    :param check_manifest: compare the manifest with the project's files at parse time and warn when it is
        stale (about 25 ms for 500 models: every node file is hashed as dbt does); False skips it.
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
        check_manifest: bool = True,
        operator_args: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        unknown = sorted(set(kwargs) - set(_TASK_GROUP_ARGS))
        if unknown:
            raise TypeError(
                f"DbtTaskGroup got unexpected argument(s) {unknown}; dbt task settings go in operator_args"
            )
        from airflow_provider_dataeng.dbt.plan import check_tests_mode

        check_tests_mode(tests)  # before the manifest: the fallback without one takes tests= too
        manifest = _read_manifest(project_dir, manifest_path)
        problems = ""
        if manifest is not None and check_manifest:
            problems = _manifest_problems(project_dir, manifest_path, manifest)
        if manifest is None or problems:
            warning = problems or _missing_message(project_dir, manifest_path)
            warnings.warn(DbtManifestWarning(warning), stacklevel=2)
            kwargs.setdefault("tooltip", warning)
        super().__init__(group_id=group_id, **kwargs)
        common = {
            "project_dir": project_dir,
            "snowflake_conn_id": snowflake_conn_id,
            "vars": vars,
            "target": target,
            **(operator_args or {}),
        }
        self.plan: Any = None
        self.producer: Any = None
        self.node_tasks: dict[str, Any] = {}
        if manifest is None:
            with self:
                from airflow_provider_dataeng.operators.dbt_run import DbtRunOperator

                self.producer = DbtRunOperator(
                    task_id=PRODUCER_TASK_ID,
                    command="build",
                    select=select,
                    exclude=exclude,
                    selector=selector,
                    dbt_args=_test_args(tests),
                    doc_md=warning,
                    **common,
                )
            return
        self.plan = plan = _plan(manifest, select, exclude, selector, tests)
        results: dict[str, Any] = {"results_url": results_url, "results_key": self.group_id}
        with self:
            from airflow_provider_dataeng.operators.dbt_build_producer import DbtBuildProducerOperator
            from airflow_provider_dataeng.operators.dbt_node import DbtNodeOperator

            producer = DbtBuildProducerOperator(
                task_id=PRODUCER_TASK_ID,
                select=select,
                exclude=exclude,
                selector=selector,
                doc_md=problems or None,
                **results,
                **common,
            )
            producer.dbt_args = [*producer.dbt_args, *_test_args(tests)]
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
            _connect(tasks, plan.edges)
        self.producer = producer
        self.node_tasks = tasks


def _unique_selector(fqn: list[str]) -> str:
    from airflow_provider_dataeng.dbt.selection_spec import unique_selector

    return unique_selector(fqn)


def _connect(tasks: dict[str, Any], edges: Any) -> None:
    """The plan's edges between the group's tasks.

    All of them were just created in one DAG, so the checks ``>>`` makes per edge (it hashes the DAG object
    twice per edge: a sixth of the group's parse time for 500 models) cannot fail: the edges go straight into
    the task id sets ``>>`` fills. Without a DAG yet, ``>>`` does it.
    """
    if not all(task.has_dag() for task in tasks.values()):
        for upstream, downstream in edges:
            tasks[upstream] >> tasks[downstream]
        return
    for upstream, downstream in edges:
        tasks[upstream].downstream_task_ids.add(tasks[downstream].node_id)
        tasks[downstream].upstream_task_ids.add(tasks[upstream].node_id)


def _test_args(tests: str) -> list[str]:
    """``tests="none"``: the build leaves tests out (``after_each``/``after_all`` run them, as dbt build does)."""
    return ["--exclude-resource-type", "test", "unit_test"] if tests == "none" else []


def _read_manifest(project_dir: str, manifest_path: str) -> dict[str, Any] | None:
    """The parsed manifest, or None when the file does not exist (an unreadable file is an error)."""
    import msgspec  # already loaded by Airflow's SDK; decodes a manifest about 3x faster than json

    path = Path(manifest_path)
    if not path.is_file():
        return None
    try:
        manifest = msgspec.json.decode(path.read_bytes())
    except (ValueError, msgspec.DecodeError) as error:
        raise ValueError(
            f"manifest_path {manifest_path!r} is not a dbt manifest.json ({error}); regenerate it with "
            f"`{_regenerate(project_dir, manifest_path)}`"
        ) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("nodes"), dict):
        raise ValueError(
            f"manifest_path {manifest_path!r} is not a dbt manifest.json (no nodes); regenerate it with "
            f"`{_regenerate(project_dir, manifest_path)}`"
        )
    return manifest


def _regenerate(project_dir: str, manifest_path: str) -> str:
    from airflow_provider_dataeng.dbt.manifest_check import regenerate_command

    return regenerate_command(project_dir, manifest_path)


def _missing_message(project_dir: str, manifest_path: str) -> str:
    from airflow_provider_dataeng.dbt.manifest_check import missing_manifest_message

    return (
        missing_manifest_message(project_dir, manifest_path)
        + "\nUntil then this group is a single dbt_build task that builds the whole selection."
    )


def _manifest_problems(project_dir: str, manifest_path: str, manifest: dict[str, Any]) -> str:
    """What makes the manifest stale for the project on disk, as one message ("" when it is current)."""
    from importlib.metadata import PackageNotFoundError, version

    from airflow_provider_dataeng.dbt.manifest_check import check_manifest, format_problems

    try:
        installed: str | None = version("dbt-core")
    except PackageNotFoundError:  # dbt runs elsewhere (a subprocess venv): no version to compare
        installed = None
    try:
        problems = check_manifest(project_dir, manifest, manifest_path=manifest_path, dbt_version=installed)
    except FileNotFoundError as error:  # no dbt_project.yml
        return f"{error}; the tasks come from the manifest {manifest_path} alone."
    if not problems:
        return ""
    return f"The dbt manifest {manifest_path} is stale:\n{format_problems(problems)}"


def _plan(
    manifest: dict[str, Any],
    select: str | list[str] | None,
    exclude: str | list[str] | None,
    selector: str | None,
    tests: str,
) -> Any:
    """The task plan of the selection (the manifest is read once, at parse time)."""
    from airflow_provider_dataeng.dbt.plan import render_plan
    from airflow_provider_dataeng.dbt.selection import SelectionGraph, select_nodes

    graph = SelectionGraph.from_manifest(manifest)
    selection = select_nodes(graph, select, exclude, selector)
    return render_plan(graph, selection.unique_ids, tests)
