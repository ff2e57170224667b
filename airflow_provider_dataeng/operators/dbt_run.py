"""DbtRunOperator: one dbt command (build, run, test, ...) as one Airflow task.

Nothing about dbt happens at DAG-parse time: this module imports neither dbt nor the Snowflake connector,
and the project is not read until ``execute``. The profile comes from an Airflow Snowflake connection
(every setting, including host/port/protocol) or from the user's own profiles dir.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_dataeng import validation
from airflow_provider_dataeng.sql.session import check_session_args

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_dataeng.dbt.results import RunSummary
    from airflow_provider_dataeng.hooks.dbt import DbtInvocation

COMMANDS: dict[str, list[str]] = {
    "run": ["run"],
    "build": ["build"],
    "test": ["test"],
    "seed": ["seed"],
    "snapshot": ["snapshot"],
    "source freshness": ["source", "freshness"],
}
_FULL_REFRESH_COMMANDS = ("run", "build", "seed")
_EXECUTION_MODES = ("in_process", "subprocess")
# Flags the operator sets itself: passing them through dbt_args would silently fight the operator.
_MANAGED_FLAGS = (
    "--project-dir",
    "--profiles-dir",
    "--profile",
    "--target",
    "-t",
    "--target-path",
    "--log-path",
    "--select",
    "-s",
    "--models",
    "-m",
    "--exclude",
    "--selector",
    "--vars",
    "--threads",
    "--full-refresh",
    "--log-level",
    "--log-level-file",
    "--log-format",
)


class DbtRunOperator(BaseOperator):
    """Run a dbt command against Snowflake and fail with the failing models and tests named.

    :param project_dir: the dbt project (holding dbt_project.yml).
    :param command: one of ``run``, ``build``, ``test``, ``seed``, ``snapshot``, ``source freshness``.
    :param select: dbt ``--select`` (string or list; templated).
    :param exclude: dbt ``--exclude`` (string or list; templated).
    :param selector: a YAML selector name (``--selector``).
    :param vars: dbt ``--vars`` (dict, or a JSON/YAML string; templated).
    :param full_refresh: ``--full-refresh`` (run, build, seed only).
    :param target: target name (templated). With a generated profile it names the generated target
        (default ``airflow``); the example project adapts itself to the local stand-in when it is ``local``.
    :param snowflake_conn_id: generate the profile from this Airflow connection ...
    :param profiles_dir: ... or use the profiles.yml in this directory (exactly one of the two).
    :param threads: dbt ``--threads``.
    :param fail_on_warning: fail the task when any node ends in ``warn``.
    :param dbt_args: extra dbt arguments, e.g. ``["--fail-fast"]``.
    :param artifacts_destination: object storage URL (e.g. ``s3://aws_default@bucket/dbt``) to copy
        manifest.json, run_results.json, compiled SQL of failed nodes and the logs to, under
        ``<dag_id>/<task_id>/<run_id>/try_<n>/``.
    :param execution: ``in_process`` (default) or ``subprocess``.
    :param warehouse: the warehouse dbt uses (generated profile only; default: the connection's); templated.
        Models may still switch with dbt's ``snowflake_warehouse`` config.
    :param role: the role dbt uses (generated profile only; default: the connection's); templated.
    :param query_tag: extra keys for the profile's JSON ``query_tag`` (which always holds ``dag_id``,
        ``task_id``, ``run_id``, ``try_number`` and ``map_index``; it replaces the extra ``dbt_query_tag``);
        templated. dbt sets it at login on every connection it opens.
    :param emit_assets: when the run succeeds, add the Asset of every model, seed and snapshot it built
        (status ``success``; ``snowflake://<account>/<DB>/<SCHEMA>/<NAME>``, the account from
        ``snowflake_conn_id``) to the task's outlets with extra ``{"unique_id", "status", "rows_affected",
        "materialized"}`` (what dbt reported); an equal declared outlet gets the extra instead. Airflow records
        the event only for an asset some DAG declares. Needs ``snowflake_conn_id`` (with ``profiles_dir`` the
        account is unknown: nothing is emitted). ``False`` opts out.
    :return: ``{"success", "elapsed", "nodes": [{"unique_id", "status", "execution_time",
        "rows_affected", "message"}]}``
    """

    template_fields: Sequence[str] = (
        "select",
        "exclude",
        "vars",
        "target",
        "artifacts_destination",
        "warehouse",
        "role",
        "query_tag",
    )
    template_fields_renderers = {"vars": "json"}
    ui_color = "#ff694b"

    def __init__(
        self,
        *,
        project_dir: str,
        command: str = "build",
        select: str | list[str] | None = None,
        exclude: str | list[str] | None = None,
        selector: str | None = None,
        vars: dict[str, Any] | str | None = None,  # noqa: A002 - dbt's own name for it
        full_refresh: bool = False,
        target: str | None = None,
        snowflake_conn_id: str | None = None,
        profiles_dir: str | None = None,
        threads: int | None = None,
        fail_on_warning: bool = False,
        dbt_args: list[str] | None = None,
        artifacts_destination: str | None = None,
        execution: str = "in_process",
        emit_assets: bool = True,
        warehouse: str | None = None,
        role: str | None = None,
        query_tag: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_session_args(warehouse=warehouse, role=role, query_tag=query_tag)
        if profiles_dir is not None and (warehouse or role or query_tag):
            raise ValueError(
                "warehouse=, role= and query_tag= set a generated profile: with profiles_dir set them in your "
                "profiles.yml (or use snowflake_conn_id)"
            )
        self.warehouse = warehouse
        self.role = role
        self.query_tag = query_tag
        validation.choice("command", command, COMMANDS)
        if (snowflake_conn_id is None) == (profiles_dir is None):
            raise ValueError(
                "Give exactly one of snowflake_conn_id (profile generated from the Airflow connection) "
                "or profiles_dir (a directory with your own profiles.yml)"
            )
        validation.choice("execution", execution, _EXECUTION_MODES)
        for name, value in (
            ("full_refresh", full_refresh),
            ("fail_on_warning", fail_on_warning),
            ("emit_assets", emit_assets),
        ):
            validation.flag(name, value)
        if full_refresh and command not in _FULL_REFRESH_COMMANDS:
            raise ValueError(f"full_refresh applies to {_FULL_REFRESH_COMMANDS} only, not {command!r}")
        validation.positive_int("threads", threads, optional=True)
        if selector is not None and not isinstance(selector, str):
            raise ValueError(f"selector must be a selector name (str), got {selector!r}")
        self.dbt_args = _validate_dbt_args(dbt_args)
        if vars is not None and not isinstance(vars, dict | str):
            raise ValueError(f"vars must be a dict or a JSON/YAML string, got {type(vars).__name__}")
        self.project_dir = project_dir
        self.command = command
        self.select = select
        self.exclude = exclude
        self.selector = selector
        self.vars = vars
        self.full_refresh = full_refresh
        self.target = target
        self.snowflake_conn_id = snowflake_conn_id
        self.profiles_dir = profiles_dir
        self.threads = threads
        self.fail_on_warning = fail_on_warning
        self.artifacts_destination = artifacts_destination
        self.execution = execution
        self.emit_assets = emit_assets

    def command_args(self) -> list[str]:
        """The dbt arguments for this task (after templating); paths are added by the hook."""
        args = list(COMMANDS[self.command])
        for flag, value in (("--select", self.select), ("--exclude", self.exclude)):
            items = [value] if isinstance(value, str) else list(value or [])
            items = [item for item in items if str(item).strip()]
            if items:
                args += [flag, *map(str, items)]
        if self.selector:
            args += ["--selector", self.selector]
        if self.vars:
            args += ["--vars", _vars_text(self.vars)]
        if self.full_refresh:
            args.append("--full-refresh")
        if self.threads is not None:
            args += ["--threads", str(self.threads)]
        if self.target and self.profiles_dir is not None:
            args += ["--target", self.target]  # a generated profile has exactly this one target already
        return [*args, *self.dbt_args]

    def execute(self, context: Context) -> dict[str, Any]:
        with self.dbt_invocation(context, self.command_args()) as (outcome, summary):
            return self._finish(outcome, summary, context)

    @contextmanager
    def dbt_invocation(
        self, context: Context, args: list[str], callbacks: Sequence[Callable[[Any], None]] = ()
    ) -> Iterator[tuple[DbtInvocation, RunSummary]]:
        """Run dbt once (profile, deps, partial-parse cache, a run dir of its own) and yield its outcome.

        The run dir is removed after the block unless ``self._keep_run_dir`` was set inside it (failed nodes
        whose compiled SQL was not copied anywhere). ``callbacks`` receive dbt's events (in-process runs).
        """
        from airflow_provider_dataeng.hooks.dbt import DbtHook

        project_dir = Path(self.project_dir).expanduser().resolve()
        if not (project_dir / "dbt_project.yml").is_file():
            raise AirflowFailException(f"project_dir {self.project_dir!r} has no dbt_project.yml")
        hook = DbtHook(
            self.snowflake_conn_id,
            profiles_dir=self.profiles_dir,
            execution=self.execution,
            threads=self.threads,
            **self._session_settings(context),
        )
        run_dir = Path(tempfile.mkdtemp(prefix="dataeng-dbt-run-"))  # one per run: runs never share target/
        self._keep_run_dir = False
        try:
            try:
                with hook.profiles(project_dir, self.target) as (profiles_dir, env):
                    hook.run_deps_if_needed(
                        project_dir, profiles_dir=profiles_dir, env=env, run_dir=run_dir / "deps"
                    )
                    with hook.partial_parse_cache(project_dir, run_dir / "target"):
                        outcome = hook.run_dbt(
                            project_dir,
                            args,
                            profiles_dir=profiles_dir,
                            env=env,
                            run_dir=run_dir,
                            callbacks=callbacks,
                        )
            except (ValueError, FileNotFoundError) as err:
                # a bad connection, profiles dir or project: retrying cannot help
                raise AirflowFailException(str(err)) from err
            yield outcome, self._read_results(outcome)
        finally:
            if self._keep_run_dir:
                self.log.info("dbt artifacts and logs kept for debugging in %s", run_dir)
            else:
                shutil.rmtree(run_dir, ignore_errors=True)

    def _finish(self, outcome: DbtInvocation, summary: RunSummary, context: Context) -> dict[str, Any]:
        """Copy artifacts, log the node table, fail naming failed nodes, emit assets; the task's summary."""
        success = outcome.success and not summary.failed
        destination = self._copy_artifacts(outcome, summary, context)
        result = summary.as_dict(success and not (self.fail_on_warning and summary.warned))
        self._keep_run_dir = not result["success"] and destination is None
        self._report(outcome, summary, success, destination)
        if self.emit_assets:
            self._emit_assets(context)
        return result

    def _session_settings(self, context: Context) -> dict[str, Any]:
        """Warehouse, role (quoted names) and the JSON query tag for a generated profile."""
        if self.snowflake_conn_id is None:
            return {}
        from airflow_provider_dataeng.sql.session import build_query_tag, session_name, task_ids

        try:
            return {
                "warehouse": session_name(self.warehouse, param="warehouse"),
                "role": session_name(self.role, param="role"),
                "query_tag": build_query_tag(task_ids(context), self.query_tag),
            }
        except ValueError as err:
            raise AirflowFailException(str(err)) from None

    def _read_results(self, outcome: DbtInvocation) -> RunSummary:
        from airflow_provider_dataeng.dbt.manifest import Manifest
        from airflow_provider_dataeng.dbt.results import RunSummary, parse_run_results

        name = "sources.json" if self.command == "source freshness" else "run_results.json"
        results_file = outcome.target_path / name
        if not results_file.is_file():  # dbt stopped before running nodes (bad project, no connection)
            return RunSummary(elapsed=0.0, nodes=[])
        manifest_file = outcome.target_path / "manifest.json"
        # read once: the summary, lineage, assets (and a group's producer records) use this one Manifest
        manifest = Manifest.load(manifest_file) if manifest_file.is_file() else None
        summary = parse_run_results(json.loads(results_file.read_text()), manifest)
        if self.command != "source freshness":
            from airflow_provider_dataeng.lineage import dbt_relations

            results = [n.summary() for n in summary.nodes]
            self._lineage_relations = dbt_relations(manifest, results)
            self._manifest_and_results = (manifest, results)  # for emit_assets
        return summary

    def _emit_assets(self, context: Context) -> None:
        """The assets of the relations this (successful) run built, with dbt's status and rows affected."""
        from airflow_provider_dataeng.assets import dbt_built_relations, emit_snowflake_table_assets

        manifest, results = getattr(self, "_manifest_and_results", (None, []))
        built = dbt_built_relations(manifest, results)
        if not built:
            return
        if self.snowflake_conn_id is None:
            self.log.info(
                "emit_assets: %d relation(s) built, but with profiles_dir the Snowflake account is unknown; "
                "declare outlets, or use snowflake_conn_id",
                len(built),
            )
            return
        emit_snowflake_table_assets(context, self, self.snowflake_conn_id, built)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the sources and models the run read in, the relations it built out (rows affected).
        Needs ``snowflake_conn_id`` for the account; with ``profiles_dir`` no lineage is reported."""
        from airflow_provider_dataeng import lineage

        relations = getattr(self, "_lineage_relations", None)
        if relations is None or self.snowflake_conn_id is None:
            return None
        context = lineage.snowflake_context(self.snowflake_conn_id)
        return lineage.to_operator_lineage(lineage.dbt_lineage(context, relations))

    def _report(
        self, outcome: DbtInvocation, summary: RunSummary, success: bool, artifacts: str | None
    ) -> None:
        """Log the node table and warnings; raise naming every failed node (compiled SQL where it was kept)."""
        from airflow_provider_dataeng.dbt.results import describe_problems, format_table

        self.log.info(
            "dbt %s: %d nodes in %.1fs\n%s",
            self.command,
            len(summary.nodes),
            summary.elapsed,
            format_table(summary),
        )
        target_path = str(outcome.target_path)

        def describe(nodes: list) -> str:
            return describe_problems(nodes, target_path, artifacts)

        if summary.warned:
            self.log.warning("dbt reported %d warning(s):\n%s", len(summary.warned), describe(summary.warned))
        if not success:
            if not summary.failed:
                raise AirflowException(
                    f"dbt {self.command} failed before running any node: {outcome.error or 'see the log above'}"
                )
            raise AirflowException(
                f"dbt {self.command} failed: {len(summary.failed)} node(s) failed\n{describe(summary.failed)}"
            )
        if self.fail_on_warning and summary.warned:
            raise AirflowException(
                f"dbt {self.command} ended with {len(summary.warned)} warning(s) and fail_on_warning=True\n"
                + describe(summary.warned)
            )

    def _copy_artifacts(self, outcome: DbtInvocation, summary: RunSummary, context: Context) -> str | None:
        """Copy manifest, results, logs and the compiled SQL of failed/warned nodes to object storage."""
        if not self.artifacts_destination:
            return None
        from airflow.sdk import ObjectStoragePath

        ti = context["ti"]
        base = (
            ObjectStoragePath(self.artifacts_destination)
            / ti.dag_id
            / ti.task_id
            / _safe(ti.run_id)
            / f"try_{ti.try_number}"
        )
        files: list[tuple[Path, str]] = []
        for name in ("manifest.json", "run_results.json", "sources.json"):
            if (outcome.target_path / name).is_file():
                files.append((outcome.target_path / name, name))
        if outcome.log_path.is_dir():
            files += [(p, f"logs/{p.name}") for p in sorted(outcome.log_path.iterdir()) if p.is_file()]
        for node in [*summary.failed, *summary.warned]:
            if node.compiled_path and Path(node.compiled_path).is_file():
                relative = Path(node.compiled_path).relative_to(outcome.target_path)
                files.append((Path(node.compiled_path), str(relative)))
        for source, name in files:
            destination = base / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            with source.open("rb") as reader, destination.open("wb") as writer:
                shutil.copyfileobj(reader, writer)
        self.log.info("Copied %d dbt artifact file(s) to %s", len(files), base)
        return str(base)


def _validate_dbt_args(dbt_args: list[str] | None) -> list[str]:
    if dbt_args is None:
        return []
    if isinstance(dbt_args, str) or not all(isinstance(a, str) for a in dbt_args):
        raise ValueError(f"dbt_args must be a list of strings, e.g. ['--fail-fast'], got {dbt_args!r}")
    for arg in dbt_args:
        flag = arg.split("=", 1)[0]
        if flag in _MANAGED_FLAGS:
            raise ValueError(
                f"dbt_args must not contain {flag}: the operator sets it (use its own parameter)"
            )
    return list(dbt_args)


def _vars_text(value: dict[str, Any] | str) -> str:
    """--vars as JSON (valid YAML); a templated string must already be a YAML/JSON mapping."""
    if isinstance(value, str):
        import yaml

        parsed = yaml.safe_load(value)
        if not isinstance(parsed, dict):
            raise AirflowException(f"vars must render to a mapping, got {value!r}")
        return json.dumps(parsed, default=str)
    return json.dumps(value, default=str)


def _safe(run_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.+" else "_" for c in run_id)
